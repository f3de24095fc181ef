//! JetStream and KV: accounts used for JetStream without limits, buckets
//! that one server loss takes down, users with half a KV grant.

use std::collections::BTreeMap;

use super::codes;
use super::facts::{Facts, StreamFacts};
use super::finding::Finding;
use crate::identity::permissions::PermissionSet;
use crate::nats::subject::Direction;

/// A KV bucket is the stream `KV_<bucket>` (nats.go `kv.go`, natscli).
const KV_STREAM_PREFIX: &str = "KV_";

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    limits(f, out);
    let buckets = buckets(&f.streams);
    replicas(f, &buckets, out);
    kv_permissions(f, &buckets, out);
}

fn explicit_js(p: &PermissionSet) -> Option<&str> {
    p.rules
        .iter()
        .find(|r| r.allow && (r.subject.starts_with("$JS.") || r.subject.starts_with("$KV.")))
        .map(|r| r.subject.as_str())
}

fn limits(f: &Facts, out: &mut Vec<Finding>) {
    for a in f.accounts.iter().filter(|a| !a.jetstream_limits && !a.system) {
        let users: Vec<(&PermissionSet, &str)> = f
            .permissions
            .iter()
            .filter(|p| p.account == a.key || p.account == a.name)
            .filter_map(|p| explicit_js(p).map(|s| (p, s)))
            .collect();
        let Some((first, subject)) = users.first() else { continue };
        out.push(Finding::new(
            &codes::JS_PERMISSIONS_WITHOUT_LIMITS,
            format!(
                "account {} has no JetStream limits, yet {} user(s) are granted JetStream subjects",
                a.name,
                users.len()
            ),
            vec![format!("account {}", super::nats_checks::label(&a.name, &a.key))],
            format!("user {} allows {subject}; the account JWT sets no jetstream limits", first.user),
        ));
    }
}

/// One entry per (account, bucket), the highest replica count any server reported.
struct Bucket<'a> {
    account: &'a str,
    bucket: &'a str,
    replicas: i64,
    allow_direct: bool,
}

fn buckets(streams: &[StreamFacts]) -> Vec<Bucket<'_>> {
    let mut m: BTreeMap<(&str, &str), (i64, bool)> = BTreeMap::new();
    for s in streams {
        if let Some(b) = s.name.strip_prefix(KV_STREAM_PREFIX) {
            let e = m.entry((s.account.as_str(), b)).or_insert((0, false));
            *e = (e.0.max(s.replicas), e.1 || s.allow_direct);
        }
    }
    m.into_iter()
        .map(|((account, bucket), (replicas, allow_direct))| Bucket { account, bucket, replicas, allow_direct })
        .collect()
}

fn replicas(f: &Facts, buckets: &[Bucket<'_>], out: &mut Vec<Finding>) {
    if f.jetstream_servers < 3 {
        return;
    }
    for b in buckets.iter().filter(|b| b.replicas < 3) {
        out.push(Finding::new(
            &codes::KV_REPLICAS_LOW,
            format!(
                "KV bucket {} has {} replica(s) on a {}-server JetStream cluster",
                b.bucket, b.replicas, f.jetstream_servers
            ),
            vec![format!("bucket {}", b.bucket), format!("account {}", b.account)],
            format!("JSZ stream {KV_STREAM_PREFIX}{} num_replicas {}", b.bucket, b.replicas),
        ));
    }
}

/// What a KV client needs for one bucket, as (a subject to test, the grant
/// to name): writes, binding, reads. All are publishes (requests). nats.go
/// `kv.go` and async-nats `jetstream/kv/mod.rs` put to `$KV.<b>.<key>`,
/// bind with `STREAM.INFO`, and read with `DIRECT.GET.<stream>.<subject>`
/// when the stream has `allow_direct`, else with `STREAM.MSG.GET.<stream>`
/// (buckets made before nats-server 2.9).
fn needed(b: &Bucket<'_>) -> [(String, String); 3] {
    let (bucket, stream) = (b.bucket, format!("{KV_STREAM_PREFIX}{}", b.bucket));
    let read = if b.allow_direct {
        (format!("$JS.API.DIRECT.GET.{stream}.$KV.{bucket}.key"), format!("$JS.API.DIRECT.GET.{stream}.>"))
    } else {
        let msg_get = format!("$JS.API.STREAM.MSG.GET.{stream}");
        (msg_get.clone(), msg_get)
    };
    [
        (format!("$KV.{bucket}.key"), format!("$KV.{bucket}.>")),
        (format!("$JS.API.STREAM.INFO.{stream}"), format!("$JS.API.STREAM.INFO.{stream}")),
        read,
    ]
}

fn kv_permissions(f: &Facts, buckets: &[Bucket<'_>], out: &mut Vec<Finding>) {
    for p in &f.permissions {
        // Only users that were meant to use KV: some explicit `$KV.` grant.
        let kv_rules: Vec<&str> =
            p.rules.iter().filter(|r| r.allow && r.subject.starts_with("$KV.")).map(|r| r.subject.as_str()).collect();
        if kv_rules.is_empty() {
            continue;
        }
        let account_names: Vec<&str> = f
            .accounts
            .iter()
            .filter(|a| a.key == p.account || a.name == p.account)
            .flat_map(|a| [a.key.as_str(), a.name.as_str()])
            .chain([p.account.as_str()])
            .collect();
        for b in buckets.iter().filter(|b| account_names.contains(&b.account)) {
            let mentions = kv_rules.iter().any(|r| r.starts_with(&format!("$KV.{}.", b.bucket)));
            let covers = p.decide(Direction::Publish, &format!("$KV.{}.key", b.bucket)).allowed();
            if !mentions && !covers {
                continue;
            }
            let missing: Vec<String> = needed(b)
                .into_iter()
                .filter(|(probe, _)| !p.decide(Direction::Publish, probe).allowed())
                .map(|(_, grant)| grant)
                .collect();
            if missing.is_empty() {
                continue;
            }
            out.push(Finding::new(
                &codes::KV_PERMISSIONS_MISSING,
                format!("{} cannot use KV bucket {}: {} missing", p.identity, b.bucket, missing.len()),
                vec![format!("user {}", p.user), format!("bucket {}", b.bucket)],
                format!("denied: {}", missing.join(", ")),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::facts::AccountFacts;
    use super::*;
    use crate::identity::permissions::{Rule, Source};

    fn perms(user: &str, account: &str, allow_pub: &[&str]) -> PermissionSet {
        PermissionSet {
            identity: user.into(),
            user: user.into(),
            account: account.into(),
            rules: allow_pub
                .iter()
                .map(|s| Rule { dir: Direction::Publish, allow: true, subject: s.to_string(), source: Source::UserJwt })
                .collect(),
            ..Default::default()
        }
    }

    fn run(f: &Facts) -> Vec<Finding> {
        super::super::collect(check, f)
    }

    #[test]
    fn js_grants_in_an_account_without_limits() {
        let mut f = Facts::default();
        f.accounts.push(AccountFacts { key: "AAPP".into(), name: "APP".into(), ..Default::default() });
        f.permissions.push(perms("u1", "AAPP", &["$JS.API.>"]));
        assert_eq!(run(&f).iter().map(|x| x.code).collect::<Vec<_>>(), vec!["js-permissions-without-limits"]);
        f.accounts[0].jetstream_limits = true;
        assert!(run(&f).is_empty());
    }

    #[test]
    fn kv_buckets_with_too_few_replicas_on_a_big_cluster() {
        let mut f = Facts { jetstream_servers: 3, ..Default::default() };
        for (name, r) in [("KV_config", 1), ("KV_config", 1), ("KV_safe", 3), ("ORDERS", 1)] {
            f.streams.push(StreamFacts { account: "APP".into(), name: name.into(), replicas: r, allow_direct: true });
        }
        let found = run(&f);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].objects[0], "bucket config");
        f.jetstream_servers = 1;
        assert!(run(&f).is_empty());
    }

    #[test]
    fn half_a_kv_grant_names_what_is_missing() {
        let mut f = Facts::default();
        let kv = |name: &str, allow_direct| StreamFacts {
            account: "APP".into(),
            name: name.into(),
            replicas: 3,
            allow_direct,
        };
        f.streams.push(kv("KV_config", true));
        f.permissions.push(perms("half", "APP", &["$KV.config.>"]));
        f.permissions.push(perms(
            "whole",
            "APP",
            &["$KV.config.>", "$JS.API.STREAM.INFO.KV_config", "$JS.API.DIRECT.GET.KV_config.>"],
        ));
        f.permissions.push(perms("nokv", "APP", &["app.>"]));
        let found = run(&f);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].objects[0], "user half");
        assert!(found[0].evidence.contains("$JS.API.STREAM.INFO.KV_config"), "{}", found[0].evidence);

        // A bucket without allow_direct is read with STREAM.MSG.GET, not DIRECT.GET.
        f.streams.push(kv("KV_old", false));
        f.permissions.push(perms(
            "old-reader",
            "APP",
            &["$KV.old.>", "$JS.API.STREAM.INFO.KV_old", "$JS.API.STREAM.MSG.GET.KV_old"],
        ));
        f.permissions.push(perms(
            "old-direct",
            "APP",
            &["$KV.old.>", "$JS.API.STREAM.INFO.KV_old", "$JS.API.DIRECT.GET.KV_old.>"],
        ));
        let found = run(&f);
        assert_eq!(
            found.iter().map(|x| x.objects[0].as_str()).collect::<Vec<_>>(),
            vec!["user half", "user old-direct"],
            "{found:?}"
        );
        assert_eq!(found[1].evidence, "denied: $JS.API.STREAM.MSG.GET.KV_old");
    }
}
