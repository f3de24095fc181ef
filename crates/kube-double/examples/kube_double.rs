//! Runs the Kubernetes API double until interrupted, for poking at it with
//! kubectl: `cargo run -p kube-double --example kube_double -- /tmp/kubeconfig`.

use kube_double::{KubeDouble, KubeDoubleConfig, spire_entry};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "kubeconfig.double".into());
    let double = KubeDouble::start(KubeDoubleConfig::default()).await?;
    double.write_kubeconfig(std::path::Path::new(&path), "double")?;
    let state = double.state();
    state.add_pod("spire", "spire-server-0", &[("app", "spire-server")], &["spire-server"]);
    state.append_pod_log("spire", "spire-server-0", "spire-server", "level=info msg=\"Starting\"");
    state.set_spire_entries(vec![spire_entry(
        "e-1",
        "spiffe://example.org/ns/default/wf/demo",
        "spiffe://example.org/spire/agent/k8s_psat/demo/node-1",
        &["k8s:ns:default"],
    )]);
    eprintln!("kube double at {}; kubeconfig {path}", double.url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
