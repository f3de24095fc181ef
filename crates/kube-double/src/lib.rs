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
mod faults;
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
mod tls;
mod util;
mod watch;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use command::{ExecOutput, ExecRequest};
pub use errors::ApiError;
pub use faults::{Effect, Fault, FaultHits, Gate};
pub use resources::ResourceDef;
pub use spire::{spiffe_id_json, spire_agent, spire_entry};
pub use state::KubeState;

use state::Shared;

/// kubectl on PATH, for the tests that run it against the double. A test
/// that needs it fails saying so when it is missing (never passes without
/// checking): `scripts/test.sh` installs it.
pub fn kubectl_on_path() -> std::path::PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("kubectl is not on PATH: this test runs it; run scripts/test.sh (it installs kubectl) or install it")
        })
}

/// How the double behaves.
#[derive(Clone)]
pub struct KubeDoubleConfig {
    /// The user named in 403 messages.
    pub user: String,
    /// The bearer token the kubeconfig carries; a request without it is
    /// 401 Unauthorized. Random unless set.
    pub token: String,
    /// Watch events kept; resuming from before them is 410 Gone.
    pub watch_history: usize,
    /// Period of BOOKMARK events on watches that allow them.
    pub bookmark_interval: Duration,
    /// Namespaces present at start.
    pub namespaces: Vec<String>,
    /// Filled in by `start` (host:port), shown in `/api`.
    pub server_address: String,
}

/// The token never prints.
impl std::fmt::Debug for KubeDoubleConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeDoubleConfig")
            .field("user", &self.user)
            .field("token", &"***")
            .field("watch_history", &self.watch_history)
            .field("bookmark_interval", &self.bookmark_interval)
            .field("namespaces", &self.namespaces)
            .field("server_address", &self.server_address)
            .finish()
    }
}

impl Default for KubeDoubleConfig {
    fn default() -> Self {
        KubeDoubleConfig {
            user: "warden".into(),
            token: random_token(),
            watch_history: 1000,
            bookmark_interval: Duration::from_secs(1),
            namespaces: vec!["default".into(), "kube-system".into()],
            server_address: String::new(),
        }
    }
}

/// 32 bytes from the kernel's random source, as 52 base32 characters (the
/// shape of a ServiceAccount-style opaque token: no one can guess it).
pub fn random_token() -> String {
    use std::io::Read;
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .expect("reading /dev/urandom for the double's token");
    data_encoding::BASE32_NOPAD.encode(&b).to_ascii_lowercase()
}

/// A running double; the server stops (and open streams end) on drop.
pub struct KubeDouble {
    addr: SocketAddr,
    state: KubeState,
    /// The CA of the serving certificate (PEM), in every kubeconfig.
    ca_pem: String,
    task: tokio::task::JoinHandle<()>,
}

impl KubeDouble {
    /// Binds 127.0.0.1 on a free port and serves HTTPS (a certificate of a
    /// CA made now) in the current tokio runtime.
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
        let tls = tls::make()?;
        let task = tokio::spawn(tls::serve(listener, tls.acceptor, app));
        Ok(KubeDouble { addr, state, ca_pem: tls.ca_pem, task })
    }

    /// `https://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The CA certificate (PEM) the server's certificate is issued by.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// [`Self::ca_pem`] base64-encoded: a kubeconfig's `certificate-authority-data`.
    pub fn ca_data(&self) -> String {
        data_encoding::BASE64.encode(self.ca_pem.as_bytes())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token clients must present.
    pub fn token(&self) -> &str {
        &self.state.shared.config.token
    }

    /// Writes a kubeconfig (mode 0600: it holds the token) whose current
    /// context `context_name` points at this double, with namespace `default`.
    pub fn write_kubeconfig(&self, path: &Path, context_name: &str) -> std::io::Result<()> {
        let c = &self.state.shared.config;
        kubeconfig::write(path, &self.url(), &self.ca_pem, context_name, &c.user, &c.token)
    }

    /// The kubeconfig text `write_kubeconfig` writes.
    pub fn kubeconfig_yaml(&self, context_name: &str) -> String {
        let c = &self.state.shared.config;
        kubeconfig::render(&self.url(), &self.ca_pem, context_name, &c.user, &c.token)
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
