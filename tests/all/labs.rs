//! The scenario format: a valid lab loads whole; each kind of mistake gives
//! a precise problem (file, line, column, what, how to fix) and no panic.

use std::path::PathBuf;

use proctor::{
    capabilities::Capability,
    labs::{Difficulty, InvalidLab, MachineImage, load_lab},
};

const GOOD: &str = r#"id = "demo"
title = "A demo lab"
description = "Learn *things*."
difficulty = "beginner"
duration_minutes = 20
topics = ["linux"]

[runtime]
ttl_minutes = 45
warm_pool = 1
keep_workspace = true

[[machines]]
name = "main"
image = "proctor/base:bookworm"
memory_mib = 256

[[machines]]
name = "web"
dockerfile = "image/Dockerfile"

[judge]
plugin = "judge-demo"
hints = "judge-demo"
capabilities = ["exec", "read-file"]

[judge.limits]
fuel = 1000000

[[tasks]]
id = "first"
title = "First things"
step = "steps/01-first.md"

[[tasks]]
id = "second"
title = "Second things"
step = "steps/02-second.md"
"#;

/// A lab directory named `id` holding `lab_toml` and the usual files.
fn lab_dir(id: &str, lab_toml: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let root = std::env::temp_dir().join(format!("proctor-labs-{}-{n}", std::process::id()));
    let dir = root.join(id);
    std::fs::create_dir_all(dir.join("steps")).unwrap();
    std::fs::create_dir_all(dir.join("image")).unwrap();
    std::fs::write(dir.join("lab.toml"), lab_toml).unwrap();
    std::fs::write(dir.join("steps/01-first.md"), "# First\nDo it.\n").unwrap();
    std::fs::write(dir.join("steps/02-second.md"), "# Second\n").unwrap();
    std::fs::write(dir.join("image/Dockerfile"), "FROM proctor/base:bookworm\n").unwrap();
    std::fs::write(dir.join("solve.sh"), "#!/bin/sh\ntouch /workspace/done\n").unwrap();
    dir
}

fn problems(id: &str, lab_toml: &str) -> InvalidLab {
    load_lab(&lab_dir(id, lab_toml)).expect_err("the lab must be refused")
}

#[test]
fn a_valid_lab_loads_with_everything_it_names() {
    let lab = load_lab(&lab_dir("demo", GOOD)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((lab.id.as_str(), lab.difficulty, lab.duration_minutes), ("demo", Difficulty::Beginner, 20));
    assert_eq!(lab.tasks.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["first", "second"]);
    assert_eq!(lab.tasks[0].instructions, "# First\nDo it.\n");
    assert_eq!(lab.machines[0].resources.memory_bytes, 256 << 20);
    assert!(matches!(&lab.machines[1].image, MachineImage::Dockerfile { dockerfile, .. } if dockerfile == "Dockerfile"));
    let judge = lab.judge.as_ref().unwrap();
    assert!(judge.grants.allows(Capability::Exec) && !judge.grants.allows(Capability::BuildImage));
    assert_eq!(judge.limits.fuel, 1_000_000);
    assert_eq!((lab.warm_pool, lab.keep_workspace), (1, true));
    assert!(lab.solve.is_some() && lab.setup.is_none());
}

#[test]
fn bad_toml_is_placed_by_line_and_column() {
    let err = problems("demo", "id = \"demo\"\ntitle = \n");
    let p = &err.problems[0];
    assert_eq!(p.at.map(|a| a.0), Some(2), "{err}");
    assert!(p.file.ends_with("lab.toml"), "{err}");
}

#[test]
fn a_missing_field_is_named() {
    let err = problems("demo", &GOOD.replace("difficulty = \"beginner\"\n", ""));
    assert!(err.to_string().contains("missing field `difficulty`"), "{err}");
}

#[test]
fn an_unknown_key_is_refused() {
    let err = problems("demo", &GOOD.replace("topics = [\"linux\"]", "topics = [\"linux\"]\ncolour = \"blue\""));
    assert!(err.to_string().contains("unknown field `colour`"), "{err}");
    assert_eq!(err.problems[0].at.map(|a| a.0), Some(7), "{err}");
}

#[test]
fn an_unknown_capability_is_placed_and_the_known_ones_listed() {
    let err = problems("demo", &GOOD.replace("\"read-file\"]", "\"read-fiel\"]"));
    assert_eq!(err.problems.len(), 1, "{err}");
    let p = &err.problems[0];
    // Line 25, at the opening quote of the bad name.
    assert_eq!(p.at, Some((25, 25)), "{err}");
    assert!(p.message.contains("unknown capability `read-fiel`") && p.message.contains("build-image"), "{err}");
}

#[test]
fn a_missing_step_file_and_a_duplicate_task_are_both_reported() {
    let text = GOOD.replace("steps/02-second.md", "steps/03-missing.md").replace("id = \"second\"", "id = \"first\"");
    let err = problems("demo", &text);
    let all = err.to_string();
    assert!(all.contains("task id `first` is used twice"), "{all}");
    assert!(all.contains("step file `steps/03-missing.md` cannot be read"), "{all}");
    assert!(err.problems.iter().all(|p| p.at.is_some() && p.fix.is_some()), "{all}");
}

#[test]
fn paths_leaving_the_lab_and_mismatched_ids_are_refused() {
    let text = GOOD.replace("steps/01-first.md", "../../etc/passwd").replace("image/Dockerfile", "/etc/Dockerfile");
    let err = problems("other", &text);
    let all = err.to_string();
    assert!(all.contains("differs from its directory `other`"), "{all}");
    assert!(all.contains("`../../etc/passwd` is not a path inside the lab"), "{all}");
    assert!(all.contains("dockerfile `/etc/Dockerfile` is not a file inside the lab"), "{all}");
}

#[test]
fn machines_must_fit_the_runtime_and_have_one_source() {
    let text = GOOD.replace("dockerfile = \"image/Dockerfile\"", "disk = \"quay.io/disk:1\"").replace("name = \"web\"", "name = \"main\"");
    let all = problems("demo", &text).to_string();
    assert!(all.contains("machine `main` is defined twice"), "{all}");
    assert!(all.contains("does not fit the lab's runtime"), "{all}");
    let none = problems("demo", &GOOD.replace("image = \"proctor/base:bookworm\"\n", "")).to_string();
    assert!(none.contains("needs exactly one of image, dockerfile and disk"), "{none}");
}

#[test]
fn a_directory_without_lab_toml_says_so() {
    let dir = std::env::temp_dir().join(format!("proctor-labs-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let err = load_lab(&dir).unwrap_err();
    assert!(err.to_string().contains("cannot read it") && err.to_string().contains("needs a lab.toml"), "{err}");
}
