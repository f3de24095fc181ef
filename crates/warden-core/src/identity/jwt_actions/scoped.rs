//! Minting with a *scoped* account signing key: nats-server refuses a user
//! JWT issued by one that carries permissions or limits of its own
//! (jwt v2 `v2/signingkeys.go` `UserScope.ValidateScopedSigner`), and gives
//! the user the key's template instead (`server/auth.go`
//! `processUserPermissionsTemplate`). So: mint the user empty (Go's
//! `UserClaims.SetScoped(true)`), say which template applies, warn when it
//! does not give the identity its naming scope, and refuse grants (the
//! template decides, not the JWT).

use super::prelude::*;
use crate::identity::effective;
use crate::identity::permissions::PermissionSet;
use crate::identity::scope_template;
use crate::nats::jwt::AccountClaims;
use crate::nats::subject;

/// Called after the signer is checked, before minting: for a scoped signer,
/// empties `claims` and reports the template (and whether it covers the
/// naming scope of `name`); a plain signer changes nothing.
pub(super) fn fit_to_signer(
    r: &mut Recorder<'_>,
    acc_id: &str,
    acc: &AccountClaims,
    signer: &SigningKey,
    naming: &Naming,
    name: &IdentityName,
    claims: &mut UserClaims,
) {
    let Some(scope) = scope_template::scope_of(acc, signer.public_key()) else { return };
    empty(claims);
    let mut preview = claims.clone();
    preview.std.issuer = signer.public_key().to_string();
    preview.nats.issuer_account = acc_id.to_string();
    let set = effective::of_user(&preview, Some(acc), false);
    let set = &set;
    r.ok(
        "scope template",
        format!(
            "{} issues users without permissions; the server applies its template: {}",
            scope.label(),
            scope.summary()
        ),
    );
    if let Some(why) = set.refused.as_ref() {
        r.ok("scope template", format!("WARNING: the server will refuse this user: {why}"));
        return;
    }
    let want = naming.scope(name);
    let missing: Vec<String> =
        [(Direction::Publish, &want.publish_allow), (Direction::Subscribe, &want.subscribe_allow)]
            .into_iter()
            .flat_map(|(dir, list)| {
                list.iter().filter(move |p| !covers(set, dir, p)).map(move |p| format!("{} {p}", dir.word()))
            })
            .collect();
    if !missing.is_empty() {
        r.ok(
            "scope template",
            format!(
                "WARNING: the template does not give {name} its naming scope: {} is not allowed",
                missing.join(", ")
            ),
        );
    }
}

/// A grant changes the user JWT's allow lists: with a scoped signer the
/// server would refuse the user, and the template decides anyway.
pub(super) fn refuse_grant(acc: &AccountClaims, signer: &SigningKey) -> Result<()> {
    match scope_template::scope_of(acc, signer.public_key()) {
        Some(scope) => Err(anyhow!(
            "{} is a scoped signing key: its template ({}) decides this user's permissions, not the JWT; \
             change the template in the account JWT, or sign with a plain account signing key",
            scope.label(),
            scope.summary()
        )),
        None => Ok(()),
    }
}

/// Go `SetScoped(true)`: no permissions, limits, bearer or connection types.
fn empty(c: &mut UserClaims) {
    let n = &mut c.nats;
    n.permissions = Default::default();
    n.limits = Default::default();
    n.src.clear();
    n.times.clear();
    n.locale.clear();
    n.bearer_token = false;
    n.proxy_required = false;
    n.allowed_connection_types.clear();
}

/// Whether every subject of `pattern` is allowed in `dir`.
fn covers(set: &PermissionSet, dir: Direction, pattern: &str) -> bool {
    if set.rules(dir).any(|r| !r.allow && subject::pattern_covers(&r.subject, pattern)) {
        return false;
    }
    let mut allows = set.rules(dir).filter(|r| r.allow).peekable();
    if allows.peek().is_none() {
        return !(dir == Direction::Publish && set.response.is_some());
    }
    allows.any(|r| subject::pattern_covers(&r.subject, pattern))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::action::report::ActionReport;
    use crate::nats::jwt::AccountSigningKey;

    fn account(key: &str, template: serde_json::Value) -> AccountClaims {
        let mut acc = AccountClaims::new_account("AAPP", "APP");
        let m = serde_json::json!({"kind": "user_scope", "key": key, "role": "tentacles", "template": template});
        acc.nats.signing_keys.push(AccountSigningKey::Scoped(serde_json::from_value(m).unwrap()));
        acc
    }

    fn mint_with(template: serde_json::Value) -> (Vec<Step>, UserClaims) {
        let signer = SigningKey::generate(KeyKind::Account);
        let acc = account(signer.public_key(), template);
        let naming = Naming::with_defaults("td.local").unwrap();
        let name = IdentityName::parse("tent-dev/alpha").unwrap();
        let mut claims = UserClaims::new_user("UKEY", &naming.nats_user(&name));
        claims.nats.permissions.publish = jwt::Permission::allow(["tentacular.tent-dev.alpha.>"]);
        let mut progress = |_: &Step| {};
        let mut r = Recorder { report: ActionReport::new("register", "tent-dev/alpha"), progress: &mut progress };
        fit_to_signer(&mut r, "AAPP", &acc, &signer, &naming, &name, &mut claims);
        assert!(refuse_grant(&acc, &signer).unwrap_err().to_string().contains("template"));
        (r.report.steps, claims)
    }

    #[test]
    fn scoped_signers_mint_empty_users_and_say_which_template_applies() {
        let (steps, claims) = mint_with(serde_json::json!({
            "pub": {"allow": ["tentacular.{{tag(ns)}}.>", "{{name()}}.>"]},
            "sub": {"allow": ["_INBOX.>"]}
        }));
        assert!(scope_template::user_is_empty(&claims.nats));
        assert!(steps[0].result.as_ref().unwrap().contains("role tentacles"));
        // The template covers neither the publish nor the subscribe scope.
        let warn = steps[1].result.as_ref().unwrap();
        assert!(warn.starts_with("WARNING"), "{warn}");
        assert!(
            warn.contains("publish tentacular.tent-dev.alpha.>")
                && warn.contains("subscribe tentacular.tent-dev.alpha.>")
        );
    }

    #[test]
    fn a_template_that_gives_the_naming_scope_has_no_warning() {
        let (steps, _) = mint_with(serde_json::json!({
            "pub": {"allow": ["tentacular.>"]},
            "sub": {"allow": ["tentacular.>", "_INBOX.>"]}
        }));
        assert_eq!(steps.len(), 1, "{steps:?}");
    }

    #[test]
    fn plain_signers_change_nothing() {
        let signer = SigningKey::generate(KeyKind::Account);
        let mut acc = AccountClaims::new_account("AAPP", "APP");
        acc.nats.signing_keys.push(AccountSigningKey::Key(signer.public_key().into()));
        assert!(refuse_grant(&acc, &signer).is_ok());
    }
}
