//! The registry: hot swap under load, rollback, and refusals that leave the
//! serving version alone.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use proctor::plugins::{CallContext, Registry, RegistryError, Status, Verdict};
use proctor_tests::{components, engine, task, wasm};

const PROBE: &str = "proctor-test-probe";

async fn check(registry: &Registry) -> Verdict {
    let plugin = registry.serving(PROBE).expect("serving");
    registry.engine().check(&plugin, &task("swap", "t"), CallContext::detached()).await
}

fn version_of(v: &Verdict) -> &str {
    v.plugin.as_ref().map(|p| p.version.as_str()).expect("verdicts name their plugin")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapping_versions_under_load_fails_no_check() {
    let registry = Registry::new(engine());
    let v1 = registry.install(&wasm(&components().probe_v1)).await.expect("v1 installs");
    assert_eq!(v1.version, "1.0.0");

    let stop = Arc::new(AtomicBool::new(false));
    let checkers: Vec<_> = (0..8)
        .map(|_| {
            let (registry, stop) = (registry.clone(), stop.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    seen.push(check(&registry).await);
                }
                seen
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(200)).await;
    let v2 = registry.install(&wasm(&components().probe_v2)).await.expect("v2 installs");
    assert_eq!(v2.version, "2.0.0");
    assert_eq!(version_of(&check(&registry).await), "2.0.0", "new checks report v2");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let back = registry.rollback(PROBE).expect("rollback");
    assert_eq!(back.version, "1.0.0");
    assert_eq!(version_of(&check(&registry).await), "1.0.0", "after rollback checks report v1");
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);

    let mut total = 0;
    let mut by_version = std::collections::BTreeMap::<String, usize>::new();
    for checker in checkers {
        for v in checker.await.expect("checker") {
            total += 1;
            assert_eq!(v.status, Status::Passed, "no check fails during a swap: {v:#?}");
            let version = version_of(&v).to_owned();
            // The verdict's text comes from the component that answered: it
            // must agree with the version the host says answered.
            assert!(v.checks[0].message.starts_with(&version), "{v:#?}");
            *by_version.entry(version).or_default() += 1;
        }
    }
    assert!(total > 100, "the checkers kept checking ({total})");
    assert_eq!(by_version.keys().cloned().collect::<Vec<_>>(), ["1.0.0", "2.0.0"], "{by_version:?}");
}

#[tokio::test]
async fn a_refused_upload_leaves_the_serving_version_alone() {
    let registry = Registry::new(engine());
    registry.install(&wasm(&components().probe_v1)).await.expect("v1 installs");
    let refused = registry.install(&wasm(&components().incompatible)).await;
    assert!(matches!(refused, Err(RegistryError::Load(_))), "{refused:?}");
    let refused = registry.install(b"not wasm at all").await;
    assert!(matches!(refused, Err(RegistryError::Load(_))), "{refused:?}");
    assert_eq!(registry.serving(PROBE).expect("still serving").version, "1.0.0");
    assert_eq!(version_of(&check(&registry).await), "1.0.0");
}

#[tokio::test]
async fn rollback_needs_an_earlier_version_and_reinstalling_is_a_no_op() {
    let registry = Registry::new(engine());
    let first = registry.install(&wasm(&components().probe_v1)).await.expect("installs");
    assert!(matches!(registry.rollback(PROBE), Err(RegistryError::NothingToRollBack(_))));
    let again = registry.install(&wasm(&components().probe_v1)).await.expect("same build again");
    assert!(Arc::ptr_eq(&first, &again), "the same build is not loaded twice");
    assert!(matches!(registry.rollback(PROBE), Err(RegistryError::NothingToRollBack(_))));

    registry.add(&wasm(&components().probe_v2)).await.expect("v2 added");
    assert_eq!(registry.serving(PROBE).expect("serving").version, "1.0.0", "added is not serving");
    registry.promote(PROBE, "2.0.0").expect("promote");
    let listed = registry.list();
    assert_eq!(listed[0].serving.as_deref(), Some("2.0.0"));
    assert_eq!(listed[0].versions.len(), 2);

    registry.set_disabled(PROBE, true).expect("disable");
    assert!(matches!(registry.serving(PROBE), Err(RegistryError::Disabled(_))));
    registry.set_disabled(PROBE, false).expect("enable");
    assert!(matches!(registry.promote(PROBE, "3.0.0"), Err(RegistryError::UnknownVersion { .. })));
    assert!(matches!(registry.serving("nope"), Err(RegistryError::UnknownPlugin(_))));
}

#[tokio::test]
async fn judges_load_from_a_build_directory_skipping_broken_files() {
    let dir = std::env::temp_dir().join(format!("proctor-judges-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&components().first_steps, dir.join("judge-first-steps.wasm")).unwrap();
    std::fs::write(dir.join("broken.wasm"), b"\0asm garbage").unwrap();
    let registry = Registry::new(engine());
    let loaded = registry.load_dir(&dir).await.expect("directory readable");
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(loaded.len(), 2);
    assert_eq!(loaded.iter().filter(|(_, r)| r.is_ok()).count(), 1);
    assert_eq!(registry.serving("judge-first-steps").expect("loaded").version, "1.0.0");
}
