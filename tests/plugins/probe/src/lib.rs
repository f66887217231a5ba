//! A trivial judge: one passing check, no capability call. Its version comes
//! from `PROCTOR_TEST_PLUGIN_VERSION` at build time, so the tests can build
//! two versions of it for hot swaps; the benchmark measures call overhead on
//! it. Task `five-checks` instead makes the five checks of `proctor bench
//! exec`, in one `run-all`.

use proctor_sdk::{Error, Judge, Task, Verdict, export, run_all};

/// The checks `proctor bench exec` compares with one shell script.
const FIVE_CHECKS: [&str; 5] =
    ["test -f /etc/passwd", "test -d /workspace", "id -u root", "command -v python3", "test -x /bin/bash"];

const VERSION: &str = match option_env!("PROCTOR_TEST_PLUGIN_VERSION") {
    Some(v) => v,
    None => "1.0.0",
};

struct Probe;

impl Judge for Probe {
    fn check(task: &Task) -> Result<Verdict, Error> {
        let mut v = Verdict::new();
        if task.id() == "five-checks" {
            let m = task.machine();
            for (check, out) in FIVE_CHECKS.iter().zip(run_all(FIVE_CHECKS.map(|c| m.script(c)))) {
                v.check(*check, out?.success(), *check);
            }
            return Ok(v);
        }
        v.pass("answered", format!("{VERSION} checked {}", task.id()));
        Ok(v)
    }
}

export!(judge: Probe, version: VERSION);
