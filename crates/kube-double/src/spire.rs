//! The `spire-server` CLI as seen through pods/exec: `entry show` and
//! `agent list` with `-output json` print the protojson of the server API
//! (snake_case fields, 64-bit integers as strings), like spire-server 1.x.

use serde_json::{Value, json};

use super::command::ExecOutput;

/// SPIRE server state answered by `spire-server ... -output json` execs.
#[derive(Debug, Clone, Default)]
pub struct SpireState {
    pub entries: Vec<Value>,
    pub agents: Vec<Value>,
}

/// `spiffe://td/path` -> `{"trust_domain": "td", "path": "/path"}`.
pub fn spiffe_id_json(id: &str) -> Value {
    let rest = id.strip_prefix("spiffe://").unwrap_or(id);
    let (td, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    json!({"trust_domain": td, "path": path})
}

/// A registration entry as `spire-server entry show -output json` prints
/// it. `selectors` are `type:value` strings (`k8s:ns:foo`).
pub fn spire_entry(id: &str, spiffe_id: &str, parent_id: &str, selectors: &[&str]) -> Value {
    let sels: Vec<Value> = selectors
        .iter()
        .map(|s| match s.split_once(':') {
            Some((t, v)) => json!({"type": t, "value": v}),
            None => json!({"type": s, "value": ""}),
        })
        .collect();
    json!({
        "id": id,
        "spiffe_id": spiffe_id_json(spiffe_id),
        "parent_id": spiffe_id_json(parent_id),
        "selectors": sels,
        "x509_svid_ttl": 3600,
        "federates_with": [],
        "hint": "",
        "admin": false,
        "created_at": (super::util::now_nanos() / 1_000_000_000).to_string(),
        "downstream": false,
        "expires_at": "0",
        "dns_names": [],
        "revision_number": "0",
        "store_svid": false,
        "jwt_svid_ttl": 300,
    })
}

/// An attested agent as `spire-server agent list -output json` prints it.
pub fn spire_agent(
    spiffe_id: &str,
    attestation_type: &str,
    serial: &str,
    expires_at: i64,
    selectors: &[&str],
) -> Value {
    let sels: Vec<Value> =
        selectors.iter().filter_map(|s| s.split_once(':')).map(|(t, v)| json!({"type": t, "value": v})).collect();
    json!({
        "id": spiffe_id_json(spiffe_id),
        "attestation_type": attestation_type,
        "x509svid_serial_number": serial,
        "x509svid_expires_at": expires_at.to_string(),
        "selectors": sels,
        "banned": false,
        "can_reattest": true,
    })
}

fn fail(msg: String, code: i32) -> ExecOutput {
    ExecOutput { stdout: Vec::new(), stderr: msg.into_bytes(), exit_code: code }
}

fn spiffe_str(v: &Value) -> String {
    format!("spiffe://{}{}", v["trust_domain"].as_str().unwrap_or(""), v["path"].as_str().unwrap_or(""))
}

/// Runs a command line if it is a spire-server invocation (by its
/// trailing words, so `sh -c "spire-server ..."` works too).
pub fn run(command: &[String], spire: &SpireState) -> Option<ExecOutput> {
    let words: Vec<&str> = command.iter().flat_map(|c| c.split_whitespace()).collect();
    let bin = words.iter().position(|w| w.rsplit('/').next() == Some("spire-server"))?;
    let args = &words[bin + 1..];
    let json_out = args.windows(2).any(|w| (w[0] == "-output" || w[0] == "--output") && w[1] == "json");
    let flag = |name: &str| args.windows(2).find(|w| w[0] == name).map(|w| w[1]);
    let sub: Vec<&str> = args.iter().take(2).copied().collect();
    let out = match sub.as_slice() {
        ["entry", "show"] => {
            let spiffe = flag("-spiffeID");
            let parent = flag("-parentID");
            let entries: Vec<&Value> = spire
                .entries
                .iter()
                .filter(|e| spiffe.is_none_or(|s| spiffe_str(&e["spiffe_id"]) == s))
                .filter(|e| parent.is_none_or(|s| spiffe_str(&e["parent_id"]) == s))
                .collect();
            if json_out {
                json!({"entries": entries, "next_page_token": ""}).to_string() + "\n"
            } else {
                let mut s = format!("Found {} entr{}\n", entries.len(), if entries.len() == 1 { "y" } else { "ies" });
                for e in entries {
                    s += &format!(
                        "Entry ID         : {}\nSPIFFE ID        : {}\nParent ID        : {}\nRevision         : {}\n",
                        e["id"].as_str().unwrap_or(""),
                        spiffe_str(&e["spiffe_id"]),
                        spiffe_str(&e["parent_id"]),
                        e["revision_number"].as_str().unwrap_or("0"),
                    );
                    for sel in e["selectors"].as_array().into_iter().flatten() {
                        s += &format!(
                            "Selector         : {}:{}\n",
                            sel["type"].as_str().unwrap_or(""),
                            sel["value"].as_str().unwrap_or("")
                        );
                    }
                    s += "\n";
                }
                s
            }
        }
        ["agent", "list"] => {
            if json_out {
                json!({"agents": spire.agents, "next_page_token": ""}).to_string() + "\n"
            } else {
                let n = spire.agents.len();
                let mut s = format!("Found {n} attested agent{}:\n\n", if n == 1 { "" } else { "s" });
                for a in &spire.agents {
                    s += &format!(
                        "SPIFFE ID         : {}\nAttestation type  : {}\nExpiration time   : {}\nSerial number     : {}\nCan re-attest     : {}\n\n",
                        spiffe_str(&a["id"]),
                        a["attestation_type"].as_str().unwrap_or(""),
                        a["x509svid_expires_at"].as_str().unwrap_or(""),
                        a["x509svid_serial_number"].as_str().unwrap_or(""),
                        a["can_reattest"].as_bool().unwrap_or(false),
                    );
                }
                s
            }
        }
        _ => {
            return Some(fail(format!("spire-server: unknown command {:?}\n", sub.join(" ")), 127));
        }
    };
    Some(ExecOutput { stdout: out.into_bytes(), stderr: Vec::new(), exit_code: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_show_json_shape() {
        let st = SpireState {
            entries: vec![spire_entry("e1", "spiffe://td/ns/a/wf/b", "spiffe://td/spire/agent/x", &["k8s:ns:a"])],
            agents: vec![],
        };
        let cmd: Vec<String> =
            ["/opt/spire/bin/spire-server", "entry", "show", "-output", "json"].iter().map(|s| s.to_string()).collect();
        let out = run(&cmd, &st).unwrap();
        assert_eq!(out.exit_code, 0);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["entries"][0]["spiffe_id"]["path"], "/ns/a/wf/b");
        assert_eq!(v["entries"][0]["selectors"][0]["value"], "ns:a");
        assert!(v["entries"][0]["revision_number"].is_string());
        assert_eq!(v["next_page_token"], "");
        let bad: Vec<String> = vec!["spire-server".into(), "bogus".into()];
        assert_ne!(run(&bad, &st).unwrap().exit_code, 0);
        assert!(run(&["ls".to_string()], &st).is_none());
    }
}
