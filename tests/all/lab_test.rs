//! `proctor lab test` against the real engine: every bundled Docker lab's
//! checks fail before its solution and pass after it; a judge that cannot
//! tell right from wrong, and a solution that does not solve, are caught;
//! and a Killercoda scenario, imported and given a solution, passes too.
//! Runs when `PROCTOR_TEST_DOCKER=1`.

use std::sync::Arc;

use proctor::{
    config::Config,
    judging::lab_test::{LabOutcome, run, table},
    labs::{
        Catalog,
        import::killercoda::{self, Options},
    },
    plugins::{Registry, Status},
    runtime::docker::DockerRuntime,
    sessions::{SessionPolicy, Sessions},
};
use proctor::{labs::scaffold, toolchain};
use proctor_tests::{EngineCleanup, bundled_judges, databases::sqlite, docker_enabled, engine, wasm, workspace};

/// Runs the lab test of every lab in `dir` with every bundled judge, on
/// engine objects of a test-only instance (removed afterwards).
async fn test_labs(dir: &std::path::Path, instance: &str) -> Vec<LabOutcome> {
    test_labs_with(dir, instance, &[]).await
}

/// The same, with `extra` judges loaded as well.
async fn test_labs_with(dir: &std::path::Path, instance: &str, extra: &[std::path::PathBuf]) -> Vec<LabOutcome> {
    let _cleanup = EngineCleanup::default().label("dev.proctor.instance", instance);
    let registry = Registry::new(engine());
    for judge in bundled_judges().iter().chain(extra) {
        registry.install(&wasm(judge)).await.expect("a bundled judge loads");
    }
    let catalog = Catalog::load(dir).unwrap();
    assert!(catalog.invalid.is_empty(), "{:?}", catalog.invalid.iter().map(ToString::to_string).collect::<Vec<_>>());
    let docker = DockerRuntime::connect().await.unwrap().with_instance(instance.to_owned());
    let sessions = Sessions::new(sqlite().await, Arc::new(docker), SessionPolicy { max_sessions: 4, max_per_learner: 4, ..SessionPolicy::default() });
    for lab in &catalog.labs {
        if let Some(mut env) = lab.environment(&Config::default().sessions.default_lifetime()) {
            env.warm_pool = 0;
            sessions.set_lab(env);
        }
    }
    let mut outcomes = Vec::new();
    for lab in &catalog.labs {
        outcomes.push(run(&registry, &sessions, lab).await);
    }
    outcomes
}

/// A copy of the bundled `first-steps` lab in a scratch directory, changed
/// by `edit`.
fn first_steps_copy(root: &std::path::Path, id: &str, edit: impl FnOnce(&std::path::Path)) {
    let from = workspace().join("scenarios/first-steps");
    let to = root.join(id);
    std::fs::create_dir_all(to.join("steps")).unwrap();
    std::fs::create_dir_all(to.join("fixtures")).unwrap();
    for file in ["lab.toml", "solve.sh", "steps/01-create-file.md", "steps/02-write-script.md", "fixtures/create-file-solved.json", "fixtures/write-script-not-executable.json"] {
        std::fs::copy(from.join(file), to.join(file)).unwrap();
    }
    let toml = std::fs::read_to_string(to.join("lab.toml")).unwrap().replace("id = \"first-steps\"", &format!("id = \"{id}\"")).replace("warm_pool = 1", "warm_pool = 0");
    std::fs::write(to.join("lab.toml"), toml).unwrap();
    edit(&to);
}

#[tokio::test]
async fn every_bundled_docker_lab_fails_before_its_solution_and_passes_after() {
    if !docker_enabled("every_bundled_docker_lab_fails_before_its_solution_and_passes_after") {
        return;
    }
    let outcomes = test_labs(&workspace().join("scenarios"), &format!("lab-test-all-{}", std::process::id())).await;
    let report = table(&outcomes);
    assert!(outcomes.iter().all(LabOutcome::passed), "{report}");
    let tested: Vec<&LabOutcome> = outcomes.iter().filter(|o| o.skipped.is_none()).collect();
    assert!(tested.iter().any(|o| o.lab == "first-steps"), "{report}");
    for lab in tested {
        assert!(!lab.tasks.is_empty(), "{report}");
        assert!(lab.tasks.iter().all(|t| t.before == Some(Status::Failed) && t.after == Some(Status::Passed)), "{report}");
    }
}

#[tokio::test]
async fn a_judge_that_cannot_fail_and_a_solution_that_does_not_solve_are_caught() {
    if !docker_enabled("a_judge_that_cannot_fail_and_a_solution_that_does_not_solve_are_caught") {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    // Broken on purpose: a judge whose check passes whatever the machine holds.
    first_steps_copy(root.path(), "always-passes", |lab| {
        let toml = std::fs::read_to_string(lab.join("lab.toml")).unwrap();
        let toml = toml.replace("plugin = \"judge-first-steps\"", "plugin = \"judge-script\"").replace("hints = \"judge-first-steps\"", "hints = \"judge-script\"");
        let toml = toml.replace("step = \"steps/01-create-file.md\"", "step = \"steps/01-create-file.md\"\nverify = \"always.sh\"").replace("step = \"steps/02-write-script.md\"", "step = \"steps/02-write-script.md\"\nverify = \"always.sh\"");
        std::fs::write(lab.join("lab.toml"), toml.replace("capabilities = [\"exec\", \"read-file\"]", "capabilities = [\"exec\"]")).unwrap();
        std::fs::write(lab.join("always.sh"), "exit 0\n").unwrap();
    });
    // A reference solution that writes the wrong greeting.
    first_steps_copy(root.path(), "wrong-solution", |lab| {
        let solve = std::fs::read_to_string(lab.join("solve.sh")).unwrap().replace("Hello, Proctor", "Hello, world");
        std::fs::write(lab.join("solve.sh"), solve).unwrap();
    });
    let outcomes = test_labs(root.path(), &format!("lab-test-broken-{}", std::process::id())).await;
    let report = table(&outcomes);
    let of = |id: &str| outcomes.iter().find(|o| o.lab == id).unwrap_or_else(|| panic!("{id} missing from\n{report}"));

    let always = of("always-passes");
    assert!(!always.passed(), "{report}");
    assert!(always.tasks.iter().all(|t| t.before == Some(Status::Passed) && t.deviations.iter().any(|d| d.contains("cannot tell"))), "{report}");

    let wrong = of("wrong-solution");
    assert!(!wrong.passed(), "{report}");
    assert_eq!(wrong.tasks[0].after, Some(Status::Failed), "{report}");
    assert!(wrong.tasks[0].deviations.iter().any(|d| d.contains("after solve.sh") && d.contains("greeting")), "{report}");
    assert!(report.contains("FAILED"), "{report}");
}

#[tokio::test]
async fn an_imported_killercoda_scenario_with_a_solution_passes_its_lab_test() {
    if !docker_enabled("an_imported_killercoda_scenario_with_a_solution_passes_its_lab_test") {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let scenario = workspace().join("tests/data/killercoda/web-basics");
    let converted = killercoda::convert(&scenario, &Options::default()).unwrap();
    let lab = converted.write(root.path()).unwrap();
    // What the author adds after importing: the reference solution.
    std::fs::write(lab.join("solve.sh"), "#!/bin/bash\nset -e\necho port=8000 > /root/app/config.txt\n/root/bin/serve.sh\n").unwrap();
    let outcomes = test_labs(root.path(), &format!("lab-test-kc-{}", std::process::id())).await;
    let report = table(&outcomes);
    assert!(outcomes.len() == 1 && outcomes[0].passed(), "{report}");
    let tasks: Vec<(&str, Option<Status>, Option<Status>)> = outcomes[0].tasks.iter().map(|t| (t.task.as_str(), t.before, t.after)).collect();
    assert_eq!(tasks, [("step-1", Some(Status::Failed), Some(Status::Passed)), ("step-3", Some(Status::Failed), Some(Status::Passed))], "{report}");
}

#[tokio::test]
async fn a_new_lab_passes_its_lab_test_as_generated() {
    if !docker_enabled("a_new_lab_passes_its_lab_test_as_generated") {
        return;
    }
    // A scratch workspace like the project's (same settings, the SDK by
    // path), so the generated judge crate builds as it would in a checkout.
    let root = tempfile::tempdir().unwrap();
    let repo = workspace();
    let manifest = std::fs::read_to_string(repo.join("Cargo.toml")).unwrap();
    let members = r#"members = ["host", "plugin-sdk", "judges/*", "tests", "tests/plugins/*"]"#;
    assert!(manifest.contains(members), "the workspace's members line changed; update this test");
    let manifest = manifest
        .replace(members, r#"members = ["judges/*"]"#)
        .replace(r#"default-members = ["host", "plugin-sdk", "judges/*", "tests", "tests/plugins/*"]"#, "")
        .replace(r#"path = "host""#, &format!("path = {:?}", repo.join("host")))
        .replace(r#"path = "plugin-sdk""#, &format!("path = {:?}", repo.join("plugin-sdk")));
    std::fs::write(root.path().join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(repo.join("Cargo.lock"), root.path().join("Cargo.lock")).unwrap();
    // The project's build directory, so the SDK is not compiled again.
    std::os::unix::fs::symlink(repo.join("target"), root.path().join("target")).unwrap();

    let written = scaffold::create(root.path(), "fresh-lab").expect("the lab is generated");
    assert!(written.iter().any(|p| p.ends_with("judges/fresh-lab/src/lib.rs")), "{written:?}");
    let judge = toolchain::build_components(root.path(), &[root.path().join("judges/fresh-lab")], &root.path().join("built"), &[])
        .unwrap_or_else(|e| panic!("the generated judge does not build: {e}"));
    let outcomes = test_labs_with(&root.path().join("scenarios"), &format!("lab-test-new-{}", std::process::id()), &judge).await;
    let report = table(&outcomes);
    assert!(outcomes.len() == 1 && outcomes[0].passed() && outcomes[0].tasks.len() == 1, "{report}");
}
