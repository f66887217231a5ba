//! What a lab asks of the session manager: its machines, its lifetime
//! bounds, its warm pool and whether learners' work is kept.

use crate::runtime::{Egress, EnvironmentSpec, MachineSpec};

use super::state::Lifetime;

/// A lab as the session manager sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct LabEnvironment {
    /// Lab id.
    pub lab: String,
    /// Its machines; the first is the default.
    pub machines: Vec<MachineSpec>,
    /// Time limits.
    pub lifetime: Lifetime,
    /// Ready environments kept waiting for learners.
    pub warm_pool: u32,
    /// Keep the learner's workspace between sessions.
    pub workspace: Option<WorkspacePersistence>,
    /// A script run in the first machine once it is up (`setup.sh`), before
    /// the environment is pooled or handed over.
    pub setup: Option<String>,
    /// Where its machines may connect beyond the session.
    pub egress: Vec<Egress>,
}

/// Which directory of which machine is the learner's to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspacePersistence {
    /// The machine.
    pub machine: String,
    /// The directory (absolute).
    pub path: String,
    /// The largest workspace kept; a larger one is not saved (and the
    /// failure is logged), so one learner cannot fill the store.
    pub max_bytes: u64,
}

impl LabEnvironment {
    /// What the runtime is asked to create for `session`.
    pub fn spec(&self, session: &str, owner: Option<&str>) -> EnvironmentSpec {
        EnvironmentSpec {
            session: session.to_owned(),
            lab: self.lab.clone(),
            // Pool entries have no learner yet; the store, not the label,
            // says whose a session is once claimed.
            owner: owner.unwrap_or("pool").to_owned(),
            machines: self.machines.clone(),
            egress: self.egress.clone(),
        }
    }
}
