//! Killercoda scenarios (`index.json`, intro/step/finish Markdown, `verify`,
//! `background` and `foreground` scripts, assets) into Proctor labs graded
//! by the bundled script judge, which runs each step's verify script.
//!
//! What changes on the way, and is reported:
//! - every background and foreground script runs once, in order, when the
//!   session starts (`setup.sh`): Proctor has no per-step setup;
//! - assets are embedded in `setup.sh` and written where the scenario puts
//!   them;
//! - steps without a verify script are read-only: their text joins the next
//!   graded step (or the last one);
//! - click-to-run and copy annotations become plain code, which the UI
//!   offers to copy;
//! - Killercoda's Ubuntu backends run on the Debian base image; cluster
//!   backends and second hosts are refused unless `--image` names a
//!   replacement.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use base64::Engine as _;
use serde::Deserialize;

use super::{Converted, Finding, ImportError, Severity};
use crate::{prepare::BASE_IMAGE, runtime::command::quote};

/// Choices the author makes at import.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The lab's id (default: from the directory's name).
    pub id: Option<String>,
    /// The image to run instead of the scenario's backend.
    pub image: Option<String>,
}

/// Assets embedded in `setup.sh` beyond this are refused: a lab's start
/// is not the place to ship large files.
const MAX_ASSET_BYTES: usize = 1 << 20;

#[derive(Deserialize)]
struct Index {
    title: String,
    #[serde(default)]
    description: String,
    difficulty: Option<String>,
    time: Option<String>,
    details: Details,
    backend: Option<Backend>,
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct Details {
    intro: Option<Page>,
    #[serde(default)]
    steps: Vec<Page>,
    finish: Option<Page>,
    #[serde(default)]
    assets: BTreeMap<String, Vec<Asset>>,
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct Page {
    title: Option<String>,
    text: Option<String>,
    verify: Option<String>,
    background: Option<String>,
    foreground: Option<String>,
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct Asset {
    file: String,
    target: String,
    chmod: Option<String>,
}

#[derive(Deserialize)]
struct Backend {
    imageid: Option<String>,
}

/// Converts the scenario in `dir`.
pub fn convert(dir: &Path, options: &Options) -> Result<Converted, ImportError> {
    let index_path = dir.join("index.json");
    let raw = read(&index_path)?;
    let index: Index = serde_json::from_slice(&raw).map_err(|e| ImportError::Invalid { path: index_path.clone(), why: e.to_string() })?;
    let mut out = Converted { id: lab_id(dir, options)?, ..Converted::default() };
    let note = |out: &mut Converted, severity, message: String| out.report.push(Finding { severity, message });

    for key in index.other.keys() {
        note(&mut out, Severity::Unsupported, format!("index.json `{key}` is not carried over"));
    }
    for key in index.details.other.keys() {
        note(&mut out, Severity::Unsupported, format!("index.json `details.{key}` is not carried over"));
    }
    let image = machine_image(index.backend.as_ref().and_then(|b| b.imageid.as_deref()), options, &mut out)?;

    // Setup: assets, then every background/foreground script in order.
    let mut setup = String::from("#!/bin/bash\n# Prepares the learner's machine when the session starts (imported from Killercoda).\nset -e\n");
    let assets = embed_assets(dir, &index.details.assets, &mut out)?;
    setup.push_str(&assets);
    let mut pages: Vec<(&str, &Page)> = Vec::new();
    if let Some(intro) = &index.details.intro {
        pages.push(("intro", intro));
    }
    let step_names: Vec<String> = (1..=index.details.steps.len()).map(|n| format!("step {n}")).collect();
    pages.extend(step_names.iter().map(String::as_str).zip(index.details.steps.iter()));
    if let Some(finish) = &index.details.finish {
        pages.push(("finish", finish));
    }
    let mut scripts = 0;
    for (name, page) in &pages {
        for key in page.other.keys() {
            note(&mut out, Severity::Unsupported, format!("{name}: `{key}` is not carried over"));
        }
        for (kind, script) in [("background", &page.background), ("foreground", &page.foreground)] {
            let Some(script) = script else { continue };
            let text = read_text(&dir.join(script))?;
            setup.push_str(&format!("\n# {name}: {kind} script ({script})\n(\n{}\n)\n", text.trim_end()));
            scripts += 1;
            if *name != "intro" || kind == "foreground" {
                note(&mut out, Severity::Note, format!("{name}: the {kind} script {script} runs when the session starts, not when the step opens"));
            }
        }
    }
    if !assets.is_empty() || scripts > 0 {
        out.files.push(("setup.sh".into(), setup.into_bytes(), true));
    }

    // Tasks: each step with a verify script; text-only steps join the next.
    let mut pending = match &index.details.intro {
        Some(Page { text: Some(text), .. }) => markdown(&read_text(&dir.join(text))?, "intro", &mut out),
        _ => String::new(),
    };
    let mut tasks: Vec<(String, String, String)> = Vec::new();
    for (n, step) in index.details.steps.iter().enumerate() {
        let n = n + 1;
        let title = step.title.clone().unwrap_or_else(|| format!("Step {n}"));
        let text = match &step.text {
            Some(path) => markdown(&read_text(&dir.join(path))?, &format!("step {n}"), &mut out),
            None => String::new(),
        };
        match &step.verify {
            Some(verify) => {
                let body = join(&pending, &text);
                pending.clear();
                let id = format!("step-{n}");
                out.files.push((format!("verify/{id}.sh").into(), read(&dir.join(verify))?, true));
                tasks.push((id, title, body));
            }
            None => {
                note(&mut out, Severity::Note, format!("step {n} ({title}) has no verify script: its text joins the next graded step"));
                pending = join(&pending, &format!("## {title}\n\n{text}"));
            }
        }
    }
    if tasks.is_empty() {
        return Err(ImportError::Unsupported("no step has a verify script, and every Proctor task is graded: add a verify script to at least one step".into()));
    }
    if let Some(Page { text: Some(finish), .. }) = &index.details.finish {
        pending = join(&pending, &markdown(&read_text(&dir.join(finish))?, "finish", &mut out));
    }
    if !pending.is_empty() {
        let last = tasks.last_mut().expect("at least one task");
        last.2 = join(&last.2, &format!("---\n\n{pending}"));
    }
    for (i, (id, _, body)) in tasks.iter().enumerate() {
        out.files.push((format!("steps/{:02}-{id}.md", i + 1).into(), body.clone().into_bytes(), false));
    }

    let (difficulty, minutes) = (difficulty(index.difficulty.as_deref(), &mut out), minutes(index.time.as_deref(), &mut out));
    out.files.push(("lab.toml".into(), lab_toml(&out.id, &index, difficulty, minutes, &image, &tasks).into_bytes(), false));
    note(&mut out, Severity::Note, "Killercoda scenarios have no reference solution: write solve.sh so `proctor lab test` can prove the checks".into());
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<u8>, ImportError> {
    std::fs::read(path).map_err(|cause| ImportError::Read { path: path.to_path_buf(), cause })
}

fn read_text(path: &Path) -> Result<String, ImportError> {
    let bytes = read(path)?;
    String::from_utf8(bytes).map_err(|_| ImportError::Invalid { path: path.to_path_buf(), why: "not UTF-8 text".into() })
}

fn join(a: &str, b: &str) -> String {
    match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, _) => b.trim().to_owned() + "\n",
        (_, true) => a.trim().to_owned() + "\n",
        _ => format!("{}\n\n{}\n", a.trim(), b.trim()),
    }
}

/// The lab id: asked for, or the directory's name made valid.
fn lab_id(dir: &Path, options: &Options) -> Result<String, ImportError> {
    let raw = match &options.id {
        Some(id) => id.clone(),
        None => dir.canonicalize().ok().and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned())).unwrap_or_default(),
    };
    let mut id: String = raw.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    while id.contains("--") {
        id = id.replace("--", "-");
    }
    let id: String = id.trim_matches('-').chars().take(40).collect::<String>().trim_end_matches('-').to_owned();
    if id.is_empty() || (options.id.is_some() && &id != options.id.as_ref().expect("checked")) {
        return Err(ImportError::Unsupported(format!("`{raw}` cannot be a lab id: use 1-40 lowercase letters, digits and `-` (--id)")));
    }
    Ok(id)
}

fn machine_image(backend: Option<&str>, options: &Options, out: &mut Converted) -> Result<String, ImportError> {
    if let Some(image) = &options.image {
        out.report.push(Finding { severity: Severity::Note, message: format!("the machine runs {image}, as asked, instead of the backend {:?}", backend.unwrap_or("ubuntu")) });
        return Ok(image.clone());
    }
    match backend.unwrap_or("ubuntu") {
        b if b.starts_with("ubuntu") || b.starts_with("debian") => {
            out.report.push(Finding {
                severity: Severity::Note,
                message: format!("the backend `{b}` runs on {BASE_IMAGE} (Debian, one container); tools missing from it need installing in setup.sh or --image"),
            });
            Ok(BASE_IMAGE.to_owned())
        }
        b => Err(ImportError::Unsupported(format!(
            "the backend `{b}` (a cluster or a machine image) cannot be provided by a container; give --image with an image that has what the scenario needs"
        ))),
    }
}

/// The assets as `setup.sh` lines writing them where the scenario says.
fn embed_assets(dir: &Path, assets: &BTreeMap<String, Vec<Asset>>, out: &mut Converted) -> Result<String, ImportError> {
    let mut lines = String::new();
    let mut total = 0;
    for (host, list) in assets {
        if host != "host01" {
            out.report.push(Finding { severity: Severity::Unsupported, message: format!("assets for `{host}` are not carried over: the lab has one machine") });
            continue;
        }
        for asset in list {
            for (name, path) in asset_files(&dir.join("assets"), &asset.file)? {
                let data = read(&path)?;
                total += data.len();
                if total > MAX_ASSET_BYTES {
                    return Err(ImportError::Unsupported(format!("the assets pass {MAX_ASSET_BYTES} bytes; ship large files in an image (--image) instead")));
                }
                let target = format!("{}/{name}", asset.target.trim_end_matches('/'));
                let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
                let wrapped: Vec<&str> = encoded.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).expect("base64 is ASCII")).collect();
                lines.push_str(&format!("\n# asset {}\nmkdir -p {}\nbase64 -d > {} <<'PROCTOR_ASSET'\n{}\nPROCTOR_ASSET\n", asset.file, quote(&parent(&target)), quote(&target), wrapped.join("\n")));
                if let Some(mode) = &asset.chmod {
                    lines.push_str(&format!("chmod {} {}\n", quote(mode), quote(&target)));
                }
            }
        }
    }
    Ok(lines)
}

/// The files an asset entry names: one file, or `dir/*` / `*` for a
/// directory's files (relative names kept).
fn asset_files(assets: &Path, pattern: &str) -> Result<Vec<(String, PathBuf)>, ImportError> {
    let Some(prefix) = pattern.strip_suffix('*') else {
        let name = Path::new(pattern).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        return Ok(vec![(name, assets.join(pattern))]);
    };
    let base = assets.join(prefix.trim_end_matches('/'));
    let mut found = Vec::new();
    let mut stack = vec![base.clone()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|cause| ImportError::Read { path: d.clone(), cause })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(&base) {
                found.push((rel.to_string_lossy().into_owned(), path));
            }
        }
    }
    found.sort();
    Ok(found)
}

fn parent(path: &str) -> String {
    Path::new(path).parent().map_or_else(|| "/".to_owned(), |p| p.to_string_lossy().into_owned())
}

/// Killercoda's Markdown as Proctor's: run/copy annotations dropped (code
/// stays code), anything else in `{{ }}` reported.
fn markdown(text: &str, page: &str, out: &mut Converted) -> String {
    let mut result = String::with_capacity(text.len());
    let mut rest = text;
    let mut annotations = 0;
    while let Some(at) = rest.find("{{") {
        let Some(len) = rest[at..].find("}}") else { break };
        let inner = rest[at + 2..at + len].trim();
        let after_code = rest[..at].ends_with('`');
        result.push_str(&rest[..at]);
        if after_code && (inner.starts_with("exec") || inner.starts_with("copy")) {
            annotations += 1;
        } else {
            out.report.push(Finding { severity: Severity::Unsupported, message: format!("{page}: `{{{{{inner}}}}}` has no Proctor equivalent and is left in the text") });
            result.push_str(&rest[at..at + len + 2]);
        }
        rest = &rest[at + len + 2..];
    }
    result.push_str(rest);
    if annotations > 0 {
        out.report.push(Finding { severity: Severity::Note, message: format!("{page}: {annotations} run/copy annotations became plain code (learners copy it into the terminal)") });
    }
    result
}

fn difficulty(given: Option<&str>, out: &mut Converted) -> &'static str {
    match given.map(str::to_lowercase).as_deref() {
        Some("beginner" | "easy") => "beginner",
        Some("intermediate" | "medium") => "intermediate",
        Some("advanced" | "hard" | "expert") => "advanced",
        other => {
            out.report.push(Finding { severity: Severity::Note, message: format!("difficulty {other:?} became `beginner`; change it in lab.toml") });
            "beginner"
        }
    }
}

fn minutes(given: Option<&str>, out: &mut Converted) -> u32 {
    let parsed = given.and_then(|t| t.split_whitespace().next()).and_then(|n| n.parse().ok());
    parsed.unwrap_or_else(|| {
        out.report.push(Finding { severity: Severity::Note, message: format!("time {given:?} became 30 minutes; change duration_minutes in lab.toml") });
        30
    })
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn lab_toml(id: &str, index: &Index, difficulty: &str, minutes: u32, image: &str, tasks: &[(String, String, String)]) -> String {
    let description = if index.description.trim().is_empty() { index.title.clone() } else { index.description.trim().to_owned() };
    let mut toml = format!(
        "# Imported from a Killercoda scenario; see the import report for what changed.\n\
         id = {}\ntitle = {}\ndescription = {}\ndifficulty = \"{difficulty}\"\nduration_minutes = {minutes}\ntopics = [\"imported\"]\n\n\
         [[machines]]\nname = \"host01\"\nimage = {}\nworkdir = \"/root\"\n\n\
         [judge]\nplugin = \"judge-script\"\nhints = \"judge-script\"\ncapabilities = [\"exec\"]\n",
        toml_string(id),
        toml_string(&index.title),
        toml_string(&description),
        toml_string(image),
    );
    for (i, (task, title, _)) in tasks.iter().enumerate() {
        toml.push_str(&format!(
            "\n[[tasks]]\nid = \"{task}\"\ntitle = {}\nstep = \"steps/{:02}-{task}.md\"\nverify = \"verify/{task}.sh\"\n",
            toml_string(title),
            i + 1
        ));
    }
    toml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_annotations_become_plain_code_and_others_are_reported() {
        let mut out = Converted::default();
        let md = markdown("Run `ls -l`{{exec}} then\n```\necho hi\n```{{copy}}\nOpen {{TRAFFIC_HOST1_80}}", "step 1", &mut out);
        assert_eq!(md, "Run `ls -l` then\n```\necho hi\n```\nOpen {{TRAFFIC_HOST1_80}}");
        assert_eq!(out.report.len(), 2, "{:?}", out.report);
        assert!(out.report.iter().any(|f| f.severity == Severity::Unsupported && f.message.contains("TRAFFIC_HOST1_80")));
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
