//! Running checks and hints: live in a learner's session (recorded as
//! attempts), or offline against fixtures.

pub mod dry_run;
pub mod lab_test;
pub mod live;
pub mod offline;
