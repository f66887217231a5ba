//! Proctor: a self-hostable platform for hands-on technical labs.
//!
//! The host server starts learner sessions on a runtime and grades their
//! tasks with judges: sandboxed WebAssembly components that reach the
//! learner's environment only through the capabilities a lab grants. See the
//! README's Architecture section for the map of modules.

pub mod api;
pub mod auth;
pub mod bench;
pub mod capabilities;
pub mod config;
pub mod files;
pub mod judging;
pub mod labs;
pub mod metrics;
pub mod plugins;
pub mod prepare;
pub mod remote;
pub mod runtime;
pub mod server;
pub mod sessions;
pub mod settings;
pub mod store;
pub mod terminals;
pub mod toolchain;
pub mod web;
pub mod workshops;
