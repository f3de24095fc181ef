//! Running the spire-server CLI inside the spire-server pod (pods/exec), as
//! operators do with `kubectl exec`.

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, AttachParams};
use std::time::Duration;

use tokio::io::AsyncReadExt;

use super::model::{Agent, Entry, parse_agents, parse_entries};
use crate::config::file::SpireSection;

/// Where the spire-server runs.
#[derive(Debug, Clone, PartialEq)]
pub struct SpireServerPod {
    pub namespace: String,
    pub pod: String,
    pub container: Option<String>,
    /// Path of the CLI inside the container.
    pub binary: String,
    /// The server's admin socket, passed as `-socketPath` (empty: the CLI's default).
    pub socket_path: String,
}

impl SpireServerPod {
    /// From the `[spire]` config section.
    pub fn from_section(s: &SpireSection) -> SpireServerPod {
        SpireServerPod {
            namespace: s.namespace.clone(),
            pod: s.pod.clone(),
            container: (!s.container.is_empty()).then(|| s.container.clone()),
            binary: s.binary.clone(),
            socket_path: s.socket_path.clone(),
        }
    }
}

impl Default for SpireServerPod {
    fn default() -> Self {
        Self::from_section(&SpireSection::default())
    }
}

/// Longest a spire-server command may take in its pod (exec, output, status).
pub const EXEC_DEADLINE: Duration = Duration::from_secs(20);

/// Runs `binary args...` in the pod; stdout on success, stderr in the
/// error; past [`EXEC_DEADLINE`] an error naming the command.
pub async fn run(client: &Client, at: &SpireServerPod, args: &[&str]) -> Result<Vec<u8>> {
    run_within(client, at, args, EXEC_DEADLINE).await
}

/// [`run`] with its own deadline.
pub async fn run_within(client: &Client, at: &SpireServerPod, args: &[&str], limit: Duration) -> Result<Vec<u8>> {
    let what = format!(
        "spire-server {} in {}/{}",
        args.iter().take(2).cloned().collect::<Vec<_>>().join(" "),
        at.namespace,
        at.pod
    );
    match tokio::time::timeout(limit, run_unbounded(client, at, args)).await {
        Ok(r) => r,
        Err(_) => bail!("{what}: no answer within {limit:?}"),
    }
}

async fn run_unbounded(client: &Client, at: &SpireServerPod, args: &[&str]) -> Result<Vec<u8>> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &at.namespace);
    let mut cmd = vec![at.binary.as_str()];
    cmd.extend_from_slice(args);
    if !at.socket_path.is_empty() {
        cmd.extend_from_slice(&["-socketPath", at.socket_path.as_str()]);
    }
    let mut ap = AttachParams::default().stdout(true).stderr(true).stdin(false);
    if let Some(c) = &at.container {
        ap = ap.container(c.clone());
    }
    let mut proc =
        pods.exec(&at.pod, cmd.clone(), &ap).await.with_context(|| format!("exec in {}/{}", at.namespace, at.pod))?;
    let mut out = Vec::new();
    let mut err = Vec::new();
    let (mut so, mut se) = (proc.stdout().context("no stdout")?, proc.stderr().context("no stderr")?);
    let status = proc.take_status();
    let (a, b) = tokio::join!(so.read_to_end(&mut out), se.read_to_end(&mut err));
    a?;
    b?;
    if let Some(st) = status
        && let Some(s) = st.await
        && s.status.as_deref() == Some("Failure")
    {
        bail!(
            "{} failed: {}{}",
            cmd.join(" "),
            s.message.unwrap_or_default(),
            String::from_utf8_lossy(&err).trim().chars().take(300).collect::<String>()
        );
    }
    let _ = proc.join().await;
    Ok(out)
}

pub async fn entries(client: &Client, at: &SpireServerPod) -> Result<Vec<Entry>> {
    let out = run(client, at, &["entry", "show", "-output", "json"]).await?;
    parse_entries(&out).map_err(anyhow::Error::msg)
}

pub async fn agents(client: &Client, at: &SpireServerPod) -> Result<Vec<Agent>> {
    let out = run(client, at, &["agent", "list", "-output", "json"]).await?;
    parse_agents(&out).map_err(anyhow::Error::msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_exec_that_never_answers_fails_naming_the_command() {
        let (addr, hold) = crate::test_support::silent_server().await;
        let cfg = kube::Config::new(format!("http://{addr}").parse().unwrap());
        let client = Client::try_from(cfg).unwrap();
        let at = SpireServerPod::default();
        let e = run_within(&client, &at, &["entry", "show", "-output", "json"], Duration::from_millis(300))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("spire-server entry show in {}/{}: no answer within 300ms", at.namespace, at.pod)
        );
        hold.abort();
    }
}
