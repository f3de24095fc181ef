//! The authorization document as data: entries keyed by SPIFFE ID, each
//! with its scope, grants and deny lists, and the edits the actions make.
//! How it maps to and from the nats-server config text is `conf_mapping`.

use std::collections::BTreeMap;

use crate::identity::conf::{self, Entry};
use crate::identity::naming::Scope;
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

    pub(super) fn grants_for(&self, d: Direction) -> impl Iterator<Item = &str> {
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

    pub(super) fn normalize(&mut self) {
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

pub(super) fn shape_err<T>(msg: impl Into<String>) -> Result<T, AuthzError> {
    Err(AuthzError::Shape(msg.into()))
}

/// The whole document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthzDocument {
    pub shape: DocumentShape,
    /// Keys beside `users` (e.g. `timeout` in an authorization block), verbatim.
    pub extra: Vec<Entry>,
    pub(super) entries: BTreeMap<String, AuthzEntry>,
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
}
