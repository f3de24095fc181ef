//! The Kubernetes permissions each SPIFFE-mode action needs, checked before
//! it writes anything (see `kube::access`, `deploy/rbac/`).

use super::request::Request;
use crate::config::file::KubeSection;
use crate::identity::action::kube::cluster_spiffe_id_name;
use crate::identity::naming::IdentityName;
use crate::kube::access::Need;

const GROUP: &str = "warden.dev";
const SPIRE: &str = "spire.spiffe.io";

fn record(name: &IdentityName, spec: bool) -> Vec<Need> {
    let (ns, wf) = (name.namespace.as_str(), name.workload.as_str());
    let mut v = vec![
        Need::new("get", GROUP, "natsidentities").within(ns).named(wf),
        Need::new("patch", GROUP, "natsidentities/status").within(ns).named(wf),
    ];
    if spec {
        v.push(Need::new("patch", GROUP, "natsidentities").within(ns).named(wf));
        v.push(Need::new("create", GROUP, "natsidentities").within(ns));
    }
    v
}

/// The authorization ConfigMap (`[kubernetes] authz_configmap`), created
/// when missing.
fn authz(section: &KubeSection) -> Vec<Need> {
    let (ns, cm) = section.authz_configmap.split_once('/').unwrap_or(("default", section.authz_configmap.as_str()));
    vec![
        Need::new("get", "", "configmaps").within(ns).named(cm),
        Need::new("patch", "", "configmaps").within(ns).named(cm),
        Need::new("create", "", "configmaps").within(ns),
    ]
}

fn registration(name: &IdentityName, delete: bool) -> Vec<Need> {
    let oname = cluster_spiffe_id_name(name);
    let mut v = vec![Need::new("get", SPIRE, "clusterspiffeids").named(&oname)];
    if delete {
        v.push(Need::new("list", SPIRE, "clusterspiffeids"));
        v.push(Need::new("delete", SPIRE, "clusterspiffeids"));
    } else {
        v.push(Need::new("patch", SPIRE, "clusterspiffeids").named(&oname));
        v.push(Need::new("create", SPIRE, "clusterspiffeids"));
    }
    v
}

/// Everything `req` may do in Kubernetes.
pub fn kube_needs(section: &KubeSection, req: &Request) -> Vec<Need> {
    match req {
        Request::Register { name } | Request::Approve { name, .. } => {
            [authz(section), registration(name, false), record(name, true)].concat()
        }
        Request::Deny { name, .. } => record(name, false),
        Request::Grant { name, .. } | Request::Ungrant { name, .. } => [authz(section), record(name, true)].concat(),
        Request::Revoke { name } => [authz(section), registration(name, true), record(name, false)].concat(),
    }
}
