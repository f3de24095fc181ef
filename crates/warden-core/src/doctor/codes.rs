//! The catalogue of findings. Codes are stable: monitoring silences and
//! runbooks refer to them, so a code is never renamed or reused.

use super::finding::{Code, Severity::*};

macro_rules! codes {
    ($($name:ident = $code:literal, $sev:ident, $fix:literal;)*) => {
        $(pub const $name: Code = Code { code: $code, severity: $sev, remediation: $fix };)*
        /// Every code, for `warden doctor --codes` and the uniqueness test.
        pub const ALL: &[Code] = &[$($name),*];
    };
}

codes! {
    // NATS servers and connections
    SYS_ACCOUNT_WORKLOAD = "sys-account-workload", Critical,
        "Move the workload to an application account: the system account cannot own JetStream and must carry only monitoring and admin traffic (list admin users in [doctor] admin_users).";
    NO_AUTH = "no-auth", Critical,
        "Configure authentication (operator mode or verify_and_map): without it any client may connect and isolation rests on subject names alone.";
    TOKEN_AUTH = "token-auth", Warning,
        "Replace the shared token with per-workload identities (user JWTs or SPIFFE SVIDs): every token holder is the same user.";
    MTLS_WITHOUT_AUTH = "mtls-without-auth", Warning,
        "Map client certificates to users (tls { verify_and_map: true } with authorization users): verified certificates alone give every holder the same permissions.";
    SPIFFE_WITHOUT_MTLS = "spiffe-without-mtls", Critical,
        "Require and verify client certificates (tls { verify: true, verify_and_map: true }) on every server of a SPIFFE-mode deployment.";
    ACCOUNT_JWT_DRIFT = "account-jwt-drift", Warning,
        "Push the account JWT to every server ($SYS.REQ.CLAIMS.UPDATE, `nsc push`) so every server enforces the same limits and revocations.";
    USER_JWT_NO_EXPIRY = "user-jwt-no-expiry", Warning,
        "Re-issue the user JWT with an expiry (warden renew): a leaked non-expiring JWT is valid until revoked.";
    BEARER_TOKEN_USER = "bearer-token-user", Warning,
        "Re-issue the user without bearer_token, or set the account's disallow_bearer: a bearer JWT alone proves nothing about its holder.";
    ACCOUNT_JWT_EXPIRED = "account-jwt-expired", Critical,
        "Re-issue the account JWT with a later expiry and push it: its users can no longer connect.";
    ACCOUNT_JWT_EXPIRING = "account-jwt-expiring", Warning,
        "Re-issue the account JWT with a later expiry and push it before it expires.";
    OPERATOR_JWT_EXPIRED = "operator-jwt-expired", Critical,
        "Re-issue the operator JWT and roll it to every server: running servers keep going, but none can restart.";
    OPERATOR_JWT_EXPIRING = "operator-jwt-expiring", Warning,
        "Re-issue the operator JWT and roll it to every server before it expires (servers refuse to start with an expired operator).";
    SERVER_TLS_EXPIRING = "server-tls-cert-expiring", Warning,
        "Renew the server's TLS certificate and reload the server.";
    // JetStream and KV
    JS_PERMISSIONS_WITHOUT_LIMITS = "js-permissions-without-limits", Warning,
        "Give the account JetStream limits (account JWT limits or jetstream in the account config): its users' $JS/$KV requests all fail.";
    KV_REPLICAS_LOW = "kv-replicas-low", Warning,
        "Raise the KV bucket's replicas to 3 (nats kv edit --replicas 3 or a stream update): one server loss makes it unavailable.";
    KV_PERMISSIONS_MISSING = "kv-permissions-missing", Warning,
        "Grant the user $KV.<bucket>.> and the $JS.API subjects KV needs (STREAM.INFO.KV_<bucket>, DIRECT.GET.KV_<bucket>.> or STREAM.MSG.GET.KV_<bucket> without allow_direct, CONSUMER.CREATE.KV_<bucket>.> to watch), or remove its partial KV grant.";
    // Violations
    REPEATED_SUB_VIOLATIONS = "repeated-sub-violations", Warning,
        "Fix the workload's subscriptions or grant them: clients that ignore subscription errors stay silently deaf.";
    // Identities, SPIRE and Kubernetes
    REGISTRATION_WITHOUT_AUTHZ = "registration-without-authz", Warning,
        "Approve or register the identity's NATS side, or delete the ClusterSPIFFEID: the workload gets an SVID that NATS does not accept.";
    AUTHZ_WITHOUT_REGISTRATION = "authz-without-registration", Warning,
        "Create the workload's ClusterSPIFFEID (warden register) or remove the authorization entry: no SVID will ever match it.";
    CLASS_NOT_SERVED = "class-not-served", Critical,
        "Set spec.className to the class a spire-controller-manager serves (official chart: <namespace>-<release>), or fix the masked or failed entries it reports.";
    AGENT_BANNED_HOSTING = "agent-banned-hosting", Warning,
        "Drain the node of the banned agent or unban it: its workloads cannot renew their SVIDs.";
    AGENT_SVID_EXPIRING = "agent-svid-expiring", Warning,
        "Check the agent's re-attestation (spire-agent logs, node attestor): its workloads lose their SVIDs when it expires.";
    SPIFFE_ID_OUTSIDE_POLICY = "spiffe-id-outside-policy", Critical,
        "Remove or correct the registration: its SPIFFE ID is outside [policy] allowed_spiffe_prefixes.";
    DNS_SAN_SHADOW = "dns-san-shadow", Warning,
        "Remove the DNS names from the SPIRE entry: in verify_and_map mode the server matches DNS SANs before the URI SAN, so a DNS SAN can stand in for the SPIFFE ID.";
    REVOKED_STILL_CONNECTED = "revoked-still-connected", Critical,
        "Kick the remaining connections (ctrl-k, or revoke again to push the revocation to every server).";
    CREDS_SECRET_MISMATCH = "creds-secret-mismatch", Warning,
        "Renew the identity so the creds Secret and the record hold the same JWT.";
    SUBJECTS_OUTSIDE_SCOPE = "subjects-outside-scope", Warning,
        "Narrow the identity's declared subjects to its naming scope, or make the cross-scope ones explicit grants.";
    // Several sites
    SITE_DRIFT = "site-drift", Warning,
        "Make the sites hold the same definitions: a workload failing over to a site without its credentials is locked out.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_lowercase_and_explained() {
        let mut seen = std::collections::HashSet::new();
        for c in ALL {
            assert!(seen.insert(c.code), "duplicate code {}", c.code);
            assert!(c.code.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'), "{}", c.code);
            assert!(c.remediation.ends_with('.') || c.remediation.ends_with(')'), "{}", c.code);
        }
    }
}
