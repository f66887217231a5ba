//! Loading: what is refused, with which message, and the artifact cache.

use proctor::plugins::{EngineConfig, LoadError, PluginEngine, contract::ContractError};
use proctor_tests::{components, engine, wasm};

#[tokio::test]
async fn an_incompatible_contract_is_refused_at_load_with_both_versions_named() {
    let err = engine().load(&wasm(&components().incompatible)).await.expect_err("refused");
    assert!(matches!(err, LoadError::Contract(ContractError::Incompatible { .. })), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("proctor:plugin@9.0.0") && message.contains("proctor:plugin@0.1.0"), "{message}");
}

#[tokio::test]
async fn bytes_that_are_not_a_component_are_refused() {
    let err = engine().load(b"definitely not wasm").await.expect_err("refused");
    assert!(matches!(err, LoadError::Invalid(_)), "{err:?}");
    // A core module (not a component): magic, version 1, no sections.
    let err = engine().load(b"\0asm\x01\0\0\0").await.expect_err("refused");
    assert!(matches!(err, LoadError::Invalid(_)), "{err:?}");
}

#[tokio::test]
async fn an_oversized_component_is_refused_before_compiling() {
    let engine = PluginEngine::new(EngineConfig { max_plugin_bytes: 1024, ..EngineConfig::default() }).unwrap();
    let err = engine.load(&wasm(&components().probe_v1)).await.expect_err("refused");
    assert!(matches!(err, LoadError::TooLarge { max: 1024, .. }), "{err:?}");
}

#[tokio::test]
async fn a_loaded_judge_reports_its_identity_and_contract() {
    let plugin = engine().load(&wasm(&components().first_steps)).await.expect("loads");
    assert_eq!(plugin.name, "judge-first-steps");
    assert_eq!(plugin.version, "1.0.0");
    assert_eq!(plugin.contract.version.to_string(), proctor::plugins::contract::VERSION);
    assert!(plugin.contract.judge && plugin.contract.hints);
    assert_eq!(plugin.digest.len(), 64);
}

#[tokio::test]
async fn compiled_artifacts_are_cached_by_digest_and_reused() {
    let dir = std::env::temp_dir().join(format!("proctor-cache-{}", std::process::id()));
    let config = EngineConfig { cache_dir: Some(dir.clone()), ..EngineConfig::default() };
    let bytes = wasm(&components().probe_v1);
    let first = PluginEngine::new(config.clone()).unwrap().load(&bytes).await.expect("compiles");
    let cached: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(Result::ok).map(|e| e.file_name()).collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert!(cached[0].to_string_lossy().starts_with(&first.digest));
    // A second engine loads the artifact instead of compiling.
    let second = PluginEngine::new(config.clone()).unwrap().load(&bytes).await.expect("loads from cache");
    assert_eq!(second.digest, first.digest);
    // A corrupted artifact is discarded and rebuilt, not trusted.
    let path = dir.join(&cached[0]);
    std::fs::write(&path, b"corrupt").unwrap();
    let third = PluginEngine::new(config).unwrap().load(&bytes).await.expect("recompiles");
    assert_eq!(third.version, "1.0.0");
    assert!(std::fs::read(&path).unwrap().len() > 100, "the artifact was rewritten");
    std::fs::remove_dir_all(&dir).ok();
}
