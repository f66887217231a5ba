//! The server's configuration: one [`Config`], read once at start-up from an
//! optional `proctor.toml` and `PROCTOR_*` variables, then passed explicitly.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Deserialize;

use crate::{
    plugins::{EngineConfig, Limits},
    runtime::subnets::SubnetPool,
    sessions::{Lifetime, SessionPolicy},
};

/// Everything the server can be told.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. Default `127.0.0.1:8080`; `PROCTOR_LISTEN`.
    pub listen: SocketAddr,
    /// Where the server keeps its state. Default `./data`; `PROCTOR_DATA_DIR`.
    pub data_dir: PathBuf,
    /// The labs: a directory of lab directories. Default `scenarios`;
    /// `PROCTOR_SCENARIOS_DIR`.
    pub scenarios_dir: PathBuf,
    /// Built judge components loaded at start. Default `target/judges`
    /// (what `proctor judge build` writes); `PROCTOR_JUDGES_DIR`.
    pub judges_dir: PathBuf,
    /// The database: `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`.
    /// Default: `proctor.db` in the data directory; `PROCTOR_DATABASE_URL`.
    pub database_url: Option<DatabaseUrl>,
    /// The plugin engine.
    pub plugins: PluginsConfig,
    /// Session caps and lifetimes.
    pub sessions: SessionsConfig,
    /// Where sessions run: `docker` (default) or `kubernetes`.
    pub runtime: RuntimeChoice,
    /// The Docker runtime.
    pub docker: DockerConfig,
    /// The Kubernetes runtime (`[kubernetes]`).
    pub kubernetes: crate::runtime::kube::KubernetesConfig,
    /// Single sign-on with an OpenID Connect issuer (`[oidc]`); off when absent.
    pub oidc: Option<crate::auth::oidc::OidcConfig>,
}

/// Where sessions run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeChoice {
    /// Containers on the local Docker engine.
    #[default]
    Docker,
    /// Pods and KubeVirt virtual machines on a cluster.
    Kubernetes,
}

/// Docker runtime settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DockerConfig {
    /// The address range sessions' networks are carved from. Default
    /// `10.213.0.0/16`; it must not overlap the host's own networks.
    pub subnet_pool: String,
    /// The prefix length of each session's subnet. Default 26 (62
    /// addresses; 1,024 sessions in the default range).
    pub subnet_prefix: u8,
    /// The name this server's objects carry (`dev.proctor.instance`).
    /// Servers sharing one engine need different names, or they remove
    /// each other's sessions as orphans; replicas sharing one store share
    /// one name. Default `default`.
    pub instance: String,
}

impl Default for DockerConfig {
    fn default() -> Self {
        DockerConfig { subnet_pool: "10.213.0.0/16".into(), subnet_prefix: 26, instance: "default".into() }
    }
}

impl DockerConfig {
    /// The pool the settings describe.
    pub fn subnet_pool(&self) -> Result<SubnetPool, String> {
        SubnetPool::new(&self.subnet_pool, self.subnet_prefix).map_err(|e| e.to_string())
    }
}

/// A database URL; its password never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(pub String);

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", crate::store::redacted(&self.0))
    }
}

/// Session caps and lifetimes. Labs may ask for other lifetimes (their
/// scenario file); these are the defaults.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionsConfig {
    /// Learners' sessions running at once on this server. Default 50.
    pub max_sessions: u32,
    /// Sessions one learner may run at once. Default 2.
    pub max_per_learner: u32,
    /// Minutes a session lasts. Default 60.
    pub ttl_minutes: u64,
    /// Minutes each extension adds. Default 30.
    pub extend_minutes: u64,
    /// Extensions allowed. Default 2.
    pub max_extensions: u32,
    /// Longest life of a session, extensions included, in minutes. Default 180.
    pub max_total_minutes: u64,
    /// Minutes without terminal input, file writes or checks before a
    /// session ends. Default 30.
    pub idle_timeout_minutes: u64,
    /// Seconds between reaper passes. Default 15.
    pub reap_interval_seconds: u64,
    /// Seconds a queued learner keeps their place without asking again.
    /// Default 120.
    pub queue_patience_seconds: u64,
    /// Seconds an environment may take to start. Default 300.
    pub start_timeout_seconds: u64,
    /// Hints a session may ask for per minute. Default 5.
    pub hints_per_minute: u32,
    /// The largest file the files API reads or writes, in KiB. Default
    /// 4096 (4 MiB): an editor's file, not a data set.
    pub max_file_kib: u64,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        let policy = SessionPolicy::default();
        SessionsConfig {
            max_sessions: policy.max_sessions,
            max_per_learner: policy.max_per_learner,
            ttl_minutes: 60,
            extend_minutes: 30,
            max_extensions: 2,
            max_total_minutes: 180,
            idle_timeout_minutes: policy.idle_timeout.as_secs() / 60,
            reap_interval_seconds: 15,
            queue_patience_seconds: policy.queue_patience.as_secs(),
            start_timeout_seconds: policy.start_timeout.as_secs(),
            hints_per_minute: 5,
            max_file_kib: 4096,
        }
    }
}

impl SessionsConfig {
    /// The caps and timeouts the session manager enforces.
    pub fn policy(&self) -> SessionPolicy {
        SessionPolicy {
            max_sessions: self.max_sessions,
            max_per_learner: self.max_per_learner,
            idle_timeout: Duration::from_secs(self.idle_timeout_minutes * 60),
            queue_patience: Duration::from_secs(self.queue_patience_seconds),
            start_timeout: Duration::from_secs(self.start_timeout_seconds),
            max_ttl: None,
        }
    }

    /// A lab's lifetime when it names none.
    pub fn default_lifetime(&self) -> Lifetime {
        Lifetime {
            ttl: Duration::from_secs(self.ttl_minutes * 60),
            extend_by: Duration::from_secs(self.extend_minutes * 60),
            max_extensions: self.max_extensions,
            max_total: Duration::from_secs(self.max_total_minutes * 60),
        }
    }

    /// Refuses settings that cannot work.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_sessions == 0 || self.max_per_learner == 0 {
            return Err("sessions.max_sessions and sessions.max_per_learner must be at least 1".into());
        }
        if self.ttl_minutes == 0 || self.ttl_minutes > self.max_total_minutes {
            return Err("sessions.ttl_minutes must be between 1 and sessions.max_total_minutes".into());
        }
        if !(1..=64 * 1024).contains(&self.max_file_kib) {
            return Err("sessions.max_file_kib must be between 1 and 65536".into());
        }
        if self.reap_interval_seconds == 0 || self.idle_timeout_minutes == 0 {
            return Err("sessions.reap_interval_seconds and sessions.idle_timeout_minutes must be at least 1".into());
        }
        Ok(())
    }
}

/// Plugin engine settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsConfig {
    /// Plugin calls that may run at once. Default 64.
    pub max_concurrent_calls: u32,
    /// Largest accepted component, in bytes. Default 32 MiB.
    pub max_plugin_bytes: usize,
    /// Ceilings on the limits a lab may set.
    pub ceilings: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            judges_dir: PathBuf::from("target/judges"),
            scenarios_dir: PathBuf::from("scenarios"),
            database_url: None,
            plugins: PluginsConfig::default(),
            sessions: SessionsConfig::default(),
            runtime: RuntimeChoice::Docker,
            docker: DockerConfig::default(),
            kubernetes: Default::default(),
            oidc: None,
        }
    }
}

impl Default for PluginsConfig {
    fn default() -> Self {
        let engine = EngineConfig::default();
        PluginsConfig {
            max_concurrent_calls: engine.max_concurrent_calls,
            max_plugin_bytes: engine.max_plugin_bytes,
            ceilings: engine.ceilings,
        }
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path} is not a valid Proctor configuration: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Reads `path` if given, else `./proctor.toml` if it exists, else the defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let default_path = Path::new("proctor.toml");
        let path = match path {
            Some(p) => p,
            None if default_path.exists() => default_path,
            None => return Ok(Config::default()),
        };
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: shown.clone(), source })?;
        let config: Config = toml::from_str(&text).map_err(|e| ConfigError::Invalid { path: shown.clone(), message: e.to_string() })?;
        config.sessions.validate().map_err(|message| ConfigError::Invalid { path: shown.clone(), message })?;
        config.docker.subnet_pool().map_err(|message| ConfigError::Invalid { path: shown, message })?;
        Ok(config)
    }

    /// The database URL: the configured one, else `proctor.db` in the data
    /// directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.0.clone(),
            None => crate::store::sqlite_url(&self.data_dir),
        }
    }

    /// The plugin engine's settings, with its cache in the data directory.
    pub fn engine(&self) -> EngineConfig {
        EngineConfig {
            cache_dir: Some(self.data_dir.join("cache").join("plugins")),
            ceilings: self.plugins.ceilings.clone(),
            max_concurrent_calls: self.plugins.max_concurrent_calls,
            max_plugin_bytes: self.plugins.max_plugin_bytes,
            ..EngineConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kubernetes_runtime_is_configured_by_section() {
        let cfg: Config = toml::from_str("runtime = \"kubernetes\"\n[kubernetes]\nnamespace_prefix = \"labs-\"\nready_timeout_seconds = 600").unwrap();
        assert_eq!((cfg.runtime, cfg.kubernetes.namespace_prefix.as_str(), cfg.kubernetes.ready_timeout_seconds), (RuntimeChoice::Kubernetes, "labs-", 600));
        assert_eq!(cfg.kubernetes.image_pull_policy, "IfNotPresent");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<Config>("listen = \"127.0.0.1:1\"\nlisten_port = 3").unwrap_err();
        assert!(err.to_string().contains("listen_port"), "{err}");
    }

    #[test]
    fn database_passwords_stay_out_of_debug_output() {
        let cfg: Config = toml::from_str("database_url = \"postgres://ann:s3cret@db/proctor\"").unwrap();
        let shown = format!("{cfg:?}");
        assert!(shown.contains("postgres://ann:***@db/proctor") && !shown.contains("s3cret"), "{shown}");
        assert_eq!(cfg.database_url(), "postgres://ann:s3cret@db/proctor");
        assert!(Config::default().database_url().ends_with("data/proctor.db?mode=rwc"));
    }

    #[test]
    fn the_subnet_pool_is_checked() {
        let cfg: Config = toml::from_str("[docker]\nsubnet_pool = \"10.9.0.0/16\"\nsubnet_prefix = 24").unwrap();
        assert_eq!(cfg.docker.subnet_pool().unwrap().len(), 256);
        let bad: Config = toml::from_str("[docker]\nsubnet_pool = \"10.9.0.0\"").unwrap();
        assert!(bad.docker.subnet_pool().unwrap_err().contains("invalid subnet pool"));
    }

    #[test]
    fn session_settings_are_checked() {
        let cfg: Config = toml::from_str("[sessions]\nmax_sessions = 0").unwrap();
        assert!(cfg.sessions.validate().unwrap_err().contains("max_sessions"));
        let cfg: Config = toml::from_str("[sessions]\nttl_minutes = 300").unwrap();
        assert!(cfg.sessions.validate().unwrap_err().contains("ttl_minutes"));
        assert!(SessionsConfig::default().validate().is_ok());
    }

    #[test]
    fn plugin_ceilings_read_from_toml() {
        let cfg: Config = toml::from_str("[plugins.ceilings]\nfuel = 5").unwrap();
        assert_eq!(cfg.plugins.ceilings.fuel, 5);
        assert_eq!(cfg.listen, Config::default().listen);
    }
}
