//! A trivial judge: one passing check, no capability call. Its version comes
//! from `PROCTOR_TEST_PLUGIN_VERSION` at build time, so the tests can build
//! two versions of it for hot swaps; the benchmark measures call overhead on it.

use proctor_sdk::{Error, Judge, Task, Verdict, export};

const VERSION: &str = match option_env!("PROCTOR_TEST_PLUGIN_VERSION") {
    Some(v) => v,
    None => "1.0.0",
};

struct Probe;

impl Judge for Probe {
    fn check(task: &Task) -> Result<Verdict, Error> {
        let mut v = Verdict::new();
        v.pass("answered", format!("{VERSION} checked {}", task.id()));
        Ok(v)
    }
}

export!(judge: Probe, version: VERSION);
