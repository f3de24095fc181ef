//! The authorization document as nats-server config text: parsing an
//! included fragment (either shape) and rendering it canonically.

use super::document::*;
use crate::identity::conf::{self, Element, Entry, Value};
use crate::nats::subject::Direction;

impl AuthzDocument {
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
