//! `lab.toml` as written: the serde shape, strict about unknown keys, with
//! spans on the values that validation may need to point at.

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabFile {
    pub id: Spanned<String>,
    pub title: Spanned<String>,
    #[serde(default)]
    pub description: String,
    pub difficulty: Spanned<String>,
    pub duration_minutes: Spanned<u32>,
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default)]
    pub runtime: RuntimeFile,
    pub machines: Option<Spanned<Vec<MachineFile>>>,
    pub judge: Option<JudgeFile>,
    pub tasks: Option<Spanned<Vec<TaskFile>>>,
}

/// `[runtime]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeFile {
    pub kind: Option<Spanned<String>>,
    pub ttl_minutes: Option<Spanned<u64>>,
    pub max_extensions: Option<u32>,
    pub extend_minutes: Option<u64>,
    pub warm_pool: Option<Spanned<u32>>,
    /// Keep the first machine's working directory between a learner's sessions.
    pub keep_workspace: Option<bool>,
    /// Destinations beyond the session, `CIDR` or `CIDR:PORT`.
    #[serde(default)]
    pub egress: Vec<Spanned<String>>,
}

/// `[[machines]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineFile {
    pub name: Spanned<String>,
    pub image: Option<Spanned<String>>,
    pub dockerfile: Option<Spanned<String>>,
    /// A VM disk image (KubeVirt labs).
    pub disk: Option<Spanned<String>>,
    pub memory_mib: Option<Spanned<u64>>,
    pub cpus: Option<Spanned<f64>>,
    pub pids: Option<u32>,
    pub workdir: Option<Spanned<String>>,
}

/// `[judge]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeFile {
    pub plugin: Spanned<String>,
    pub hints: Option<Spanned<String>>,
    #[serde(default)]
    pub capabilities: Vec<Spanned<String>>,
    #[serde(default)]
    pub limits: Option<Spanned<toml::Table>>,
    /// Recorded cases an uploaded judge must grade as expected.
    #[serde(default)]
    pub fixtures: Vec<Spanned<FixtureCaseFile>>,
}

/// `[[judge.fixtures]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureCaseFile {
    pub task: String,
    pub file: String,
    pub expect: String,
}

/// `[[tasks]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskFile {
    pub id: Spanned<String>,
    pub title: Spanned<String>,
    pub step: Spanned<String>,
    /// A verify script (a path in the lab) handed to the judge as the
    /// parameter `verify`.
    pub verify: Option<Spanned<String>>,
    /// Parameters handed to the judge with the task.
    pub params: Option<Spanned<std::collections::BTreeMap<String, String>>>,
}
