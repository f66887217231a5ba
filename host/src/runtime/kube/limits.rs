//! What commands on pods and on virtual machines share: the defaults of a
//! command that names no limits, and running one within its time.

use std::time::{Duration, Instant};

use crate::{capabilities::CommandOutput, runtime::RuntimeError};

/// Default time limit of a command that names none.
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on each output stream of a command that names none.
pub const DEFAULT_OUTPUT_CAP: u32 = 1 << 20;

/// Runs a command to its end within `timeout`, noting how long it took;
/// `None` when time ran out (the caller stops the command).
pub async fn within(timeout: Duration, run: impl Future<Output = Result<CommandOutput, RuntimeError>>) -> Option<Result<CommandOutput, RuntimeError>> {
    let started = Instant::now();
    let done = tokio::time::timeout(timeout, run).await.ok()?;
    Some(done.map(|mut out| {
        out.duration_ms = started.elapsed().as_millis().min(u128::from(u32::MAX)) as u32;
        out
    }))
}
