//! Turning a key or a form into an action: read-only refuses, destructive
//! and over-broad requests ask first, approve shows what it will mint, the
//! rest start in the action worker. Every request is bound, when it is
//! asked for, to what the screen shows (the row's key, the Kubernetes
//! context, the NATS server set, the mode); the runner refuses it if any of
//! these changed before it runs.

use super::model::{Button, Dialog, GrantForm};
use crate::app::keys::Action;
use crate::app::kube_state::KubeLink;
use crate::app::msg::{Cmd, Outcome};
use crate::app::state::{AppState, Level};
use crate::app::view_id::ViewId;
use warden_core::identity::action::request::ActionRequest;
use warden_core::identity::actions::{AnyRequest, Ask, Mode};
use warden_core::identity::approve_plan::ApprovePlan;
use warden_core::identity::binding::{Binding, BoundRequest, server_set};
use warden_core::identity::jwt_actions::Request;
use warden_core::identity::naming::IdentityName;
use warden_core::identity::record::IdentityRecord;
use warden_core::identity::spiffe_actions;
use warden_core::kube::resources::Watched;
use warden_core::nats::subject::{self, Direction};

/// What the screen shows now, for binding an action to it. A context not
/// yet connected, or servers not yet (or no longer) answering, are not bound.
pub fn binding(s: &AppState, row_key: Option<String>) -> Binding {
    let kube_context = match &s.kube.link {
        KubeLink::Connected { context } => Some(Some(context.clone())),
        KubeLink::Connecting => None,
        KubeLink::Off(_) | KubeLink::Failed(_) => Some(None),
    };
    let servers = (!s.servers.rows.is_empty() && s.servers.stale.is_none()).then(|| {
        server_set(s.servers.rows.iter().map(|r| if r.name.is_empty() { r.id.clone() } else { r.name.clone() }))
    });
    Binding { row_key, kube_context, servers, mode: s.identity_mode }
}

/// The same request with the operator's consent to what reaches beyond the
/// identity's scope (the second confirmation).
pub fn with_consent(req: AnyRequest) -> AnyRequest {
    match req {
        AnyRequest::Jwt(Request::Approve { name, ttl, .. }) => Request::Approve { name, ttl, allow_broad: true }.into(),
        AnyRequest::Jwt(Request::Grant { name, dir, subject, creds_out, .. }) => {
            Request::Grant { name, dir, subject, allow_broad: true, creds_out }.into()
        }
        AnyRequest::Spiffe(spiffe_actions::Request::Approve { name, .. }) => {
            spiffe_actions::Request::Approve { name, allow_broad: true }.into()
        }
        AnyRequest::Spiffe(spiffe_actions::Request::Grant { name, direction, subject, .. }) => {
            spiffe_actions::Request::Grant { name, direction, subject, allow_broad: true }.into()
        }
        other => other,
    }
}

fn read_only(s: &mut AppState) -> Outcome {
    s.status = Some((Level::Warn, "read-only: no changes are offered".into()));
    Outcome::redraw()
}

/// The NatsIdentity of `name` as the console sees it.
fn record_of(s: &AppState, name: &IdentityName) -> Option<IdentityRecord> {
    s.kube
        .objects(Watched::NatsIdentities)
        .map(IdentityRecord::from_object)
        .find(|r| r.namespace == name.namespace && r.name == name.workload)
}

/// Any view's way to run an identity action (e.g. the Violations view's
/// "grant this subject to this identity"): see [`propose_bound`]; the
/// request is bound to no row.
pub fn propose(s: &mut AppState, req: impl Into<AnyRequest>) -> Outcome {
    propose_bound(s, req.into(), None)
}

/// Refused in read-only mode and in the other mode; approve shows what it
/// will mint and asks (twice when it reaches beyond the identity's scope);
/// destructive actions and over-broad grants ask first (Cancel is the
/// default); the rest start.
pub fn propose_bound(s: &mut AppState, req: AnyRequest, row_key: Option<String>) -> Outcome {
    if s.read_only {
        return read_only(s);
    }
    if req.mode() != s.identity_mode {
        s.status = Some((
            Level::Error,
            format!(
                "{} {}: a {} request in {} mode, refused",
                req.verb(),
                req.target(),
                req.mode().name(),
                s.identity_mode.name()
            ),
        ));
        return Outcome::redraw();
    }
    let binding = binding(s, row_key);
    let confirm = |s: &mut AppState,
                   request: AnyRequest,
                   question: String,
                   detail: Vec<String>,
                   then: Option<String>| {
        s.dialog =
            Some(Dialog::Confirm { request, binding: binding.clone(), question, detail, then, focus: Button::Cancel });
        Outcome::redraw()
    };
    // Approve: what will be minted or written, from the spec on screen.
    let approve = match &req {
        AnyRequest::Jwt(Request::Approve { name, ttl, allow_broad: false }) => Some((name.clone(), Some(*ttl))),
        AnyRequest::Spiffe(spiffe_actions::Request::Approve { name, allow_broad: false }) => Some((name.clone(), None)),
        _ => None,
    };
    if let Some((name, ttl)) = approve {
        let Some(rec) = record_of(s, &name) else {
            s.status = Some((Level::Warn, format!("approve {name}: no NatsIdentity {name} in view")));
            return Outcome::redraw();
        };
        let spec = match &req {
            // SPIFFE mode writes the scope and the requested grants only.
            AnyRequest::Spiffe(_) => {
                warden_core::identity::record::IdentitySpec { grants: rec.spec.grants.clone(), ..Default::default() }
            }
            _ => rec.spec.clone(),
        };
        let plan = ApprovePlan::of(&s.naming, &name, &spec, ttl.map(|t| (&s.ttl, t)));
        if let Some(why) = plan.blocker().filter(|_| req.mode() == Mode::Jwt) {
            s.status = Some((Level::Error, format!("approve {name}: {why}")));
            return Outcome::redraw();
        }
        let then = plan.needs_allow_broad().then(|| {
            format!(
                "Second confirmation. {name} asks for more than its own scope ({} item(s) marked !!). Approve it anyway?",
                plan.flagged().len()
            )
        });
        let what = if req.mode() == Mode::Jwt { "mints" } else { "writes" };
        return confirm(s, req, format!("Approve {name}? This {what}:"), plan.lines(), then);
    }
    let question = match &req {
        AnyRequest::Jwt(r @ Request::Grant { name, dir, subject, .. }) if r.needs_broad_confirmation(&s.naming) => {
            Some(broad_question(s, name, *dir, subject, "Its JWT is re-minted with it."))
        }
        AnyRequest::Spiffe(spiffe_actions::Request::Grant { name, direction, subject, allow_broad: false })
            if over_broad(s, name, *direction, subject) =>
        {
            Some(broad_question(
                s,
                name,
                *direction,
                subject,
                "Its authorization entry gains it and every server reloads.",
            ))
        }
        AnyRequest::Jwt(Request::Ungrant { name, dir, subject, .. }) => {
            Some(format!("Remove {} {subject} from {name}? Its JWT is re-minted without it.", dir.word()))
        }
        AnyRequest::Spiffe(spiffe_actions::Request::Ungrant { name, direction, subject }) => Some(format!(
            "Remove {direction} {subject} from {name}? Its authorization entry loses it and every server reloads."
        )),
        r if r.is_destructive() => Some(format!("{} {}?", capitalized(r.verb()), r.target())),
        _ => None,
    };
    match question {
        // The confirmation of an over-broad grant is its consent.
        Some(question) => confirm(s, with_consent(req), question, vec![], None),
        None => start_bound(s, BoundRequest { request: req, binding }),
    }
}

fn over_broad(s: &AppState, name: &IdentityName, dir: Direction, subject: &str) -> bool {
    subject::is_over_broad(subject, &s.naming.reach(name, dir, &[]))
}

fn broad_question(s: &AppState, name: &IdentityName, dir: Direction, subject: &str, how: &str) -> String {
    let why = subject::over_broad_reason(subject, &s.naming.reach(name, dir, &[])).unwrap_or("reaches too far");
    format!("{subject} is over-broad: it {why}. Grant {} {subject} to {name} anyway? {how}", dir.word())
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// Starts a request bound to the screen as it is now (a submitted form).
pub(super) fn start(s: &mut AppState, req: impl Into<AnyRequest>) -> Outcome {
    let binding = binding(s, None);
    start_bound(s, BoundRequest { request: req.into(), binding })
}

pub(super) fn start_bound(s: &mut AppState, bound: BoundRequest) -> Outcome {
    let req = &bound.request;
    s.dialog = Some(Dialog::progress(format!("{} {}", req.verb(), req.target())));
    Outcome::cmd(Cmd::Action(bound))
}

/// An action key (register, approve, ...) in normal mode, on the selected
/// identity: the same [`Ask`] as `warden identity ...` builds.
pub fn on_action(s: &mut AppState, a: Action) -> Outcome {
    if s.read_only {
        return read_only(s);
    }
    if s.view != ViewId::Identities {
        s.status = Some((Level::Info, "identity actions are on the Identities view (:identities)".into()));
        return Outcome::redraw();
    }
    if a == Action::Register {
        s.dialog = Some(Dialog::Register(Box::default()));
        return Outcome::redraw();
    }
    let Some(row) = s.identities.selected().cloned() else {
        s.status = Some((Level::Warn, "no identity selected".into()));
        return Outcome::redraw();
    };
    let name = row.name().filter(|n| IdentityName::parse(n).is_ok());
    let spiffe = s.identity_mode == Mode::Spiffe;
    let Some(n) =
        name.clone().or_else(|| (a == Action::Revoke && !spiffe && !row.user_key.is_empty()).then(String::new))
    else {
        s.status = Some((Level::Warn, format!("{} has no NAMESPACE/WORKLOAD", row.user)));
        return Outcome::redraw();
    };
    let ask = match a {
        Action::Approve => Ask::Approve { name: n, ttl: None, allow_broad: false },
        Action::Renew if spiffe => {
            s.status = Some((Level::Info, "SPIFFE mode: SPIRE rotates SVIDs; there is no JWT to renew".into()));
            return Outcome::redraw();
        }
        Action::Renew => Ask::Renew { name: n, account: None, ttl: None, creds_out: None },
        Action::Deny => Ask::Deny {
            name: n,
            reason: format!("denied in the console by {}", s.conn.user.clone().unwrap_or_default()),
        },
        Action::Grant | Action::Ungrant => {
            let name = IdentityName::parse(&n).expect("checked above");
            s.dialog = Some(Dialog::Grant(Box::new(GrantForm::new(name, a == Action::Ungrant))));
            return Outcome::redraw();
        }
        // The whole identity when it has a name (as `warden identity revoke
        // ns/wf`): every key it has, its record, its SPIRE registration.
        Action::Revoke => Ask::Revoke {
            target: if n.is_empty() { row.user_key.clone() } else { n },
            account: Some(if row.account_key.is_empty() { row.account.clone() } else { row.account_key.clone() }),
            creds: None,
        },
        _ => return Outcome::none(),
    };
    let req = match ask.request(s.identity_mode) {
        Ok(r) => r,
        Err(e) => {
            s.status = Some((Level::Warn, warden_core::error_chain::chain(&e)));
            return Outcome::redraw();
        }
    };
    let row_key = if row.user_key.is_empty() { row.user.clone() } else { row.user_key.clone() };
    if matches!(a, Action::Revoke | Action::Deny) {
        let who = row.name().unwrap_or(row.user.clone());
        let question = match (&req, a) {
            (AnyRequest::Jwt(_), Action::Revoke) => format!(
                "Revoke {who}? Its user key(s) ({}) are added to the account's revocations and pushed to every server, its NatsIdentity becomes Revoked, its ClusterSPIFFEID is removed, and its {} live connection(s) are closed.",
                row.user_key, row.connections
            ),
            (AnyRequest::Spiffe(_), Action::Revoke) => format!(
                "Revoke {who}? Its authorization entry and ClusterSPIFFEID are removed, every server reloads, and its {} live connection(s) are closed.",
                row.connections
            ),
            _ => format!("Deny the pending request {}?", req.target()),
        };
        let binding = binding(s, Some(row_key));
        s.dialog = Some(Dialog::Confirm {
            request: req,
            binding,
            question,
            detail: vec![],
            then: None,
            focus: Button::Cancel,
        });
        return Outcome::redraw();
    }
    propose_bound(s, req, Some(row_key))
}

/// `ctrl-k` on a connection: close it, after a confirmation (Cancel
/// focused) bound to the row (server, cid and the user shown); the runner
/// checks the cid is still that user before it kicks.
pub fn on_kick(s: &mut AppState) -> Outcome {
    if s.read_only {
        return read_only(s);
    }
    if s.view != ViewId::Conns || s.show_closed {
        s.status = Some((Level::Info, "kick closes an open connection: select it in the Connections view (2)".into()));
        return Outcome::redraw();
    }
    let Some(row) = s.conns.selected().cloned() else {
        s.status = Some((Level::Warn, "no connection selected".into()));
        return Outcome::redraw();
    };
    let req = warden_core::identity::action::nats::KickRequest {
        server_id: row.server_id.to_string(),
        server: row.server.to_string(),
        cid: row.info.cid,
        user: row.info.authorized_user.to_string(),
        mode: s.identity_mode,
    };
    let name = crate::app::format::printable(&row.info.name).into_owned();
    let question = format!(
        "Kick connection {} on {}? User {} (account {}){} is disconnected now; a client that reconnects with valid credentials gets back in.",
        row.info.cid,
        row.server,
        row.user_label(),
        row.account_label(),
        if name.is_empty() { String::new() } else { format!(", client {name}") },
    );
    let binding = binding(s, Some(format!("{}/{}", row.server_id, row.info.cid)));
    s.dialog = Some(Dialog::Confirm {
        request: AnyRequest::Kick(req),
        binding,
        question,
        detail: vec![],
        then: None,
        focus: Button::Cancel,
    });
    Outcome::redraw()
}
