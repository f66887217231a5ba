//! End-to-end tests: real components compiled from `judges/` and
//! `tests/plugins/`, run by the real engine.

mod contract;
mod docker_runtime;
mod hot_swap;
mod offline;
mod sandbox;
mod terminals;
