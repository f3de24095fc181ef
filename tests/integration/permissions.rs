//! The Permissions view and subject tester from live user JWTs on a real
//! operator-mode server, through the console's worker, update and render.

use std::time::Duration;

use async_nats::ConnectOptions;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use tokio::sync::mpsc;
use warden::app::msg::{Cmd, Msg};
use warden::app::state::AppState;
use warden::app::table::Clock;
use warden::app::update::update;
use warden::app::view_id::ViewId;
use warden::app::worker;
use warden_core::config::{NatsAuth, NatsSettings};
use warden_core::identity::permissions::Source;
use warden_sandbox::nats_server::NatsServer;
use warden_sandbox::operator_mode::{OperatorWorld, UserSpec};

async fn pump(
    s: &mut AppState,
    rx: &mut mpsc::Receiver<Msg>,
    cmds: &mpsc::UnboundedSender<Cmd>,
    what: &str,
    done: impl Fn(&AppState) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done(s) {
        let msg =
            tokio::time::timeout_at(deadline, rx.recv()).await.unwrap_or_else(|_| panic!("timed out: {what}")).unwrap();
        for c in update(s, msg).cmds {
            let _ = cmds.send(c);
        }
    }
}

fn key(s: &mut AppState, c: KeyCode) {
    update(s, Msg::Key(KeyEvent::from(c)));
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_of_connected_users_and_the_subject_tester() {
    let dir = tempfile::tempdir().unwrap();
    let world = OperatorWorld::generate(dir.path()).unwrap();
    let server = NatsServer::start(&dir.path().join("srv"), "op1", world.config_body()).unwrap();

    let a = world.mint_user(&UserSpec::tentacle("tent-dev", "alpha")).unwrap();
    let mut spec_b = UserSpec::tentacle("tent-dev", "beta");
    spec_b.pub_allow.push(">".into()); // an over-broad grant the view must flag
    spec_b.pub_deny.push("tentacular.tent-dev.alpha.>".into());
    let b = world.mint_user(&spec_b).unwrap();
    let mut clients = Vec::new();
    for u in [&a, &b] {
        let c = ConnectOptions::with_credentials_file(u.creds_path.clone().unwrap())
            .await
            .unwrap()
            .connect(server.url())
            .await
            .unwrap();
        c.flush().await.unwrap();
        clients.push(c);
    }

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
    // Two tentacles and warden's own system user, each with its JWT's rules.
    pump(&mut s, &mut rx, &cmds, "every user's rules", |s| s.perm_sets.len() == 3).await;
    let idents: Vec<&str> = s.perm_sets.iter().map(|p| p.identity.as_str()).filter(|i| i.starts_with("tent")).collect();
    assert_eq!(idents, ["tent-dev/alpha", "tent-dev/beta"]);
    let alpha: Vec<_> = s
        .perms
        .rows
        .iter()
        .filter(|r| r.identity == "tent-dev/alpha")
        .map(|r| (r.dir.short(), r.allow, r.subject.as_str(), r.source.clone()))
        .collect();
    assert_eq!(
        alpha,
        [
            ("pub", true, "tentacular.tent-dev.alpha.>", Source::UserJwt),
            ("sub", true, "tentacular.tent-dev.alpha.>", Source::UserJwt),
            ("sub", true, "_INBOX.>", Source::UserJwt),
        ]
    );
    let flagged: Vec<_> = s
        .perms
        .rows
        .iter()
        .filter(|r| r.over_broad && r.identity.starts_with("tent"))
        .map(|r| (r.identity.as_str(), r.subject.as_str()))
        .collect();
    assert_eq!(flagged, [("tent-dev/beta", ">")]);

    // The tester, through the keyboard: 6 (view), t, type a subject.
    key(&mut s, KeyCode::Char('6'));
    assert_eq!(s.view, ViewId::Permissions);
    key(&mut s, KeyCode::Char('t'));
    for c in "tentacular.tent-dev.alpha.events".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Enter);
    let answer: Vec<(String, bool, bool)> = s
        .tester
        .rows
        .iter()
        .filter(|r| r.identity.starts_with("tent"))
        .map(|r| (r.identity.clone(), r.publish.allowed(), r.subscribe.allowed()))
        .collect();
    assert_eq!(
        answer,
        [("tent-dev/alpha".to_string(), true, true), ("tent-dev/beta".to_string(), false, false)],
        "alpha owns the subject; beta's '>' is overridden by its deny"
    );
    let beta = s.tester.rows.iter().find(|r| r.identity == "tent-dev/beta").unwrap();
    assert_eq!(beta.publish.explain(), "denied by tentacular.tent-dev.alpha.> (user JWT)");

    // And the server agrees: beta's publish there is a violation in the log.
    clients[1].publish("tentacular.tent-dev.alpha.events", "x".into()).await.unwrap();
    clients[1].flush().await.unwrap();
    crate::harness::eventually(Duration::from_secs(10), "beta's publish violation logged", || {
        let log = server.log();
        async move { log.contains("Publish Violation - Subject \"tentacular.tent-dev.alpha.events\"").then_some(()) }
    })
    .await;
}
