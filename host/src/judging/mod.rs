//! Running checks and hints: live in a learner's session (recorded as
//! attempts), or offline against fixtures.

pub mod lab_test;
pub mod live;
pub mod offline;
