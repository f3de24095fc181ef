//! JWT-mode identity actions: register, approve, deny, renew, revoke. One
//! code path for the console (run in an IO task) and the CLI. Every action
//! reports part by part ([`ActionReport`]), is idempotent (a re-run says
//! "already ..."), and loads key material only for itself (dropped after).

mod access;
mod context;
mod prelude;
mod records;
mod request;

pub use access::kube_needs;
pub use context::{ActionContext, KeyRef, SigningConfig, resolve_account};
pub use records::creds_secret_name;
pub use request::{Request, RevokeTarget};

use crate::identity::action::kube::preflight;
use crate::identity::action::report::{ActionReport, Recorder, Step};
use crate::identity::action::request::ActionRequest;

/// Runs `req`; `progress` sees each step as it completes.
pub async fn run(ctx: &ActionContext, req: &Request, mut progress: impl FnMut(&Step) + Send) -> ActionReport {
    let mut r = Recorder { report: ActionReport::new(req.verb(), &req.target()), progress: &mut progress };
    if let Some(k) = &ctx.kube
        && let Err(why) = preflight(k, &kube_needs(ctx, req)).await
    {
        r.err("Kubernetes permissions", why);
        return r.report;
    }
    let result = match req {
        Request::Register { name, account, ttl, creds_out, force } => {
            register(ctx, &mut r, name, account, *ttl, creds_out.as_deref(), *force).await
        }
        Request::Approve { name, ttl, allow_broad } => approve(ctx, &mut r, name, *ttl, *allow_broad).await,
        Request::Deny { name, reason } => deny(ctx, &mut r, name, reason).await,
        Request::Renew { name, account, ttl, creds_out } => {
            renew(ctx, &mut r, name, account.as_deref(), *ttl, creds_out.as_deref()).await
        }
        Request::Revoke { target, account, creds } => revoke(ctx, &mut r, target, account, creds.as_deref()).await,
        Request::Grant { name, dir, subject, allow_broad, creds_out } => {
            let g = GrantReq { name, dir: *dir, subject, add: true, allow_broad: *allow_broad };
            grant(ctx, &mut r, &g, creds_out.as_deref()).await
        }
        Request::Ungrant { name, dir, subject, creds_out } => {
            let g = GrantReq { name, dir: *dir, subject, add: false, allow_broad: false };
            grant(ctx, &mut r, &g, creds_out.as_deref()).await
        }
    };
    if let Err(e) = result {
        r.push(Step::err("stopped", format!("{e:#}")));
    }
    r.report
}

/// Stops the action after a step that failed (already recorded).
macro_rules! step {
    ($r:expr, $name:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => {
                $r.push(Step::err($name, format!("{e:#}")));
                return Ok(());
            }
        }
    };
}

// After the macro: the action modules use `step!` (textual macro scope).
mod grant;
mod lifecycle;
mod revocation;
mod revoke;
mod scoped;

use grant::{GrantReq, grant};
use lifecycle::{approve, deny, register, renew};
use revoke::revoke;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::naming::IdentityName;
    use crate::nats::jwt::{KeyKind, SigningKey};

    #[test]
    fn names_and_targets_parse() {
        let n = IdentityName::parse("tent-dev/orders").unwrap();
        assert_eq!(creds_secret_name(&n), "orders-nats-creds");
        assert!(IdentityName::parse("nope").is_err());
        assert!(IdentityName::parse("a/B").is_err());
        assert!(IdentityName::parse("/x").is_err());
        let k = SigningKey::generate(KeyKind::User);
        assert_eq!(RevokeTarget::parse(k.public_key()).unwrap(), RevokeTarget::UserKey(k.public_key().into()));
        assert!(RevokeTarget::parse("UNOTAKEY").is_err());
        assert_eq!(
            KeyRef::parse_secret("nats/op-keys:operator.nk").unwrap(),
            KeyRef::Secret { namespace: "nats".into(), name: "op-keys".into(), key: "operator.nk".into() }
        );
    }

    #[test]
    fn report_outcome() {
        let mut r = ActionReport::new("renew", "a/b");
        assert_eq!(r.outcome(), "failed");
        r.steps.push(Step::ok("x", "y"));
        assert_eq!(r.outcome(), "ok");
        r.steps.push(Step::err("z", "w"));
        assert_eq!(r.outcome(), "partial");
        assert_eq!(r.lines()[1], "FAIL  z: w");
    }
}
