//! grant / ungrant: re-mint with a cross-tentacle subject added or removed.

use super::prelude::*;

/// What a grant or ungrant asks for.
pub(super) struct GrantReq<'a> {
    pub(super) name: &'a IdentityName,
    pub(super) dir: Direction,
    pub(super) subject: &'a str,
    pub(super) add: bool,
    pub(super) allow_broad: bool,
}

/// grant / ungrant: re-mint the current user JWT (same key, scope and expiry)
/// with `subject` added to / removed from one direction's allow list; write
/// it where the current one lives; record it in `spec.grants`.
pub(super) async fn grant(
    ctx: &ActionContext,
    r: &mut Recorder<'_>,
    g: &GrantReq<'_>,
    creds_out: Option<&std::path::Path>,
) -> Result<()> {
    let (name, word) = (g.name, g.dir.word());
    step!(r, "subject", crate::nats::subject::validate_grant(g.subject).map_err(|e| anyhow!("{:?}: {e}", g.subject)));
    let reach = ctx.naming.reach(name, g.dir, &[]);
    if g.add && crate::nats::subject::is_over_broad(g.subject, &reach) && !g.allow_broad {
        return Err(r.fail(
            "subject",
            format!(
                "{} is over-broad: it {}; pass --allow-broad to grant it anyway",
                g.subject,
                crate::nats::subject::over_broad_reason(g.subject, &reach).unwrap_or("reaches too far")
            ),
        ));
    }
    let scope = ctx.naming.scope(name);
    let own = match g.dir {
        Direction::Publish => &scope.publish_allow,
        Direction::Subscribe => &scope.subscribe_allow,
    };
    if !g.add && own.iter().any(|s| s == g.subject) {
        return Err(r.fail(
            "ungrant",
            format!("{} is {name}'s own scope, not a grant (revoke the identity to take it away)", g.subject),
        ));
    }
    // The current JWT: a creds file, else the NatsIdentity (+ its Secret).
    let mut creds = None;
    if let Some(p) = creds_out {
        creds = step!(r, "creds file", read_creds_file(p));
        if creds.is_none() {
            return Err(r.fail("creds file", format!("{} does not exist: register first", p.display())));
        }
    }
    let rec = match &ctx.kube {
        Some(k) if creds_out.is_none() => step!(r, "NatsIdentity", get_record(k, name).await),
        _ => None,
    };
    if creds_out.is_none() && rec.is_none() {
        return Err(r.fail(
            "identity",
            match ctx.kube {
                Some(_) => format!("no NatsIdentity {name}: register it first, or pass --creds-out FILE"),
                None => format!("nothing known about {name}: pass --creds-out FILE or configure Kubernetes"),
            },
        ));
    }
    if let Some(rec) = &rec
        && rec.phase() != "Active"
    {
        return Err(r.fail(word, format!("{name} is {}; {} needs an Active identity", rec.phase(), r.report.action)));
    }
    let mut secret = None;
    if let (Some(k), Some(rec)) = (&ctx.kube, &rec) {
        // The seed, when warden holds it: the Secret is rewritten only if it
        // belongs to the same user key.
        secret = step!(r, "creds Secret", read_creds_secret(k, name).await)
            .filter(|c: &jwt::Creds| c.claims.std.subject == rec.user_key());
    }
    let current: UserClaims = match (&creds, &rec) {
        (Some(c), _) => c.claims.clone(),
        (None, Some(rec)) => step!(
            r,
            "current JWT",
            jwt::decode_as::<jwt::User>(&rec.status.jwt).map_err(|e| anyhow!("NatsIdentity status.jwt: {e}"))
        ),
        (None, None) => unreachable!("checked above"),
    };
    let mut claims = current.clone();
    let list = match g.dir {
        Direction::Publish => &mut claims.nats.permissions.publish.allow,
        Direction::Subscribe => &mut claims.nats.permissions.subscribe.allow,
    };
    let present = list.iter().any(|s| s == g.subject);
    let change = g.add != present;
    if !change {
        r.ok(
            "user JWT",
            if g.add {
                format!("already granted: {word} {} is in the JWT", g.subject)
            } else {
                format!("already absent: {word} {} is not in the JWT", g.subject)
            },
        );
    } else {
        if g.add {
            list.push(g.subject.to_string());
        } else {
            list.retain(|s| s != g.subject);
        }
        let acc_id = user_account(&current).to_string();
        let (acc_id, acc) = step!(r, "account", resolve_account(&ctx.sys, &acc_id).await);
        r.ok("account", format!("{} ({})", acc.std.name, acc_id));
        if let Some(t) = acc.nats.revoked_at(&current.std.subject).filter(|t| *t >= current.std.issued_at) {
            return Err(
                r.fail(word, format!("user {} is revoked in {} at {}", current.std.subject, acc.std.name, rfc3339(t)))
            );
        }
        let signer = step!(
            r,
            "account signing key",
            load_key(ctx, ctx.signing.account.as_ref(), KeyKind::Account, "account signing key").await
        );
        step!(r, "account signing key", check_account_signer(&acc_id, &acc, &signer));
        step!(r, "account signing key", super::scoped::refuse_grant(&acc, &signer));
        let token = step!(r, "mint user JWT", mint(&acc_id, &signer, &mut claims));
        drop(signer);
        r.ok(
            "mint user JWT",
            format!(
                "user {}: {word} {} {}, expiry kept ({})",
                current.std.subject,
                if g.add { "added" } else { "removed" },
                g.subject,
                if claims.std.expires == 0 { "never".to_string() } else { rfc3339(claims.std.expires) }
            ),
        );
        if let (Some(c), Some(p)) = (&creds, creds_out) {
            let text = step!(r, "credentials", jwt::render_creds(&token, &c.key));
            step!(r, "creds file", jwt::write_creds_file(p, &text).with_context(|| format!("writing {}", p.display())));
            r.ok("creds file", format!("{} (0600)", p.display()));
        }
        if let Some(c) = &secret
            && let Some(k) = &ctx.kube
        {
            match jwt::render_creds(&token, &c.key) {
                Ok(text) => match apply_creds_secret(k, name, &text).await {
                    Ok(s) => r.ok("creds Secret", s),
                    Err(e) => r.push(Step::err("creds Secret", format!("{e:#}"))),
                },
                Err(e) => r.push(Step::err("creds Secret", format!("{e:#}"))),
            }
        }
        if let (Some(k), Some(rec)) = (&ctx.kube, &rec) {
            let mut status = rec.status.clone();
            status.jwt = token;
            match write_status(k, &name.namespace, &name.workload, &status).await {
                Ok(()) => r.ok("NatsIdentity status", "JWT replaced"),
                Err(e) => r.push(Step::err("NatsIdentity status", format!("{e:#}"))),
            }
        }
    }
    if let (Some(k), Some(rec)) = (&ctx.kube, &rec) {
        let entry = GrantEntry { direction: word.to_string(), subject: g.subject.to_string() };
        let mut grants = rec.spec.grants.clone();
        let had = grants.contains(&entry);
        if g.add && !had {
            grants.push(entry);
        } else if !g.add && had {
            grants.retain(|e| *e != entry);
        }
        if had == g.add {
            r.ok("NatsIdentity spec", format!("spec.grants {} it", if had { "already has" } else { "already lacks" }));
        } else {
            match write_grants(k, name, &grants).await {
                Ok(()) => r.ok("NatsIdentity spec", format!("spec.grants: {} entries", grants.len())),
                Err(e) => r.push(Step::err("NatsIdentity spec", format!("{e:#}"))),
            }
        }
    }
    Ok(())
}

pub(super) async fn write_grants(k: &KubeCtx, name: &IdentityName, grants: &[GrantEntry]) -> Result<()> {
    kube_api(k, &name.namespace)
        .patch(
            &name.workload,
            &PatchParams::default().validation_strict(),
            &Patch::Merge(json!({ "spec": { "grants": grants } })),
        )
        .await
        .with_context(|| format!("writing NatsIdentity {name} spec.grants"))?;
    Ok(())
}
