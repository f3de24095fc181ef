//! Building the attributor's identity records from what the console knows:
//! identities (JWT users and `NatsIdentity` records), permission sets and
//! live connections. The first record for a (key, user) pair wins, so the
//! richer sources go first.

use std::collections::BTreeMap;

use super::attribution::IdentityRecord;

/// Records keyed by (identity key, user key or user name), first one wins.
#[derive(Debug, Default)]
pub struct RecordSet {
    by_key: BTreeMap<(String, String), IdentityRecord>,
}

impl RecordSet {
    /// Adds `r` unless a record for its (key, user) is already there.
    pub fn add(&mut self, r: IdentityRecord) {
        let k = (r.key.clone(), r.nkey.clone().or(r.user.clone()).unwrap_or_default());
        self.by_key.entry(k).or_insert(r);
    }

    /// A known identity: its user name and, when it has one, its public key.
    pub fn add_identity(&mut self, key: String, account: &str, user: &str, user_key: &str) {
        self.add(IdentityRecord {
            key,
            account: non_empty(account),
            user: non_empty(user),
            nkey: non_empty(user_key),
            ..Default::default()
        });
    }

    /// The user of a permission set: a user public key (operator mode) or a
    /// user name (config mode).
    pub fn add_permission_user(&mut self, identity: &str, account: &str, user: &str) {
        let (user, nkey) = match non_empty(user) {
            Some(u) if is_user_key(&u) => (None, Some(u)),
            u => (u, None),
        };
        self.add(IdentityRecord {
            key: identity.to_string(),
            account: non_empty(account),
            user,
            nkey,
            ..Default::default()
        });
    }

    /// A live connection: the authorized user and the client's name.
    pub fn add_connection(&mut self, key: String, account: &str, user: &str, client_name: &str) {
        self.add(IdentityRecord {
            key,
            account: non_empty(account),
            user: non_empty(user),
            client_name: non_empty(client_name),
            ..Default::default()
        });
    }

    pub fn into_records(self) -> Vec<IdentityRecord> {
        self.by_key.into_values().collect()
    }
}

/// A user public key: 56 characters starting with `U` (nkeys `PrefixByteUser`).
fn is_user_key(s: &str) -> bool {
    s.len() == 56 && s.starts_with('U')
}

fn non_empty(x: &str) -> Option<String> {
    (!x.is_empty()).then(|| x.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_record_for_a_user_wins_and_user_keys_are_told_apart() {
        let ukey = format!("U{}", "A".repeat(55));
        let mut set = RecordSet::default();
        set.add_identity("shop/orders".into(), "APP", "tentacle.shop.orders", &ukey);
        set.add_permission_user("shop/orders", "OTHER", &ukey);
        set.add_permission_user("shop/cart", "APP", "tentacle.shop.cart");
        set.add_connection("shop/cart".into(), "APP", "tentacle.shop.cart", "cart-1");
        let recs = set.into_records();
        assert_eq!(recs.len(), 2);
        let orders = recs.iter().find(|r| r.key == "shop/orders").unwrap();
        assert_eq!((orders.account.as_deref(), orders.nkey.as_deref()), (Some("APP"), Some(ukey.as_str())));
        let mut perm_only = RecordSet::default();
        perm_only.add_permission_user("shop/orders", "APP", &ukey);
        let r = perm_only.into_records();
        assert_eq!((r[0].user.as_deref(), r[0].nkey.as_deref()), (None, Some(ukey.as_str())));
        let cart = recs.iter().find(|r| r.key == "shop/cart").unwrap();
        assert_eq!((cart.user.as_deref(), cart.client_name.as_deref()), (Some("tentacle.shop.cart"), None));
    }
}
