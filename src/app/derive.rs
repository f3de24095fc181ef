//! Panels and indexes derived from other panels: the Identities and Expiry
//! rows (the identity join) and the violation attributor's records. Run by
//! `update` whenever connections, accounts or Kubernetes objects change.

use super::expiry;
use super::identities::build_with;
use super::permissions::identity_of_user;
use super::state::AppState;
use warden_core::identity::kube_facts::{KubeFacts, SpireRegistration};
use warden_core::identity::record::IdentityRecord;
use warden_core::kube::resources::Watched;
use warden_core::violations::{Attributor, RecordSet};

/// Everything derived from connections, accounts and Kubernetes objects.
pub fn rejoin(s: &mut AppState) {
    rebuild_identities(s);
    refresh_attributor(s);
}

/// Rebuilds the Identities and Expiry panels from the connection, account
/// and Kubernetes stores (called from `update` when any of them changes).
fn rebuild_identities(s: &mut AppState) {
    let records: Vec<IdentityRecord> =
        s.kube.objects(Watched::NatsIdentities).map(IdentityRecord::from_object).collect();
    let k = &s.kube_section;
    let facts = KubeFacts {
        registrations: s
            .kube
            .objects(Watched::ClusterSpiffeIds)
            .filter_map(|o| SpireRegistration::from_object(o, &k.workload_label, &k.spire))
            .collect(),
    };
    let now = s.clock.now_unix;
    let ids = build_with(&s.naming, &s.conns.rows, &records, &s.accounts.rows, &facts, now);
    let exp = expiry::build(&ids, &s.accounts.rows, &[], now);
    let at = s.conns.fetched_at.max(s.accounts.fetched_at).unwrap_or(now);
    s.identities.replace(ids, at);
    s.expiry.replace(exp, at);
}

/// Refreshes the attributor from what the state knows: identities (JWT
/// users and `NatsIdentity` records), permission sets, connections.
pub fn refresh_attributor(s: &mut AppState) {
    let mut set = RecordSet::default();
    for r in &s.identities.rows {
        let account = if r.account_key.is_empty() { &r.account } else { &r.account_key };
        set.add_identity(r.name().unwrap_or_else(|| r.user.clone()), account, &r.user, &r.user_key);
    }
    for p in &s.perm_sets {
        set.add_permission_user(&p.identity, &p.account, &p.user);
    }
    for c in s.conns.rows.iter().filter(|c| !c.info.authorized_user.is_empty()) {
        // Operator mode lists users by public key; the JWT's name says who.
        let name = c.user_name.as_deref().unwrap_or(&c.info.authorized_user);
        set.add_connection(identity_of_user(name), &c.info.account, &c.info.authorized_user, &c.info.name);
    }
    let records = set.into_records();
    if records.as_slice() != s.violations.pipeline.attributor.records() {
        s.violations.pipeline.set_attributor(Attributor::new(records));
    }
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
}
