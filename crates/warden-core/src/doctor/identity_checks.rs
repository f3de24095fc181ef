//! Identities: the parts of one workload's identity that disagree across
//! NATS, Kubernetes and SPIRE, and workloads that are silently deaf.

use super::codes;
use super::facts::Facts;
use super::finding::Finding;
use crate::identity::approve_plan::{ApprovePlan, Mark};
use crate::identity::join::{IdState, REVOKED_CONNECTED};
use crate::identity::naming::IdentityName;

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    revoked_connected(f, out);
    registrations_without_authz(f, out);
    authz_without_registration(f, out);
    out_of_scope(f, out);
    deaf(f, out);
    creds_mismatch(f, out);
}

/// A record whose creds Secret holds another user JWT than its status: the
/// workload connects with credentials the record does not describe (a
/// renewal that wrote one but not the other). Compared by `jti`; evidence
/// names the two ids, never the JWTs or anything of the seed.
fn creds_mismatch(f: &Facts, out: &mut Vec<Finding>) {
    for r in f.records.iter().filter(|r| !r.status.jwt.is_empty()) {
        let workload = if r.spec.workload.is_empty() { r.name.as_str() } else { r.spec.workload.as_str() };
        let name = IdentityName { namespace: r.namespace.clone(), workload: workload.to_string() };
        let secret_name = crate::identity::jwt_actions::creds_secret_name(&name);
        let Some(s) = f.creds_secrets.iter().find(|s| {
            s.namespace == r.namespace && (s.name == secret_name || (!s.workload.is_empty() && s.workload == workload))
        }) else {
            continue;
        };
        let record_jti = match crate::nats::jwt::decode_as::<crate::nats::jwt::User>(&r.status.jwt) {
            Ok(c) => c.std.id,
            Err(_) => continue, // an undecodable record JWT is the record's problem, shown elsewhere
        };
        if s.jwt_id == record_jti {
            continue;
        }
        let held = match &s.problem {
            Some(p) => p.clone(),
            None => format!("JWT {} (user {})", s.jwt_id, s.user_key),
        };
        out.push(Finding::new(
            &codes::CREDS_SECRET_MISMATCH,
            format!(
                "Secret {}/{} does not hold the JWT NatsIdentity {}/{} records",
                s.namespace, s.name, r.namespace, r.name
            ),
            vec![format!("Secret {}/{}", s.namespace, s.name), format!("NatsIdentity {}/{}", r.namespace, r.name)],
            format!(
                "Secret user.creds: {held}; record status.jwt: JWT {record_jti} (user {})",
                r.status.user_public_key
            ),
        ));
    }
}

fn who(ns: &str, wl: &str, user: &str) -> String {
    if ns.is_empty() { user.to_string() } else { format!("{ns}/{wl}") }
}

fn revoked_connected(f: &Facts, out: &mut Vec<Finding>) {
    for i in f.identities.iter().filter(|i| i.state == IdState::Drifted && i.reason.starts_with(REVOKED_CONNECTED)) {
        out.push(Finding::new(
            &codes::REVOKED_STILL_CONNECTED,
            format!(
                "{} is revoked but still has {} live connection(s)",
                who(&i.namespace, &i.workload, &i.user),
                i.connections
            ),
            vec![format!("identity {}", who(&i.namespace, &i.workload, &i.user)), format!("user {}", i.user)],
            i.reason.clone(),
        ));
    }
}

/// A ClusterSPIFFEID whose workload NATS does not accept: no identity in a
/// state that lets it connect (JWT mode), no authorization entry for its
/// SPIFFE ID (SPIFFE mode).
fn registrations_without_authz(f: &Facts, out: &mut Vec<Finding>) {
    for r in &f.registrations {
        if let Some(why) = &r.problem {
            out.push(Finding::new(
                &codes::CLASS_NOT_SERVED,
                format!("ClusterSPIFFEID {} makes no SPIRE entries", r.name),
                vec![format!("ClusterSPIFFEID {}", r.name)],
                why.clone(),
            ));
        }
        let authorized = if f.policy.spiffe_mode {
            f.authz_entries.iter().any(|e| e.user == r.spiffe_id)
        } else {
            // Pending is on its way (the approval is the fix, shown in
            // Identities); an expired JWT is its own finding (expiry).
            f.identities.iter().any(|i| {
                i.namespace == r.namespace
                    && i.workload == r.workload
                    && (matches!(i.state, IdState::Active | IdState::Expiring | IdState::Expired | IdState::Pending)
                        || (i.state == IdState::Drifted && !i.user_key.is_empty()))
            })
        };
        if !authorized {
            let evidence = if f.policy.spiffe_mode {
                format!("no authorization entry for {}", r.spiffe_id)
            } else {
                // The join's own row for a bare registration is no identity.
                match f
                    .identities
                    .iter()
                    .find(|i| i.namespace == r.namespace && i.workload == r.workload && (i.recorded || i.live))
                {
                    Some(i) => format!("the identity {}/{} is {}", r.namespace, r.workload, i.state.as_str()),
                    None => format!("no NatsIdentity and no live user for {}/{}", r.namespace, r.workload),
                }
            };
            out.push(Finding::new(
                &codes::REGISTRATION_WITHOUT_AUTHZ,
                format!("{}/{} gets an SVID but NATS does not accept it", r.namespace, r.workload),
                vec![format!("ClusterSPIFFEID {}", r.name), format!("identity {}/{}", r.namespace, r.workload)],
                evidence,
            ));
        }
    }
}

/// SPIFFE mode: an authorization entry no SVID will ever match (no SPIRE
/// entry and no ClusterSPIFFEID for its SPIFFE ID).
fn authz_without_registration(f: &Facts, out: &mut Vec<Finding>) {
    if !f.policy.spiffe_mode {
        return;
    }
    for e in f.authz_entries.iter().filter(|e| e.user.starts_with("spiffe://")) {
        let registered = f.registrations.iter().any(|r| r.spiffe_id == e.user)
            || f.entries.iter().any(|en| en.spiffe_id.uri() == e.user);
        if !registered {
            out.push(Finding::new(
                &codes::AUTHZ_WITHOUT_REGISTRATION,
                format!("authorization entry {} has no SPIRE registration", e.user),
                vec![format!("authorization entry {}", e.user)],
                "no ClusterSPIFFEID and no SPIRE entry with this SPIFFE ID",
            ));
        }
    }
}

/// Declared publish/subscribe lists (not explicit grants) that reach beyond
/// the identity's naming scope.
fn out_of_scope(f: &Facts, out: &mut Vec<Finding>) {
    for r in &f.records {
        let workload = if r.spec.workload.is_empty() { &r.name } else { &r.spec.workload };
        let name = IdentityName { namespace: r.namespace.clone(), workload: workload.clone() };
        let plan = ApprovePlan::of(&f.naming, &name, &r.spec, None);
        let outside: Vec<String> = plan
            .subjects
            .iter()
            .filter(|m| !m.grant && m.mark != Mark::Own)
            .map(|m| format!("{} {}", m.dir.short(), crate::identity::approve_plan::shown(&m.subject)))
            .collect();
        if outside.is_empty() {
            continue;
        }
        out.push(Finding::new(
            &codes::SUBJECTS_OUTSIDE_SCOPE,
            format!("{}/{} declares subjects outside its scope", name.namespace, name.workload),
            vec![format!("NatsIdentity {}/{}", r.namespace, r.name)],
            format!("{} (scope {})", outside.join(", "), f.naming.subject_scope(&name)),
        ));
    }
}

fn deaf(f: &Facts, out: &mut Vec<Finding>) {
    for v in f.violations.iter().filter(|v| v.subscribe >= f.policy.sub_violations.max(1)) {
        out.push(Finding::new(
            &codes::REPEATED_SUB_VIOLATIONS,
            format!("{} had {} subscription(s) refused", v.identity, v.subscribe),
            vec![format!("identity {}", v.identity), format!("user {}", v.user)],
            format!("last refused subscription {}", crate::identity::approve_plan::shown(&v.last_subject)),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::facts::{AuthzEntryFacts, Policy, RegistrationFacts, ViolationCount};
    use super::*;
    use crate::identity::join::JoinedIdentity;
    use crate::identity::record::{IdentityRecord, IdentitySpec};

    fn run(f: &Facts) -> Vec<&'static str> {
        super::super::collect(check, f).iter().map(|x| x.code).collect()
    }

    fn ident(ns: &str, wl: &str, state: IdState, reason: &str) -> JoinedIdentity {
        JoinedIdentity { reason: reason.into(), connections: 2, ..crate::test_support::identity(ns, wl, state) }
    }

    fn reg(ns: &str, wl: &str) -> RegistrationFacts {
        RegistrationFacts {
            name: format!("{ns}-{wl}"),
            namespace: ns.into(),
            workload: wl.into(),
            spiffe_id: format!("spiffe://td/ns/{ns}/wf/{wl}"),
            problem: None,
        }
    }

    #[test]
    fn a_revoked_identity_with_connections_is_critical() {
        let f = Facts {
            identities: vec![
                ident("shop", "orders", IdState::Drifted, "revoked but still connected (2 connections)"),
                ident("shop", "cart", IdState::Revoked, "revoked"),
            ],
            ..Default::default()
        };
        assert_eq!(run(&f), vec!["revoked-still-connected"]);
    }

    #[test]
    fn registrations_and_authorizations_must_meet_in_both_modes() {
        let mut f = Facts { registrations: vec![reg("shop", "orders"), reg("shop", "cart")], ..Default::default() };
        f.identities.push(ident("shop", "orders", IdState::Active, ""));
        f.identities.push(ident("shop", "cart", IdState::Revoked, ""));
        assert_eq!(run(&f), vec!["registration-without-authz"]);
        f.identities[1].state = IdState::Pending;
        assert!(run(&f).is_empty());

        let mut f = Facts {
            policy: Policy { spiffe_mode: true, ..Default::default() },
            registrations: vec![reg("shop", "orders")],
            ..Default::default()
        };
        f.authz_entries.push(AuthzEntryFacts { user: "spiffe://td/ns/shop/wf/orders".into(), ..Default::default() });
        f.authz_entries.push(AuthzEntryFacts { user: "spiffe://td/ns/shop/wf/ghost".into(), ..Default::default() });
        assert_eq!(run(&f), vec!["authz-without-registration"]);
    }

    #[test]
    fn an_unserved_class_is_named_with_the_controllers_reason() {
        let mut r = reg("shop", "orders");
        r.problem = Some("className \"other\" is not served by any controller".into());
        let mut f = Facts { registrations: vec![r], ..Default::default() };
        f.identities.push(ident("shop", "orders", IdState::Active, ""));
        assert_eq!(run(&f), vec!["class-not-served"]);
    }

    #[test]
    fn declared_subjects_beyond_the_scope_but_not_grants() {
        let rec = |publish: &str| IdentityRecord {
            namespace: "shop".into(),
            name: "orders".into(),
            spec: IdentitySpec { publish: vec![publish.into()], ..Default::default() },
            status: Default::default(),
        };
        let f =
            Facts { records: vec![rec("tentacular.shop.orders.>"), rec("tentacular.billing.x")], ..Default::default() };
        assert_eq!(run(&f), vec!["subjects-outside-scope"]);
    }

    #[test]
    fn repeated_subscription_violations_mean_a_deaf_workload() {
        let mut f = Facts::default();
        f.violations.push(ViolationCount { identity: "shop/orders".into(), subscribe: 5, ..Default::default() });
        f.violations.push(ViolationCount {
            identity: "shop/cart".into(),
            subscribe: 1,
            publish: 40,
            ..Default::default()
        });
        assert_eq!(run(&f), vec!["repeated-sub-violations"]);
    }

    #[test]
    fn a_creds_secret_holding_another_jwt_than_the_record_is_a_mismatch() {
        use crate::identity::creds_secret::CredsSecretFacts;
        use crate::nats::jwt::{self, KeyKind, SigningKey, UserClaims};
        let (acc, user) = (SigningKey::generate(KeyKind::Account), SigningKey::generate(KeyKind::User));
        let mut c = UserClaims::new_user(user.public_key(), "tentacle.shop.orders");
        let recorded = jwt::encode_user(&mut c, &acc, acc.public_key(), 1_000).unwrap();
        let recorded_jti = c.std.id.clone();
        let mut rec = IdentityRecord {
            namespace: "shop".into(),
            name: "orders".into(),
            spec: IdentitySpec { workload: "orders".into(), ..Default::default() },
            ..Default::default()
        };
        rec.status.jwt = recorded;
        rec.status.user_public_key = user.public_key().into();
        let secret = |jti: &str| CredsSecretFacts {
            namespace: "shop".into(),
            name: "orders-nats-creds".into(),
            workload: "orders".into(),
            jwt_id: jti.into(),
            user_key: user.public_key().into(),
            problem: None,
        };
        let mut f = Facts { records: vec![rec], creds_secrets: vec![secret(&recorded_jti)], ..Default::default() };
        assert!(run(&f).is_empty());
        f.creds_secrets = vec![secret("OLDJTI")];
        let found = super::super::collect(check, &f);
        assert_eq!(found.iter().map(|x| x.code).collect::<Vec<_>>(), vec!["creds-secret-mismatch"]);
        assert_eq!(found[0].objects, vec!["Secret shop/orders-nats-creds", "NatsIdentity shop/orders"]);
        assert!(
            found[0].evidence.contains("OLDJTI") && found[0].evidence.contains(&recorded_jti),
            "{}",
            found[0].evidence
        );
        // No Secret (not readable, or none): nothing to compare.
        f.creds_secrets.clear();
        assert!(run(&f).is_empty());
    }
}
