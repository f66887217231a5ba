//! Sessions' networks, each on a subnet of the runtime's own pool: an
//! engine left to pick runs out after about thirty networks (see
//! `runtime::subnets`).

use std::collections::HashSet;

use bollard::{
    errors::Error as DockerError,
    models::{Ipam, IpamConfig, NetworkCreateRequest},
    query_parameters::ListNetworksOptionsBuilder,
};

use super::{DockerRuntime, engine_error};
use crate::runtime::RuntimeError;

/// Subnets tried before giving up: others may take the ones we pick.
const ATTEMPTS: usize = 16;

impl DockerRuntime {
    /// Creates the bridge network `name` with `labels` on a free subnet of
    /// the pool.
    pub(super) async fn create_session_network(
        &self,
        name: &str,
        labels: &std::collections::HashMap<String, String>,
    ) -> Result<(), RuntimeError> {
        // Choosing and creating is one step per server; another server on
        // the same engine is caught by the engine's overlap check below.
        let _one_at_a_time = self.networks.lock().await;
        let mut used = self.subnets_in_use().await?;
        for _ in 0..ATTEMPTS {
            let start = (self.next_serial() % u64::from(self.subnet_pool.len())) as u32;
            let Some((subnet, gateway)) = self.subnet_pool.first_free(&used, start) else { break };
            let request = NetworkCreateRequest {
                name: name.to_owned(),
                driver: Some("bridge".into()),
                labels: Some(labels.clone()),
                ipam: Some(Ipam {
                    config: Some(vec![IpamConfig { subnet: Some(subnet.clone()), gateway: Some(gateway), ..Default::default() }]),
                    ..Default::default()
                }),
                ..Default::default()
            };
            match self.docker.create_network(request).await {
                Ok(_) => return Ok(()),
                Err(DockerError::DockerResponseServerError { message, .. }) if message.contains("overlap") => {
                    tracing::debug!(%subnet, "subnet taken on the engine; trying another");
                    used.insert(subnet);
                }
                Err(e) => return Err(engine_error("create network", e)),
            }
        }
        Err(RuntimeError::Engine(format!(
            "no free subnet left for a session network: all {} in the pool are in use (raise the pool's size in the configuration)",
            self.subnet_pool.len()
        )))
    }

    /// Subnets of the engine's networks, ours and others'.
    async fn subnets_in_use(&self) -> Result<HashSet<String>, RuntimeError> {
        let options = ListNetworksOptionsBuilder::new().build();
        let networks = self.docker.list_networks(Some(options)).await.map_err(|e| engine_error("list networks", e))?;
        Ok(networks
            .into_iter()
            .filter_map(|n| n.ipam?.config)
            .flatten()
            .filter_map(|c| c.subnet)
            .collect())
    }
}
