//! SPIRE entries and agents as `spire-server ... -output json` prints them
//! (protojson: 64-bit integers arrive as strings, 32-bit ones as numbers).
//! Parsing accepts either form everywhere and never panics.

use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SpiffeId {
    pub trust_domain: String,
    pub path: String,
}

impl SpiffeId {
    pub fn uri(&self) -> String {
        if self.trust_domain.is_empty() {
            String::new()
        } else {
            format!("spiffe://{}{}", self.trust_domain, self.path)
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Selector {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Entry {
    pub id: String,
    pub spiffe_id: SpiffeId,
    pub parent_id: SpiffeId,
    pub selectors: Vec<Selector>,
    #[serde(deserialize_with = "int")]
    pub x509_svid_ttl: i64,
    #[serde(deserialize_with = "int")]
    pub jwt_svid_ttl: i64,
    pub federates_with: Vec<String>,
    pub admin: bool,
    pub downstream: bool,
    /// Unix seconds; 0 = never.
    #[serde(deserialize_with = "int", serialize_with = "crate::json_time::zero_is_never")]
    pub expires_at: i64,
    pub dns_names: Vec<String>,
    #[serde(deserialize_with = "int")]
    pub revision_number: i64,
    pub hint: String,
    #[serde(deserialize_with = "int", serialize_with = "crate::json_time::zero_is_never")]
    pub created_at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Agent {
    pub id: SpiffeId,
    pub attestation_type: String,
    pub x509svid_serial_number: String,
    #[serde(deserialize_with = "int", serialize_with = "crate::json_time::zero_is_never")]
    pub x509svid_expires_at: i64,
    pub selectors: Vec<Selector>,
    pub banned: bool,
    pub can_reattest: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EntryList {
    entries: Vec<Entry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AgentList {
    agents: Vec<Agent>,
}

/// An integer given as a JSON number, a numeric string, or null/empty.
fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        I(i64),
        U(u64),
        F(f64),
        S(String),
        Null(()),
    }
    Ok(match N::deserialize(d)? {
        N::I(i) => i,
        N::U(u) => i64::try_from(u).unwrap_or(i64::MAX),
        N::F(f) => f as i64,
        N::S(s) if s.trim().is_empty() => 0,
        N::S(s) => s.trim().parse::<i64>().map_err(serde::de::Error::custom)?,
        N::Null(()) => 0,
    })
}

/// Parses `spire-server entry show -output json`.
pub fn parse_entries(json: &[u8]) -> Result<Vec<Entry>, String> {
    serde_json::from_slice::<EntryList>(json).map(|l| l.entries).map_err(|e| format!("entry show output: {e}"))
}

/// Parses `spire-server agent list -output json`.
pub fn parse_agents(json: &[u8]) -> Result<Vec<Agent>, String> {
    serde_json::from_slice::<AgentList>(json).map(|l| l.agents).map_err(|e| format!("agent list output: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_protojson_with_string_int64s() {
        let json = br#"{"entries":[{"id":"e1","spiffe_id":{"trust_domain":"tentacular.local","path":"/ns/tent-dev/wf/hn-digest"},
            "parent_id":{"trust_domain":"tentacular.local","path":"/spire/agent/k8s_psat/prod/node1"},
            "selectors":[{"type":"k8s","value":"ns:tent-dev"},{"type":"k8s","value":"pod-label:tentacular.io/workflow:hn-digest"}],
            "x509_svid_ttl":3600,"jwt_svid_ttl":300,"federates_with":[],"admin":false,"downstream":false,
            "expires_at":"0","dns_names":[],"revision_number":"2","store_svid":false,"hint":"","created_at":"1795420800"}],
            "next_page_token":""}"#;
        let e = parse_entries(json).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].spiffe_id.uri(), "spiffe://tentacular.local/ns/tent-dev/wf/hn-digest");
        assert_eq!(e[0].created_at, 1_795_420_800);
        assert_eq!(e[0].revision_number, 2);
        assert_eq!(e[0].x509_svid_ttl, 3600);
        assert_eq!(e[0].selectors[1].to_string(), "k8s:pod-label:tentacular.io/workflow:hn-digest");
    }

    #[test]
    fn agents_and_garbage() {
        let json = br#"{"agents":[{"id":{"trust_domain":"td","path":"/spire/agent/x"},"attestation_type":"k8s_psat",
            "x509svid_serial_number":"123","x509svid_expires_at":"1795424400","selectors":[],"banned":true,"can_reattest":true}]}"#;
        let a = parse_agents(json).unwrap();
        assert!(a[0].banned);
        assert_eq!(a[0].x509svid_expires_at, 1_795_424_400);
        assert!(parse_entries(b"not json").is_err());
        assert!(parse_entries(br#"{"entries":[{"expires_at":"soon"}]}"#).is_err());
        assert_eq!(parse_entries(b"{}").unwrap(), vec![]);
        assert_eq!(parse_entries(br#"{"entries":[{"expires_at":null}]}"#).unwrap()[0].expires_at, 0);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_garbage_or_mutations(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512), cut in 0usize..400, flip in 0usize..400) {
            let _ = parse_entries(&bytes);
            let _ = parse_agents(&bytes);
            let mut valid = br#"{"entries":[{"id":"e","spiffe_id":{"trust_domain":"t","path":"/p"},"x509_svid_ttl":"9223372036854775807","expires_at":"-1","selectors":[{"type":"k8s","value":"ns:a"}]}],"agents":[{"x509svid_expires_at":18446744073709551615}]}"#.to_vec();
            let n = valid.len();
            valid[flip % n] ^= 0x5a;
            valid.truncate(cut.max(1) % (n + 1));
            let _ = parse_entries(&valid);
            let _ = parse_agents(&valid);
        }
    }
}
