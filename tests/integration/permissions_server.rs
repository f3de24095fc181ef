//! The permission model against what a real operator-mode nats-server
//! enforces: a user of a scoped signing key (the template applies), a user
//! with only a response permission, a user with no permissions (the
//! account's `default_permissions`), and account subject mappings. Each
//! decision warden shows (subject tester, Permissions view) is checked by
//! publishing and subscribing as that user.

use std::time::Duration;

use async_nats::{ConnectOptions, Event, ServerError};
use futures::StreamExt;
use serde_json::json;
use tokio::sync::mpsc;
use warden::app::permissions::test_subject;
use warden::app::state::AppState;
use warden::app::table::Clock;
use warden::app::update::update;
use warden::app::worker;
use warden_core::config::{NatsAuth, NatsSettings};
use warden_core::identity::permissions::{REPLIES_ONLY, Source};
use warden_core::nats::jwt::{KeyKind, Permission, ResponsePermission, SigningKey, UserClaims};
use warden_core::nats::subject::Direction;
use warden_sandbox::nats_server::NatsServer;
use warden_sandbox::operator_mode::{MintedUser, OperatorWorld};

const LIMIT: Duration = Duration::from_secs(10);

struct Client {
    nc: async_nats::Client,
    events: mpsc::UnboundedReceiver<Event>,
}

async fn connect(server: &NatsServer, u: &MintedUser) -> Client {
    let (tx, events) = mpsc::unbounded_channel();
    let nc = ConnectOptions::with_credentials_file(u.creds_path.clone().unwrap())
        .await
        .unwrap()
        .event_callback(move |ev| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(ev);
            }
        })
        .connect(server.url())
        .await
        .unwrap_or_else(|e| panic!("{} connects: {e}", u.claims.std.name));
    nc.flush().await.unwrap();
    Client { nc, events }
}

fn violation(ev: &Event, what: &str, subject: &str) -> bool {
    matches!(ev, Event::ServerError(ServerError::Other(m))
        if m.contains(&format!("Permissions Violation for {what} to \"{subject}")))
}

/// Whether the server lets `c` publish to `subject`: the watcher (`>`)
/// receives it (on the mapped subject, if mapped), or the server answers
/// with a permissions violation. Both are waited for with a deadline.
async fn server_allows_publish(c: &mut Client, watcher: &mut async_nats::Subscriber, subject: &str) -> bool {
    let payload = format!("probe {subject} {}", rand_tag());
    // Sent again every second until one outcome shows: on a loaded machine
    // a single message is no proof either way, the first answer is.
    let mut again = tokio::time::interval(Duration::from_secs(1));
    tokio::time::timeout(LIMIT, async {
        loop {
            tokio::select! {
                _ = again.tick() => {
                    c.nc.publish(subject.to_string(), payload.clone().into()).await.unwrap();
                    c.nc.flush().await.unwrap();
                }
                Some(m) = watcher.next() => if m.payload == payload.as_bytes() { return true },
                // A mapped publish is refused under its mapped subject.
                Some(ev) = c.events.recv() => if violation(&ev, "Publish", "") { return false },
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("neither delivery nor violation for a publish to {subject}"))
}

/// Whether the server lets `c` subscribe to `pattern`: a message the
/// watcher publishes on `concrete` arrives, or a violation does.
async fn server_allows_subscribe(c: &mut Client, watcher: &async_nats::Client, pattern: &str, concrete: &str) -> bool {
    let mut sub = c.nc.subscribe(pattern.to_string()).await.unwrap();
    c.nc.flush().await.unwrap();
    let payload = format!("probe {pattern} {}", rand_tag());
    let mut again = tokio::time::interval(Duration::from_secs(1));
    tokio::time::timeout(LIMIT, async {
        loop {
            tokio::select! {
                _ = again.tick() => {
                    watcher.publish(concrete.to_string(), payload.clone().into()).await.unwrap();
                    watcher.flush().await.unwrap();
                }
                Some(m) = sub.next() => if m.payload == payload.as_bytes() { return true },
                Some(ev) = c.events.recv() => if violation(&ev, "Subscription", pattern) { return false },
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("neither delivery nor violation for a subscription to {pattern}"))
}

fn rand_tag() -> String {
    SigningKey::generate(KeyKind::User).public_key()[1..9].to_string()
}

/// warden's tester answer for `identity` and `subject`.
fn tester(s: &AppState, identity: &str, dir: Direction, subject: &str) -> (bool, String) {
    let rows = test_subject(&s.perm_sets, subject);
    let r = rows.iter().find(|r| r.identity == identity).unwrap_or_else(|| panic!("{identity} in the tester"));
    let d = if dir == Direction::Publish { &r.publish } else { &r.subscribe };
    (d.allowed(), d.explain())
}

#[tokio::test(flavor = "multi_thread")]
async fn warden_decides_as_the_server_enforces() {
    let dir = tempfile::tempdir().unwrap();
    let mut world = OperatorWorld::generate(dir.path()).unwrap();
    // A scoped key whose template gives each tentacle its own subjects by tags.
    let scoped = world
        .add_scoped_signing_key(
            "tentacles",
            json!({
                "pub": {"allow": ["tentacular.{{tag(ns)}}.{{tag(wf)}}.>"]},
                "sub": {"allow": ["tentacular.{{tag(ns)}}.{{tag(wf)}}.>", "_INBOX.>"]}
            }),
        )
        .unwrap();
    world
        .edit_app(|a| {
            a.nats.default_permissions.publish = Permission::allow(["public.>"]);
            a.nats.default_permissions.subscribe = Permission::allow(["public.>"]);
            a.nats.extra.insert(
                "mappings".into(),
                json!({
                    "legacy.gamma": [{"subject": "tentacular.tent-dev.gamma.in"}],
                    "leak.gamma": [{"subject": "elsewhere.x"}]
                }),
            );
        })
        .unwrap();
    let server = NatsServer::start(&dir.path().join("srv"), "op1", world.config_body()).unwrap();

    let gamma = world.mint_scoped_user("tentacle.tent-dev.gamma", &["ns:tent-dev", "wf:gamma"], &scoped).unwrap();
    let dkey = SigningKey::generate(KeyKind::User);
    let delta =
        world.mint_user_claims(UserClaims::new_user(dkey.public_key(), "tentacle.tent-dev.delta"), &dkey).unwrap();
    let ekey = SigningKey::generate(KeyKind::User);
    let mut e = UserClaims::new_user(ekey.public_key(), "tentacle.tent-dev.epsilon");
    e.nats.permissions.subscribe = Permission::allow(["svc.>"]);
    e.nats.permissions.response = Some(ResponsePermission { max_msgs: 1, ttl_nanos: 0 });
    let epsilon = world.mint_user_claims(e, &ekey).unwrap();
    let wkey = SigningKey::generate(KeyKind::User);
    let mut w = UserClaims::new_user(wkey.public_key(), "watcher");
    w.nats.permissions.publish = Permission::allow([">"]);
    w.nats.permissions.subscribe = Permission::allow([">"]);
    let watcher_user = world.mint_user_claims(w, &wkey).unwrap();

    // gamma, delta, epsilon.
    let mut clients =
        [connect(&server, &gamma).await, connect(&server, &delta).await, connect(&server, &epsilon).await];
    let (g, d, ep) = (0, 1, 2);
    let watcher = connect(&server, &watcher_user).await;
    let mut all = watcher.nc.subscribe(">").await.unwrap();
    watcher.nc.flush().await.unwrap();

    // warden: the console's worker and update, as in the console.
    let settings = NatsSettings {
        url: server.url(),
        auth: NatsAuth::Creds(world.sys_creds_path.clone()),
        ca: None,
        cert: None,
        key: None,
        source: "test".into(),
    };
    let (tx, mut rx) = mpsc::channel(1024);
    let cmds = worker::spawn(settings, Duration::from_secs(1), tx);
    let mut s = AppState::new(server.url(), "test".into(), Clock::system());
    s.size = (120, 40);
    let ready = |s: &AppState| {
        let has = |id: &str, src: Source| {
            s.perm_sets.iter().any(|p| p.identity == id && p.rules.iter().any(|r| r.source == src))
        };
        has("tent-dev/gamma", Source::ScopeTemplate)
            && has("tent-dev/delta", Source::AccountDefault)
            && s.perm_sets.iter().any(|p| p.identity == "tent-dev/epsilon")
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !ready(&s) {
        let msg = tokio::time::timeout_at(deadline, rx.recv()).await.expect("the accounts' JWTs applied").unwrap();
        for c in update(&mut s, msg).cmds {
            let _ = cmds.send(c);
        }
    }

    // The Permissions view: the template's rules, the account defaults,
    // replies only; not "allow >".
    let rules = |id: &str| -> Vec<(Direction, bool, String, Source)> {
        s.perms
            .rows
            .iter()
            .filter(|r| r.identity == id)
            .map(|r| (r.dir, r.allow, r.subject.clone(), r.source.clone()))
            .collect()
    };
    let gr = rules("tent-dev/gamma");
    assert!(
        gr.contains(&(Direction::Publish, true, "tentacular.tent-dev.gamma.>".into(), Source::ScopeTemplate)),
        "{gr:?}"
    );
    assert!(gr.contains(&(Direction::Subscribe, true, "_INBOX.>".into(), Source::ScopeTemplate)), "{gr:?}");
    assert!(!gr.iter().any(|r| r.2 == ">"), "{gr:?}");
    let dr = rules("tent-dev/delta");
    assert!(dr.contains(&(Direction::Publish, true, "public.>".into(), Source::AccountDefault)), "{dr:?}");
    assert!(!dr.iter().any(|r| r.2 == ">"), "{dr:?}");
    let er = rules("tent-dev/epsilon");
    assert!(er.contains(&(Direction::Publish, true, REPLIES_ONLY.into(), Source::ResponsePermission)), "{er:?}");
    assert!(!er.iter().any(|r| r.2 == ">"), "{er:?}");
    let row = s.perms.rows.iter().find(|r| r.identity == "tent-dev/gamma").unwrap();
    assert!(row.origin.iter().any(|o| o.contains("role tentacles")), "{:?}", row.origin);

    // The subject tester against the server, publish by publish.
    for (c, id, subject) in [
        (g, "tent-dev/gamma", "tentacular.tent-dev.gamma.x"),
        (g, "tent-dev/gamma", "tentacular.tent-dev.other.x"),
        (g, "tent-dev/gamma", "legacy.gamma"),
        (g, "tent-dev/gamma", "leak.gamma"),
        (d, "tent-dev/delta", "public.x"),
        (d, "tent-dev/delta", "private.x"),
        (d, "tent-dev/delta", "legacy.gamma"),
        (ep, "tent-dev/epsilon", "svc.x"),
    ] {
        let (warden, why) = tester(&s, id, Direction::Publish, subject);
        let server = server_allows_publish(&mut clients[c], &mut all, subject).await;
        assert_eq!(warden, server, "{id} publish {subject}: warden says {why:?}");
    }
    let (_, why) = tester(&s, "tent-dev/gamma", Direction::Publish, "legacy.gamma");
    assert!(why.starts_with("mapped to tentacular.tent-dev.gamma.in"), "{why}");
    let (allowed, why) = tester(&s, "tent-dev/epsilon", Direction::Publish, "svc.x");
    assert!(!allowed && why.contains("only replies"), "{why}");

    for (c, id, pattern, concrete) in [
        (g, "tent-dev/gamma", "tentacular.tent-dev.gamma.>", "tentacular.tent-dev.gamma.y"),
        (g, "tent-dev/gamma", "other.>", "other.y"),
        (d, "tent-dev/delta", "public.>", "public.y"),
        (d, "tent-dev/delta", "private.>", "private.y"),
        (ep, "tent-dev/epsilon", "svc.>", "svc.y"),
        (ep, "tent-dev/epsilon", "other.>", "other.y"),
    ] {
        let (warden, why) = tester(&s, id, Direction::Subscribe, pattern);
        let server = server_allows_subscribe(&mut clients[c], &watcher.nc, pattern, concrete).await;
        assert_eq!(warden, server, "{id} subscribe {pattern}: warden says {why:?}");
    }

    // Replies pass for the response-permission user, as warden says.
    let responder = clients[ep].nc.clone();
    let mut svc = responder.subscribe("svc.ping").await.unwrap();
    responder.flush().await.unwrap();
    tokio::spawn(async move {
        if let Some(m) = svc.next().await
            && let Some(reply) = m.reply
        {
            let _ = responder.publish(reply, "pong".into()).await;
            let _ = responder.flush().await;
        }
    });
    let answer = tokio::time::timeout(LIMIT, watcher.nc.request("svc.ping", "ping".into())).await;
    assert_eq!(answer.expect("a reply in time").expect("a reply").payload.as_ref(), b"pong");
}
