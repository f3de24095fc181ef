//! `y`: the raw record behind the selected row (a NatsIdentity, a
//! ClusterSPIFFEID, a CONNZ connection, an authorization entry...), and `c`:
//! the selected row's key or name for the clipboard. Both read the state;
//! neither ever includes a secret (the console holds none: no creds Secret,
//! no seed; CONNZ has no passwords).

use serde::Serialize;

use super::state::{AppState, Describe};
use super::view_id::ViewId;
use warden_core::kube::resources::Watched;

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("cannot show: {e}"))
}

/// A Kubernetes object as `kubectl get -o yaml` shows it, without the
/// managedFields bookkeeping.
fn yaml(o: &kube::api::DynamicObject) -> String {
    let mut o = o.clone();
    o.metadata.managed_fields = None;
    serde_yaml::to_string(&o).unwrap_or_else(|e| format!("cannot show: {e}"))
}

fn kube_object<'a>(
    s: &'a AppState,
    w: Watched,
    namespace: Option<&str>,
    name: &str,
) -> Option<&'a kube::api::DynamicObject> {
    s.kube.objects(w).find(|o| {
        o.metadata.name.as_deref() == Some(name)
            && namespace.is_none_or(|ns| o.metadata.namespace.as_deref() == Some(ns))
    })
}

/// The describe view of the selected row of the current view, if any.
pub fn of_selected(s: &AppState) -> Option<Describe> {
    let (title, text) = match s.view {
        ViewId::Servers => s.servers.selected().map(|r| (format!("server {} (VARZ)", r.name), json(r)))?,
        ViewId::Conns => {
            let r = s.conns_panel().selected()?;
            return Some(Describe {
                title: format!("connection {} on {} (CONNZ record)", r.info.cid, r.server),
                text: format!("fetching the CONNZ record from {}...", r.server),
                scroll: 0,
                awaiting: Some((r.server_id.clone(), r.info.cid)),
            });
        }
        ViewId::Entries => s.entries.selected().map(|r| (format!("SPIRE entry {}", r.entry.id), json(&r.entry)))?,
        ViewId::Agents => s.agents.selected().map(|r| ("SPIRE agent".to_string(), json(&r.agent)))?,
        ViewId::SpiffeIds => s.spiffe_ids.selected().map(|r| {
            let name = &r.object.name;
            let text = kube_object(s, Watched::ClusterSpiffeIds, None, name).map(yaml).unwrap_or_else(|| json(r));
            (format!("ClusterSPIFFEID {name}"), text)
        })?,
        ViewId::StaticEntries => s.static_entries.selected().map(|r| {
            let name = &r.object.name;
            let text = kube_object(s, Watched::ClusterStaticEntries, None, name).map(yaml).unwrap_or_else(|| json(r));
            (format!("ClusterStaticEntry {name}"), text)
        })?,
        ViewId::Identities => s.identities.selected().map(|r| {
            let i = &r.identity;
            match kube_object(s, Watched::NatsIdentities, Some(&i.namespace), &i.workload) {
                Some(o) => (format!("NatsIdentity {}/{}", i.namespace, i.workload), yaml(o)),
                None => (format!("identity {}/{} (no NatsIdentity: as joined)", i.namespace, i.workload), json(r)),
            }
        })?,
        ViewId::Permissions => s.perms.selected().map(|r| {
            let set = s.perm_sets.iter().find(|p| p.identity == r.identity && p.user == r.user);
            (format!("authorization entry of {}", r.identity), set.map(json).unwrap_or_else(|| json(r)))
        })?,
        ViewId::Accounts => s.accounts.selected().map(|r| {
            let text = if r.claims_json.is_empty() {
                json(r)
            } else {
                super::format::claims_with_times(&r.claims_json, s.clock.now_unix)
            };
            (format!("account {} (JWT claims)", r.name), text)
        })?,
        ViewId::Expiry => s.expiry.selected().map(|r| ("expiry".to_string(), json(r)))?,
        ViewId::Doctor => s.doctor.selected().map(|r| (format!("finding {}", r.finding.code), json(r)))?,
        // The violation as parsed (or the group with its latest one); wire
        // text is made printable when drawn.
        ViewId::Violations if s.violations.grouped => s.violations.groups.selected().map(|g| {
            let kind = g.kind.as_str();
            (format!("violations of {} ({kind}) on {}", g.identity, g.subject), json(g))
        })?,
        ViewId::Violations => s
            .violations
            .live
            .selected()
            .map(|r| (format!("violation {} by {}", r.violation.kind.as_str(), r.identity), json(r)))?,
    };
    Some(Describe { title, text, scroll: 0, awaiting: None })
}

/// The CONNZ record a connection's describe view was waiting for.
pub fn conn_record(
    s: &mut AppState,
    server_id: &str,
    cid: u64,
    result: Result<Option<Box<warden_core::nats::types::ConnInfo>>, String>,
) -> bool {
    let Some(d) = s.describe.as_mut() else { return false };
    if d.awaiting.as_ref().is_none_or(|(id, c)| id != server_id || *c != cid) {
        return false;
    }
    d.awaiting = None;
    d.text = match result {
        Ok(Some(record)) => json(&record),
        Ok(None) => "the server no longer knows this connection (closed, and gone from its closed list)".into(),
        Err(e) => format!("cannot fetch the CONNZ record: {e}"),
    };
    true
}

/// What `c` copies from the selected row: what names it (a public key, a
/// SPIFFE ID, a name), with what it is. Never a secret: the console holds
/// none, and a JWT is not offered (it is a bearer credential's half).
pub fn copy_value(s: &AppState) -> Option<(&'static str, String)> {
    let v = match s.view {
        ViewId::Servers => s.servers.selected().map(|r| ("server id", r.id.clone())),
        ViewId::Conns => s.conns_panel().selected().map(|r| ("user", r.info.authorized_user.to_string())),
        ViewId::Entries => s.entries.selected().map(|r| ("SPIFFE ID", r.entry.spiffe_id.uri())),
        ViewId::Agents => s.agents.selected().map(|r| ("agent SPIFFE ID", r.agent.id.uri())),
        ViewId::SpiffeIds => s.spiffe_ids.selected().map(|r| ("name", r.object.name.clone())),
        ViewId::StaticEntries => s.static_entries.selected().map(|r| ("name", r.object.name.clone())),
        ViewId::Identities => s.identities.selected().map(|r| {
            let i = &r.identity;
            if i.user_key.is_empty() { ("user", i.user.clone()) } else { ("user key", i.user_key.clone()) }
        }),
        ViewId::Permissions => s.perms.selected().map(|r| ("subject", r.subject.clone())),
        ViewId::Accounts => s.accounts.selected().map(|r| ("account key", r.key.clone())),
        ViewId::Expiry => s.expiry.selected().map(|r| ("key", r.subject.clone())),
        ViewId::Doctor => s.doctor.selected().map(|r| ("code", r.finding.code.to_string())),
        // The denied subject is what an operator pastes (a grant, a test);
        // without one (auth failures), the identity it was attributed to.
        ViewId::Violations if s.violations.grouped => s.violations.groups.selected().map(|g| {
            if g.subject.is_empty() { ("identity", g.identity.clone()) } else { ("subject", g.subject.clone()) }
        }),
        ViewId::Violations => s.violations.live.selected().map(|r| match &r.violation.subject {
            Some(subj) if !subj.is_empty() => ("subject", subj.clone()),
            _ => ("identity", r.identity.clone()),
        }),
    }?;
    (!v.1.is_empty()).then_some(v)
}
