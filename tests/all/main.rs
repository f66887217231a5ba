//! End-to-end tests: real components compiled from `judges/` and
//! `tests/plugins/`, run by the real engine.

mod accounts;
mod admin;
mod admin_manage;
mod api_files;
mod api_sessions;
mod api_tasks;
mod api_terminals;
mod authorization;
mod benches;
mod browser;
mod browser_admin;
mod contract;
mod docker_runtime;
mod docker_sessions;
mod engine_faults;
mod hot_swap;
mod killercoda;
mod kube_runtime;
mod kube_schemas;
mod lab_test;
mod labs;
mod offline;
mod sandbox;
mod sessions;
mod sso;
mod store;
mod terminals;
mod workshops;
