//! Containers a judge starts from an image its session built: run on the
//! session's network, confined like a machine, probed over HTTP from the
//! host, and stopped. A session reaches only its own.

use std::{
    net::{IpAddr, SocketAddr},
    time::{Duration, Instant},
};

use bollard::models::{ContainerCreateBody, ContainerInspectResponse};

use super::{
    DockerRuntime, check_name, confined, engine_error, images::session_repository, network_name, on_network,
    only_session_labels,
};
use crate::{
    capabilities::{Container, HttpRequest, HttpResponse, RunRequest},
    runtime::{Resources, RuntimeError, http, labels},
};

/// Time limit of an `http-get` that names none.
const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The most of a response body handed back.
const HTTP_BODY_CAP: usize = 1 << 20;

/// Handles are container names; they become part of the engine's URLs, so
/// anything but a plain name is refused before it gets there.
fn check_handle(handle: &str) -> Result<(), RuntimeError> {
    let ok = !handle.is_empty() && handle.len() <= 128 && handle.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok { Ok(()) } else { Err(RuntimeError::Invalid(format!("`{handle}` is not a container handle"))) }
}

fn not_started_here(handle: &str) -> RuntimeError {
    RuntimeError::NotFound(format!("no container `{handle}` was started in this session"))
}

impl DockerRuntime {
    /// Starts a container from an image this session built.
    pub(super) async fn run_built_image(&self, session: &str, req: &RunRequest) -> Result<Container, RuntimeError> {
        check_name("session", session)?;
        let refused = || {
            RuntimeError::Invalid(format!(
                "`{}` is not an image this session built; run-image runs only the images build-image returned",
                req.image
            ))
        };
        // The name first (it becomes part of a URL), then the label: a tag
        // of another session's that differs only in case is not ours.
        let serial = req.image.strip_prefix(&format!("{}:", session_repository(session))).ok_or_else(refused)?;
        if serial.is_empty() || !serial.chars().all(|c| c.is_ascii_digit()) {
            return Err(refused());
        }
        let image = self.docker.inspect_image(&req.image).await.map_err(|e| engine_error(&req.image, e))?;
        let mut labels = only_session_labels(image.config.and_then(|c| c.labels).unwrap_or_default());
        if labels.get(labels::SESSION).map(String::as_str) != Some(session) {
            return Err(refused());
        }
        labels.insert(labels::STARTED_BY_PLUGIN.into(), "true".into());

        let n = self.next_serial();
        let handle = format!("proctor-{session}-run-{n}");
        // Machine names are the lab's; this alias keeps clear of them.
        let address = format!("proctor-run-{n}");
        let network = network_name(session);
        let body = ContainerCreateBody {
            image: Some(req.image.clone()),
            hostname: Some(address.clone()),
            env: Some(req.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            cmd: req.command.clone(),
            labels: Some(labels),
            host_config: Some(confined(&Resources::default(), &network)),
            networking_config: Some(on_network(&network, &address)),
            stop_timeout: Some(1),
            ..Default::default()
        };
        self.create_and_start(&handle, body).await?;
        tracing::debug!(%session, %handle, image = %req.image, "started a built image");
        Ok(Container { handle, address })
    }

    /// A container this session's judge started, or `NotFound`.
    async fn started_container(&self, session: &str, handle: &str) -> Result<ContainerInspectResponse, RuntimeError> {
        check_handle(handle)?;
        let inspect = match self.docker.inspect_container(handle, None).await {
            Ok(inspect) => inspect,
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                return Err(not_started_here(handle));
            }
            Err(e) => return Err(engine_error(handle, e)),
        };
        let labels = inspect.config.as_ref().and_then(|c| c.labels.as_ref());
        let ours = labels.is_some_and(|l| {
            l.get(labels::SESSION).map(String::as_str) == Some(session) && l.contains_key(labels::STARTED_BY_PLUGIN)
        });
        if ours { Ok(inspect) } else { Err(not_started_here(handle)) }
    }

    /// Stops and removes a container this session started.
    pub(super) async fn stop_started(&self, session: &str, handle: &str) -> Result<(), RuntimeError> {
        self.started_container(session, handle).await?;
        self.remove_container(handle).await
    }

    /// Sends an HTTP GET from the host to a started container's address on
    /// the session network, waiting for its port to accept.
    pub(super) async fn get_from_container(&self, session: &str, req: &HttpRequest) -> Result<HttpResponse, RuntimeError> {
        let deadline = Instant::now() + req.timeout.unwrap_or(DEFAULT_HTTP_TIMEOUT);
        let inspect = self.started_container(session, &req.container).await?;
        let ip = inspect
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|mut n| n.remove(&network_name(session)))
            .and_then(|e| e.ip_address)
            .and_then(|ip| ip.parse::<IpAddr>().ok());
        let Some(ip) = ip else {
            return Err(self.not_running(session, &req.container).await.err().unwrap_or_else(|| {
                RuntimeError::Engine(format!("container `{}` has no address on the session network", req.container))
            }));
        };
        let container = req.container.as_str();
        let stream =
            http::connect_when_ready(SocketAddr::new(ip, req.port), deadline, || self.not_running(session, container)).await?;
        let host = inspect.config.and_then(|c| c.hostname).unwrap_or_else(|| ip.to_string());
        http::get(stream, &format!("{host}:{}", req.port), &req.path, deadline, HTTP_BODY_CAP).await
    }

    /// Fails when the container has stopped, saying how it ended: waiting
    /// for its port would be waiting for nothing.
    async fn not_running(&self, session: &str, handle: &str) -> Result<(), RuntimeError> {
        let inspect = self.started_container(session, handle).await?;
        let state = inspect.state.unwrap_or_default();
        if state.running == Some(true) {
            return Ok(());
        }
        Err(RuntimeError::Http(format!(
            "container `{handle}` is not running (exit code {}{})",
            state.exit_code.unwrap_or(-1),
            state.error.filter(|e| !e.is_empty()).map(|e| format!(": {e}")).unwrap_or_default()
        )))
    }
}
