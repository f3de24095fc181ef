//! The doctor: findings across NATS, SPIRE and Kubernetes that each system's
//! own tools cannot see, because they need two systems' facts at once. Every
//! check is a pure function of one [`Facts`] snapshot; the console builds it
//! from its state, `warden doctor` and `warden check` fetch it once.

pub mod codes;
pub mod facts;
pub mod finding;
mod identity_checks;
mod jetstream_checks;
mod jwt_checks;
mod nats_checks;
pub mod sites;
mod spire_checks;
pub mod trace;

pub use facts::Facts;
pub use finding::{Finding, Severity};
pub use jwt_checks::when;

/// Every finding of `f`, worst first, then by code and objects (stable
/// order: the console keeps the selection, monitoring diffs stay quiet).
pub fn diagnose(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    nats_checks::check(f, &mut out);
    jwt_checks::check(f, &mut out);
    jetstream_checks::check(f, &mut out);
    identity_checks::check(f, &mut out);
    spire_checks::check(f, &mut out);
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(b.code)).then(a.objects.cmp(&b.objects)));
    out.dedup_by(|a, b| a.key() == b.key());
    out
}

/// One check's findings (the checks push into one list; tests want theirs).
#[cfg(test)]
fn collect(check: fn(&Facts, &mut Vec<Finding>), f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    check(f, &mut out);
    out
}

/// The worst severity among `findings` (`None`: nothing found).
pub fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}
