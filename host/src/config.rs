//! The server's configuration: one [`Config`], read once at start-up from an
//! optional `proctor.toml` and `PROCTOR_*` variables, then passed explicitly.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use crate::plugins::{EngineConfig, Limits};

/// Everything the server can be told.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. Default `127.0.0.1:8080`; `PROCTOR_LISTEN`.
    pub listen: SocketAddr,
    /// Where the server keeps its state. Default `./data`; `PROCTOR_DATA_DIR`.
    pub data_dir: PathBuf,
    /// Built judge components loaded at start. Default `target/judges`
    /// (what `proctor judge build` writes); `PROCTOR_JUDGES_DIR`.
    pub judges_dir: PathBuf,
    /// The plugin engine.
    pub plugins: PluginsConfig,
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
            plugins: PluginsConfig::default(),
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
        toml::from_str(&text).map_err(|e| ConfigError::Invalid { path: shown, message: e.to_string() })
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
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<Config>("listen = \"127.0.0.1:1\"\nlisten_port = 3").unwrap_err();
        assert!(err.to_string().contains("listen_port"), "{err}");
    }

    #[test]
    fn plugin_ceilings_read_from_toml() {
        let cfg: Config = toml::from_str("[plugins.ceilings]\nfuel = 5").unwrap();
        assert_eq!(cfg.plugins.ceilings.fuel, 5);
        assert_eq!(cfg.listen, Config::default().listen);
    }
}
