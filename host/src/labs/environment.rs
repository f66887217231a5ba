//! A lab as the session manager runs it: its machines as runtime specs,
//! its lifetime (the lab's where it sets one, else the server's), its warm
//! pool and kept workspace.

use crate::{
    runtime::{ImageSource, MachineSpec},
    sessions::{LabEnvironment, Lifetime, WorkspacePersistence},
};

use super::{Lab, MachineImage};

/// The largest workspace kept between sessions.
const MAX_KEPT_WORKSPACE: u64 = 64 << 20;

impl Lab {
    /// What sessions of this lab ask of the runtime. Whether the server's
    /// runtime can give it (virtual machines need KubeVirt) is for the
    /// session manager to say ([`crate::sessions::Sessions::set_lab`]).
    pub fn environment(&self, defaults: &Lifetime) -> Option<LabEnvironment> {
        let machines = self
            .machines
            .iter()
            .map(|m| {
                let image = match &m.image {
                    MachineImage::Reference(r) => ImageSource::Reference(r.clone()),
                    MachineImage::Dockerfile { context, dockerfile } => {
                        ImageSource::Dockerfile { context: context.clone(), dockerfile: dockerfile.clone() }
                    }
                    MachineImage::Disk(disk) => ImageSource::Disk { disk: disk.clone() },
                };
                Some(MachineSpec { name: m.name.clone(), image, resources: m.resources.clone(), workdir: m.workdir.clone() })
            })
            .collect::<Option<Vec<_>>>()?;
        let ttl = self.ttl.unwrap_or(defaults.ttl);
        let lifetime = Lifetime {
            ttl,
            extend_by: self.extend_by.unwrap_or(defaults.extend_by),
            max_extensions: self.max_extensions.unwrap_or(defaults.max_extensions),
            max_total: defaults.max_total.max(ttl),
        };
        Some(LabEnvironment {
            lab: self.id.clone(),
            workspace: self.keep_workspace.then(|| WorkspacePersistence {
                machine: machines[0].name.clone(),
                path: machines[0].workdir.clone(),
                max_bytes: MAX_KEPT_WORKSPACE,
            }),
            machines,
            lifetime,
            warm_pool: self.warm_pool,
            setup: self.setup.clone(),
            egress: self.egress.clone(),
        })
    }
}
