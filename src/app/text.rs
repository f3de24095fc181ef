//! Shared text: the strings that repeat across thousands of connection rows
//! (server, account, user, client library, address...) are stored once and
//! shared, and the empty string allocates nothing.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// An immutable string that is cheap to clone (one pointer, shared).
#[derive(Clone, Default)]
pub struct Text(Option<Arc<str>>);

impl Text {
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text((!s.is_empty()).then(|| Arc::from(s)))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text((!s.is_empty()).then(|| Arc::from(s)))
    }
}

impl PartialEq for Text {
    fn eq(&self, o: &Text) -> bool {
        self.as_str() == o.as_str()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, o: &str) -> bool {
        self.as_str() == o
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, o: &&str) -> bool {
        self.as_str() == *o
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, o: &String) -> bool {
        self.as_str() == o
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, o: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Text {
    fn cmp(&self, o: &Text) -> std::cmp::Ordering {
        self.as_str().cmp(o.as_str())
    }
}

/// Hashes as its `str` does, so a set of `Text` is looked up by `&str`.
impl Hash for Text {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_str().hash(h)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One copy of each distinct string. Strings no row holds any more are
/// forgotten by [`Interner::prune`].
#[derive(Debug, Default)]
pub struct Interner {
    set: HashSet<Text>,
}

impl Interner {
    pub fn get(&mut self, s: &str) -> Text {
        if s.is_empty() {
            return Text::default();
        }
        if let Some(t) = self.set.get(s) {
            return t.clone();
        }
        let t = Text::from(s);
        self.set.insert(t.clone());
        t
    }

    /// Drops the strings only the interner still holds.
    pub fn prune(&mut self) {
        self.set.retain(|t| t.0.as_ref().is_some_and(|a| Arc::strong_count(a) > 1));
        self.set.shrink_to_fit();
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_share_one_allocation_and_pruning_forgets_unused_ones() {
        let mut i = Interner::default();
        let (a, b) = (i.get("APP"), i.get(&String::from("APP")));
        assert!(Arc::ptr_eq(a.0.as_ref().unwrap(), b.0.as_ref().unwrap()));
        assert_eq!(a, "APP");
        assert!(i.get("").0.is_none());
        drop(i.get("gone"));
        i.prune();
        assert_eq!(i.len(), 1);
        assert_eq!(format!("{a} {a:?}"), "APP \"APP\"");
    }
}
