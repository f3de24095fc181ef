//! kubectl against the double, shared by the conformance and strict tests.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::AsyncWriteExt;

pub use kube_double::kubectl_on_path as kubectl;

pub async fn run_kubectl(bin: &Path, kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.arg("--kubeconfig").arg(kubeconfig).args(args);
    cmd.env("HOME", kubeconfig.parent().unwrap());
    cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut si = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        si.write_all(s.as_bytes()).await.unwrap();
    }
    drop(si);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("kubectl in time")
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `k(args, stdin)`: kubectl against `kubeconfig`, asserting success; its stdout.
pub fn kubectl_ok(
    bin: PathBuf,
    kubeconfig: PathBuf,
) -> impl Fn(Vec<&'static str>, Option<String>) -> std::pin::Pin<Box<dyn std::future::Future<Output = String> + Send>> {
    move |args, stdin| {
        let (bin, kc) = (bin.clone(), kubeconfig.clone());
        Box::pin(async move {
            let r = run_kubectl(&bin, &kc, &args, stdin.as_deref()).await;
            assert!(r.0, "kubectl {args:?} failed:\nstdout: {}\nstderr: {}", r.1, r.2);
            r.1
        })
    }
}
