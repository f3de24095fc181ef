//! The views of the console: which one is shown, what each is called.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewId {
    Servers,
    Conns,
    Entries,
    SpiffeIds,
    Agents,
    Permissions,
    Accounts,
    Identities,
    Expiry,
    Violations,
    StaticEntries,
    Doctor,
}

impl ViewId {
    pub const ALL: [ViewId; 12] = [
        ViewId::Servers,
        ViewId::Conns,
        ViewId::Entries,
        ViewId::SpiffeIds,
        ViewId::Agents,
        ViewId::Permissions,
        ViewId::Accounts,
        ViewId::Identities,
        ViewId::Expiry,
        ViewId::Violations,
        // No digit key (1-9, 0 are the ten above): Tab or `:static`.
        ViewId::StaticEntries,
        ViewId::Doctor,
    ];

    pub fn title(self) -> &'static str {
        match self {
            ViewId::Servers => "Servers",
            ViewId::Conns => "Connections",
            ViewId::Entries => "SPIRE entries",
            ViewId::SpiffeIds => "ClusterSPIFFEIDs",
            ViewId::StaticEntries => "ClusterStaticEntries",
            ViewId::Agents => "SPIRE agents",
            ViewId::Permissions => "Permissions",
            ViewId::Accounts => "Accounts",
            ViewId::Identities => "Identities",
            ViewId::Expiry => "Expiry",
            ViewId::Violations => "Violations",
            ViewId::Doctor => "Doctor",
        }
    }

    /// Short label for the tab line.
    pub fn tab(self) -> &'static str {
        match self {
            ViewId::Servers => "servers",
            ViewId::Conns => "conns",
            ViewId::Entries => "entries",
            ViewId::SpiffeIds => "spiffeids",
            ViewId::StaticEntries => "static",
            ViewId::Agents => "agents",
            ViewId::Permissions => "perms",
            ViewId::Accounts => "accounts",
            ViewId::Identities => "identities",
            ViewId::Expiry => "expiry",
            ViewId::Violations => "violations",
            ViewId::Doctor => "doctor",
        }
    }

    /// Two to four letters, for narrow terminals.
    pub fn short(self) -> &'static str {
        match self {
            ViewId::Servers => "srv",
            ViewId::Conns => "con",
            ViewId::Entries => "ent",
            ViewId::SpiffeIds => "sid",
            ViewId::StaticEntries => "cse",
            ViewId::Agents => "agt",
            ViewId::Permissions => "perm",
            ViewId::Accounts => "acct",
            ViewId::Identities => "ids",
            ViewId::Expiry => "exp",
            ViewId::Violations => "viol",
            ViewId::Doctor => "doc",
        }
    }

    /// Data comes from Kubernetes / SPIRE rather than NATS.
    pub fn is_kube(self) -> bool {
        matches!(self, ViewId::Entries | ViewId::SpiffeIds | ViewId::StaticEntries | ViewId::Agents)
    }
}
