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
    /// Longest one command may take (`[spire] exec_timeout`).
    pub deadline: Duration,
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
            // ConfigFile::load refused an invalid one.
            deadline: s.exec_deadline().unwrap_or(EXEC_DEADLINE),
        }
    }
}

impl Default for SpireServerPod {
    fn default() -> Self {
        Self::from_section(&SpireSection::default())
    }
}

/// Longest a spire-server command may take in its pod (exec, output,
/// status), unless `[spire] exec_timeout` says otherwise.
pub const EXEC_DEADLINE: Duration = Duration::from_secs(20);

/// Most stdout a command may print. `entry show` of 100,000 entries is
/// about 60 MiB of JSON; a CLI (or a shell in its place) printing without
/// end must not take the console's memory with it: past this the output is
/// not read further and the command fails saying so.
pub const MAX_OUTPUT: u64 = 256 << 20;
/// Most stderr kept (only its start is shown in an error).
const MAX_STDERR: u64 = 64 << 10;

/// Runs `binary args...` in the pod; stdout on success, stderr in the
/// error; past its deadline an error naming the command.
pub async fn run(client: &Client, at: &SpireServerPod, args: &[&str]) -> Result<Vec<u8>> {
    run_within(client, at, args, at.deadline).await
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
    run_limited(client, at, args, MAX_OUTPUT).await
}

/// [`run`] keeping at most `max_output` bytes of stdout, with no deadline.
pub async fn run_limited(client: &Client, at: &SpireServerPod, args: &[&str], max_output: u64) -> Result<Vec<u8>> {
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
    // Bounded reads: one byte past the limit says the output was longer.
    // The rest is never read (the exec is dropped with its stream).
    // stdout stops one byte past the limit; stderr is drained (keeping its
    // start) so it never blocks stdout. Once stdout is over the limit the
    // command is left running unread: the exec's streams share one
    // connection, so waiting for its stderr to end would wait forever.
    {
        let mut so = (&mut so).take(max_output + 1);
        let stdout = so.read_to_end(&mut out);
        let stderr = keep_start(&mut se, MAX_STDERR, &mut err);
        tokio::pin!(stdout, stderr);
        let mut stderr_done = None;
        let a = loop {
            tokio::select! {
                a = &mut stdout => break a,
                b = &mut stderr, if stderr_done.is_none() => stderr_done = Some(b),
            }
        };
        a?;
        if out.len() as u64 > max_output {
            bail!("{} printed more than {} MiB: output not read further", cmd.join(" "), max_output >> 20);
        }
        match stderr_done {
            Some(b) => b?,
            None => stderr.await?,
        }
    }
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

/// Reads `r` to its end, keeping its first `keep` bytes in `into`.
async fn keep_start(r: &mut (impl tokio::io::AsyncRead + Unpin), keep: u64, into: &mut Vec<u8>) -> std::io::Result<()> {
    let mut chunk = [0u8; 8192];
    loop {
        let n = r.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        let room = (keep as usize).saturating_sub(into.len()).min(n);
        into.extend_from_slice(&chunk[..room]);
    }
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
