//! Running checks and hints: offline against fixtures here; live sessions
//! join when sessions exist.

pub mod offline;
