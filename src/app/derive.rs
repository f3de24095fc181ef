//! Panels and indexes derived from other panels: the Identities and Expiry
//! rows (the identity join) and the violation attributor's records. Run by
//! `update` whenever connections, accounts or Kubernetes objects change.

use std::collections::HashMap;

use super::accounts::AccountRow;
use super::expiry;
use super::identities::build_with;
use super::permissions::identity_of_user;
use super::state::AppState;
use super::text::Text;
use warden_core::identity::kube_facts::{KubeFacts, SpireRegistration};
use warden_core::identity::record::IdentityRecord;
use warden_core::kube::resources::Watched;
use warden_core::violations::{Attributor, RecordSet};

/// Everything derived from connections, accounts and Kubernetes objects.
pub fn rejoin(s: &mut AppState) {
    name_accounts(s);
    rebuild_identities(s);
    refresh_attributor(s);
}

/// Gives connections and permission rows their account's name (operator
/// mode reports accounts by public key), so every view shows the same label.
pub fn name_accounts(s: &mut AppState) {
    name_conns(&mut s.conns.rows, &s.accounts.rows);
    place_conns_in_sites(s);
    let names = account_names(&s.accounts.rows);
    for p in &mut s.perms.rows {
        p.account_name =
            names.get(p.account.as_str()).filter(|n| !n.is_empty() && **n != p.account).map(|n| n.to_string());
    }
}

/// Gives each connection its account's name (reports fetch rows the same way).
pub fn name_conns(conns: &mut [super::conns::ConnRow], accounts: &[AccountRow]) {
    let names = account_names(accounts);
    for c in conns {
        c.set_account_name(names.get(c.info.account.as_str()));
    }
}

/// Gives each connection the site of its server (nothing without `[[sites]]`).
pub fn place_conns_in_sites(s: &mut AppState) {
    if s.sites.is_empty() {
        return;
    }
    let by_server: HashMap<&str, &Text> =
        s.servers.rows.iter().filter_map(|r| Some((r.id.as_str(), s.sites.of_cluster(&r.cluster)?))).collect();
    for c in &mut s.conns.rows {
        c.set_site(by_server.get(c.server_id.as_str()).copied());
    }
}

/// Account public key -> name, each name one shared string for every row.
pub fn account_names(accounts: &[AccountRow]) -> HashMap<&str, Text> {
    accounts.iter().map(|a| (a.key.as_str(), Text::from(a.name.as_str()))).collect()
}

/// Rebuilds the Identities and Expiry panels from the connection, account
/// and Kubernetes stores (called from `update` when any of them changes).
fn rebuild_identities(s: &mut AppState) {
    let records: Vec<IdentityRecord> =
        s.kube.objects(Watched::NatsIdentities).map(IdentityRecord::from_object).collect();
    let k = &s.kube_section;
    let facts = KubeFacts {
        creds_secrets: vec![],
        registrations: s
            .kube
            .objects(Watched::ClusterSpiffeIds)
            .filter_map(|o| SpireRegistration::from_object(o, &k.workload_label, &k.spire))
            .collect(),
    };
    let now = s.clock.now_unix;
    let mut ids =
        build_with(&s.naming, &s.conns.rows, &records, &s.accounts.rows, &facts, now, s.ttl.expiring_within_secs());
    super::identities::apply_auth_causes(&mut ids, &s.violations.auth_causes);
    let spire = expiry::SpireFacts { entries: &s.kube.spire.entries, agents: &s.kube.spire.agents };
    let th = expiry::Thresholds::from(&s.doctor_policy);
    let exp = expiry::build(&s.naming, &ids, &s.accounts.rows, spire, &s.servers.rows, now, th);
    let at = s.conns.fetched_at.max(s.accounts.fetched_at).unwrap_or(now);
    s.identities.replace(ids, at);
    s.expiry.replace(exp, at);
}

/// Refreshes the attributor from what the state knows: identities (JWT
/// users, SPIFFE users by their SPIFFE ID, and `NatsIdentity` records),
/// permission sets, connections.
pub fn refresh_attributor(s: &mut AppState) {
    let mut set = RecordSet::default();
    // A user (key, name or SPIFFE ID) -> the identity the join gave it.
    let mut joined: HashMap<&str, String> = HashMap::new();
    for r in &s.identities.rows {
        let account = if r.account_key.is_empty() { &r.account } else { &r.account_key };
        let key = r.name().unwrap_or_else(|| r.user.clone());
        set.add_identity(key.clone(), account, &r.user, &r.user_key);
        for u in [&r.user, &r.user_key] {
            if !u.is_empty() {
                joined.entry(u.as_str()).or_insert_with(|| key.clone());
            }
        }
    }
    for p in &s.perm_sets {
        set.add_permission_user(&p.identity, &p.account, &p.user);
    }
    for c in s.conns.rows.iter().filter(|c| !c.info.authorized_user.is_empty()) {
        // Operator mode lists users by public key; the JWT's name says who.
        // SPIFFE mode lists them by SPIFFE ID (the SVID's URI SAN).
        let name = c.user_name.as_deref().unwrap_or(&c.info.authorized_user);
        let key =
            joined.get(c.info.authorized_user.as_str()).cloned().unwrap_or_else(|| identity_of_user(&s.naming, name));
        set.add_connection(key, &c.info.account, &c.info.authorized_user, &c.info.name);
    }
    let records = set.into_records();
    if records.as_slice() != s.violations.pipeline.attributor.records() {
        s.violations.pipeline.set_attributor(Attributor::new(records));
    }
}

/// The doctor's snapshot of what the console holds.
pub fn doctor_facts(s: &AppState) -> warden_core::doctor::Facts {
    let now = s.clock.now_unix;
    let records: Vec<IdentityRecord> =
        s.kube.objects(Watched::NatsIdentities).map(IdentityRecord::from_object).collect();
    let k = &s.kube_section;
    let registrations: Vec<SpireRegistration> = s
        .kube
        .objects(Watched::ClusterSpiffeIds)
        .filter_map(|o| SpireRegistration::from_object(o, &k.workload_label, &k.spire))
        .collect();
    let authz = s
        .kube
        .objects(Watched::AuthzConfigMap)
        .next()
        .and_then(|cm| super::permissions::authz_doc_of(cm, &s.authz_key))
        .and_then(Result::ok);
    let mut policy = s.doctor_policy.clone();
    policy.admin_users.extend(s.conn.user.clone());
    let sources = super::doctor_facts::Sources {
        servers: &s.servers.rows,
        conns: &s.conns.rows,
        accounts: &s.accounts.rows,
        permissions: &s.perm_sets,
        identities: &s.identities.rows,
        records: &records,
        registrations,
        authz: authz.as_ref(),
        entries: &s.kube.spire.entries,
        agents: &s.kube.spire.agents,
        violations: warden_core::doctor::facts::violation_counts(s.violations.pipeline.store.groups()),
        nats: s.doctor_nats.as_ref().map(|(_, n)| n),
        creds_secrets: &[],
    };
    super::doctor_facts::build(sources, &s.naming, policy, now)
}

/// The `:doctor` findings from the state's sources (run while the view is
/// shown: on entering it and on each tick).
pub fn refresh_doctor(s: &mut AppState) {
    let now = s.clock.now_unix;
    let facts = doctor_facts(s);
    let rows = warden_core::doctor::diagnose(&facts).into_iter().map(super::doctor::FindingRow::new).collect();
    s.doctor.replace(rows, now);
    s.doctor_at = Some(now);
}

/// `T`: the trace of the identity selected in Identities, as a describe overlay.
pub fn trace_selected(s: &AppState) -> Option<super::state::Describe> {
    if s.view != super::view_id::ViewId::Identities {
        return None;
    }
    let r = s.identities.selected().filter(|r| !r.namespace.is_empty())?;
    let t = warden_core::doctor::trace::trace(&doctor_facts(s), &r.namespace, &r.workload);
    Some(super::state::Describe {
        title: format!("trace {}/{}", r.namespace, r.workload),
        text: super::trace_text::text(&t),
        scroll: 0,
        awaiting: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::violations::Violation;

    #[test]
    fn operator_mode_users_are_attributed_by_their_jwt_name() {
        use crate::app::conns::ConnRow;
        use crate::app::table::Clock;
        use warden_core::nats::types::ConnInfo;
        let claims = data_encoding::BASE64URL_NOPAD.encode(br#"{"name":"tentacle.tent-dev.summarizer","exp":0}"#);
        let ukey = format!("U{}", "A".repeat(55));
        let info = ConnInfo {
            authorized_user: ukey.clone(),
            account: format!("A{}", "B".repeat(55)),
            jwt: format!("h.{claims}.s"),
            ..Default::default()
        };
        let mut s = AppState::new("nats://x".into(), "t".into(), Clock { now_unix: 0 });
        s.conns.replace(vec![ConnRow::new("n1", "N", info)], 0);
        refresh_attributor(&mut s);
        // The operator-mode log line names the user by key only.
        let line = format!(
            r#"[1] 2026/11/23 10:14:47.000000 [ERR] 127.0.0.1:5 - cid:9 - "v0.51.0:rust:tent-dev/summarizer" - "A{}/APP/jwt:{ukey}" - Publish Violation - Subject "tentacular.payments.ledger.commands""#,
            "B".repeat(55)
        );
        let v = Violation::from_log(warden_core::violations::log_line::parse(&line).unwrap(), Some("n1"));
        assert_eq!(s.violations.pipeline.attributor.attribute(&v).key, "tent-dev/summarizer");
    }

    mod spiffe_mode {
        use super::*;
        use crate::app::conns::ConnRow;
        use crate::app::dialog::model::{Button, Dialog};
        use crate::app::msg::Msg;
        use crate::app::table::Clock;
        use crate::app::update::update;
        use crate::app::view_id::ViewId;
        use crate::app::violations::feed::Batch;
        use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        use warden_core::identity::action::request::ActionRequest;
        use warden_core::identity::actions::{AnyRequest, Mode};
        use warden_core::identity::naming::Naming;
        use warden_core::identity::record::{IdentitySpec, IdentityStatus};
        use warden_core::kube::watch::{Change, KubeEvent};
        use warden_core::nats::types::ConnInfo;

        const TD: &str = "tentacular.local";
        const HN: &str = "spiffe://tentacular.local/ns/tent-dev/wf/hn-digest";
        const SUM: &str = "spiffe://tentacular.local/ns/tent-dev/wf/summarizer";

        fn conn(cid: u64, user: &str) -> ConnRow {
            // SPIFFE mode (verify_and_map): no JWT, the user is the SVID's URI
            // SAN, the global account is not named in CONNZ.
            ConnRow::new("n1", "N1", ConnInfo { cid, authorized_user: user.into(), ..Default::default() })
        }

        fn record(wl: &str, phase: &str) -> kube::api::DynamicObject {
            let name = warden_core::identity::naming::IdentityName::parse(&format!("tent-dev/{wl}")).unwrap();
            let naming = Naming::with_defaults(TD).unwrap();
            let rec = IdentityRecord {
                namespace: "tent-dev".into(),
                name: wl.into(),
                spec: IdentitySpec {
                    workload: wl.into(),
                    user: naming.nats_user(&name),
                    mode: "spiffe".into(),
                    spiffe_id: naming.spiffe_id(&name),
                    ..Default::default()
                },
                status: IdentityStatus { phase: phase.into(), ..Default::default() },
            };
            let mut o = rec.to_object();
            o.data["status"] = serde_json::to_value(&rec.status).unwrap();
            o
        }

        /// hn-digest (recorded, 2 connections), summarizer (no record, 1).
        fn state() -> AppState {
            let mut s = AppState::new("tls://x".into(), "t".into(), Clock { now_unix: 1000 });
            s.identity_mode = Mode::Spiffe;
            s.naming = Naming::with_defaults(TD).unwrap();
            update(
                &mut s,
                Msg::Kube(KubeEvent {
                    what: Watched::NatsIdentities,
                    change: Change::Reset(vec![record("hn-digest", "Active")]),
                }),
            );
            let conns = vec![conn(1, HN), conn(2, HN), conn(3, SUM), conn(4, "spiffe://tentacular.local/warden")];
            update(&mut s, Msg::Conns { at: Clock { now_unix: 1000 }, result: Ok((conns, vec![])) });
            s
        }

        fn key(s: &mut AppState, c: char) -> crate::app::msg::Outcome {
            let m = if c.is_ascii_uppercase() { KeyModifiers::SHIFT } else { KeyModifiers::NONE };
            update(s, Msg::Key(KeyEvent::new(KeyCode::Char(c), m)))
        }

        /// The nats-server log line of a verify_and_map client's publish
        /// violation: `<account>/user:<SPIFFE ID>` (server/client.go:
        /// getAuthUserLabel `user:%s` of `c.opts.Username`, which
        /// server/auth.go sets to the matched SPIFFE ID).
        fn violation(user: &str, subject: &str) -> Violation {
            let line = format!(
                r#"[1] 2026/11/23 10:14:47.000000 [ERR] 127.0.0.1:5 - cid:1 - "v0.51.0:rust" - "$G/user:{user}" - Publish Violation - Subject "{subject}""#
            );
            Violation::from_log(warden_core::violations::log_line::parse(&line).unwrap(), Some("n1"))
        }

        #[test]
        fn identities_count_spiffe_connections() {
            let s = state();
            let got: Vec<_> =
                s.identities.rows.iter().map(|r| (r.name().unwrap_or(r.user.clone()), r.connections)).collect();
            assert_eq!(
                got,
                [
                    ("spiffe://tentacular.local/warden".to_string(), 1),
                    ("tent-dev/hn-digest".to_string(), 2),
                    ("tent-dev/summarizer".to_string(), 1)
                ]
            );
        }

        #[test]
        fn a_spiffe_violation_is_attributed_and_grant_and_revoke_work_from_it() {
            let mut s = state();
            let a = &s.violations.pipeline.attributor;
            assert_eq!(a.attribute(&violation(HN, "x")).key, "tent-dev/hn-digest");
            assert_eq!(a.attribute(&violation(SUM, "x")).key, "tent-dev/summarizer");
            // Through the feed's path: the live row carries the identity.
            let other = "tentacular.tent-dev.summarizer.in";
            update(
                &mut s,
                Msg::Violations(Batch {
                    at: None,
                    violations: vec![violation(HN, other)],
                    sources: vec![],
                    ..Default::default()
                }),
            );
            key(&mut s, '0');
            assert_eq!(s.view, ViewId::Violations);
            let row = s.violations.live.newest().next().unwrap();
            assert_eq!(row.identity, "tent-dev/hn-digest");

            // Grant from the violation: asks (Cancel first) with the SPIFFE-mode request.
            key(&mut s, '+');
            match &s.dialog {
                Some(Dialog::Confirm { request: AnyRequest::Spiffe(r), question, focus: Button::Cancel, .. }) => {
                    assert_eq!(r.target(), format!("tent-dev/hn-digest publish {other}"), "{question}");
                    assert!(question.contains(other) && question.contains("authorization entry"), "{question}");
                }
                d => panic!("no grant confirmation: {d:?} {:?}", s.status),
            }
            s.dialog = None;

            // Revoke from the violation: the confirmation counts its live connections.
            key(&mut s, 'X');
            assert_eq!(s.view, ViewId::Identities);
            match &s.dialog {
                Some(Dialog::Confirm { request: AnyRequest::Spiffe(r), question, focus: Button::Cancel, .. }) => {
                    assert_eq!(r.target(), "tent-dev/hn-digest");
                    assert!(question.contains("its 2 live connection(s)"), "{question}");
                }
                d => panic!("no revoke confirmation: {d:?} {:?}", s.status),
            }
        }

        #[test]
        fn revoked_but_connected_is_drifted_and_expiry_shows_spire() {
            use warden_core::spire::model::{Agent, Entry, SpiffeId};
            let mut s = state();
            update(
                &mut s,
                Msg::Kube(KubeEvent {
                    what: Watched::NatsIdentities,
                    change: Change::Reset(vec![record("hn-digest", "Revoked")]),
                }),
            );
            let hn = s.identities.rows.iter().find(|r| r.workload == "hn-digest").unwrap();
            assert_eq!((hn.state.as_str(), hn.connections), ("Drifted", 2), "{}", hn.reason);

            let id = |path: &str| SpiffeId { trust_domain: TD.into(), path: path.into() };
            let entries = vec![
                Entry {
                    id: "e1".into(),
                    spiffe_id: id("/ns/tent-dev/wf/hn-digest"),
                    x509_svid_ttl: 0,
                    ..Default::default()
                },
                Entry {
                    id: "e2".into(),
                    spiffe_id: id("/ns/tent-dev/wf/summarizer"),
                    x509_svid_ttl: 3600,
                    expires_at: 1000 + 3 * 86400,
                    ..Default::default()
                },
                Entry { id: "e3".into(), spiffe_id: id("/spire/other"), ..Default::default() },
            ];
            let agents = vec![Agent {
                id: id("/spire/agent/k8s_psat/c/node1"),
                attestation_type: "k8s_psat".into(),
                x509svid_expires_at: 1000 + 1800,
                ..Default::default()
            }];
            update(&mut s, Msg::Spire { at: Clock { now_unix: 1000 }, entries: Ok(entries), agents: Ok(agents) });
            let clock = Clock { now_unix: 1000 };
            let cols = crate::app::expiry::columns();
            let cells: Vec<Vec<String>> =
                s.expiry.rows.iter().map(|r| cols.iter().take(4).map(|c| (c.cell)(r, &clock)).collect()).collect();
            let want: Vec<Vec<String>> = [
                ["in 30m0s", "critical", "agent svid", "spiffe://tentacular.local/spire/agent/k8s_psat/c/node1"],
                ["in 3d0h", "warning", "entry", "tent-dev/summarizer"],
                ["ttl server default", "rotates", "svid ttl", "tent-dev/hn-digest"],
                ["ttl 1h0m", "rotates", "svid ttl", "tent-dev/summarizer"],
            ]
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
            assert_eq!(cells, want);
        }
    }
}
