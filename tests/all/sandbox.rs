//! Hostile plugins: every limit holds, is named in an `error` verdict, and
//! leaves the host and other calls unharmed.

use std::{sync::Arc, time::Duration};

use proctor::{
    capabilities::{Detached, Grants},
    plugins::{CallContext, Limit, Limits, Plugin, PluginEngine, Status, Verdict},
};
use proctor_tests::{components, engine, task, wasm};

async fn hostile(engine: &PluginEngine) -> Plugin {
    engine.load(&wasm(&components().hostile)).await.expect("hostile plugin loads")
}

/// Limits small enough that each breach comes fast.
fn tight() -> Limits {
    Limits {
        wall_time: Duration::from_secs(20),
        fuel: 300_000_000,
        memory_bytes: 16 << 20,
        capability_calls: 1_000,
        capability_bytes: 1 << 20,
        output_bytes: 64 << 10,
        capability_timeout: Duration::from_secs(1),
    }
}

async fn run(engine: &PluginEngine, plugin: &Plugin, id: &str, limits: Limits) -> Verdict {
    let ctx = CallContext { env: Arc::new(Detached), grants: Grants::none(), limits };
    engine.check(plugin, &task("hostile", id), ctx).await
}

fn assert_limit(v: &Verdict, limit: Limit) {
    assert_eq!(v.status, Status::Error, "{v:#?}");
    assert_eq!(v.limit, Some(limit), "{v:#?}");
    let reason = v.reason.as_deref().unwrap_or_default();
    assert!(reason.contains(limit.name()), "the reason names the limit: {reason}");
}

#[tokio::test]
async fn an_infinite_loop_runs_out_of_fuel() {
    let engine = engine();
    let v = run(&engine, &hostile(&engine).await, "infinite-loop", tight()).await;
    assert_limit(&v, Limit::Fuel);
    assert!(v.stats.fuel_used >= tight().fuel, "{:?}", v.stats);
}

#[tokio::test]
async fn an_infinite_loop_with_fuel_to_spare_hits_the_wall_time() {
    let engine = engine();
    let limits = Limits { fuel: 1_000_000_000_000, wall_time: Duration::from_millis(300), ..tight() };
    let v = run(&engine, &hostile(&engine).await, "infinite-loop", limits).await;
    assert_limit(&v, Limit::WallTime);
    // Epochs tick every 10 ms, so the deadline holds to within one tick.
    assert!(v.stats.duration_us >= 290_000, "it ran until the deadline: {:?}", v.stats);
}

#[tokio::test]
async fn a_memory_bomb_hits_the_memory_cap() {
    let engine = engine();
    let v = run(&engine, &hostile(&engine).await, "memory-bomb", tight()).await;
    assert_limit(&v, Limit::Memory);
}

#[tokio::test]
async fn deep_recursion_overflows_the_stack() {
    let engine = engine();
    let v = run(&engine, &hostile(&engine).await, "deep-recursion", tight()).await;
    assert_limit(&v, Limit::Stack);
}

#[tokio::test]
async fn a_panic_is_reported_with_its_message() {
    let engine = engine();
    let v = run(&engine, &hostile(&engine).await, "panic", tight()).await;
    assert_eq!(v.status, Status::Error);
    assert_eq!(v.limit, None);
    let reason = v.reason.unwrap_or_default();
    assert!(reason.contains("crashed") && reason.contains("gave up on purpose"), "{reason}");
}

#[tokio::test]
async fn an_abort_is_reported_as_a_crash() {
    let engine = engine();
    let v = run(&engine, &hostile(&engine).await, "abort", tight()).await;
    assert_eq!(v.status, Status::Error);
    assert!(v.reason.unwrap_or_default().contains("crashed"));
}

#[tokio::test]
async fn a_hundred_megabytes_of_output_hits_the_output_cap() {
    let engine = engine();
    let v = run(&engine, &hostile(&engine).await, "flood-output", tight()).await;
    assert_limit(&v, Limit::Output);
    let kept: usize = v.log.iter().map(String::len).sum();
    assert!(kept <= 64 << 10, "the log keeps at most what the budget allows, kept {kept}");
}

#[tokio::test]
async fn a_huge_verdict_hits_the_output_cap() {
    let engine = engine();
    let limits = Limits { memory_bytes: 64 << 20, ..tight() };
    let v = run(&engine, &hostile(&engine).await, "flood-verdict", limits).await;
    assert_limit(&v, Limit::Output);
    assert!(v.checks.is_empty(), "none of the oversized verdict is kept");
}

#[tokio::test]
async fn a_million_capability_calls_hit_the_call_cap() {
    let engine = engine();
    let v = run(&engine, &hostile(&engine).await, "many-calls", tight()).await;
    assert_limit(&v, Limit::CapabilityCalls);
    assert_eq!(v.stats.capability_calls, tight().capability_calls + 1);
}

#[tokio::test]
async fn an_ungranted_capability_is_denied_as_data_not_a_trap() {
    let engine = engine();
    let v = run(&engine, &hostile(&engine).await, "ungranted", tight()).await;
    assert_eq!(v.status, Status::Passed, "{v:#?}");
    let denial = &v.checks[0].message;
    assert!(denial.contains("build-image") && denial.contains("lab.toml"), "{denial}");
}

#[tokio::test]
async fn a_plugin_finds_no_files_environment_network_or_arguments() {
    assert!(std::env::vars().count() > 0, "the host itself has an environment to leak");
    let engine = engine();
    let v = run(&engine, &hostile(&engine).await, "escape", tight()).await;
    assert_eq!(v.checks.len(), 4, "{v:#?}");
    for c in &v.checks {
        assert!(c.passed, "{}: {}", c.id, c.message);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_well_behaved_judge_keeps_passing_beside_hostile_ones() {
    let engine = engine();
    let plugin = Arc::new(hostile(&engine).await);
    let hostile_ids: [&'static str; 8] = [
        "infinite-loop",
        "memory-bomb",
        "deep-recursion",
        "panic",
        "abort",
        "flood-output",
        "flood-verdict",
        "many-calls",
    ];
    let attacks = futures::future::join_all(hostile_ids.into_iter().map(|id| {
        let (engine, plugin) = (engine.clone(), plugin.clone());
        tokio::spawn(async move { run(&engine, &plugin, id, tight()).await })
    }));
    let calm = {
        let (engine, plugin) = (engine.clone(), plugin.clone());
        tokio::spawn(async move {
            let mut verdicts = Vec::new();
            for _ in 0..200 {
                verdicts.push(run(&engine, &plugin, "well-behaved", tight()).await);
            }
            verdicts
        })
    };
    let (attacks, calm) = tokio::join!(attacks, calm);
    for (id, v) in hostile_ids.iter().zip(attacks) {
        assert_eq!(v.expect("task").status, Status::Error, "{id}");
    }
    let calm = calm.expect("task");
    assert_eq!(calm.len(), 200);
    assert!(calm.iter().all(|v| v.status == Status::Passed), "every well-behaved call passed");
}

#[tokio::test]
async fn limits_hold_when_pooled_memory_is_decommitted_instead_of_reset_in_place() {
    let engine = PluginEngine::new(proctor::plugins::EngineConfig { reset_in_place: false, ..Default::default() }).unwrap();
    let plugin = hostile(&engine).await;
    assert_limit(&run(&engine, &plugin, "memory-bomb", tight()).await, Limit::Memory);
    for _ in 0..3 {
        assert_eq!(run(&engine, &plugin, "well-behaved", tight()).await.status, Status::Passed);
    }
}
