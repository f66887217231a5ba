//! Killercoda scenarios the team wrote in that format, imported: what
//! carries over (steps, verify scripts, assets, background scripts), what
//! is reported, and what is refused.

use proctor::labs::{
    Catalog,
    import::{
        ImportError, Severity,
        killercoda::{Options, convert},
    },
};
use proctor_tests::workspace;

fn scenario(name: &str) -> std::path::PathBuf {
    workspace().join("tests/data/killercoda").join(name)
}

#[test]
fn a_scenario_becomes_a_valid_lab_graded_by_its_verify_scripts() {
    let converted = convert(&scenario("web-basics"), &Options::default()).expect("the scenario converts");
    assert_eq!(converted.id, "web-basics");
    let out = tempfile::tempdir().unwrap();
    let dir = converted.write(out.path()).unwrap();
    let catalog = Catalog::load(out.path()).unwrap();
    assert!(catalog.invalid.is_empty(), "{:?}", catalog.invalid.iter().map(ToString::to_string).collect::<Vec<_>>());
    let lab = catalog.get("web-basics").expect("the lab loads");
    assert_eq!((lab.title.as_str(), lab.duration_minutes), ("Serve a file over HTTP", 15));
    assert_eq!(lab.judge.as_ref().map(|j| j.plugin.as_str()), Some("judge-script"));

    // The text-only step joins the next graded one; intro and finish frame them.
    let ids: Vec<&str> = lab.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["step-1", "step-3"]);
    assert!(lab.tasks[0].instructions.starts_with("# Welcome"), "{}", lab.tasks[0].instructions);
    assert!(lab.tasks[0].instructions.contains("`echo port=8000 > /root/app/config.txt`\n"), "the run annotation is gone");
    let serve = &lab.tasks[1].instructions;
    assert!(serve.starts_with("## About ports") && serve.contains("Well done"), "{serve}");
    let verify = lab.tasks[0].params.iter().find(|(k, _)| k == "verify").map(|(_, v)| v.as_str());
    assert!(verify.is_some_and(|v| v.contains("grep -qx 'port=8000'")), "{verify:?}");

    // Assets and every background script go into setup.sh, in order.
    let setup = lab.setup.as_deref().expect("a setup script");
    let order = ["# asset serve.sh", "chmod '+x' '/root/bin/serve.sh'", "'/root/site/css/main.css'", "'/root/site/index.html'", "mkdir -p /root/app", "touch /tmp/.step3-ready"];
    let at: Vec<usize> = order.iter().map(|s| setup.find(s).unwrap_or_else(|| panic!("{s:?} missing from\n{setup}"))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "out of order: {at:?}");
    assert!(std::fs::metadata(dir.join("setup.sh")).unwrap().permissions().mode() & 0o111 != 0);

    // The report names what changed and what did not carry over.
    let said = |severity, needle: &str| converted.report.iter().any(|f| f.severity == severity && f.message.contains(needle));
    assert!(said(Severity::Unsupported, "`interface`"), "{:?}", converted.report);
    assert!(said(Severity::Unsupported, "TRAFFIC_HOST1_8000"), "{:?}", converted.report);
    assert!(said(Severity::Note, "step 3: the background script"), "{:?}", converted.report);
    assert!(said(Severity::Note, "step 2 (About ports) has no verify script"), "{:?}", converted.report);
    assert!(said(Severity::Note, "solve.sh"), "{:?}", converted.report);

    // Importing again does not overwrite the lab.
    assert!(matches!(converted.write(out.path()), Err(ImportError::Write { .. })));
}

use std::os::unix::fs::PermissionsExt;

#[test]
fn a_backend_we_cannot_provide_is_refused_unless_an_image_replaces_it() {
    let refused = convert(&scenario("cluster-only"), &Options::default()).unwrap_err();
    assert!(matches!(&refused, ImportError::Unsupported(m) if m.contains("kubernetes-kubeadm-2nodes") && m.contains("--image")), "{refused}");
    let options = Options { image: Some("example/kubectl:1".into()), id: Some("cluster-lab".into()) };
    let converted = convert(&scenario("cluster-only"), &options).unwrap();
    let toml = converted.files.iter().find(|(p, ..)| p.as_os_str() == "lab.toml").map(|(_, d, _)| String::from_utf8_lossy(d).into_owned()).unwrap();
    assert!(toml.contains("image = \"example/kubectl:1\"") && toml.contains("id = \"cluster-lab\""), "{toml}");
}

#[test]
fn broken_scenarios_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = convert(dir.path(), &Options::default()).unwrap_err();
    assert!(matches!(&err, ImportError::Read { path, .. } if path.ends_with("index.json")), "{err}");
    std::fs::write(dir.path().join("index.json"), "{\"title\": 3}").unwrap();
    let err = convert(dir.path(), &Options::default()).unwrap_err();
    assert!(matches!(&err, ImportError::Invalid { .. }) && err.to_string().contains("invalid type"), "{err}");
    std::fs::write(dir.path().join("index.json"), r#"{"title": "t", "details": {"steps": [{"title": "read", "text": "a.md"}]}}"#).unwrap();
    std::fs::write(dir.path().join("a.md"), "just reading").unwrap();
    let err = convert(dir.path(), &Options { id: Some("t".into()), image: None }).unwrap_err();
    assert!(matches!(&err, ImportError::Unsupported(m) if m.contains("no step has a verify script")), "{err}");
    std::fs::write(dir.path().join("index.json"), r#"{"title": "t", "details": {"steps": [{"title": "s", "text": "gone.md", "verify": "v.sh"}]}}"#).unwrap();
    let err = convert(dir.path(), &Options { id: Some("t".into()), image: None }).unwrap_err();
    assert!(matches!(&err, ImportError::Read { path, .. } if path.ends_with("gone.md")), "{err}");
    let bad_id = convert(&scenario("web-basics"), &Options { id: Some("Not An Id".into()), image: None }).unwrap_err();
    assert!(bad_id.to_string().contains("cannot be a lab id"), "{bad_id}");
}
