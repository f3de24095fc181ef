//! What a SPIFFE-mode action runs with.

use std::path::PathBuf;
use std::time::Duration;

use crate::identity::action::kube::KubeCtx;
use crate::identity::naming::Naming;
use crate::nats::sys::SysClient;

/// What a SPIFFE-mode action runs with.
#[derive(Clone)]
pub struct SpiffeContext {
    pub sys: SysClient,
    pub kube: KubeCtx,
    pub naming: Naming,
    /// `$USER@host`, recorded in NatsIdentity status and the audit log.
    pub actor: String,
    /// How long to wait for the include file to follow the ConfigMap, and
    /// for revoked connections to close before kicking them.
    pub settle: Duration,
    /// The include file as the servers read it, when visible from here.
    pub authz_file: Option<PathBuf>,
}
