//! SPIFFE mode against a real nats-server: TLS `verify_and_map`, SVIDs made
//! in the test, the authorization document rewritten and reloaded.

use std::time::Duration;

use async_nats::{Client, ConnectOptions, Event};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::time::timeout;
use warden_core::identity::naming::{IdentityName, Naming};
use warden_core::identity::spiffe_authz::{AuthzDocument, DocumentShape};
use warden_core::nats::subject::Direction;
use warden_sandbox::nats_server::NatsServer;
use warden_sandbox::spiffe_mode::{SpiffeWorld, Svid, signal_reload};

const TD: &str = "tentacular.local";

async fn connect(w: &SpiffeWorld, svid: &Svid, url: &str) -> anyhow::Result<(Client, mpsc::UnboundedReceiver<Event>)> {
    connect_with(w, svid, url, |o| o).await
}

/// Connects with `svid` over mTLS (options adjusted by `tweak`), forwarding
/// every client event to the returned channel.
pub(crate) async fn connect_with(
    w: &SpiffeWorld,
    svid: &Svid,
    url: &str,
    tweak: impl FnOnce(ConnectOptions) -> ConnectOptions,
) -> anyhow::Result<(Client, mpsc::UnboundedReceiver<Event>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let opts = ConnectOptions::new()
        .add_root_certificates(w.bundle_file.clone())
        .add_client_certificate(svid.cert_file.clone(), svid.key_file.clone())
        .require_tls(true)
        .connection_timeout(Duration::from_secs(5))
        .event_callback(move |e| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(e);
            }
        });
    let c = timeout(Duration::from_secs(10), tweak(opts).connect(url)).await??;
    Ok((c, rx))
}

/// Publishes from `from` and reports whether `sub` got it. The flushes order
/// things: the server routes the PUB before answering `from`'s PING, and
/// queues the MSG to the subscriber before its PONG.
pub(crate) async fn delivered(from: &Client, to: &Client, sub: &mut async_nats::Subscriber, subject: &str) -> bool {
    from.publish(subject.to_string(), "x".into()).await.unwrap();
    from.flush().await.unwrap();
    to.flush().await.unwrap();
    matches!(timeout(Duration::from_millis(300), sub.next()).await, Ok(Some(_)))
}

async fn wait_for_event(
    rx: &mut mpsc::UnboundedReceiver<Event>,
    mut want: impl FnMut(&Event) -> bool,
    limit: Duration,
) -> Option<Event> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(e)) if want(&e) => return Some(e),
            Ok(Some(_)) => continue,
            _ => return None,
        }
    }
}

async fn wait_log(server: &NatsServer, needle: &str) -> bool {
    for _ in 0..50 {
        if server.log().contains(needle) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

struct Setup {
    _dir: tempfile::TempDir,
    world: SpiffeWorld,
    server: NatsServer,
    naming: Naming,
    doc: AuthzDocument,
    a: IdentityName,
    b: IdentityName,
}

fn setup(shape: DocumentShape) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mut world = SpiffeWorld::generate(dir.path(), TD).unwrap();
    world.shape = shape;
    let naming = Naming::with_defaults(TD).unwrap();
    let a = IdentityName::parse("tent-dev/hn-digest").unwrap();
    let b = IdentityName::parse("tent-dev/summarizer").unwrap();
    let mut doc = AuthzDocument::new(shape);
    for id in [&a, &b] {
        doc.upsert_scope(&naming.spiffe_id(id), &naming.scope(id)).unwrap();
    }
    world.write_authz(&doc).unwrap();
    let server = NatsServer::start(dir.path(), "spiffe", &world.config_body()).unwrap();
    Setup { _dir: dir, world, server, naming, doc, a, b }
}

#[tokio::test]
async fn spiffe_scope_grant_reload_and_revoke() {
    let Setup { _dir, world, server, naming, mut doc, a, b } = setup(DocumentShape::UsersArray);
    let url = server.url();
    let a_id = naming.spiffe_id(&a);
    let a_svid = world.issue_svid(&a_id).unwrap();
    let b_svid = world.issue_svid(&naming.spiffe_id(&b)).unwrap();

    let (ca, mut a_events) = connect(&world, &a_svid, &url).await.unwrap();
    let (cb, _b_events) = connect(&world, &b_svid, &url).await.unwrap();

    // Own prefix: allowed.
    let own = format!("{}.events", naming.subject_scope(&a).trim_end_matches(".>"));
    let mut own_sub = ca.subscribe(own.clone()).await.unwrap();
    assert!(delivered(&ca, &ca, &mut own_sub, &own).await, "own prefix refused");

    // Another tentacle's prefix: refused, and the server logs the violation.
    let other = format!("{}.in", naming.subject_scope(&b).trim_end_matches(".>"));
    let mut b_sub = cb.subscribe(other.clone()).await.unwrap();
    cb.flush().await.unwrap();
    assert!(!delivered(&ca, &cb, &mut b_sub, &other).await, "cross publish allowed before grant");
    assert!(
        wait_for_event(&mut a_events, |e| matches!(e, Event::ServerError(_)), Duration::from_secs(2)).await.is_some(),
        "no permissions error reported to the publisher"
    );
    assert!(
        wait_log(&server, &format!("Publish Violation - Subject \"{other}\"")).await,
        "violation not logged:\n{}",
        server.log()
    );
    let line = server.log().lines().find(|l| l.contains("Publish Violation")).unwrap().to_string();
    eprintln!("violation line: {line}");
    assert!(line.contains(&a_id), "{line}");

    // The system user (warden's own SVID) reaches $SYS.
    let (sys, _sys_events) = connect(&world, &world.system, &url).await.unwrap();
    let server_id = sys.server_info().server_id.clone();
    let varz = timeout(Duration::from_secs(5), sys.request(format!("$SYS.REQ.SERVER.{server_id}.VARZ"), "".into()))
        .await
        .unwrap()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&varz.payload).unwrap();
    assert_eq!(v["data"]["server_id"], server_id.as_str());

    // Grant, rewrite, reload with $SYS.REQ.SERVER.<id>.RELOAD.
    assert!(doc.grant(&a_id, Direction::Publish, &other).unwrap());
    world.write_authz(&doc).unwrap();
    assert_eq!(world.read_authz().unwrap(), doc);
    let reply = timeout(Duration::from_secs(5), sys.request(format!("$SYS.REQ.SERVER.{server_id}.RELOAD"), "".into()))
        .await
        .unwrap()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
    eprintln!("RELOAD reply: {r}");
    assert_eq!(r["server"]["id"], server_id.as_str(), "{r}");
    assert!(r.get("error").is_none(), "{r}");
    assert!(wait_log(&server, "Reloaded server configuration").await, "{}", server.log());
    // The existing connection gets the new permissions.
    assert!(delivered(&ca, &cb, &mut b_sub, &other).await, "grant not in force after reload");

    // Ungrant, reload by signal: refused again.
    assert!(doc.ungrant(&a_id, Direction::Publish, &other).unwrap());
    world.write_authz(&doc).unwrap();
    let reloads = server.log().matches("Reloaded server configuration").count();
    signal_reload(server.pid().unwrap()).unwrap();
    for _ in 0..100 {
        if server.log().matches("Reloaded server configuration").count() > reloads {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(server.log().matches("Reloaded server configuration").count() > reloads);
    assert!(!delivered(&ca, &cb, &mut b_sub, &other).await, "ungrant not in force after reload");

    // Revoke: the entry goes, reload; the live connection is closed and a
    // fresh connect is refused.
    while a_events.try_recv().is_ok() {}
    let mut disconnects = sys.subscribe("$SYS.ACCOUNT.APP.DISCONNECT").await.unwrap();
    sys.flush().await.unwrap();
    assert!(doc.remove(&a_id));
    world.write_authz(&doc).unwrap();
    let reply = timeout(Duration::from_secs(5), sys.request(format!("$SYS.REQ.SERVER.{server_id}.RELOAD"), "".into()))
        .await
        .unwrap()
        .unwrap();
    assert!(serde_json::from_slice::<serde_json::Value>(&reply.payload).unwrap().get("error").is_none());
    let mut seen = Vec::new();
    let closed = wait_for_event(
        &mut a_events,
        |e| {
            seen.push(e.to_string());
            matches!(e, Event::Disconnected)
        },
        Duration::from_secs(5),
    )
    .await;
    eprintln!("revoked client's events: {seen:?}");
    assert!(closed.is_some(), "revoked client still connected; log:\n{}", server.log());
    // The server says why in the account's DISCONNECT event.
    let ev = timeout(Duration::from_secs(5), disconnects.next()).await.unwrap().unwrap();
    let ev: serde_json::Value = serde_json::from_slice(&ev.payload).unwrap();
    eprintln!("DISCONNECT event: reason={} client={}", ev["reason"], ev["client"]);
    assert_eq!(ev["client"]["user"], a_id.as_str(), "{ev}");
    let refused = connect(&world, &a_svid, &url).await;
    assert!(refused.is_err(), "revoked identity could connect");
    let err = refused.err().unwrap().to_string();
    assert!(err.to_lowercase().contains("authorization"), "{err}");
    eprintln!("fresh connect after revoke: {err}");
    for l in server.log().lines().filter(|l| l.contains("cid:7 ") || l.contains("Reload")) {
        eprintln!("log: {l}");
    }
    // B is untouched.
    let mut b_own = cb.subscribe(format!("{}.still", naming.subject_scope(&b).trim_end_matches(".>"))).await.unwrap();
    assert!(
        delivered(&cb, &cb, &mut b_own, &format!("{}.still", naming.subject_scope(&b).trim_end_matches(".>"))).await
    );
}

#[tokio::test]
async fn spiffe_reload_reply_on_bad_document() {
    let s = setup(DocumentShape::UsersArray);
    let url = s.server.url();
    let (sys, _e) = connect(&s.world, &s.world.system, &url).await.unwrap();
    let id = sys.server_info().server_id.clone();
    // A broken file: the server keeps running the old config and says why.
    std::fs::write(&s.world.authz_file, "users = [ { user: ").unwrap();
    let reply = timeout(Duration::from_secs(5), sys.request(format!("$SYS.REQ.SERVER.{id}.RELOAD"), "".into()))
        .await
        .unwrap()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
    eprintln!("RELOAD reply (bad file): {r}");
    assert!(r.get("error").is_some(), "{r}");
    // Still serving the old authorization.
    let a_svid = s.world.issue_svid(&s.naming.spiffe_id(&s.a)).unwrap();
    assert!(connect(&s.world, &a_svid, &url).await.is_ok());
}

#[tokio::test]
async fn spiffe_authorization_block_layout_and_unknown_svid() {
    let s = setup(DocumentShape::AuthorizationBlock);
    let url = s.server.url();
    let a_svid = s.world.issue_svid(&s.naming.spiffe_id(&s.a)).unwrap();
    let (ca, _e) = connect(&s.world, &a_svid, &url).await.unwrap();
    let own = format!("{}.x", s.naming.subject_scope(&s.a).trim_end_matches(".>"));
    let mut sub = ca.subscribe(own.clone()).await.unwrap();
    assert!(delivered(&ca, &ca, &mut sub, &own).await);
    // The system user still works beside an authorization block.
    let (sys, _s) = connect(&s.world, &s.world.system, &url).await.unwrap();
    let id = sys.server_info().server_id.clone();
    assert!(
        timeout(Duration::from_secs(5), sys.request(format!("$SYS.REQ.SERVER.{id}.VARZ"), "".into()))
            .await
            .unwrap()
            .is_ok()
    );
    // A valid SVID with no entry is refused.
    let stranger = s.world.issue_svid("spiffe://tentacular.local/ns/x/wf/y").unwrap();
    assert!(connect(&s.world, &stranger, &url).await.is_err());
    let _ = &s.doc;
    let _ = &s.b;
}
