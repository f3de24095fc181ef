//! A real 3-server JetStream cluster in operator mode (full resolver), and
//! `warden doctor -o json` run against it as the system user.
//!
//! Clustered JetStream needs `server_name` and `cluster.name`
//! (nats-server `server/jetstream.go` `validateJetStreamOptions`) and routes
//! configured at start; each server keeps its own store and resolver
//! directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_nats::jetstream;
use serde_json::Value;
use warden_sandbox::nats_server::{NatsServer, free_port};
use warden_sandbox::operator_mode::OperatorWorld;

use crate::harness::{eventually, warden};

/// Long enough for a meta leader election and stream placement on a busy machine.
pub const LIMIT: Duration = Duration::from_secs(60);

pub struct JsCluster {
    pub world: OperatorWorld,
    pub servers: Vec<NatsServer>,
    // Dropped last: the servers write into it.
    pub dir: tempfile::TempDir,
}

impl JsCluster {
    pub fn start() -> JsCluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let world = OperatorWorld::generate(dir.path()).expect("generate world");
        let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let servers = (0..3)
            .map(|i| {
                let name = format!("js{}", i + 1);
                let own = dir.path().join(&name);
                std::fs::create_dir_all(own.join("jwt")).expect("resolver dir");
                let peers: Vec<String> = routes
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, p)| format!("\"nats-route://127.0.0.1:{p}\""))
                    .collect();
                let body = format!(
                    "{}\ncluster {{\n  name: djs\n  listen: \"127.0.0.1:{}\"\n  routes: [{}]\n}}\n",
                    world.config_body_in(&own),
                    routes[i],
                    peers.join(", ")
                );
                NatsServer::start(&own, &name, &body).expect("start cluster member")
            })
            .collect();
        JsCluster { world, servers, dir }
    }

    pub fn url(&self) -> String {
        self.servers[0].url()
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `warden doctor -o json` as the system user.
    pub fn doctor(&self) -> Value {
        let (url, creds) = (self.url(), self.world.sys_creds_path.display().to_string());
        let out = warden(&self.home(), &["doctor", "-o", "json"], &[("NATS_URL", &url), ("NATS_CREDS", &creds)]);
        assert!(out.status.success(), "doctor failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("doctor JSON")
    }

    pub async fn connect(&self, creds: &Path, name: &str) -> async_nats::Client {
        async_nats::ConnectOptions::with_credentials_file(creds)
            .await
            .expect("read creds")
            .name(name)
            .connect(self.url())
            .await
            .unwrap_or_else(|e| panic!("{name} connects: {e}"))
    }

    pub async fn sys(&self) -> async_nats::Client {
        self.connect(&self.world.sys_creds_path.clone(), "djs-sys").await
    }
}

/// A JetStream context once the cluster has a meta leader (account info is
/// answered by it in clustered mode).
pub async fn ready(client: async_nats::Client) -> jetstream::Context {
    let js = jetstream::new(client);
    eventually(LIMIT, "a JetStream meta leader", || {
        let js = js.clone();
        async move { js.query_account().await.ok() }
    })
    .await;
    js
}

/// The findings of `code`.
pub fn findings<'a>(v: &'a Value, code: &str) -> Vec<&'a Value> {
    v["findings"].as_array().expect("findings").iter().filter(|f| f["code"] == code).collect()
}

/// The doctor read every NATS source it needs (so an absent finding is
/// absent, not unexamined).
pub fn examined(v: &Value) -> bool {
    let unavailable = v["unavailable"].as_array().expect("unavailable");
    !unavailable
        .iter()
        .filter_map(Value::as_str)
        .any(|u| ["NATS", "VARZ", "CONNZ", "accounts", "JSZ"].iter().any(|s| u.starts_with(&format!("{s}:"))))
}
