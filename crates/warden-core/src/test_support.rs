//! Test fixtures shared by the crate's unit tests.

use std::net::SocketAddr;

/// An "API server" on loopback that accepts connections and never says a
/// word: what a hung apiserver or exec looks like to a client. Dropping
/// the handle (or aborting it) stops it.
pub async fn silent_server() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    (addr, hold)
}

/// A joined identity `ns/wl` as the join makes it for a recorded, live
/// user `tentacle.<ns>.<wl>`; tests set what they look at.
pub fn identity(ns: &str, wl: &str, state: crate::identity::join::IdState) -> crate::identity::join::JoinedIdentity {
    crate::identity::join::JoinedIdentity {
        namespace: ns.into(),
        workload: wl.into(),
        user: format!("tentacle.{ns}.{wl}"),
        user_key: String::new(),
        account: String::new(),
        account_key: String::new(),
        scope: String::new(),
        state,
        reason: String::new(),
        expires: None,
        connections: 1,
        live: true,
        recorded: true,
        publish: vec![],
        subscribe: vec![],
        claims_json: String::new(),
    }
}
