//! The Violations view's own keys: pause, group, jump to the identity's
//! permissions, grant the denied subject, revoke the identity.

use crate::app::dialog;
use crate::app::keys::Action;
use crate::app::msg::{Cmd, Outcome};
use crate::app::state::{AppState, Level};
use crate::app::view_id::ViewId;
use warden_core::identity::actions::{AnyRequest, Mode as IdentityMode};
use warden_core::identity::jwt_actions::Request;
use warden_core::identity::naming::IdentityName;
use warden_core::nats::subject::Direction;
use warden_core::violations::ViolationKind;

/// The Violations view's own keys: pause, group, jump, grant, revoke.
pub fn on_action(s: &mut AppState, a: Action) -> Outcome {
    if s.view != ViewId::Violations {
        s.status = Some((Level::Info, "that key works in the violations view (0 or :violations)".into()));
        return Outcome::redraw();
    }
    let v = &mut s.violations;
    match a {
        Action::Pause => {
            v.paused = !v.paused;
            if !v.paused {
                v.unseen = 0;
                v.live.table.home();
            }
            let what = if v.paused { "paused: new violations are counted, the list holds still" } else { "following" };
            s.status = Some((Level::Info, what.into()));
            Outcome::redraw()
        }
        Action::Group => {
            v.grouped = !v.grouped;
            s.detail = false;
            if v.grouped {
                v.rebuild_groups();
            }
            Outcome::redraw()
        }
        Action::JumpIdentity => match target(s) {
            Some(t) => {
                let filter = t.filter_text();
                let target_filter = s.perms.table.filter.clone();
                s.back.push(crate::app::state::BackTo { view: s.view, detail: s.detail, target_filter });
                s.view = ViewId::Permissions;
                s.detail = false;
                s.set_filter(filter.clone());
                s.status = Some((Level::Info, format!("permissions of {} (esc returns)", t.identity)));
                Outcome::cmd(Cmd::Refresh(ViewId::Permissions))
            }
            None => no_selection(s),
        },
        Action::Grant => {
            let Some(t) = target(s) else { return no_selection(s) };
            let dir = match t.kind {
                ViolationKind::PublishDenied => Direction::Publish,
                ViolationKind::SubscribeDenied => Direction::Subscribe,
                k => {
                    s.status = Some((Level::Warn, format!("grant: a {} has no subject to grant", k.as_str())));
                    return Outcome::redraw();
                }
            };
            let Some(subject) = t.subject.clone() else { return no_selection(s) };
            // A known identity is one the attributor named NAMESPACE/WORKLOAD
            // (a JWT user, a NatsIdentity, or a SPIFFE ID by its record or
            // the naming template).
            match IdentityName::parse(&t.identity) {
                // One key on a violation must not widen permissions by
                // itself: it always asks (Cancel is the default); over-broad
                // subjects say so (in either mode's propose).
                Ok(name) => {
                    let (any, how) = match s.identity_mode {
                        IdentityMode::Spiffe => (
                            AnyRequest::Spiffe(warden_core::identity::spiffe_actions::Request::Grant {
                                name: name.clone(),
                                direction: dir,
                                subject: subject.clone(),
                                allow_broad: false,
                            }),
                            "Its authorization entry gains it and every server reloads.",
                        ),
                        IdentityMode::Jwt => (
                            AnyRequest::Jwt(Request::grant(name.clone(), dir, subject.clone())),
                            "The identity's JWT is re-minted with it.",
                        ),
                    };
                    let reach = s.naming.reach(&name, dir, &[]);
                    if s.read_only || warden_core::nats::subject::is_over_broad(&subject, &reach) {
                        return dialog::propose::propose(s, any);
                    }
                    let question =
                        format!("Grant {} {subject} to {name}? It was denied: {}. {how}", dir.word(), t.kind.as_str());
                    if any.mode() != s.identity_mode {
                        return dialog::propose::propose(s, any);
                    }
                    s.dialog = Some(dialog::model::Dialog::Confirm {
                        request: any,
                        binding: dialog::propose::binding(s, None),
                        question,
                        detail: vec![],
                        then: None,
                        focus: dialog::model::Button::Cancel,
                    });
                    Outcome::redraw()
                }
                Err(_) => {
                    s.status = Some((
                        Level::Warn,
                        format!("grant {subject}: {} is not a known identity (namespace/workload)", t.identity),
                    ));
                    Outcome::redraw()
                }
            }
        }
        Action::Revoke => {
            let Some(t) = target(s) else { return no_selection(s) };
            // The identity's revoke (confirmation first, either mode) on the
            // Identities view: found by name, user key (JWT mode) or user
            // (SPIFFE mode: the SPIFFE ID).
            let found = s.identities.rows.iter().position(|r| {
                r.name().as_deref() == Some(t.identity.as_str())
                    || (!r.user_key.is_empty() && t.user.as_deref() == Some(r.user_key.as_str()))
                    || (r.user_key.is_empty() && !r.user.is_empty() && t.user.as_deref() == Some(r.user.as_str()))
            });
            match found {
                Some(i) if !s.read_only => {
                    let key = s.identities.rows[i].user_key.clone();
                    let name = s.identities.rows[i].name().unwrap_or_else(|| s.identities.rows[i].user.clone());
                    s.view = ViewId::Identities;
                    s.detail = false;
                    s.set_filter(if key.is_empty() { name.to_lowercase() } else { key.to_lowercase() });
                    // Select that very row (a filter may match more than one).
                    let t = &mut s.identities.table;
                    if let Some(pos) = t.visible.iter().position(|&v| v == i) {
                        t.selected = pos;
                        t.clamp();
                    }
                    dialog::propose::on_action(s, Action::Revoke)
                }
                _ if s.read_only => {
                    s.status = Some((Level::Warn, "read-only: no changes are offered".into()));
                    Outcome::redraw()
                }
                _ => {
                    s.status = Some((
                        Level::Warn,
                        format!("revoke {}: not a known identity (no row on the Identities view)", t.identity),
                    ));
                    Outcome::redraw()
                }
            }
        }
        _ => Outcome::none(),
    }
}

fn no_selection(s: &mut AppState) -> Outcome {
    s.status = Some((Level::Warn, "no violation selected".into()));
    Outcome::redraw()
}

/// What an action from the Violations view is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub identity: String,
    pub user: Option<String>,
    pub subject: Option<String>,
    pub kind: ViolationKind,
}

impl Target {
    /// What to filter the Permissions view on: the identity, or for an
    /// unknown one (`user:ACC/name`) the user name.
    pub fn filter_text(&self) -> String {
        match self.identity.strip_prefix("user:").and_then(|r| r.split_once('/')) {
            Some((_, user)) => user.to_string(),
            None => self.identity.clone(),
        }
    }
}

pub fn target(s: &AppState) -> Option<Target> {
    let v = &s.violations;
    if v.grouped {
        v.groups.selected().map(|g| Target {
            identity: g.identity.clone(),
            user: (!g.user.is_empty()).then(|| g.user.clone()),
            subject: (!g.subject.is_empty()).then(|| g.subject.clone()),
            kind: g.kind,
        })
    } else {
        v.live.selected().map(|r| Target {
            identity: r.identity.clone(),
            user: r.violation.user.clone(),
            subject: r.violation.subject.clone(),
            kind: r.violation.kind,
        })
    }
}
