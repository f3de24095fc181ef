//! The Kubernetes permissions each JWT-mode action needs, checked before
//! it writes anything (see `kube::access`). Kept next to the actions: a
//! change in what an action writes changes this list and `deploy/rbac/`.

use super::context::{ActionContext, KeyRef};
use super::records::creds_secret_name;
use super::request::{Request, RevokeTarget};
use crate::identity::naming::IdentityName;
use crate::kube::access::Need;

const GROUP: &str = "warden.dev";

/// Read, server-side apply (a patch that may create) and status of the record.
fn record(name: &IdentityName) -> Vec<Need> {
    let (ns, wf) = (name.namespace.as_str(), name.workload.as_str());
    vec![
        Need::new("get", GROUP, "natsidentities").within(ns).named(wf),
        Need::new("patch", GROUP, "natsidentities").within(ns).named(wf),
        Need::new("create", GROUP, "natsidentities").within(ns),
        Need::new("patch", GROUP, "natsidentities/status").within(ns).named(wf),
    ]
}

fn status(name: &IdentityName) -> Vec<Need> {
    let (ns, wf) = (name.namespace.as_str(), name.workload.as_str());
    vec![
        Need::new("get", GROUP, "natsidentities").within(ns).named(wf),
        Need::new("patch", GROUP, "natsidentities/status").within(ns).named(wf),
    ]
}

/// The creds Secret, by name in the workload's namespace.
fn creds_secret(name: &IdentityName) -> Vec<Need> {
    let (ns, secret) = (name.namespace.as_str(), creds_secret_name(name));
    vec![
        Need::new("get", "", "secrets").within(ns).named(&secret),
        Need::new("patch", "", "secrets").within(ns).named(&secret),
        Need::new("create", "", "secrets").within(ns),
    ]
}

fn signing_key(k: Option<&KeyRef>) -> Vec<Need> {
    match k {
        Some(KeyRef::Secret { namespace, name, .. }) => {
            vec![Need::new("get", "", "secrets").within(namespace).named(name)]
        }
        _ => vec![],
    }
}

/// Revoke deletes the workload's ClusterSPIFFEIDs (found by name or selector).
fn registration() -> Vec<Need> {
    vec![
        Need::new("get", "spire.spiffe.io", "clusterspiffeids"),
        Need::new("list", "spire.spiffe.io", "clusterspiffeids"),
        Need::new("delete", "spire.spiffe.io", "clusterspiffeids"),
    ]
}

/// Everything `req` may do in Kubernetes (nothing without a Kubernetes
/// connection: then the action writes files and NATS only).
pub fn kube_needs(ctx: &ActionContext, req: &Request) -> Vec<Need> {
    let account = signing_key(ctx.signing.account.as_ref());
    let mut v = match req {
        Request::Register { name, creds_out, .. } | Request::Renew { name, creds_out, .. } => {
            let mut v = record(name);
            if creds_out.is_none() {
                v.extend(creds_secret(name));
            }
            v.extend(account);
            v
        }
        // Approve lists every NatsIdentity: a key bound to another one is refused.
        Request::Approve { name, .. } => {
            [record(name), vec![Need::new("list", GROUP, "natsidentities")], account].concat()
        }
        Request::Deny { name, .. } => status(name),
        Request::Grant { name, creds_out, .. } | Request::Ungrant { name, creds_out, .. } => {
            let mut v = record(name);
            if creds_out.is_none() {
                v.extend(creds_secret(name));
            }
            v.extend(account);
            v
        }
        Request::Revoke { target, .. } => {
            let mut v = signing_key(ctx.signing.operator.as_ref());
            v.extend(account);
            match target {
                RevokeTarget::Identity(name) => {
                    v.extend(status(name));
                    v.extend(registration());
                }
                // The record is found by its key: any namespace.
                RevokeTarget::UserKey(_) => v.push(Need::new("patch", GROUP, "natsidentities/status")),
            }
            v
        }
    };
    v.dedup();
    v
}
