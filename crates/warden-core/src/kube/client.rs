//! Connecting to Kubernetes: kubeconfig (several files in `KUBECONFIG`,
//! `--kubeconfig`, `--kube-context`), in-cluster config, or no Kubernetes at
//! all (then every Kubernetes panel says why it is empty).

use std::path::PathBuf;

use anyhow::{Context, Result};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct KubeSettings {
    /// An explicit kubeconfig file (otherwise `KUBECONFIG`, then `~/.kube/config`).
    pub kubeconfig: Option<PathBuf>,
    /// The context to use (otherwise the kubeconfig's current context).
    pub context: Option<String>,
}

/// A connected client and the name of its context ("in-cluster" inside a pod).
#[derive(Clone)]
pub struct KubeConn {
    pub client: Client,
    pub context: String,
    pub default_namespace: String,
}

/// Why there is no Kubernetes connection, in words for the panel.
#[derive(Debug, Clone, PartialEq)]
pub struct NoKube(pub String);

fn default_kubeconfig() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let p = PathBuf::from(home).join(".kube/config");
    p.is_file().then_some(p)
}

fn in_cluster() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
}

/// The kubeconfig warden would read, merged like kubectl does for `KUBECONFIG`.
pub fn load_kubeconfig(s: &KubeSettings) -> Result<Option<Kubeconfig>> {
    if let Some(p) = &s.kubeconfig {
        return Kubeconfig::read_from(p).map(Some).with_context(|| format!("reading kubeconfig {}", p.display()));
    }
    if let Some(kc) = Kubeconfig::from_env().context("reading KUBECONFIG")? {
        return Ok(Some(kc));
    }
    match default_kubeconfig() {
        Some(p) => Kubeconfig::read_from(&p).map(Some).with_context(|| format!("reading {}", p.display())),
        None => Ok(None),
    }
}

/// Context names of the kubeconfig, for `:ctx` completion.
pub fn context_names(s: &KubeSettings) -> Vec<String> {
    load_kubeconfig(s).ok().flatten().map(|kc| kc.contexts.into_iter().map(|c| c.name).collect()).unwrap_or_default()
}

/// Connects, or says why not. A broken kubeconfig is an error; no
/// kubeconfig and no cluster is `Ok(Err(NoKube))`.
pub async fn connect(s: &KubeSettings) -> Result<Result<KubeConn, NoKube>> {
    connect_inner(s, None).await
}

/// [`connect`] for a client that only makes requests (actions, never
/// watches): each request must be answered within `per_request` (read and
/// write), so a write to an API server that stopped answering fails, and the
/// action's step that made it says so.
pub async fn connect_bounded(s: &KubeSettings, per_request: std::time::Duration) -> Result<Result<KubeConn, NoKube>> {
    connect_inner(s, Some(per_request)).await
}

async fn connect_inner(s: &KubeSettings, per_request: Option<std::time::Duration>) -> Result<Result<KubeConn, NoKube>> {
    let opts = KubeConfigOptions { context: s.context.clone(), ..Default::default() };
    let (config, context) = match load_kubeconfig(s)? {
        Some(kc) => {
            let ctx = s.context.clone().or_else(|| kc.current_context.clone()).unwrap_or_default();
            let cfg = Config::from_custom_kubeconfig(kc, &opts)
                .await
                .with_context(|| format!("kubeconfig context {ctx:?}"))?;
            (cfg, ctx)
        }
        None if in_cluster() => (Config::incluster().context("in-cluster config")?, "in-cluster".to_string()),
        None => {
            return Ok(Err(NoKube(
                "no Kubernetes: no kubeconfig (KUBECONFIG, ~/.kube/config, --kubeconfig) and not running in a cluster"
                    .into(),
            )));
        }
    };
    let default_namespace = config.default_namespace.clone();
    // kube-rs retries 429/503/504 inside each request (up to minutes); the
    // watch tasks have their own backoff and must see an outage at once so
    // the panel can say its data is stale.
    let mut config = config;
    config.default_retry = false;
    if let Some(d) = per_request {
        config.connect_timeout = Some(d);
        config.read_timeout = Some(d);
        config.write_timeout = Some(d);
    }
    let client = Client::try_from(config).context("building the Kubernetes client")?;
    Ok(Ok(KubeConn { client, context, default_namespace }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_bounded_client_gives_up_on_an_api_server_that_never_answers() {
        let (addr, hold) = crate::test_support::silent_server().await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://{addr}\n\
                 contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n\
                 users:\n- name: u\n  user:\n    token: t\n"
            ),
        )
        .unwrap();
        let s = KubeSettings { kubeconfig: Some(path), context: None };
        let c = connect_bounded(&s, Duration::from_millis(300)).await.unwrap().unwrap();
        let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> = kube::Api::namespaced(c.client, "default");
        let started = std::time::Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(5), api.get_opt("nats-authz")).await;
        assert!(matches!(r, Ok(Err(_))), "no error within the deadline: {r:?}");
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        hold.abort();
    }
}
