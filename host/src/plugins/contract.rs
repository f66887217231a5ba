//! The contract version a component was built against, checked at load time.
//!
//! A component names the contract in its import and export names
//! (`proctor:plugin/grader@0.1.0`). The host reads them before anything runs
//! and refuses a component built against a version it does not speak, with a
//! message that says which versions it does.

use semver::Version;
use wasmtime::{Engine, component::Component};

/// The WIT package of the contract.
pub const PACKAGE: &str = "proctor:plugin";

/// The contract version this host was built against (see `wit/proctor.wit`).
pub const VERSION: &str = "0.1.0";

/// What a component's contract says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contract {
    /// The contract version it was built against.
    pub version: Version,
    /// Whether it exports a judge (`grader`).
    pub judge: bool,
    /// Whether it exports a hint provider (`hinter`).
    pub hints: bool,
}

/// Why a component's contract is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// Built against a version this host does not speak.
    #[error(
        "the plugin was built against contract {PACKAGE}@{found}, but this host speaks \
         {PACKAGE}@{VERSION} (plugins built against {supported} load); rebuild the plugin \
         with a matching proctor-sdk"
    )]
    Incompatible {
        /// The version found in the component.
        found: String,
        /// The range this host accepts.
        supported: String,
    },
    /// Names more than one contract version.
    #[error("the plugin mixes contract versions {0} and {1}")]
    Mixed(String, String),
    /// Exports neither world.
    #[error(
        "the plugin exports neither {PACKAGE}/grader nor {PACKAGE}/hinter, so it is neither a \
         judge nor a hint provider (did the crate call proctor_sdk::export!?)"
    )]
    NoExports,
}

/// The versions this host accepts: the same major version, and for 0.x the
/// same minor, no newer than the host's own.
pub fn supported_range() -> String {
    let host = host_version();
    let oldest = if host.major == 0 { Version::new(0, host.minor, 0) } else { Version::new(host.major, 0, 0) };
    if oldest == host { host.to_string() } else { format!("{oldest} to {host}") }
}

fn host_version() -> Version {
    Version::parse(VERSION).expect("VERSION is semver")
}

fn compatible(found: &Version) -> bool {
    let host = host_version();
    found.major == host.major && (host.major != 0 || found.minor == host.minor) && found <= &host
}

/// Splits `proctor:plugin/grader@0.1.0` into (`grader`, `0.1.0`).
fn contract_item(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix(PACKAGE)?.strip_prefix('/')?;
    rest.split_once('@')
}

/// Reads and checks the contract of a compiled component.
pub fn inspect(component: &Component, engine: &Engine) -> Result<Contract, ContractError> {
    let ty = component.component_type();
    let imports = ty.imports(engine).map(|(name, _)| name.to_owned());
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_owned()).collect();
    let mut version: Option<String> = None;
    for name in imports.chain(exports.iter().cloned()) {
        // Other packages built against an old contract name it differently;
        // anything under `proctor:` must be ours.
        if name.starts_with("proctor:") && !name.starts_with(&format!("{PACKAGE}/")) {
            let found = name.split_once('@').map_or("unversioned", |(_, v)| v).to_owned();
            return Err(ContractError::Incompatible { found: format!("{found} ({name})"), supported: supported_range() });
        }
        let Some((_, v)) = contract_item(&name) else { continue };
        match &version {
            Some(seen) if seen != v => return Err(ContractError::Mixed(seen.clone(), v.to_owned())),
            _ => version = Some(v.to_owned()),
        }
    }
    let exported = |item: &str| exports.iter().any(|n| contract_item(n).is_some_and(|(i, _)| i == item));
    let (judge, hints) = (exported("grader"), exported("hinter"));
    let Some(found) = version else { return Err(ContractError::NoExports) };
    let parsed = Version::parse(&found).map_err(|_| ContractError::Incompatible {
        found: found.clone(),
        supported: supported_range(),
    })?;
    if !compatible(&parsed) {
        return Err(ContractError::Incompatible { found, supported: supported_range() });
    }
    if !judge && !hints {
        return Err(ContractError::NoExports);
    }
    Ok(Contract { version: parsed, judge, hints })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_compatible_within_the_hosts_minor() {
        assert!(compatible(&Version::new(0, 1, 0)));
        assert!(!compatible(&Version::new(0, 2, 0)));
        assert!(!compatible(&Version::new(1, 1, 0)));
        assert!(!compatible(&Version::new(0, 1, 99)), "newer than the host");
    }

    #[test]
    fn contract_items_are_split_from_names() {
        assert_eq!(contract_item("proctor:plugin/grader@0.1.0"), Some(("grader", "0.1.0")));
        assert_eq!(contract_item("wasi:cli/stdout@0.2.3"), None);
    }
}
