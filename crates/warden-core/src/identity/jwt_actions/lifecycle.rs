//! register, approve, deny, renew.

use super::prelude::*;
use super::revocation::{key_revoked, record_revoked, wait_until_issuable};
use crate::identity::approve_plan::ApprovePlan;

pub(super) async fn register(
    ctx: &ActionContext,
    r: &mut Recorder<'_>,
    name: &IdentityName,
    account: &str,
    ttl: Option<Duration>,
    creds_out: Option<&std::path::Path>,
    force: bool,
) -> Result<()> {
    let ttl = step!(r, "ttl", ctx.ttl.resolve(ttl, ""));
    if creds_out.is_none() && ctx.kube.is_none() {
        return Err(r.fail("credentials", "nowhere to put them: pass --creds-out FILE or configure Kubernetes"));
    }
    let (acc_id, acc) = step!(r, "account", resolve_account(&ctx.sys, account).await);
    r.ok("account", format!("{} ({})", acc.std.name, acc_id));
    let now = jwt::unix_now();
    // Already registered? (a valid, unrevoked JWT for this user in this account)
    let usable = |c: &jwt::Creds| {
        c.claims.std.name == ctx.naming.nats_user(name)
            && user_account(&c.claims) == acc_id
            && (c.claims.std.expires == 0 || c.claims.std.expires > now)
            && !acc.nats.is_revoked(&c.claims.std.subject, c.claims.std.issued_at)
    };
    if let Some(p) = creds_out
        && let Some(c) = step!(r, "existing credentials", read_creds_file(p))
        && usable(&c)
    {
        r.ok(
            "register",
            format!(
                "already registered: {} holds user {} until {}",
                p.display(),
                c.claims.std.subject,
                rfc3339(c.claims.std.expires)
            ),
        );
        return Ok(());
    }
    if let Some(k) = &ctx.kube
        && let Some(rec) = step!(r, "NatsIdentity", get_record(k, name).await)
        && rec.phase() == "Active"
        && (rec.status.expires == 0 || rec.status.expires > now)
        && !record_revoked(&acc.nats, &rec)
        && creds_out.is_none()
    {
        // Registered means the workload can connect: its creds Secret holds
        // the record's user. A record without them (the Secret lost, or
        // written by an older run that failed half-way) is completed below.
        let held = step!(r, "creds Secret", read_creds_secret(k, name).await);
        if held.is_some_and(|c| c.claims.std.subject == rec.user_key()) {
            r.ok("register", format!("already registered: NatsIdentity {name} is Active (user {})", rec.user_key()));
            return Ok(());
        }
        r.ok(
            "creds Secret",
            format!(
                "{}/{} does not hold user {}: minting again",
                name.namespace,
                creds_secret_name(name),
                rec.user_key()
            ),
        );
    }
    if let Some(p) = creds_out {
        step!(r, "creds file", check_creds_target(p, force));
    }
    let signer = step!(
        r,
        "account signing key",
        load_key(ctx, ctx.signing.account.as_ref(), KeyKind::Account, "account signing key").await
    );
    step!(r, "account signing key", check_account_signer(&acc_id, &acc, &signer));
    r.ok("account signing key", format!("{} loaded", signer.public_key()));
    let user = SigningKey::generate(KeyKind::User);
    let exp = ttl_exp(ttl);
    let mut claims = user_claims(
        user.public_key(),
        &ctx.naming.nats_user(name),
        &ctx.naming.scope(name).publish_allow,
        &ctx.naming.scope(name).subscribe_allow,
        exp,
    );
    super::scoped::fit_to_signer(r, &acc_id, &acc, &signer, &ctx.naming, name, &mut claims);
    wait_until_issuable(r, &acc, user.public_key()).await?;
    let token = step!(r, "mint user JWT", mint(&acc_id, &signer, &mut claims));
    drop(signer);
    r.ok(
        "mint user JWT",
        format!(
            "user {} ({}), scope {}, expires {}",
            ctx.naming.nats_user(name),
            user.public_key(),
            ctx.naming.subject_scope(name),
            rfc3339(exp)
        ),
    );
    let creds = step!(r, "credentials", jwt::render_creds(&token, &user));
    if let Some(p) = creds_out {
        step!(r, "creds file", jwt::write_creds_file(p, &creds).with_context(|| format!("writing {}", p.display())));
        r.ok("creds file", format!("{} (0600)", p.display()));
    }
    if let Some(k) = &ctx.kube {
        match apply_creds_secret(k, name, &creds).await {
            Ok(s) => r.ok("creds Secret", s),
            Err(e) => {
                // The record is the commit point, written last: an Active
                // record whose credentials were never stored would say
                // "registered" to everyone, and to the next run.
                r.push(Step::err("creds Secret", format!("{e:#}")));
                r.push(Step::err(
                    "NatsIdentity",
                    format!("not written: {name} stays unregistered until its creds Secret is (run register again)"),
                ));
                return Ok(());
            }
        }
        let rec = IdentityRecord {
            namespace: name.namespace.clone(),
            name: name.workload.clone(),
            spec: IdentitySpec {
                workload: name.workload.clone(),
                account: acc.std.name.clone(),
                user: ctx.naming.nats_user(name),
                public_key: String::new(),
                publish: ctx.naming.scope(name).publish_allow,
                subscribe: ctx.naming.scope(name).subscribe_allow,
                ttl: crate::identity::ttl::format_go(ttl),
                ..Default::default()
            },
            status: IdentityStatus {
                user_public_key: user.public_key().to_string(),
                account_public_key: acc_id.clone(),
                jwt: token.clone(),
                expires: exp,
                ..IdentityStatus::approved(&ctx.actor)
            },
        };
        match apply_record(k, &rec).await {
            Ok(()) => r.ok("NatsIdentity", format!("{name} Active")),
            Err(e) => r.push(Step::err("NatsIdentity", format!("{e:#}"))),
        }
    }
    Ok(())
}

pub(super) fn kube_needed<'a>(ctx: &'a ActionContext, r: &mut Recorder<'_>, what: &str) -> Result<&'a KubeCtx> {
    ctx.kube.as_ref().ok_or_else(|| r.fail(what, "needs Kubernetes (NatsIdentity resources): none is configured"))
}

pub(super) async fn approve(
    ctx: &ActionContext,
    r: &mut Recorder<'_>,
    name: &IdentityName,
    ttl: Option<Duration>,
    allow_broad: bool,
) -> Result<()> {
    let k = kube_needed(ctx, r, "approve")?;
    let rec = step!(r, "NatsIdentity", get_record(k, name).await);
    let Some(rec) = rec else { return Err(r.fail("NatsIdentity", format!("no NatsIdentity {name}"))) };
    match rec.phase() {
        "Active" => {
            r.ok("approve", format!("already approved by {} at {}", rec.status.approved_by, rec.status.approved_at));
            return Ok(());
        }
        "Pending" => {}
        other => return Err(r.fail("approve", format!("{name} is {other}; only a Pending identity can be approved"))),
    }
    // What will be minted, from the tenant's spec: checked before any key is loaded.
    let plan = ApprovePlan::of(&ctx.naming, name, &rec.spec, Some((&ctx.ttl, ttl)));
    if let Some(why) = plan.blocker() {
        return Err(r.fail("request", why));
    }
    if plan.needs_allow_broad() && !allow_broad {
        return Err(r.fail("scope", plan.refusal()));
    }
    let public = rec.spec.public_key.clone();
    r.ok("user public key", public.clone());
    step!(r, "user public key", key_is_free(ctx, k, name, &public).await);
    let (acc_id, acc) = step!(r, "account", resolve_account(&ctx.sys, &rec.spec.account).await);
    r.ok("account", format!("{} ({})", acc.std.name, acc_id));
    let signer = step!(
        r,
        "account signing key",
        load_key(ctx, ctx.signing.account.as_ref(), KeyKind::Account, "account signing key").await
    );
    step!(r, "account signing key", check_account_signer(&acc_id, &acc, &signer));
    let Some(Ok(ttl)) = plan.ttl else { return Err(r.fail("ttl", "no TTL")) };
    let exp = ttl_exp(ttl);
    let (publish, subscribe) = perms_of(&ctx.naming, &rec.spec, name);
    let user = plan.user.clone();
    let mut claims = user_claims(&public, &user, &publish, &subscribe, exp);
    super::scoped::fit_to_signer(r, &acc_id, &acc, &signer, &ctx.naming, name, &mut claims);
    wait_until_issuable(r, &acc, &public).await?;
    let token = step!(r, "mint user JWT", mint(&acc_id, &signer, &mut claims));
    drop(signer);
    r.ok("mint user JWT", format!("user {user} ({public}), expires {}", rfc3339(exp)));
    let status = IdentityStatus {
        user_public_key: public,
        account_public_key: acc_id,
        jwt: token,
        expires: exp,
        ..IdentityStatus::approved(&ctx.actor)
    };
    step!(r, "NatsIdentity status", write_status(k, &name.namespace, &name.workload, &status).await);
    r.ok("NatsIdentity status", "Active, JWT in status.jwt");
    Ok(())
}

/// A Pending record may not take over a user key already bound to another
/// identity: another NatsIdentity holding it, or a live connection of
/// another user presenting it.
async fn key_is_free(ctx: &ActionContext, k: &KubeCtx, name: &IdentityName, key: &str) -> Result<()> {
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::all_with(k.client.clone(), &crate::kube::resources::nats_identity());
    let list = api.list(&Default::default()).await.context("listing NatsIdentities")?;
    for o in &list.items {
        let other = IdentityRecord::from_object(o);
        let same = other.namespace == name.namespace && other.name == name.workload;
        if !same && (other.user_key() == key || other.spec.public_key == key) {
            anyhow::bail!(
                "{key} is already bound to NatsIdentity {}/{}: refusing to take it over",
                other.namespace,
                other.name
            );
        }
    }
    let own_user = ctx.naming.nats_user(name);
    for reply in ctx.sys.connz_all().await? {
        for c in reply.ok().map(|p| p.connections.as_slice()).unwrap_or_default() {
            if let Ok(u) = jwt::decode_as::<jwt::User>(&c.jwt)
                && u.std.subject == key
                && u.std.name != own_user
            {
                anyhow::bail!("{key} is the key of live user {:?}: refusing to take it over", u.std.name);
            }
        }
    }
    Ok(())
}

pub(super) fn perms_of(naming: &Naming, spec: &IdentitySpec, name: &IdentityName) -> (Vec<String>, Vec<String>) {
    let p = if spec.publish.is_empty() { naming.scope(name).publish_allow } else { spec.publish.clone() };
    let s = if spec.subscribe.is_empty() { naming.scope(name).subscribe_allow } else { spec.subscribe.clone() };
    let (mut p, mut s) = (p, s);
    for g in &spec.grants {
        let list = if g.direction == "publish" { &mut p } else { &mut s };
        if !list.contains(&g.subject) {
            list.push(g.subject.clone());
        }
    }
    (p, s)
}

pub(super) async fn deny(ctx: &ActionContext, r: &mut Recorder<'_>, name: &IdentityName, reason: &str) -> Result<()> {
    let k = kube_needed(ctx, r, "deny")?;
    let Some(rec) = step!(r, "NatsIdentity", get_record(k, name).await) else {
        return Err(r.fail("NatsIdentity", format!("no NatsIdentity {name}")));
    };
    match rec.phase() {
        "Denied" => {
            r.ok("deny", format!("already denied by {} at {}", rec.status.denied_by, rec.status.denied_at));
            return Ok(());
        }
        "Pending" => {}
        other => {
            return Err(r.fail(
                "deny",
                format!("{name} is {other}; only a Pending identity can be denied (revoke an Active one)"),
            ));
        }
    }
    let status = IdentityStatus::denied(&ctx.actor, reason);
    step!(r, "NatsIdentity status", write_status(k, &name.namespace, &name.workload, &status).await);
    r.ok("NatsIdentity status", "Denied");
    Ok(())
}

pub(super) async fn renew(
    ctx: &ActionContext,
    r: &mut Recorder<'_>,
    name: &IdentityName,
    account: Option<&str>,
    ttl: Option<Duration>,
    creds_out: Option<&std::path::Path>,
) -> Result<()> {
    if let Some(p) = creds_out {
        // Renewed in place: the file must be writable before anything is minted.
        step!(r, "creds file", check_creds_target(p, true));
    }
    // The current user: a creds file, else the Kubernetes record (+ its Secret).
    let mut creds = None;
    if let Some(p) = creds_out {
        creds = step!(r, "creds file", read_creds_file(p));
        if creds.is_none() {
            return Err(r.fail("creds file", format!("{} does not exist: register first", p.display())));
        }
    }
    let rec = match &ctx.kube {
        Some(k) => step!(r, "NatsIdentity", get_record(k, name).await),
        None => None,
    };
    if creds.is_none()
        && let Some(k) = &ctx.kube
    {
        creds = step!(r, "creds Secret", read_creds_secret(k, name).await);
    }
    if creds.is_none() && rec.is_none() {
        return Err(
            r.fail("identity", format!("nothing known about {name}: pass --creds-out FILE or configure Kubernetes"))
        );
    }
    if let Some(rec) = &rec
        && matches!(rec.phase(), "Revoked" | "Denied" | "Pending")
    {
        return Err(r.fail("renew", format!("{name} is {}; renew needs an Active identity", rec.phase())));
    }
    let (user_public, old): (String, Option<UserClaims>) = match (&creds, &rec) {
        (Some(c), _) => (c.claims.std.subject.clone(), Some(c.claims.clone())),
        (None, Some(rec)) => (rec.user_key().to_string(), jwt::decode_as::<jwt::User>(&rec.status.jwt).ok()),
        (None, None) => unreachable!(),
    };
    let wanted = account
        .map(str::to_string)
        .or_else(|| old.as_ref().map(|c| user_account(c).to_string()))
        .or_else(|| rec.as_ref().map(|r| r.spec.account.clone()))
        .unwrap_or_default();
    let (acc_id, acc) = step!(r, "account", resolve_account(&ctx.sys, &wanted).await);
    r.ok("account", format!("{} ({})", acc.std.name, acc_id));
    // Revoked is a time: refused only if this key's own revocation covers
    // its current JWT (one re-issued after a revocation renews fine).
    if let Some(t) = key_revoked(&acc.nats, &user_public, old.as_ref().map(|c| c.std.issued_at)) {
        return Err(r.fail(
            "renew",
            format!("user {user_public} is revoked in {} (at {}); register anew", acc.std.name, rfc3339(t)),
        ));
    }
    let signer = step!(
        r,
        "account signing key",
        load_key(ctx, ctx.signing.account.as_ref(), KeyKind::Account, "account signing key").await
    );
    step!(r, "account signing key", check_account_signer(&acc_id, &acc, &signer));
    // The lifetime the identity asked for (`spec.ttl`), unless the request names one.
    let spec_ttl = rec.as_ref().map(|r| r.spec.ttl.as_str()).unwrap_or("");
    let ttl = step!(r, "ttl", ctx.ttl.resolve(ttl, spec_ttl));
    let exp = ttl_exp(ttl);
    let mut claims = match old {
        Some(mut c) => {
            c.std.expires = exp;
            c
        }
        None => {
            let spec = rec.as_ref().map(|r| r.spec.clone()).unwrap_or_default();
            let (p, s) = perms_of(&ctx.naming, &spec, name);
            user_claims(&user_public, &ctx.naming.nats_user(name), &p, &s, exp)
        }
    };
    super::scoped::fit_to_signer(r, &acc_id, &acc, &signer, &ctx.naming, name, &mut claims);
    // Issued after any revocation of this key (or `*`), so the server accepts it.
    wait_until_issuable(r, &acc, &user_public).await?;
    let token = step!(r, "mint user JWT", mint(&acc_id, &signer, &mut claims));
    drop(signer);
    r.ok("mint user JWT", format!("user {user_public}, expires {}", rfc3339(exp)));
    if let Some(c) = &creds {
        let text = step!(r, "credentials", jwt::render_creds(&token, &c.key));
        if let Some(p) = creds_out {
            step!(r, "creds file", jwt::write_creds_file(p, &text).with_context(|| format!("writing {}", p.display())));
            r.ok("creds file", format!("{} (0600)", p.display()));
        } else if let Some(k) = &ctx.kube {
            match apply_creds_secret(k, name, &text).await {
                Ok(s) => r.ok("creds Secret", s),
                Err(e) => r.push(Step::err("creds Secret", format!("{e:#}"))),
            }
        }
    }
    if let (Some(k), Some(rec)) = (&ctx.kube, &rec) {
        let mut status = rec.status.clone();
        status.jwt = token;
        status.expires = exp;
        status.user_public_key = user_public.clone();
        status.account_public_key = acc_id.clone();
        match write_status(k, &name.namespace, &name.workload, &status).await {
            Ok(()) => r.ok("NatsIdentity status", format!("expires {}", rfc3339(exp))),
            Err(e) => r.push(Step::err("NatsIdentity status", format!("{e:#}"))),
        }
    }
    Ok(())
}
