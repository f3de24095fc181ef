//! Gathers the account facts an auth-failure diagnosis needs, off the UI
//! loop (the violations feed calls it): the account JWT the resolver serves
//! (`$SYS.REQ.ACCOUNT.<id>.CLAIMS.LOOKUP`) and the trusted operators
//! (VARZ `trusted_operators_claim`, nats-server `server/monitor.go`
//! `Varz.TrustedOperatorsClaim`). Cached briefly, so a storm of failures
//! for one account asks the servers once a second at most, while a
//! revocation pushed a moment ago is still seen.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::auth_diagnosis::{AccountFact, AuthFacts};
use crate::nats::accounts;
use crate::nats::sys::{SysClient, decode_api};

/// How long a looked-up account is reused.
pub const TTL: Duration = Duration::from_secs(1);
/// How long the trusted operators are reused.
pub const OPERATORS_TTL: Duration = Duration::from_secs(60);
/// Most accounts remembered.
const CAPACITY: usize = 256;

/// Looked up: `Some(fact)`, known unknown `None`; failed lookups are not kept.
pub struct FactsCache {
    sys: SysClient,
    accounts: HashMap<String, (Instant, Option<AccountFact>)>,
    operators: Option<(Instant, BTreeSet<String>)>,
}

impl FactsCache {
    pub fn new(sys: SysClient) -> FactsCache {
        FactsCache { sys, accounts: HashMap::new(), operators: None }
    }

    /// How long ago what is cached about `account` was looked up.
    pub fn age(&self, account: &str) -> Option<std::time::Duration> {
        self.accounts.get(account).map(|(t, _)| t.elapsed())
    }

    /// Drops what is cached about `account`: the next lookup asks again.
    pub fn forget(&mut self, account: &str) {
        self.accounts.remove(account);
    }

    /// A snapshot of what is known about `account` (and the operators).
    pub async fn facts_for(&mut self, account: Option<&str>) -> AuthFacts {
        let mut facts = AuthFacts { operator_keys: self.operator_keys().await, ..Default::default() };
        let Some(account) = account else { return facts };
        let fresh = self.accounts.get(account).filter(|(t, _)| t.elapsed() < TTL).map(|(_, f)| f.clone());
        let fact = match fresh {
            Some(f) => Some(f),
            None => match accounts::current(&self.sys, account).await {
                Ok(found) => {
                    let f = found.map(|(_, c)| AccountFact::from_claims(&c));
                    if self.accounts.len() >= CAPACITY {
                        self.accounts.retain(|_, (t, _)| t.elapsed() < TTL);
                        if self.accounts.len() >= CAPACITY {
                            self.accounts.clear();
                        }
                    }
                    self.accounts.insert(account.to_string(), (Instant::now(), f.clone()));
                    Some(f)
                }
                Err(e) => {
                    tracing::debug!("auth diagnosis: looking up account {account}: {e:#}");
                    None
                }
            },
        };
        match fact {
            Some(Some(f)) => {
                facts.accounts.insert(account.to_string(), f);
            }
            Some(None) => {
                facts.unknown.insert(account.to_string());
            }
            None => {}
        }
        facts
    }

    async fn operator_keys(&mut self) -> BTreeSet<String> {
        if let Some((t, k)) = &self.operators
            && t.elapsed() < OPERATORS_TTL
        {
            return k.clone();
        }
        let keys = match self.sys.scatter("$SYS.REQ.SERVER.PING.VARZ", json!({})).await {
            Ok(msgs) => {
                msgs.iter().flat_map(|m| trusted_operator_keys(&decode_api::<Value>(&m.payload).result.ok())).collect()
            }
            Err(_) => BTreeSet::new(),
        };
        self.operators = Some((Instant::now(), keys.clone()));
        keys
    }
}

/// Operator subjects and signing keys from a VARZ reply's `trusted_operators_claim`.
pub fn trusted_operator_keys(varz: &Option<Value>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let claims = varz.as_ref().and_then(|v| v.get("trusted_operators_claim")).and_then(Value::as_array);
    for c in claims.into_iter().flatten() {
        if let Some(s) = c.get("sub").and_then(Value::as_str) {
            out.insert(s.to_string());
        }
        let keys = c.get("nats").and_then(|n| n.get("signing_keys")).and_then(Value::as_array);
        for k in keys.into_iter().flatten().filter_map(Value::as_str) {
            out.insert(k.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_keys_from_varz() {
        let v = json!({"trusted_operators_claim": [{"sub": "OA", "nats": {"signing_keys": ["OB"]}}, 3]});
        assert_eq!(trusted_operator_keys(&Some(v)), BTreeSet::from(["OA".to_string(), "OB".to_string()]));
        assert!(trusted_operator_keys(&Some(json!({"trusted_operators_claim": "x"}))).is_empty());
        assert!(trusted_operator_keys(&None).is_empty());
    }
}
