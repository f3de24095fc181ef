//! A Kubernetes API double: a real HTTP server on loopback speaking the
//! Kubernetes wire protocol, for tests, `warden sandbox` and kubectl.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use kube_double::{KubeDouble, KubeDoubleConfig};
//! let double = KubeDouble::start(KubeDoubleConfig::default()).await?;
//! let dir = tempfile::tempdir()?;
//! double.write_kubeconfig(&dir.path().join("config"), "sandbox")?;
//! double.state().add_pod("spire", "spire-server-0", &[("app", "spire-server")], &["spire-server"]);
//! # Ok(()) }
//! ```

mod access_review;
mod command;
mod discovery;
mod errors;
mod exec;
mod kubeconfig;
mod log_store;
mod logs;
mod managed;
mod openapi;
mod patch;
mod rbac;
mod resources;
mod schema;
mod selectors;
mod server;
mod spire;
mod state;
mod store;
mod table;
mod util;
mod watch;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use command::{ExecOutput, ExecRequest};
pub use errors::ApiError;
pub use resources::ResourceDef;
pub use spire::{spiffe_id_json, spire_agent, spire_entry};
pub use state::KubeState;

use state::Shared;

/// How the double behaves.
#[derive(Debug, Clone)]
pub struct KubeDoubleConfig {
    /// The user named in 403 messages.
    pub user: String,
    /// The bearer token the kubeconfig carries; other tokens get 401.
    pub token: String,
    /// Also answer 401 to requests without a token. Off by default because
    /// kubectl sends no credentials to a plain-http server.
    pub require_token: bool,
    /// Watch events kept; resuming from before them is 410 Gone.
    pub watch_history: usize,
    /// Period of BOOKMARK events on watches that allow them.
    pub bookmark_interval: Duration,
    /// Namespaces present at start.
    pub namespaces: Vec<String>,
    /// Filled in by `start` (host:port), shown in `/api`.
    pub server_address: String,
}

impl Default for KubeDoubleConfig {
    fn default() -> Self {
        KubeDoubleConfig {
            user: "warden".into(),
            token: "warden-double-token".into(),
            require_token: false,
            watch_history: 1000,
            bookmark_interval: Duration::from_secs(1),
            namespaces: vec!["default".into(), "kube-system".into()],
            server_address: String::new(),
        }
    }
}

/// A running double; the server stops (and open streams end) on drop.
pub struct KubeDouble {
    addr: SocketAddr,
    state: KubeState,
    task: tokio::task::JoinHandle<()>,
}

impl KubeDouble {
    /// Binds 127.0.0.1 on a free port and serves in the current tokio
    /// runtime.
    pub async fn start(mut config: KubeDoubleConfig) -> std::io::Result<KubeDouble> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        config.server_address = addr.to_string();
        let namespaces = config.namespaces.clone();
        let shared = Arc::new(Shared::new(config));
        let state = KubeState { shared: shared.clone() };
        for ns in namespaces {
            let _ = state.upsert(serde_json::json!({
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}
            }));
        }
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let shared = shared.clone();
            async move { server::handle(shared, req).await }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(KubeDouble { addr, state, task })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token clients must present.
    pub fn token(&self) -> &str {
        &self.state.shared.config.token
    }

    /// Writes a kubeconfig (mode 0600) whose current context `context_name`
    /// points at this double, with namespace `default`.
    pub fn write_kubeconfig(&self, path: &Path, context_name: &str) -> std::io::Result<()> {
        let c = &self.state.shared.config;
        kubeconfig::write(path, &self.url(), context_name, &c.user, &c.token)
    }

    /// The kubeconfig text `write_kubeconfig` writes.
    pub fn kubeconfig_yaml(&self, context_name: &str) -> String {
        let c = &self.state.shared.config;
        kubeconfig::render(&self.url(), context_name, &c.user, &c.token)
    }

    /// Handle to seed and inspect the state from Rust.
    pub fn state(&self) -> KubeState {
        self.state.clone()
    }
}

impl Drop for KubeDouble {
    fn drop(&mut self) {
        self.state.shared.shutdown.send_replace(true);
        self.task.abort();
    }
}
