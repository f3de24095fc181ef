//! The permissions nats-server gives a JWT user, from its user JWT and its
//! account JWT (nats-server `server/auth.go`
//! `processClientOrLeafAuthentication`, `server/accounts.go`
//! `buildInternalNkeyUser`, `buildPermissionsFromJwt`):
//!
//! 1. a user issued by a *scoped* signing key must carry no permission or
//!    limit of its own (else the server refuses it) and gets the key's
//!    template, expanded ([`super::scope_template`]);
//! 2. a direction counts only with an allow or deny entry; `resp` counts on
//!    its own;
//! 3. a user with no pub, sub or resp gets the account's
//!    `default_permissions` (built the same way);
//! 4. the account's subject mappings apply to its publishes.

use super::permissions::{PermissionSet, ResponseAllowance, Source};
use super::scope_template::{self, TemplateInputs};
use crate::nats::jwt::{AccountClaims, Permissions, UserClaims};
use crate::nats::mapping;
use crate::nats::subject::Direction;

/// The account a user JWT belongs to (`issuer_account`, else `iss`).
pub fn account_of(user: &UserClaims) -> &str {
    if user.nats.issuer_account.is_empty() { &user.std.issuer } else { &user.nats.issuer_account }
}

/// Go `buildPermissionsFromJwt` returns nil.
fn is_unset(p: &Permissions) -> bool {
    p.publish.allow.is_empty()
        && p.publish.deny.is_empty()
        && p.subscribe.allow.is_empty()
        && p.subscribe.deny.is_empty()
        && p.response.is_none()
}

fn push_all(set: &mut PermissionSet, p: &Permissions, source: Source) {
    set.push(Direction::Publish, true, &p.publish.allow, source.clone());
    set.push(Direction::Publish, false, &p.publish.deny, source.clone());
    set.push(Direction::Subscribe, true, &p.subscribe.allow, source.clone());
    set.push(Direction::Subscribe, false, &p.subscribe.deny, source.clone());
    set.response = p.response.as_ref().map(|r| ResponseAllowance::with_defaults(r.max_msgs, r.ttl_nanos, source));
}

/// The user's permission set as the server enforces it. `account` is the
/// account JWT the servers serve (None: unknown, so scoped keys, defaults
/// and mappings cannot be applied; a note says so). `identity` is left as
/// the user's name.
pub fn of_user(user: &UserClaims, account: Option<&AccountClaims>, system_account: bool) -> PermissionSet {
    let mut set = PermissionSet {
        identity: user.std.name.clone(),
        user: user.std.subject.clone(),
        account: account_of(user).to_string(),
        system_account,
        ..Default::default()
    };
    let Some(acc) = account else {
        push_all(&mut set, &user.nats.permissions, Source::UserJwt);
        if is_unset(&user.nats.permissions) || !user.nats.issuer_account.is_empty() {
            set.notes.push("account JWT not known: its defaults, scoped keys and mappings are not applied".into());
        }
        return set;
    };
    set.mappings = mapping::from_account_extra(&acc.nats.extra);
    let mut perms = user.nats.permissions.clone();
    let mut source = Source::UserJwt;
    if let Some(scope) = scope_template::scope_of(acc, &user.std.issuer) {
        if !scope_template::user_is_empty(&user.nats) {
            set.refused = Some(format!(
                "issued by {} but carries permissions or limits of its own (the server allows none)",
                scope.label()
            ));
            push_all(&mut set, &perms, Source::UserJwt);
            return set;
        }
        match scope_template::expand(&scope.template, &TemplateInputs::of(user, acc)) {
            Ok(p) => perms = p,
            Err(e) => {
                set.refused = Some(format!("{} template: {e}", scope.label()));
                return set;
            }
        }
        source = Source::ScopeTemplate;
        set.notes.push(format!("permissions from the template of {}: {}", scope.label(), scope.summary()));
    }
    if is_unset(&perms) {
        perms = acc.nats.default_permissions.clone();
        source = Source::AccountDefault;
        set.notes.push(if is_unset(&perms) {
            "no permissions and no account defaults: every subject".into()
        } else {
            format!("account {} default_permissions apply (no pub, sub or resp of its own)", acc.std.name)
        });
    }
    push_all(&mut set, &perms, source);
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::permissions::Reason;
    use crate::nats::jwt::{AccountSigningKey, Permission, ResponsePermission};
    use serde_json::json;

    fn account() -> AccountClaims {
        let mut acc = AccountClaims::new_account("AAPP", "APP");
        let scoped = json!({
            "kind": "user_scope", "key": "ASCOPED", "role": "tentacles",
            "template": {"pub": {"allow": ["tentacular.{{tag(ns)}}.{{tag(wf)}}.>"]},
                         "sub": {"allow": ["tentacular.{{tag(ns)}}.{{tag(wf)}}.>", "_INBOX.>"]}}
        });
        acc.nats.signing_keys.push(AccountSigningKey::Scoped(serde_json::from_value(scoped).unwrap()));
        acc.nats.signing_keys.push(AccountSigningKey::Key("APLAIN".into()));
        acc.nats.default_permissions.publish = Permission::allow(["public.>"]);
        acc.nats.default_permissions.subscribe.deny = vec!["secret.>".into()];
        acc.nats.extra.insert("mappings".into(), json!({"legacy.orders": [{"subject": "tentacular.shop.orders.in"}]}));
        acc
    }

    fn user(issuer: &str) -> UserClaims {
        let mut u = UserClaims::new_user("UKEY", "tentacle.shop.orders");
        u.std.issuer = issuer.into();
        u.nats.issuer_account = "AAPP".into();
        u
    }

    #[test]
    fn scoped_users_get_the_expanded_template() {
        let acc = account();
        let mut u = user("ASCOPED");
        u.nats.limits = Default::default();
        u.nats.tags = vec!["ns:shop".into(), "wf:orders".into()];
        let p = of_user(&u, Some(&acc), false);
        assert_eq!(p.refused, None);
        assert!(p.rules.iter().all(|r| r.source == Source::ScopeTemplate));
        let d = p.decide(Direction::Publish, "tentacular.shop.orders.x");
        assert_eq!(d.explain(), "allowed by tentacular.shop.orders.> (scope template)");
        assert!(!p.decide(Direction::Publish, "tentacular.shop.other.x").allowed());
        // The mapping applies before the check.
        let d = p.decide(Direction::Publish, "legacy.orders");
        assert!(d.allowed(), "{}", d.explain());
        assert!(d.explain().starts_with("mapped to tentacular.shop.orders.in by mapping legacy.orders"));
        // No tags: allow lists empty once expanded -> deny >.
        u.nats.tags.clear();
        let p = of_user(&u, Some(&acc), false);
        assert_eq!(p.decide(Direction::Subscribe, "_INBOX.x").explain(), "allowed by _INBOX.> (scope template)");
        assert_eq!(p.decide(Direction::Publish, "anything").explain(), "denied by > (scope template)");
    }

    #[test]
    fn scoped_users_with_own_permissions_are_refused() {
        let acc = account();
        let u = user("ASCOPED"); // NewUserClaims: limits -1, not empty
        let p = of_user(&u, Some(&acc), false);
        assert!(p.refused.as_deref().unwrap().contains("role tentacles"));
        assert!(!p.decide(Direction::Subscribe, "x").allowed());
    }

    #[test]
    fn account_defaults_apply_to_users_without_permissions() {
        let acc = account();
        let p = of_user(&user("APLAIN"), Some(&acc), false);
        assert_eq!(p.decide(Direction::Publish, "public.x").explain(), "allowed by public.> (account default)");
        assert_eq!(p.decide(Direction::Subscribe, "secret.x").explain(), "denied by secret.> (account default)");
        assert_eq!(p.decide(Direction::Subscribe, "other").explain(), "allowed (no allow list)");
        // A resp alone counts as permissions: no defaults, publish replies only.
        let mut u = user("APLAIN");
        u.nats.permissions.response = Some(ResponsePermission { max_msgs: 0, ttl_nanos: 0 });
        let p = of_user(&u, Some(&acc), false);
        let d = p.decide(Direction::Publish, "public.x");
        assert_eq!((d.allowed, &d.reason), (false, &Reason::RepliesOnly));
        assert_eq!(d.explain(), "denied: only replies may be published (user JWT)");
        assert_eq!(p.response.as_ref().unwrap().describe(), "1 reply within 120s");
        assert!(p.decide(Direction::Subscribe, "secret.x").allowed());
        // Deny only + resp: still replies only (the allow list becomes empty).
        u.nats.permissions.publish.deny = vec!["x".into()];
        let p = of_user(&u, Some(&acc), false);
        assert!(!p.decide(Direction::Publish, "y").allowed());
        // An allow list + resp: the allow list decides.
        u.nats.permissions.publish.allow = vec!["y".into()];
        let p = of_user(&u, Some(&acc), false);
        assert!(p.decide(Direction::Publish, "y").allowed());
    }

    #[test]
    fn without_the_account_jwt_the_user_jwt_is_all_there_is() {
        let p = of_user(&user("APLAIN"), None, false);
        assert_eq!(p.decide(Direction::Publish, "x").explain(), "allowed (no allow list)");
        assert!(!p.notes.is_empty());
    }
}
