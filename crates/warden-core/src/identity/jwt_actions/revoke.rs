//! revoke: account revocations, re-sign, push, then kick what is left.

use super::prelude::*;
use super::revocation::{needs_revocation, newest_iat, revocation_time};

/// Connections whose user is one of `keys` (the authorized user or the JWT subject).
pub(super) fn conn_matches(c: &ConnInfo, keys: &[String]) -> bool {
    keys.contains(&c.authorized_user)
        || (!c.jwt.is_empty() && jwt::decode_as::<jwt::User>(&c.jwt).is_ok_and(|u| keys.contains(&u.std.subject)))
}

/// Live connections of `keys`: (server name, server id, cid).
pub(super) async fn live_conns(sys: &SysClient, keys: &[String]) -> Result<Vec<(String, String, u64)>> {
    let mut out = Vec::new();
    for reply in sys.connz_all().await? {
        if let Ok(page) = &reply.result {
            for c in &page.connections {
                if conn_matches(c, keys) {
                    out.push((reply.server.name.clone(), reply.server.id.clone(), c.cid));
                }
            }
        }
    }
    Ok(out)
}

/// What CONNZ says about the users of `account`: the keys of live
/// connections whose JWT names `user`, and every user JWT it shows (for
/// their `iat`). A bearer-token user's JWT is blanked in CONNZ (nats-server
/// 2.11.17+, 2.12.8+, 2.14+: `server/monitor.go` `redactBearerJWT`), so it
/// cannot be found by name here: its key comes from the `NatsIdentity`
/// record or the creds file, and [`conn_matches`] still finds its
/// connections by `authorized_user`.
pub(super) async fn keys_by_name(sys: &SysClient, account: &str, user: &str) -> Result<(Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    let mut jwts = Vec::new();
    for reply in sys.connz_all().await? {
        if let Ok(page) = &reply.result {
            for c in &page.connections {
                if c.account != account || c.jwt.is_empty() {
                    continue;
                }
                if let Ok(u) = jwt::decode_as::<jwt::User>(&c.jwt) {
                    jwts.push(c.jwt.clone());
                    if u.std.name == user && !out.contains(&u.std.subject) {
                        out.push(u.std.subject);
                    }
                }
            }
        }
    }
    Ok((out, jwts))
}

pub(super) async fn revoke(
    ctx: &ActionContext,
    r: &mut Recorder<'_>,
    target: &RevokeTarget,
    account: &str,
    creds: Option<&std::path::Path>,
) -> Result<()> {
    let (acc_id, mut acc) = step!(r, "account", resolve_account(&ctx.sys, account).await);
    r.ok("account", format!("{} ({})", acc.std.name, acc_id));
    // Which user keys.
    let mut keys: Vec<String> = Vec::new();
    // User JWTs known for them (creds, record, live): revoked is a time,
    // so what matters is whether the revocation covers the newest `iat`.
    let mut known_jwts: Vec<String> = Vec::new();
    let mut rec = None;
    match target {
        RevokeTarget::UserKey(k) => {
            keys.push(k.clone());
            if let Ok((_, jwts)) = keys_by_name(&ctx.sys, &acc_id, "").await {
                known_jwts.extend(jwts);
            }
        }
        RevokeTarget::Identity(name) => {
            if let Some(p) = creds
                && let Some(c) = step!(r, "creds file", read_creds_file(p))
            {
                if user_account(&c.claims) != acc_id {
                    return Err(r.fail("creds file", format!("{} is a user of another account", p.display())));
                }
                keys.push(c.claims.std.subject.clone());
                known_jwts.push(c.jwt.clone());
            }
            if let Some(k) = &ctx.kube {
                rec = step!(r, "NatsIdentity", get_record(k, name).await);
                if let Some(rc) = &rec
                    && !rc.user_key().is_empty()
                    && !keys.iter().any(|k| k == rc.user_key())
                {
                    keys.push(rc.user_key().to_string());
                }
                if let Some(rc) = &rec {
                    known_jwts.push(rc.status.jwt.clone());
                }
            }
            let (live_keys, live_jwts) =
                step!(r, "live connections", keys_by_name(&ctx.sys, &acc_id, &ctx.naming.nats_user(name)).await);
            known_jwts.extend(live_jwts);
            for k in live_keys {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
    }
    if keys.is_empty() {
        return Err(r.fail("users", format!("no user key known for {target}: pass the user public key")));
    }
    r.ok("users", keys.join(", "));
    let now = jwt::unix_now();
    let iat_of = |k: &str| newest_iat(known_jwts.iter().map(String::as_str), k);
    let new: Vec<&String> =
        keys.iter().filter(|k| needs_revocation(&acc.nats, k.as_str(), iat_of(k.as_str()))).collect();
    if new.is_empty() {
        let at: Vec<String> = keys.iter().filter_map(|k| acc.nats.revoked_at(k)).map(rfc3339).collect::<Vec<_>>();
        r.ok("revocations", format!("already revoked in {} (at {})", acc.std.name, at.join(", ")));
    } else {
        let signer = step!(
            r,
            "operator signing key",
            load_key(ctx, ctx.signing.operator.as_ref(), KeyKind::Operator, "operator signing key").await
        );
        if !acc.std.issuer.is_empty() && acc.std.issuer != signer.public_key() {
            // Another operator signing key signed the current JWT: fine if the
            // operator lists both; the servers are the judge, so say it.
            tracing::info!(issuer = %acc.std.issuer, signer = %signer.public_key(), "re-signing with a different operator key");
        }
        for k in &new {
            acc.nats.revoke(k, revocation_time(now, iat_of(k.as_str())));
        }
        let token = step!(r, "re-sign account", jwt::encode_reissue(&mut acc, &signer, now));
        drop(signer);
        r.ok(
            "revocations",
            format!("added {} to {}", new.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "), acc.std.name),
        );
        let replies = step!(
            r,
            "push",
            crate::nats::claims_update::push_account_jwt(
                ctx.sys.client(),
                &token,
                Duration::from_millis(300),
                Duration::from_secs(5)
            )
            .await
        );
        for rep in replies {
            let server = if rep.server.name.is_empty() { rep.server.id.clone() } else { rep.server.name.clone() };
            let step = format!("push to {server}");
            match (&rep.data, &rep.error) {
                (_, Some(e)) => r.push(Step::err(step, format!("{} ({})", e.description, e.code))),
                (Some(d), None) if d.code == 200 => r.ok(&step, d.message.clone()),
                (Some(d), None) => r.push(Step::err(step, format!("{} ({})", d.message, d.code))),
                (None, None) => r.push(Step::err(step, "empty reply")),
            }
        }
    }
    // Confirm the connections are gone; kick what remains.
    let deadline = tokio::time::Instant::now() + ctx.settle;
    let mut left = Vec::new();
    loop {
        match live_conns(&ctx.sys, &keys).await {
            Ok(l) => left = l,
            Err(e) => {
                r.push(Step::err("connections", format!("{e:#}")));
                break;
            }
        }
        if left.is_empty() || tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if left.is_empty() {
        r.ok("connections", "none left");
    }
    for (server, id, cid) in left {
        let step = format!("kick cid {cid} on {server}");
        match kick(&ctx.sys, &id, cid).await {
            Ok(()) => r.ok(&step, "kicked"),
            Err(e) => r.push(Step::err(step, format!("{e:#}"))),
        }
    }
    if let (Some(k), Some(rc)) = (&ctx.kube, &rec) {
        if rc.phase() == "Revoked" {
            r.ok("NatsIdentity status", "already Revoked");
        } else {
            let mut status = rc.status.clone();
            status.phase = "Revoked".into();
            status.revoked_by = ctx.actor.clone();
            status.revoked_at = now_rfc3339();
            match write_status(k, &rc.namespace, &rc.name, &status).await {
                Ok(()) => r.ok("NatsIdentity status", "Revoked"),
                Err(e) => r.push(Step::err("NatsIdentity status", format!("{e:#}"))),
            }
        }
    }
    if let RevokeTarget::Identity(name) = target {
        match &ctx.kube {
            Some(k) => match crate::identity::action::kube::delete_cluster_spiffe_ids(k, name).await {
                Ok(d) => r.ok("SPIRE registration", d),
                Err(e) => r.push(Step::err("SPIRE registration", format!("{e:#}"))),
            },
            None => r.ok("SPIRE registration", "not checked: no Kubernetes configured"),
        }
    }
    Ok(())
}
