//! Container images built from the learner's files, run and probed.

use std::time::Duration;

use crate::{
    Error, Machine,
    bindings::{environment, types as wit},
};

impl Machine {
    /// A build of the image whose context is `context_dir` on this machine.
    pub fn build_image(&self, context_dir: impl Into<String>) -> ImageBuild {
        ImageBuild {
            inner: wit::BuildRequest {
                machine: self.name().to_owned(),
                context_dir: context_dir.into(),
                dockerfile: None,
                build_args: Vec::new(),
                timeout_ms: None,
            },
        }
    }
}

/// An image build, with options.
#[derive(Clone, Debug)]
pub struct ImageBuild {
    inner: wit::BuildRequest,
}

impl ImageBuild {
    /// Dockerfile path relative to the context (default `Dockerfile`).
    pub fn dockerfile(mut self, path: impl Into<String>) -> Self {
        self.inner.dockerfile = Some(path.into());
        self
    }

    /// Adds a build argument.
    pub fn arg(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner.build_args.push((name.into(), value.into()));
        self
    }

    /// Time limit for the build.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.inner.timeout_ms = Some(limit.as_millis().min(u32::MAX as u128) as u32);
        self
    }

    /// Runs the build. A build that fails because of the learner's files is
    /// a [`BuildReport`] with no image, not an error.
    pub fn run(self) -> Result<BuildReport, Error> {
        let r = environment::build_image(&self.inner)?;
        Ok(BuildReport {
            image: r.image.map(|reference| Image { reference }),
            size_bytes: r.size_bytes,
            duration: Duration::from_millis(r.duration_ms.into()),
            log: r.log,
            log_truncated: r.log_truncated,
            error: r.error,
        })
    }
}

/// The outcome of a build.
#[derive(Clone, Debug)]
pub struct BuildReport {
    /// The image, when the build succeeded.
    pub image: Option<Image>,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// How long the build took.
    pub duration: Duration,
    /// The build log.
    pub log: String,
    /// Whether the log was cut.
    pub log_truncated: bool,
    /// Why the build failed.
    pub error: Option<String>,
}

/// A built image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Its reference.
    pub reference: String,
}

impl Image {
    /// Starts a container of this image on the session's network, exposing
    /// `ports`. It is stopped when the judge's call ends, if not before.
    pub fn start(&self, ports: &[u16]) -> ContainerStart {
        ContainerStart {
            inner: wit::RunRequest { image: self.reference.clone(), ports: ports.to_vec(), env: Vec::new(), command: None },
        }
    }
}

/// A container about to start, with options.
#[derive(Clone, Debug)]
pub struct ContainerStart {
    inner: wit::RunRequest,
}

impl ContainerStart {
    /// Sets an environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner.env.push((name.into(), value.into()));
        self
    }

    /// Runs this command instead of the image's default.
    pub fn command<I: IntoIterator<Item = S>, S: Into<String>>(mut self, argv: I) -> Self {
        self.inner.command = Some(argv.into_iter().map(Into::into).collect());
        self
    }

    /// Starts the container.
    pub fn run(self) -> Result<Container, Error> {
        let c = environment::run_image(&self.inner)?;
        Ok(Container { handle: c.handle, address: c.address })
    }
}

/// A running container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Container {
    handle: String,
    /// Host name by which the session's machines reach it.
    pub address: String,
}

impl Container {
    /// Sends `GET path` to `port` of the container.
    pub fn http_get(&self, port: u16, path: &str) -> Result<HttpResponse, Error> {
        let r = environment::http_get(&wit::HttpRequest {
            container: self.handle.clone(),
            port,
            path: path.to_owned(),
            timeout_ms: None,
        })?;
        Ok(HttpResponse { status: r.status, body: r.body, truncated: r.truncated })
    }

    /// Stops the container now.
    pub fn stop(self) -> Result<(), Error> {
        Ok(environment::stop_container(&self.handle)?)
    }
}

/// An HTTP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body, up to the host's cap.
    pub body: Vec<u8>,
    /// Whether the body was cut.
    pub truncated: bool,
}

impl HttpResponse {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}
