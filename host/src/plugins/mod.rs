//! Plugins: judges and hint providers as sandboxed WebAssembly components.
//!
//! [`engine`] runs them under limits, [`registry`] keeps them by name and
//! version and swaps versions atomically, [`shared`] keeps uploads and
//! serving choices in the store for restarts and replicas, [`contract`]
//! checks what they were built against.

mod bindings;
mod cache;
pub mod contract;
pub mod engine;
mod host;
pub mod limits;
mod output;
pub mod registry;
pub mod shared;
pub mod usage;
pub mod verdict;

pub use engine::{CallContext, EngineConfig, LoadError, Plugin, PluginEngine};
pub use limits::{Limit, Limits};
pub use registry::{Registry, RegistryError};
pub use verdict::{CallFailure, Check, Hint, Status, Task, Verdict, Visibility};
