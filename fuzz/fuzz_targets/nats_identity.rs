//! `NatsIdentity` objects as the Kubernetes API serves them (written by
//! tenants: untrusted; CRD `deploy/crds/natsidentity.yaml`): the record
//! (`identity::record`), its `spec.ttl`, grants and names, and the approve
//! plan checked before anything is signed (`identity::approve_plan`). The
//! spec warden writes back reads back the same; a Go duration it prints
//! reads back the same.
#![no_main]

use std::time::Duration;

use kube::api::DynamicObject;
use libfuzzer_sys::fuzz_target;
use warden_core::config::file::DEFAULT_TRUST_DOMAIN;
use warden_core::identity::approve_plan::ApprovePlan;
use warden_core::identity::naming::{IdentityName, Naming};
use warden_core::identity::record::{IdentityRecord, IdentityStatus, status_patch};
use warden_core::identity::ttl::{self, TtlPolicy};
use warden_core::nats::jwt::{self, KeyKind};
use warden_core::nats::subject::{self, Direction};

fuzz_target!(|data: &[u8]| {
    let Ok(o) = serde_json::from_slice::<DynamicObject>(data) else { return };
    let rec = IdentityRecord::from_object(&o);
    let _ = (rec.phase(), rec.user_key());
    assert_eq!(IdentityRecord::from_object(&rec.to_object()).spec, rec.spec);
    let _ = status_patch(&rec.status);
    // Inside what a date-time can hold, the status reads back as written.
    if (0..=253_402_300_799).contains(&rec.status.expires) {
        let v = serde_json::to_value(&rec.status).expect("a status serializes");
        assert_eq!(serde_json::from_value::<IdentityStatus>(v).expect("reads back"), rec.status);
    }
    if let Ok(d) = ttl::parse(&rec.spec.ttl) {
        assert_eq!(ttl::parse(&ttl::format_go(d)).expect("a Go duration parses").as_secs(), d.as_secs());
    }
    for g in &rec.spec.grants {
        let _ = (Direction::parse(&g.direction), subject::validate_grant(&g.subject));
    }
    let naming = Naming::with_defaults(DEFAULT_TRUST_DOMAIN).expect("default naming");
    let _ = (naming.parse_nats_user(&rec.spec.user), naming.parse_spiffe_id(&rec.spec.spiffe_id));
    let name = IdentityName::new(&rec.namespace, &rec.name)
        .unwrap_or_else(|_| IdentityName::new("shop", "orders").expect("a valid name"));
    let policy = TtlPolicy::default();
    for ttl in [None, Some((&policy, None)), Some((&policy, Some(Duration::from_secs(3600))))] {
        let plan = ApprovePlan::of(&naming, &name, &rec.spec, ttl);
        let blocker = plan.blocker();
        let _ = plan.needs_allow_broad();
        // No consent lets a key that is not a user key be minted for.
        if jwt::check_public(&rec.spec.public_key, KeyKind::User).is_err() {
            assert!(blocker.is_some());
        }
    }
});
