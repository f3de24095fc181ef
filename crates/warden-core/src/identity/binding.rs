//! An action is bound, when the operator asks for it, to what was on screen:
//! the row's key, the Kubernetes context, the NATS server set and the mode.
//! The runner (`identity::runner::execute`) compares the binding with what
//! it finds when it runs, and refuses the action if any of them changed: a
//! confirmation given for one cluster never runs in another.
//!
//! The console binds from its state (`app::dialog::propose`); a later
//! `:ctx` switch changes the context the console shows *and* the one the
//! action worker connects with, so an action confirmed before the switch
//! is refused after it. The command line binds to its own flags and config.

use serde::Serialize;

use super::actions::{AnyRequest, Mode};

/// What the operator saw. `None` in a field: not bound (the command line
/// does not see a server set; the console before any server answered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Binding {
    /// The key of the row the action is about (its user public key, or the
    /// SPIFFE ID in SPIFFE mode), never its index.
    pub row_key: Option<String>,
    /// `Some(None)`: bound to "no Kubernetes"; `Some(Some(ctx))`: to that context.
    pub kube_context: Option<Option<String>>,
    /// Names (or ids) of the NATS servers, sorted.
    pub servers: Option<Vec<String>>,
    pub mode: Mode,
}

/// What the runner finds when it runs an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Current {
    pub kube_context: Option<String>,
    pub servers: Vec<String>,
    pub mode: Mode,
}

impl Binding {
    /// Bound to the mode only (the command line: it names its context and
    /// mode in flags and config, and sees nothing else).
    pub fn mode_only(mode: Mode) -> Binding {
        Binding { row_key: None, kube_context: None, servers: None, mode }
    }

    /// Why `req` may not run now, or `None`.
    pub fn refusal(&self, req: &AnyRequest, now: &Current) -> Option<String> {
        if req.mode() != now.mode {
            return Some(format!(
                "this is a {} request and warden runs in {} mode: refused",
                req.mode().name(),
                now.mode.name()
            ));
        }
        if self.mode != now.mode {
            return Some(format!(
                "confirmed in {} mode, now in {} mode: refused (ask again)",
                self.mode.name(),
                now.mode.name()
            ));
        }
        if let Some(ctx) = &self.kube_context
            && *ctx != now.kube_context
        {
            let name = |c: &Option<String>| c.clone().unwrap_or_else(|| "none".into());
            return Some(format!(
                "confirmed for Kubernetes context {}, now {}: refused (ask again)",
                name(ctx),
                name(&now.kube_context)
            ));
        }
        if let Some(servers) = &self.servers
            && *servers != now.servers
        {
            return Some(format!(
                "confirmed for NATS servers [{}], now [{}]: refused (ask again)",
                servers.join(" "),
                now.servers.join(" ")
            ));
        }
        None
    }
}

/// A request with what it was bound to.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundRequest {
    pub request: AnyRequest,
    pub binding: Binding,
}

/// Sorted, de-duplicated server names.
pub fn server_set(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = names.into_iter().filter(|n| !n.is_empty()).collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::jwt_actions::Request;
    use crate::identity::naming::IdentityName;

    #[test]
    fn a_changed_context_server_set_or_mode_refuses() {
        let req: AnyRequest = Request::Deny { name: IdentityName::parse("a/b").unwrap(), reason: String::new() }.into();
        let b = Binding {
            row_key: None,
            kube_context: Some(Some("prod".into())),
            servers: Some(vec!["n1".into(), "n2".into()]),
            mode: Mode::Jwt,
        };
        let now =
            Current { kube_context: Some("prod".into()), servers: vec!["n1".into(), "n2".into()], mode: Mode::Jwt };
        assert_eq!(b.refusal(&req, &now), None);
        let other = Current { kube_context: Some("staging".into()), ..now.clone() };
        assert!(b.refusal(&req, &other).unwrap().contains("context prod, now staging"));
        let other = Current { servers: vec!["n1".into()], ..now.clone() };
        assert!(b.refusal(&req, &other).unwrap().contains("NATS servers"));
        let other = Current { mode: Mode::Spiffe, ..now.clone() };
        assert!(b.refusal(&req, &other).unwrap().contains("jwt request"));
        assert!(Binding::mode_only(Mode::Jwt).refusal(&req, &other.clone()).is_some());
        assert_eq!(Binding::mode_only(Mode::Jwt).refusal(&req, &Current { servers: vec![], ..now }), None);
    }
}
