//! Loading a lab directory: parse `lab.toml`, check every field and every
//! file it names, and report all problems at once with their places.

use std::{
    collections::HashSet,
    path::{Component, Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use serde::Deserialize as _;
use toml::Spanned;

use super::{
    file::{FixtureCaseFile, LabFile, MachineFile},
    model::{Difficulty, FixtureCase, JudgeSpec, Lab, Machine, MachineImage, RuntimeKind, Task},
    problems::{InvalidLab, Report},
};
use crate::{
    capabilities::{Capability, Grants, fixture::Fixture},
    plugins::Limits,
    runtime::Resources,
};

/// Scripts a session runs: larger ones are refused.
const MAX_SCRIPT_BYTES: u64 = 256 * 1024;

/// Loads and validates the lab in `dir`.
pub fn load_lab(dir: &Path) -> Result<Lab, InvalidLab> {
    let path = dir.join("lab.toml");
    let invalid = |problems| InvalidLab { dir: dir.to_path_buf(), problems };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            let mut r = Report::new(path.clone(), "");
            r.at(None, format!("cannot read it: {e}"), Some("every lab directory needs a lab.toml"));
            return Err(invalid(r.problems));
        }
    };
    let mut report = Report::new(path, &text);
    let file: LabFile = match toml::from_str(&text) {
        Ok(f) => f,
        Err(e) => {
            report.at(e.span(), e.message().trim_end().to_owned(), Some("see docs/authoring.md for the lab.toml reference"));
            return Err(invalid(report.problems));
        }
    };
    let lab = check(dir, &file, &mut report);
    match lab {
        Some(lab) if report.problems.is_empty() => Ok(lab),
        _ => Err(invalid(report.problems)),
    }
}

/// A lab or machine name: what runtimes can name objects after.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A path inside the lab: relative, without `..`.
fn inside(dir: &Path, rel: &str) -> Option<PathBuf> {
    let p = Path::new(rel);
    let ok = !rel.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    ok.then(|| dir.join(p))
}

fn check(dir: &Path, f: &LabFile, r: &mut Report) -> Option<Lab> {
    let name_fix = "use 1-40 lowercase letters, digits and `-`";
    if !is_name(f.id.get_ref()) {
        r.at(Some(f.id.span()), format!("lab id `{}` is not a valid name", f.id.get_ref()), Some(name_fix));
    }
    let dir_name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if f.id.get_ref() != dir_name {
        r.at(Some(f.id.span()), format!("lab id `{}` differs from its directory `{dir_name}`", f.id.get_ref()), Some("name the directory after the id"));
    }
    if f.title.get_ref().trim().is_empty() {
        r.at(Some(f.title.span()), "the title is empty", Some("give the lab a title learners will see"));
    }
    let difficulty = Difficulty::parse(f.difficulty.get_ref());
    if difficulty.is_none() {
        r.at(Some(f.difficulty.span()), format!("unknown difficulty `{}`", f.difficulty.get_ref()), Some(&format!("use one of {}", Difficulty::NAMES.join(", "))));
    }
    if !(1..=600).contains(f.duration_minutes.get_ref()) {
        r.at(Some(f.duration_minutes.span()), "duration_minutes must be between 1 and 600", None);
    }

    let runtime = match f.runtime.kind.as_ref().map(|k| k.get_ref().as_str()) {
        None | Some("docker") => RuntimeKind::Docker,
        Some("kubevirt") => RuntimeKind::Kubevirt,
        Some(other) => {
            r.at(f.runtime.kind.as_ref().map(Spanned::span), format!("unknown runtime `{other}`"), Some("use `docker` or `kubevirt`"));
            RuntimeKind::Docker
        }
    };
    if let Some(ttl) = &f.runtime.ttl_minutes
        && !(1..=24 * 60).contains(ttl.get_ref())
    {
        r.at(Some(ttl.span()), "ttl_minutes must be between 1 and 1440", None);
    }
    if let Some(pool) = &f.runtime.warm_pool
        && *pool.get_ref() > 50
    {
        r.at(Some(pool.span()), "warm_pool must be at most 50", Some("a pool holds ready environments; a few are enough"));
    }

    let machines = check_machines(dir, runtime, f.machines.as_ref(), r);
    let judge = f.judge.as_ref().map(|j| {
        let mut grants = Vec::new();
        for cap in &j.capabilities {
            match Capability::from_str(cap.get_ref()) {
                Ok(c) => grants.push(c),
                Err(e) => r.at(Some(cap.span()), e, Some("grant only what the judge calls")),
            }
        }
        let limits = match &j.limits {
            None => Limits::default(),
            Some(table) => match Limits::deserialize(toml::Value::Table(table.get_ref().clone())) {
                Ok(l) => l,
                Err(e) => {
                    r.at(Some(table.span()), format!("invalid [judge.limits]: {}", e.message().trim_end()), None);
                    Limits::default()
                }
            },
        };
        if j.plugin.get_ref().trim().is_empty() {
            r.at(Some(j.plugin.span()), "the judge plugin name is empty", Some("name the judge component, e.g. `judge-<lab>`"));
        }
        JudgeSpec {
            plugin: j.plugin.get_ref().clone(),
            hints: j.hints.as_ref().map(|h| h.get_ref().clone()),
            grants: Grants::from_iter(grants),
            limits,
            fixtures: check_fixtures(dir, f, &j.fixtures, r),
        }
    });

    let egress = f
        .runtime
        .egress
        .iter()
        .filter_map(|e| e.get_ref().parse().map_err(|why: String| r.at(Some(e.span()), why, Some("write CIDR or CIDR:PORT, e.g. 203.0.113.0/24:443"))).ok())
        .collect();
    let tasks = check_tasks(dir, f, r);
    let setup = script(dir, "setup.sh", r);
    let solve = script(dir, "solve.sh", r);
    Some(Lab {
        id: f.id.get_ref().clone(),
        title: f.title.get_ref().trim().to_owned(),
        description: f.description.clone(),
        difficulty: difficulty?,
        duration_minutes: *f.duration_minutes.get_ref(),
        topics: f.topics.clone(),
        dir: dir.to_path_buf(),
        runtime,
        machines,
        judge,
        tasks,
        ttl: f.runtime.ttl_minutes.as_ref().map(|t| Duration::from_secs(t.get_ref() * 60)),
        max_extensions: f.runtime.max_extensions,
        extend_by: f.runtime.extend_minutes.map(|m| Duration::from_secs(m * 60)),
        warm_pool: f.runtime.warm_pool.as_ref().map_or(0, |p| *p.get_ref()),
        keep_workspace: f.runtime.keep_workspace.unwrap_or(false),
        egress,
        setup,
        solve,
    })
}

/// `[[judge.fixtures]]`: each names a task of the lab, a readable fixture
/// inside the lab, and `passed` or `failed`.
fn check_fixtures(dir: &Path, f: &LabFile, cases: &[Spanned<FixtureCaseFile>], r: &mut Report) -> Vec<FixtureCase> {
    let task_ids: HashSet<&str> =
        f.tasks.as_ref().map(|t| t.get_ref().iter().map(|t| t.id.get_ref().as_str()).collect()).unwrap_or_default();
    let mut out = Vec::new();
    for case in cases {
        let c = case.get_ref();
        if !task_ids.contains(c.task.as_str()) {
            r.at(Some(case.span()), format!("fixture case for unknown task `{}`", c.task), Some("name one of the lab's [[tasks]] ids"));
            continue;
        }
        if !["passed", "failed"].contains(&c.expect.as_str()) {
            r.at(Some(case.span()), format!("expect = `{}` is not a verdict a case can require", c.expect), Some("use \"passed\" or \"failed\""));
            continue;
        }
        let Some(file) = inside(dir, &c.file) else {
            r.at(Some(case.span()), format!("fixture `{}` is not a path inside the lab", c.file), Some("give a path relative to the lab directory"));
            continue;
        };
        if let Err(e) = Fixture::load(&file) {
            r.at(Some(case.span()), e.to_string(), Some("save an attempt's `recording` (GET /api/v1/sessions/{id}/attempts) as the fixture"));
            continue;
        }
        out.push(FixtureCase { task: c.task.clone(), file, expect: c.expect.clone() });
    }
    out
}

fn check_machines(dir: &Path, runtime: RuntimeKind, machines: Option<&Spanned<Vec<MachineFile>>>, r: &mut Report) -> Vec<Machine> {
    let list = machines.map(|m| m.get_ref().as_slice()).unwrap_or_default();
    if list.is_empty() {
        r.at(machines.map(Spanned::span), "the lab has no machines", Some("add a [[machines]] table with a name and an image"));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for m in list {
        let name = m.name.get_ref();
        if !is_name(name) {
            r.at(Some(m.name.span()), format!("machine name `{name}` is not valid"), Some("use 1-40 lowercase letters, digits and `-`"));
        } else if !seen.insert(name.clone()) {
            r.at(Some(m.name.span()), format!("machine `{name}` is defined twice"), Some("give each machine its own name"));
        }
        let sources = [m.image.as_ref(), m.dockerfile.as_ref(), m.disk.as_ref()].iter().filter(|s| s.is_some()).count();
        let image = match (runtime, &m.image, &m.dockerfile, &m.disk) {
            _ if sources != 1 => {
                let fix = if runtime == RuntimeKind::Docker { "set `image` or `dockerfile`" } else { "set `disk`" };
                r.at(Some(m.name.span()), format!("machine `{name}` needs exactly one of image, dockerfile and disk"), Some(fix));
                continue;
            }
            (RuntimeKind::Docker, Some(image), _, _) => MachineImage::Reference(image.get_ref().clone()),
            (RuntimeKind::Docker, _, Some(dockerfile), _) => match inside(dir, dockerfile.get_ref()) {
                Some(path) if path.is_file() => MachineImage::Dockerfile {
                    context: path.parent().map_or_else(|| dir.to_path_buf(), Path::to_path_buf),
                    dockerfile: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                },
                _ => {
                    r.at(Some(dockerfile.span()), format!("dockerfile `{}` is not a file inside the lab", dockerfile.get_ref()), Some("give a path relative to the lab directory"));
                    continue;
                }
            },
            (RuntimeKind::Kubevirt, _, _, Some(disk)) => MachineImage::Disk(disk.get_ref().clone()),
            (kind, ..) => {
                let span = m.disk.as_ref().or(m.image.as_ref()).or(m.dockerfile.as_ref()).map(Spanned::span);
                let fix = if kind == RuntimeKind::Docker { "Docker machines use `image` or `dockerfile`" } else { "KubeVirt machines boot a `disk`" };
                r.at(span, format!("machine `{name}` does not fit the lab's runtime"), Some(fix));
                continue;
            }
        };
        let defaults = Resources::default();
        let memory_mib = m.memory_mib.as_ref().map_or(defaults.memory_bytes >> 20, |v| *v.get_ref());
        if let Some(v) = &m.memory_mib
            && !(16..=65_536).contains(v.get_ref())
        {
            r.at(Some(v.span()), "memory_mib must be between 16 and 65536", None);
        }
        let cpus = m.cpus.as_ref().map_or(defaults.cpus, |v| *v.get_ref());
        if let Some(v) = &m.cpus
            && !(0.1..=64.0).contains(v.get_ref())
        {
            r.at(Some(v.span()), "cpus must be between 0.1 and 64", None);
        }
        let workdir = match &m.workdir {
            None => "/workspace".to_owned(),
            Some(w) if w.get_ref().starts_with('/') && !w.get_ref().split('/').any(|c| c == "..") => w.get_ref().clone(),
            Some(w) => {
                r.at(Some(w.span()), format!("workdir `{}` must be an absolute path without `..`", w.get_ref()), Some("for example \"/workspace\""));
                continue;
            }
        };
        out.push(Machine {
            name: name.clone(),
            image,
            resources: Resources { memory_bytes: memory_mib << 20, cpus, pids: m.pids.unwrap_or(defaults.pids) },
            workdir,
        });
    }
    out
}

fn check_tasks(dir: &Path, f: &LabFile, r: &mut Report) -> Vec<Task> {
    let list = f.tasks.as_ref().map(|t| t.get_ref().as_slice()).unwrap_or_default();
    if list.is_empty() {
        r.at(f.tasks.as_ref().map(Spanned::span), "the lab has no tasks", Some("add a [[tasks]] table with id, title and step"));
    }
    let mut seen = HashSet::new();
    let mut tasks = Vec::new();
    for t in list {
        let id = t.id.get_ref();
        if !is_name(id) {
            r.at(Some(t.id.span()), format!("task id `{id}` is not valid"), Some("use 1-40 lowercase letters, digits and `-`"));
        } else if !seen.insert(id.clone()) {
            r.at(Some(t.id.span()), format!("task id `{id}` is used twice"), Some("give each task its own id"));
        }
        let step = t.step.get_ref();
        let instructions = match inside(dir, step) {
            Some(path) => match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) => {
                    r.at(Some(t.step.span()), format!("step file `{step}` cannot be read: {e}"), Some("create it, e.g. steps/01-first.md"));
                    continue;
                }
            },
            None => {
                r.at(Some(t.step.span()), format!("step `{step}` is not a path inside the lab"), Some("give a path relative to the lab directory"));
                continue;
            }
        };
        let mut params: Vec<(String, String)> = t.params.as_ref().map(|p| p.get_ref().clone().into_iter().collect()).unwrap_or_default();
        if let Some(p) = &t.params
            && p.get_ref().contains_key("verify")
        {
            r.at(Some(p.span()), "the parameter `verify` is reserved", Some("name the script with the task's `verify` key instead"));
        }
        if let Some(verify) = &t.verify {
            match inside(dir, verify.get_ref()).map(std::fs::read_to_string) {
                Some(Ok(script)) => params.push(("verify".into(), script)),
                Some(Err(e)) => {
                    r.at(Some(verify.span()), format!("verify script `{}` cannot be read: {e}", verify.get_ref()), Some("create it, or fix the path"));
                }
                None => r.at(Some(verify.span()), format!("verify `{}` is not a path inside the lab", verify.get_ref()), Some("give a path relative to the lab directory")),
            }
        }
        tasks.push(Task { id: id.clone(), title: t.title.get_ref().clone(), step_file: step.into(), instructions, params });
    }
    tasks
}

/// An optional script of the lab, read whole.
fn script(dir: &Path, name: &str, r: &mut Report) -> Option<String> {
    let path = dir.join(name);
    let meta = std::fs::metadata(&path).ok()?;
    if !meta.is_file() || meta.len() > MAX_SCRIPT_BYTES {
        r.other(path, format!("{name} must be a file of at most {MAX_SCRIPT_BYTES} bytes"), None);
        return None;
    }
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) => {
            r.other(path, format!("cannot read {name}: {e}"), Some("scripts must be UTF-8 text"));
            None
        }
    }
}
