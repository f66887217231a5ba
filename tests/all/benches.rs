//! The benchmarks run end to end (on few samples) and leave nothing behind,
//! so `proctor bench` keeps working between the times someone measures.
//! Runs when `PROCTOR_TEST_DOCKER=1`.

use std::{sync::Arc, time::Duration};

use proctor::{
    bench::terminals::{TerminalLoad, keystroke_echo},
    runtime::docker::DockerRuntime,
};
use proctor_tests::{EngineCleanup, databases::sqlite, docker_enabled, on_engine, test_image};

#[tokio::test]
async fn the_terminal_benchmark_times_every_keystroke_and_ends_its_sessions() {
    if !docker_enabled("the_terminal_benchmark_times_every_keystroke_and_ends_its_sessions") {
        return;
    }
    let _cleanup = EngineCleanup::default().label("dev.proctor.lab", "bench-terminals");
    let runtime = Arc::new(DockerRuntime::connect().await.unwrap());
    let load = TerminalLoad { terminals: 3, per_session: 2, keystrokes: 4, interval: Duration::from_millis(10) };
    let figures = keystroke_echo(runtime, sqlite().await, &test_image(), load).await.expect("the benchmark runs");
    assert_eq!(figures.echo.runs, 12);
    assert!(figures.echo.min_us > 0.0 && figures.echo.p99_us >= figures.echo.p50_us, "{figures:?}");
    assert!(on_engine("dev.proctor.lab", "bench-terminals").is_empty(), "a benchmark session was left running");
}
