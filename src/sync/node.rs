//! Who this server is among the nodes sharing one database: the name its leases carry and the
//! URL other nodes forward its live documents' requests to.

use crate::config::Config;

/// This server's identity in a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// `--node-id`: two processes must never share one, or each would take the other's
    /// leases as its own (fencing still keeps their writes apart, but they would take the
    /// documents from each other).
    pub id: String,
    /// `--advertise-url`, else `http://` and the listening address.
    pub url: String,
}

impl Node {
    /// The node the configuration describes: `None` without `--node-id`, for a server alone
    /// on its database (a node restarted after a crash then serves its documents at once,
    /// rather than after the dead process's leases expire).
    pub fn from_config(config: &Config) -> Option<Self> {
        let id = config.node_id.clone()?;
        Some(Self {
            id,
            url: config
                .advertise_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", config.listen)),
        })
    }
}
