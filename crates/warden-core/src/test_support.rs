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
