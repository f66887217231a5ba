//! A lab as the server uses it, once loaded and validated.

use std::{path::PathBuf, time::Duration};

use serde::Serialize;

use crate::{
    capabilities::Grants,
    plugins::Limits,
    runtime::Resources,
};

/// How hard a lab is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    /// No experience needed.
    Beginner,
    /// Some experience.
    Intermediate,
    /// For the experienced.
    Advanced,
}

impl Difficulty {
    /// The names a lab file may use.
    pub const NAMES: [&'static str; 3] = ["beginner", "intermediate", "advanced"];

    /// Reads a name.
    pub fn parse(s: &str) -> Option<Difficulty> {
        match s {
            "beginner" => Some(Difficulty::Beginner),
            "intermediate" => Some(Difficulty::Intermediate),
            "advanced" => Some(Difficulty::Advanced),
            _ => None,
        }
    }
}

/// Where a lab's machines run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuntimeKind {
    /// Containers on the Docker engine.
    Docker,
    /// Virtual machines on Kubernetes with KubeVirt.
    Kubevirt,
}

/// What a machine boots from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MachineImage {
    /// A container image by reference.
    Reference(String),
    /// A container image built from a directory of the lab.
    Dockerfile {
        /// The build context (a directory inside the lab).
        context: PathBuf,
        /// The Dockerfile, relative to the context.
        dockerfile: String,
    },
    /// A VM disk image (KubeVirt).
    Disk(String),
}

/// One machine of a lab.
#[derive(Clone, Debug, PartialEq)]
pub struct Machine {
    /// Name, unique in the lab; its host name.
    pub name: String,
    /// What it boots from.
    pub image: MachineImage,
    /// Limits.
    pub resources: Resources,
    /// Where commands and terminals start.
    pub workdir: String,
}

/// The lab's judge and hint provider, and what they may do.
#[derive(Clone, Debug, PartialEq)]
pub struct JudgeSpec {
    /// The judge plugin's name (as its `info` reports it).
    pub plugin: String,
    /// The hint provider's name, if the lab has one.
    pub hints: Option<String>,
    /// Capabilities granted to both.
    pub grants: Grants,
    /// Limits per call (within the server's ceilings).
    pub limits: Limits,
    /// Recorded cases a new judge version must grade as expected before
    /// it may serve (`[[judge.fixtures]]`).
    pub fixtures: Vec<FixtureCase>,
}

/// A recorded case of a lab: a fixture, the task it grades and the status
/// the judge must give it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixtureCase {
    /// The task.
    pub task: String,
    /// The fixture file (inside the lab).
    pub file: PathBuf,
    /// `passed` or `failed`.
    pub expect: String,
}

/// One task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// Id, unique in the lab; what the judge is asked to check.
    pub id: String,
    /// Title.
    pub title: String,
    /// The step file, relative to the lab.
    pub step_file: PathBuf,
    /// The step's instructions (Markdown).
    pub instructions: String,
    /// Parameters handed to the judge with the task (a verify script's
    /// text under `verify`).
    pub params: Vec<(String, String)>,
}

/// A loaded, valid lab.
#[derive(Clone, Debug, PartialEq)]
pub struct Lab {
    /// Id; also its directory's name.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description (Markdown).
    pub description: String,
    /// Difficulty.
    pub difficulty: Difficulty,
    /// Estimated minutes.
    pub duration_minutes: u32,
    /// Topics, for filtering.
    pub topics: Vec<String>,
    /// Its directory.
    pub dir: PathBuf,
    /// Where it runs.
    pub runtime: RuntimeKind,
    /// Its machines; the first is the default.
    pub machines: Vec<Machine>,
    /// Judge and hints.
    pub judge: Option<JudgeSpec>,
    /// Tasks, in order.
    pub tasks: Vec<Task>,
    /// Session length, when the lab sets it.
    pub ttl: Option<Duration>,
    /// Extensions allowed, when the lab sets it.
    pub max_extensions: Option<u32>,
    /// Minutes per extension, when the lab sets it.
    pub extend_by: Option<Duration>,
    /// Ready environments kept waiting.
    pub warm_pool: u32,
    /// Whether the first machine's working directory is kept between a
    /// learner's sessions.
    pub keep_workspace: bool,
    /// Where its machines may connect beyond the session (`[runtime] egress`).
    pub egress: Vec<crate::runtime::Egress>,
    /// `setup.sh`, run when a session starts.
    pub setup: Option<String>,
    /// `solve.sh`, the reference solution.
    pub solve: Option<String>,
}

impl Lab {
    /// The task called `id`.
    pub fn task(&self, id: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.id == id)
    }
}
