//! The SPIFFE-mode authorization document: the nats-server config fragment
//! that the authorization ConfigMap holds and the NATS pods `include`.
//!
//! Two shapes, both accepted by nats-server 2.15.1 (verified by the
//! integration tests):
//!
//! - [`DocumentShape::UsersArray`]: `users = [ ... ]`, included inside an
//!   account block (`accounts { APP { include "authz.conf" } }`), which keeps
//!   the tentacles in their own account beside `SYS`;
//! - [`DocumentShape::AuthorizationBlock`]: `authorization { users = [ ... ] }`,
//!   included at the top level (tentacles land in the global account `$G`).
//!
//! Each user entry is keyed by the exact SPIFFE ID (`verify_and_map` looks the
//! SVID's URI SAN up as a string). Scope subjects and explicit grants share
//! the `allow` arrays nats-server reads; grants carry the same-line comment
//! `# warden:grant`, which is how they stay distinguishable after a round
//! trip. The rendering is canonical: users sorted, scope subjects first in
//! their order, then grants sorted; parsing a rendering gives it back.
//!
//! nats-server semantics kept on purpose: a direction with no `allow` and no
//! `deny` is rendered as nothing, which nats-server reads as *unrestricted*.

use std::collections::BTreeMap;

use super::conf::{self, Element, Entry, Value};
use super::naming::Scope;
use crate::nats::subject::{self, Direction};

/// The marker comment that identifies a grant in an `allow` array.
pub const GRANT_MARKER: &str = "warden:grant";

/// Where the `users` array sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DocumentShape {
    /// `users = [ ... ]` (included inside an account block).
    #[default]
    UsersArray,
    /// `authorization { users = [ ... ] }` (included at the top level).
    AuthorizationBlock,
}

/// An explicit cross-tentacle permission.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    pub direction: Direction,
    pub subject: String,
}

/// One user entry (one SPIFFE ID).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthzEntry {
    /// The SPIFFE ID, as the SVID's URI SAN.
    pub user: String,
    /// Scope subjects (not grants), in order.
    pub publish_allow: Vec<String>,
    pub publish_deny: Vec<String>,
    pub subscribe_allow: Vec<String>,
    pub subscribe_deny: Vec<String>,
    /// Explicit grants, rendered into the `allow` arrays with the marker.
    pub grants: Vec<Grant>,
    /// Other keys of `permissions` (e.g. `allow_responses`), kept verbatim.
    pub permissions_extra: Vec<Entry>,
    /// Other keys of the user entry (e.g. `account`), kept verbatim.
    pub extra: Vec<Entry>,
}

impl AuthzEntry {
    /// A new entry with the identity's scope.
    pub fn from_scope(user: &str, scope: &Scope) -> AuthzEntry {
        AuthzEntry {
            user: user.to_string(),
            publish_allow: scope.publish_allow.clone(),
            subscribe_allow: scope.subscribe_allow.clone(),
            ..Default::default()
        }
    }

    fn grants_for(&self, d: Direction) -> impl Iterator<Item = &str> {
        self.grants.iter().filter(move |g| g.direction == d).map(|g| g.subject.as_str())
    }

    /// What nats-server enforces for `allow`: scope then grants.
    pub fn effective_allow(&self, d: Direction) -> Vec<String> {
        let base = match d {
            Direction::Publish => &self.publish_allow,
            Direction::Subscribe => &self.subscribe_allow,
        };
        base.iter().map(String::as_str).chain(self.grants_for(d)).map(str::to_string).collect()
    }

    fn normalize(&mut self) {
        self.grants.sort();
        self.grants.dedup();
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthzError {
    #[error(transparent)]
    Syntax(#[from] conf::ParseError),
    #[error("{0}")]
    Shape(String),
    #[error("no authorization entry for {0:?}")]
    UnknownUser(String),
    #[error("invalid subject {0:?}")]
    Subject(String),
    #[error("invalid user {0:?}")]
    User(String),
}

fn shape_err<T>(msg: impl Into<String>) -> Result<T, AuthzError> {
    Err(AuthzError::Shape(msg.into()))
}

/// The whole document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthzDocument {
    pub shape: DocumentShape,
    /// Keys beside `users` (e.g. `timeout` in an authorization block), verbatim.
    pub extra: Vec<Entry>,
    entries: BTreeMap<String, AuthzEntry>,
}

impl AuthzDocument {
    pub fn new(shape: DocumentShape) -> AuthzDocument {
        AuthzDocument { shape, ..Default::default() }
    }

    /// Entries sorted by user.
    pub fn entries(&self) -> impl Iterator<Item = &AuthzEntry> {
        self.entries.values()
    }

    pub fn get(&self, user: &str) -> Option<&AuthzEntry> {
        self.entries.get(user)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Inserts or replaces an entry; `true` if the document changed.
    pub fn upsert(&mut self, mut entry: AuthzEntry) -> Result<bool, AuthzError> {
        if entry.user.is_empty() {
            return Err(AuthzError::User(entry.user));
        }
        for g in &entry.grants {
            if subject::validate_grant(&g.subject).is_err() {
                return Err(AuthzError::Subject(g.subject.clone()));
            }
        }
        entry.normalize();
        if self.entries.get(&entry.user) == Some(&entry) {
            return Ok(false);
        }
        self.entries.insert(entry.user.clone(), entry);
        Ok(true)
    }

    /// Sets an identity's scope (creating the entry if needed), keeping its
    /// grants, deny lists and extra keys; `true` if the document changed.
    pub fn upsert_scope(&mut self, user: &str, scope: &Scope) -> Result<bool, AuthzError> {
        let mut e = self
            .entries
            .get(user)
            .cloned()
            .unwrap_or_else(|| AuthzEntry { user: user.to_string(), ..Default::default() });
        e.publish_allow = scope.publish_allow.clone();
        e.subscribe_allow = scope.subscribe_allow.clone();
        self.upsert(e)
    }

    /// Removes an entry; `true` if it was there.
    pub fn remove(&mut self, user: &str) -> bool {
        self.entries.remove(user).is_some()
    }

    /// Adds a grant; `true` if the document changed. A subject the scope
    /// already allows literally is not added again.
    pub fn grant(&mut self, user: &str, direction: Direction, subject: &str) -> Result<bool, AuthzError> {
        if subject::validate_grant(subject).is_err() {
            return Err(AuthzError::Subject(subject.to_string()));
        }
        let e = self.entries.get_mut(user).ok_or_else(|| AuthzError::UnknownUser(user.to_string()))?;
        if e.effective_allow(direction).iter().any(|s| s == subject) {
            return Ok(false);
        }
        e.grants.push(Grant { direction, subject: subject.to_string() });
        e.normalize();
        Ok(true)
    }

    /// Removes a grant; `true` if it was there. Scope subjects are not touched.
    pub fn ungrant(&mut self, user: &str, direction: Direction, subject: &str) -> Result<bool, AuthzError> {
        let e = self.entries.get_mut(user).ok_or_else(|| AuthzError::UnknownUser(user.to_string()))?;
        let before = e.grants.len();
        e.grants.retain(|g| !(g.direction == direction && g.subject == subject));
        Ok(e.grants.len() != before)
    }

    /// Parses a document (see the module doc for the shapes).
    pub fn parse(text: &str) -> Result<AuthzDocument, AuthzError> {
        let top = conf::parse(text)?;
        let mut doc = AuthzDocument::default();
        let users_value;
        if let Some(auth) = find(&top, &["authorization"]) {
            doc.shape = DocumentShape::AuthorizationBlock;
            if let Some(other) = top.iter().find(|e| e.key != "authorization") {
                return shape_err(format!("unexpected top-level key {:?} beside authorization", other.key));
            }
            if count(&top, &["authorization"]) > 1 {
                return shape_err("authorization appears twice");
            }
            let Value::Map(inner) = auth else {
                return shape_err("authorization must be a map");
            };
            users_value = split_users(inner, &mut doc.extra)?;
        } else {
            doc.shape = DocumentShape::UsersArray;
            users_value = split_users(&top, &mut doc.extra)?;
        }
        let Some(users) = users_value else {
            return Ok(doc);
        };
        let Value::Array(items) = users else {
            return shape_err("users must be an array");
        };
        for (i, it) in items.iter().enumerate() {
            let entry = parse_user(&it.value).map_err(|e| match e {
                AuthzError::Shape(m) => AuthzError::Shape(format!("users[{i}]: {m}")),
                other => other,
            })?;
            if doc.entries.contains_key(&entry.user) {
                return shape_err(format!("users[{i}]: duplicate user {:?}", entry.user));
            }
            doc.entries.insert(entry.user.clone(), entry);
        }
        Ok(doc)
    }

    /// Renders the canonical document (deterministic: same model, same bytes).
    pub fn render(&self) -> String {
        let users =
            Value::Array(self.entries.values().map(|e| Element { value: render_user(e), comment: None }).collect());
        let mut inner = self.extra.clone();
        inner.push(Entry { key: "users".into(), value: users });
        let top = match self.shape {
            DocumentShape::UsersArray => inner,
            DocumentShape::AuthorizationBlock => vec![Entry { key: "authorization".into(), value: Value::Map(inner) }],
        };
        let mut out = String::from(
            "# Managed by warden: SPIFFE-mode NATS authorization (one entry per SPIFFE ID).\n\
             # Subjects marked \"# warden:grant\" are explicit grants; the others are the scope.\n",
        );
        out.push_str(&conf::render(&top));
        out
    }
}

fn find<'a>(entries: &'a [Entry], keys: &[&str]) -> Option<&'a Value> {
    entries.iter().find(|e| keys.contains(&e.key.as_str())).map(|e| &e.value)
}

fn count(entries: &[Entry], keys: &[&str]) -> usize {
    entries.iter().filter(|e| keys.contains(&e.key.as_str())).count()
}

/// Separates `users` from its siblings.
fn split_users<'a>(entries: &'a [Entry], extra: &mut Vec<Entry>) -> Result<Option<&'a Value>, AuthzError> {
    if count(entries, &["users"]) > 1 {
        return shape_err("users appears twice");
    }
    for e in entries {
        if e.key == "users" {
            continue;
        }
        if matches!(e.key.as_str(), "user" | "username" | "password" | "pass" | "token") {
            return shape_err(format!(
                "{:?} beside users: single-user authorization is not a SPIFFE-mode document",
                e.key
            ));
        }
        extra.push(e.clone());
    }
    Ok(find(entries, &["users"]))
}

fn as_str(v: &Value) -> Option<&str> {
    match v {
        Value::Str { text, .. } => Some(text),
        _ => None,
    }
}

/// A subject list: one string or an array of strings. Elements whose comment
/// is the grant marker come back separately.
fn subjects(v: &Value, what: &str) -> Result<(Vec<String>, Vec<String>), AuthzError> {
    let one = |v: &Value| -> Result<String, AuthzError> {
        match v {
            Value::Str { text, quoted } => {
                if !quoted && text.starts_with('$') {
                    return shape_err(format!(
                        "{what}: unquoted {text:?} is a variable reference; quote subjects that start with '$'"
                    ));
                }
                Ok(text.clone())
            }
            _ => shape_err(format!("{what}: expected a subject string")),
        }
    };
    match v {
        Value::Array(items) => {
            let mut plain = Vec::new();
            let mut grants = Vec::new();
            for it in items {
                let s = one(&it.value)?;
                if it.comment.as_deref() == Some(GRANT_MARKER) {
                    grants.push(s);
                } else {
                    plain.push(s);
                }
            }
            Ok((plain, grants))
        }
        other => Ok((vec![one(other)?], vec![])),
    }
}

/// `publish: "x"`, `publish: [..]` or `publish: { allow: .., deny: .. }`.
fn direction(v: &Value, d: Direction, entry: &mut AuthzEntry) -> Result<(), AuthzError> {
    let (allow, deny) = match d {
        Direction::Publish => (&mut entry.publish_allow, &mut entry.publish_deny),
        Direction::Subscribe => (&mut entry.subscribe_allow, &mut entry.subscribe_deny),
    };
    let add_grants = |gs: Vec<String>, grants: &mut Vec<Grant>| {
        grants.extend(gs.into_iter().map(|subject| Grant { direction: d, subject }))
    };
    match v {
        Value::Map(m) => {
            for e in m {
                match e.key.as_str() {
                    "allow" => {
                        let (p, g) = subjects(&e.value, &format!("{d}.allow"))?;
                        allow.extend(p);
                        add_grants(g, &mut entry.grants);
                    }
                    "deny" => {
                        let (p, g) = subjects(&e.value, &format!("{d}.deny"))?;
                        deny.extend(p);
                        deny.extend(g);
                    }
                    k => return shape_err(format!("{d}: unknown key {k:?} (allow, deny)")),
                }
            }
        }
        other => {
            let (p, g) = subjects(other, &d.to_string())?;
            allow.extend(p);
            add_grants(g, &mut entry.grants);
        }
    }
    Ok(())
}

fn parse_user(v: &Value) -> Result<AuthzEntry, AuthzError> {
    let Value::Map(m) = v else {
        return shape_err("a user entry must be a map");
    };
    let mut e = AuthzEntry::default();
    let mut user = None;
    let mut seen_perms = false;
    for kv in m {
        match kv.key.as_str() {
            "user" | "username" => {
                if user.is_some() {
                    return shape_err("user given twice");
                }
                user = Some(as_str(&kv.value).ok_or_else(|| AuthzError::Shape("user must be a string".into()))?);
            }
            "permissions" | "permission" => {
                if seen_perms {
                    return shape_err("permissions given twice");
                }
                seen_perms = true;
                let Value::Map(pm) = &kv.value else {
                    return shape_err("permissions must be a map");
                };
                let (mut seen_pub, mut seen_sub) = (false, false);
                for p in pm {
                    match p.key.as_str() {
                        "publish" | "pub" | "import" => {
                            if std::mem::replace(&mut seen_pub, true) {
                                return shape_err("publish given twice");
                            }
                            direction(&p.value, Direction::Publish, &mut e)?
                        }
                        "subscribe" | "sub" | "export" => {
                            if std::mem::replace(&mut seen_sub, true) {
                                return shape_err("subscribe given twice");
                            }
                            direction(&p.value, Direction::Subscribe, &mut e)?
                        }
                        _ => e.permissions_extra.push(p.clone()),
                    }
                }
            }
            _ => e.extra.push(kv.clone()),
        }
    }
    let Some(user) = user else {
        return shape_err("entry without user (nkey or token users are not SPIFFE-mode entries)");
    };
    if user.is_empty() {
        return Err(AuthzError::User(String::new()));
    }
    e.user = user.to_string();
    e.normalize();
    Ok(e)
}

fn subject_array(plain: &[String], grants: Vec<&str>) -> Value {
    let mut items: Vec<Element> =
        plain.iter().map(|s| Element { value: Value::str(s.clone()), comment: None }).collect();
    items.extend(grants.into_iter().map(|s| Element { value: Value::str(s), comment: Some(GRANT_MARKER.to_string()) }));
    Value::Array(items)
}

fn render_user(e: &AuthzEntry) -> Value {
    let mut perms = Vec::new();
    for (d, allow, deny) in [
        (Direction::Publish, &e.publish_allow, &e.publish_deny),
        (Direction::Subscribe, &e.subscribe_allow, &e.subscribe_deny),
    ] {
        let grants: Vec<&str> = e.grants_for(d).collect();
        let mut m = Vec::new();
        if !allow.is_empty() || !grants.is_empty() {
            m.push(Entry { key: "allow".into(), value: subject_array(allow, grants) });
        }
        if !deny.is_empty() {
            m.push(Entry { key: "deny".into(), value: subject_array(deny, vec![]) });
        }
        if !m.is_empty() {
            perms.push(Entry { key: d.to_string(), value: Value::Map(m) });
        }
    }
    perms.extend(e.permissions_extra.iter().cloned());
    let mut user = vec![Entry { key: "user".into(), value: Value::str(e.user.clone()) }];
    if !perms.is_empty() {
        user.push(Entry { key: "permissions".into(), value: Value::Map(perms) });
    }
    user.extend(e.extra.iter().cloned());
    Value::Map(user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::naming::{IdentityName, Naming};

    const A: &str = "spiffe://td/ns/a/wf/x";
    const B: &str = "spiffe://td/ns/b/wf/y";

    fn sample() -> AuthzDocument {
        let nm = Naming::with_defaults("td").unwrap();
        let mut d = AuthzDocument::new(DocumentShape::AuthorizationBlock);
        for n in ["b/y", "a/x"] {
            let id = IdentityName::parse(n).unwrap();
            d.upsert_scope(&nm.spiffe_id(&id), &nm.scope(&id)).unwrap();
        }
        d
    }

    #[test]
    fn renders_canonical_block() {
        let mut d = sample();
        assert!(d.grant(A, Direction::Publish, "tentacular.b.y.in").unwrap());
        let text = d.render();
        insta::assert_snapshot!(text);
        let back = AuthzDocument::parse(&text).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.render(), text);
    }

    #[test]
    fn users_array_shape_round_trips() {
        let mut d = sample();
        d.shape = DocumentShape::UsersArray;
        let text = d.render();
        assert!(text.contains("\nusers: [\n"), "{text}");
        assert!(!text.contains("authorization {"));
        assert_eq!(AuthzDocument::parse(&text).unwrap(), d);
    }

    #[test]
    fn parses_what_a_human_writes() {
        let text = r#"
// hand written
authorization {
  timeout = 2
  users = [
    {user = "spiffe://td/ns/b/wf/y", permissions = {publish = "tentacular.b.y.>", subscribe = ["tentacular.b.y.>", '_INBOX.>']}}
    { username: 'spiffe://td/ns/a/wf/x'   # the x tentacle
      permissions: {
        pub: { allow: [tentacular.a.x.>, "tentacular.b.y.in" # warden:grant
        ], deny: "tentacular.a.x.secret" }
        sub { allow: tentacular.a.x.> }
        allow_responses: true
      }
      account: APP
    }
  ]
}
"#;
        let d = AuthzDocument::parse(text).unwrap();
        assert_eq!(d.shape, DocumentShape::AuthorizationBlock);
        assert_eq!(d.len(), 2);
        let a = d.get(A).unwrap();
        assert_eq!(a.publish_allow, vec!["tentacular.a.x.>"]);
        assert_eq!(a.publish_deny, vec!["tentacular.a.x.secret"]);
        assert_eq!(a.subscribe_allow, vec!["tentacular.a.x.>"]);
        assert_eq!(a.grants, vec![Grant { direction: Direction::Publish, subject: "tentacular.b.y.in".into() }]);
        assert_eq!(a.permissions_extra.len(), 1);
        assert_eq!(a.extra.len(), 1);
        let b = d.get(B).unwrap();
        assert_eq!(b.subscribe_allow, vec!["tentacular.b.y.>", "_INBOX.>"]);
        assert_eq!(d.extra.len(), 1);
        // Canonical rendering is stable.
        let r = d.render();
        let again = AuthzDocument::parse(&r).unwrap();
        assert_eq!(again, d);
        assert_eq!(again.render(), r);
    }

    #[test]
    fn operations_are_idempotent() {
        let mut d = sample();
        let nm = Naming::with_defaults("td").unwrap();
        let id = IdentityName::parse("a/x").unwrap();
        assert!(!d.upsert_scope(A, &nm.scope(&id)).unwrap());
        assert!(d.grant(A, Direction::Subscribe, "tentacular.b.y.out").unwrap());
        assert!(!d.grant(A, Direction::Subscribe, "tentacular.b.y.out").unwrap());
        // Already in scope: nothing to add.
        assert!(!d.grant(A, Direction::Publish, "tentacular.a.x.>").unwrap());
        // Re-applying the scope keeps grants.
        assert!(!d.upsert_scope(A, &nm.scope(&id)).unwrap());
        assert_eq!(d.get(A).unwrap().grants.len(), 1);
        assert!(d.ungrant(A, Direction::Subscribe, "tentacular.b.y.out").unwrap());
        assert!(!d.ungrant(A, Direction::Subscribe, "tentacular.b.y.out").unwrap());
        // Ungrant never removes scope.
        assert!(!d.ungrant(A, Direction::Publish, "tentacular.a.x.>").unwrap());
        assert!(d.remove(A));
        assert!(!d.remove(A));
        assert!(matches!(d.grant(A, Direction::Publish, "x"), Err(AuthzError::UnknownUser(_))));
        assert!(matches!(d.grant(B, Direction::Publish, "a.>.b"), Err(AuthzError::Subject(_))));
        assert!(matches!(d.grant(B, Direction::Publish, "a b"), Err(AuthzError::Subject(_))));
    }

    #[test]
    fn empty_and_refused_documents() {
        let d = AuthzDocument::parse("# nothing\n").unwrap();
        assert!(d.is_empty());
        assert_eq!(d.shape, DocumentShape::UsersArray);
        let e = AuthzDocument::parse("authorization {}").unwrap();
        assert_eq!(e.shape, DocumentShape::AuthorizationBlock);
        for bad in [
            "users = {}",
            "users = [ \"x\" ]",
            "users = [ { permissions: {} } ]",
            "users = [ {user: a}, {user: a} ]",
            "users = [ {user: a, permissions: { publish: { allow: [ {} ] } } } ]",
            "users = [ {user: a, permissions: { publish: { maybe: x } } } ]",
            "users = [ {user: a, permissions: { publish: $VAR } } ]",
            "authorization { user: a, password: b }",
            "authorization {}\nfoo = 1",
            "users = []\nusers = []",
        ] {
            assert!(AuthzDocument::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn subject() -> impl Strategy<Value = String> {
            prop::collection::vec("[a-z0-9_$-]{1,8}|\\*|[\"\\\\#é/]{1,3}", 1..4).prop_map(|t| t.join("."))
        }

        fn entry() -> impl Strategy<Value = AuthzEntry> {
            (
                "spiffe://[a-z.]{1,10}/ns/[a-z]{1,5}/wf/[a-z\"\\\\ #]{1,5}",
                prop::collection::vec(subject(), 0..3),
                prop::collection::vec(subject(), 0..2),
                prop::collection::vec(subject(), 0..3),
                prop::collection::vec(subject(), 0..2),
                prop::collection::vec((any::<bool>(), subject()), 0..3),
            )
                .prop_map(|(user, pa, pd, sa, sd, g)| AuthzEntry {
                    user,
                    publish_allow: pa,
                    publish_deny: pd,
                    subscribe_allow: sa,
                    subscribe_deny: sd,
                    grants: g
                        .into_iter()
                        .map(|(p, subject)| Grant {
                            direction: if p { Direction::Publish } else { Direction::Subscribe },
                            subject,
                        })
                        .collect(),
                    ..Default::default()
                })
        }

        proptest! {
            #[test]
            fn render_parse_render_is_stable(
                block in any::<bool>(),
                entries in prop::collection::vec(entry(), 0..5),
            ) {
                let mut d = AuthzDocument::new(if block {
                    DocumentShape::AuthorizationBlock
                } else {
                    DocumentShape::UsersArray
                });
                for e in entries {
                    d.upsert(e).unwrap();
                }
                let r = d.render();
                let back = AuthzDocument::parse(&r).unwrap();
                prop_assert_eq!(back.render(), r);
            }

            #[test]
            fn parse_never_panics(s in "(?s).{0,300}") {
                let _ = AuthzDocument::parse(&s);
            }

            /// Mutations of a real rendering (the fuzz target's property, cheaply):
            /// never a panic, and whatever parses renders to a fixed point.
            #[test]
            fn mutated_documents_never_panic(
                entries in prop::collection::vec(entry(), 1..3),
                edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, "[\\[\\]{}\"'#/:=,;\n a$]{0,2}"), 1..6),
            ) {
                let mut d = AuthzDocument::new(DocumentShape::AuthorizationBlock);
                for e in entries {
                    d.upsert(e).unwrap();
                }
                let mut text: Vec<char> = d.render().chars().collect();
                for (at, op, ins) in edits {
                    if text.is_empty() {
                        break;
                    }
                    let i = at.index(text.len());
                    match op {
                        0 => { text.remove(i); }
                        1 => { for (k, c) in ins.chars().enumerate() { text.insert(i + k, c); } }
                        _ => { text.truncate(i); }
                    }
                }
                let text: String = text.into_iter().collect();
                if let Ok(doc) = AuthzDocument::parse(&text) {
                    let r = doc.render();
                    let back = AuthzDocument::parse(&r).unwrap();
                    prop_assert_eq!(back.render(), r);
                }
            }
        }
    }
}
