//! Scoped account signing keys: the `user_scope` template nats-server gives
//! every user such a key issues, expanded as the server expands it
//! (nats-server `server/auth.go` `processUserPermissionsTemplate`; the key's
//! shape is jwt v2 `v2/signingkeys.go` `UserScope`, whose
//! `ValidateScopedSigner` refuses a user JWT that carries any permission or
//! limit of its own: `UserClaims.HasEmptyPermissions` in `v2/user_claims.go`).
//!
//! Functions, case-insensitive: `{{name()}}` (the user JWT's name),
//! `{{subject()}}` (its public key), `{{account-name()}}`,
//! `{{account-subject()}}` (the user's `issuer_account`), `{{tag(x)}}` and
//! `{{account-tag(x)}}` (every value of the user's / account's `x:value`
//! tags: one subject per combination). Any other function refuses the user.
//! A generated subject that is not valid is dropped from allow lists and
//! refuses the user in deny lists; a missing tag value drops an allow entry
//! and refuses in deny lists. An allow list that was not empty and is empty
//! once expanded becomes `deny >`.

use serde_json::{Map, Value};

use crate::nats::jwt::{AccountClaims, AccountSigningKey, Permission, Permissions, User, UserClaims};
use crate::nats::subject;

/// The server's `maxPermTemplateSubjectExpansions`.
pub const MAX_EXPANSIONS: usize = 4096;

/// A scoped signing key of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct UserScope {
    pub key: String,
    pub role: String,
    pub description: String,
    /// The template's permissions as written (`pub`, `sub`, `resp`).
    pub template: Permissions,
    /// The template sets limits or other fields (they apply too).
    pub has_limits: bool,
}

impl UserScope {
    /// `role` or the key, for messages.
    pub fn label(&self) -> String {
        // The key comes from an account JWT: any text, cut on a character.
        let short: String = self.key.chars().take(12).collect();
        if self.role.is_empty() {
            format!("scoped key {short}…")
        } else {
            format!("scoped key {short}… (role {})", self.role)
        }
    }

    /// The template as text: `pub allow a, b; sub allow c; resp`.
    pub fn summary(&self) -> String {
        let t = &self.template;
        let mut parts = Vec::new();
        for (w, p) in [("pub", &t.publish), ("sub", &t.subscribe)] {
            if !p.allow.is_empty() {
                parts.push(format!("{w} allow {}", p.allow.join(", ")));
            }
            if !p.deny.is_empty() {
                parts.push(format!("{w} deny {}", p.deny.join(", ")));
            }
        }
        if t.response.is_some() {
            parts.push("resp".into());
        }
        if parts.is_empty() { "no permissions (account defaults apply)".into() } else { parts.join("; ") }
    }
}

/// The scoped form of `key` in `account`, or `None` (plain signing key,
/// the account key itself, or not a key of this account).
pub fn scope_of(account: &AccountClaims, key: &str) -> Option<UserScope> {
    account.nats.signing_keys.iter().find_map(|k| match k {
        AccountSigningKey::Scoped(m) if m.get("key").and_then(Value::as_str) == Some(key) => Some(parse(m)),
        _ => None,
    })
}

fn parse(m: &Map<String, Value>) -> UserScope {
    let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let tmpl = m.get("template").cloned().unwrap_or(Value::Null);
    let user: User = serde_json::from_value(tmpl.clone()).unwrap_or_default();
    let has_limits = tmpl.as_object().is_some_and(|o| {
        o.iter().any(|(k, v)| !matches!(k.as_str(), "pub" | "sub" | "resp") && !is_zero(v) && !is_unlimited(k, v))
    });
    UserScope { key: s("key"), role: s("role"), description: s("description"), template: user.permissions, has_limits }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// `subs`/`data`/`payload` of -1 (`NoLimit`, what `NewUserScope` writes).
fn is_unlimited(k: &str, v: &Value) -> bool {
    matches!(k, "subs" | "data" | "payload") && v.as_i64() == Some(-1)
}

/// Whether a user JWT carries nothing of its own, as a scoped key requires
/// (Go `HasEmptyPermissions`: permissions, limits, bearer, connection types).
pub fn user_is_empty(u: &User) -> bool {
    let p = &u.permissions;
    p.publish == Permission::default()
        && p.subscribe == Permission::default()
        && p.response.is_none()
        && u.src.is_empty()
        && u.times.is_empty()
        && u.locale.is_empty()
        && u.limits == Default::default()
        && !u.bearer_token
        && !u.proxy_required
        && u.allowed_connection_types.is_empty()
}

/// What the template values come from.
#[derive(Debug, Clone, Default)]
pub struct TemplateInputs<'a> {
    pub user_name: &'a str,
    pub user_key: &'a str,
    pub user_tags: &'a [String],
    pub issuer_account: &'a str,
    pub account_name: &'a str,
    pub account_tags: &'a [String],
}

impl<'a> TemplateInputs<'a> {
    pub fn of(user: &'a UserClaims, account: &'a AccountClaims) -> Self {
        TemplateInputs {
            user_name: &user.std.name,
            user_key: &user.std.subject,
            user_tags: &user.nats.tags,
            issuer_account: &user.nats.issuer_account,
            account_name: &account.std.name,
            account_tags: &account.nats.tags,
        }
    }
}

/// The template's permissions for one user, or why the server refuses it.
pub fn expand(template: &Permissions, i: &TemplateInputs<'_>) -> Result<Permissions, String> {
    let mut out = template.clone();
    out.subscribe.allow = apply(&template.subscribe.allow, false, i)?;
    out.subscribe.deny = apply(&template.subscribe.deny, true, i)?;
    out.publish.allow = apply(&template.publish.allow, false, i)?;
    out.publish.deny = apply(&template.publish.deny, true, i)?;
    for (before, after) in [(&template.subscribe, &mut out.subscribe), (&template.publish, &mut out.publish)] {
        if !before.allow.is_empty() && after.allow.is_empty() && !after.deny.iter().any(|d| d == ">") {
            after.deny.push(">".into());
        }
    }
    Ok(out)
}

/// `{{...}}` spans of `s` (the server's `{{2}([^}]+)}{2}`).
fn mustaches(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    let mut base = 0;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let inner_len = after.find('}').unwrap_or(after.len());
        if inner_len > 0 && after[inner_len..].starts_with("}}") {
            let start = base + open;
            let end = start + 2 + inner_len + 2;
            out.push(&s[start..end]);
            base = end;
            rest = &s[end..];
        } else {
            base += open + 1;
            rest = &rest[open + 1..];
        }
    }
    out
}

/// `tag(x)` / `account-tag(x)`: matched case-insensitively, but the
/// argument is cut with Go's case-sensitive `TrimPrefix` as the server does.
fn tag_fn(op: &str) -> Option<(bool, String)> {
    let lower = op.to_ascii_lowercase();
    if !op.ends_with(')') {
        return None;
    }
    let cut = |p: &str| op.strip_prefix(p).unwrap_or(op).strip_suffix(')').unwrap_or(op).to_string();
    if lower.len() >= 4 && lower.starts_with("tag(") {
        Some((false, cut("tag(")))
    } else if lower.len() >= 12 && lower.starts_with("account-tag(") {
        Some((true, cut("account-tag(")))
    } else {
        None
    }
}

fn apply(list: &[String], fail_on_bad: bool, i: &TemplateInputs<'_>) -> Result<Vec<String>, String> {
    if !list.iter().any(|s| !mustaches(s).is_empty()) {
        return Ok(list.to_vec());
    }
    let mut emitted: Vec<String> = Vec::new();
    for entry in list {
        let spans = mustaches(entry);
        let mut values: Vec<Vec<String>> = Vec::new();
        for span in &spans {
            let op = span[2..span.len() - 2].trim();
            let lower = op.to_ascii_lowercase();
            let v = match lower.as_str() {
                "name()" => vec![i.user_name.to_string()],
                "subject()" => vec![i.user_key.to_string()],
                "account-name()" => vec![i.account_name.to_string()],
                "account-subject()" => vec![i.issuer_account.to_string()],
                _ => match tag_fn(op) {
                    Some((account, name)) => {
                        let prefix = format!("{}:", name.to_lowercase());
                        let tags = if account { i.account_tags } else { i.user_tags };
                        let vals: Vec<String> =
                            tags.iter().filter_map(|t| t.strip_prefix(&prefix)).map(str::to_string).collect();
                        if vals.is_empty() {
                            if fail_on_bad {
                                return Err(format!("generated invalid subject {entry:?}: {name:?} is not defined"));
                            }
                            vec![" ".to_string()]
                        } else {
                            vals
                        }
                    }
                    None => return Err(format!("template operation in {entry:?}: {op:?} is not defined")),
                },
            };
            values.push(v);
        }
        let count = values.iter().try_fold(1usize, |acc, v| acc.checked_mul(v.len()).filter(|c| *c <= MAX_EXPANSIONS));
        match count {
            Some(c) if emitted.len() + c <= MAX_EXPANSIONS => {}
            _ => return Err(format!("template expansion exceeds limit: {MAX_EXPANSIONS}")),
        }
        for combo in product(&values) {
            let mut subj = entry.clone();
            for (span, v) in spans.iter().zip(&combo) {
                subj = subj.replace(span, v);
            }
            if subject::is_valid_pattern(&subj) {
                emitted.push(subj);
            } else if fail_on_bad {
                return Err("generated invalid subject".into());
            }
        }
    }
    Ok(emitted)
}

fn product(values: &[Vec<String>]) -> Vec<Vec<&str>> {
    let mut out: Vec<Vec<&str>> = vec![Vec::new()];
    for v in values {
        out =
            out.iter().flat_map(|prefix| v.iter().map(move |x| [prefix.clone(), vec![x.as_str()]].concat())).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn inputs<'a>(utags: &'a [String], atags: &'a [String]) -> TemplateInputs<'a> {
        TemplateInputs {
            user_name: "tentacle.tent-dev.alpha",
            user_key: "UKEY",
            user_tags: utags,
            issuer_account: "AKEY",
            account_name: "APP",
            account_tags: atags,
        }
    }

    fn perms(pub_allow: &[&str], pub_deny: &[&str], sub_allow: &[&str]) -> Permissions {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Permissions {
            publish: Permission { allow: v(pub_allow), deny: v(pub_deny) },
            subscribe: Permission { allow: v(sub_allow), deny: vec![] },
            response: None,
        }
    }

    #[test]
    fn functions_expand_like_the_server() {
        let t = perms(
            &["{{name()}}.>", "acct.{{ Account-Name() }}.{{subject()}}", "{{account-subject()}}.x"],
            &[],
            &["_INBOX.>"],
        );
        let out = expand(&t, &inputs(&[], &[])).unwrap();
        assert_eq!(out.publish.allow, ["tentacle.tent-dev.alpha.>", "acct.APP.UKEY", "AKEY.x"]);
        assert_eq!(out.subscribe.allow, ["_INBOX.>"]);
    }

    #[test]
    fn tags_give_one_subject_per_combination() {
        let ut = vec!["ns:a".to_string(), "ns:b".to_string(), "other:x".to_string()];
        let at = vec!["env:prod".to_string()];
        let t = perms(&["{{tag(NS)}}.{{account-tag(env)}}.>"], &[], &[]);
        let out = expand(&t, &inputs(&ut, &at)).unwrap();
        assert_eq!(out.publish.allow, ["a.prod.>", "b.prod.>"]);
        // A missing tag: the allow entry is dropped; the emptied list becomes deny >.
        let t = perms(&["{{tag(missing)}}.>"], &[], &[]);
        let out = expand(&t, &inputs(&ut, &at)).unwrap();
        assert!(out.publish.allow.is_empty());
        assert_eq!(out.publish.deny, [">"]);
        // ... and refuses the user in a deny list.
        let t = perms(&[], &["{{tag(missing)}}.>"], &[]);
        assert!(expand(&t, &inputs(&ut, &at)).unwrap_err().contains("is not defined"));
    }

    #[test]
    fn unknown_functions_refuse_the_user() {
        let t = perms(&["{{nope()}}"], &[], &[]);
        assert!(expand(&t, &inputs(&[], &[])).unwrap_err().contains("not defined"));
        // Without templates the lists are as written.
        let t = perms(&["a.b"], &["a.c"], &[]);
        assert_eq!(expand(&t, &inputs(&[], &[])).unwrap(), t);
    }

    #[test]
    fn invalid_generated_subjects() {
        let mut i = inputs(&[], &[]);
        i.user_name = "has space";
        let t = perms(&["{{name()}}", "ok.{{subject()}}"], &[], &[]);
        assert_eq!(expand(&t, &i).unwrap().publish.allow, ["ok.UKEY"]);
        let t = perms(&[], &["{{name()}}"], &[]);
        assert!(expand(&t, &i).is_err());
    }

    #[test]
    fn scoped_keys_are_found_in_the_account() {
        let mut acc = AccountClaims::new_account("AKEY", "APP");
        acc.nats.signing_keys.push(AccountSigningKey::Key("APLAIN".into()));
        let scoped: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "kind": "user_scope", "key": "ASCOPED", "role": "tentacles",
            "template": {"pub": {"allow": ["{{name()}}.>"]}, "sub": {}, "subs": -1, "data": -1, "payload": -1}
        }))
        .unwrap();
        acc.nats.signing_keys.push(AccountSigningKey::Scoped(scoped));
        assert!(scope_of(&acc, "APLAIN").is_none());
        let s = scope_of(&acc, "ASCOPED").unwrap();
        assert_eq!((s.role.as_str(), s.has_limits), ("tentacles", false));
        assert_eq!(s.template.publish.allow, ["{{name()}}.>"]);
        assert_eq!(s.summary(), "pub allow {{name()}}.>");
    }

    /// Found by the scope_template fuzz target: a key with a multi-byte
    /// character at byte 12 was cut inside it.
    #[test]
    fn labels_cut_any_key_on_a_character() {
        let mut acc = AccountClaims::new_account("AKEY", "APP");
        let key = "AAUZX4FEATé€NJVACN27";
        let scoped: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"kind": "user_scope", "key": key, "template": {}})).unwrap();
        acc.nats.signing_keys.push(AccountSigningKey::Scoped(scoped));
        let s = scope_of(&acc, key).unwrap();
        assert_eq!(s.label(), "scoped key AAUZX4FEATé€…");
        assert_eq!(UserScope { role: "r".into(), ..s }.label(), "scoped key AAUZX4FEATé€… (role r)");
    }

    #[test]
    fn empty_users() {
        let mut u = UserClaims::new_user("UKEY", "x");
        assert!(!user_is_empty(&u.nats), "NewUserClaims sets limits to -1");
        u.nats.limits = Default::default();
        assert!(user_is_empty(&u.nats));
        u.nats.permissions.subscribe.allow.push("a".into());
        assert!(!user_is_empty(&u.nats));
    }

    proptest! {
        #[test]
        fn expansion_never_panics(entry in "[a-z{}()\\-. >*:]{0,30}", tag in "[a-z:]{0,6}") {
            let tags = vec![tag];
            let t = perms(&[&entry], &[&entry], &[&entry]);
            let _ = expand(&t, &inputs(&tags, &tags));
        }
    }
}
