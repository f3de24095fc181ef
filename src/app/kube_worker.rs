//! The Kubernetes IO task: connects, runs one watch per resource, runs the
//! SPIRE CLI periodically and on demand, and follows the console's one
//! owner of the context ([`super::kube_target::KubeTarget`]): a switch
//! stops every watch and starts them again on the new cluster.

use std::time::Duration;

use tokio::sync::{mpsc, watch as target_watch};
use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, interval};

use super::kube_state::KubeLink;
use super::msg::Msg;
use super::table::Clock;
use warden_core::config::file::KubeSection;
use warden_core::kube::client::{self, KubeConn, KubeSettings};
use warden_core::kube::resources::Watched;
use warden_core::kube::watch::{self, WatchSpec};
use warden_core::spire::exec::{self, SpireServerPod};

#[derive(Debug, Clone, PartialEq)]
pub enum KubeCmd {
    RefreshSpire,
    Quit,
}

pub fn spire_pod(k: &KubeSection) -> SpireServerPod {
    SpireServerPod::from_section(&k.spire)
}

/// The watches warden runs, with their selectors from config. The
/// authorization ConfigMap is watched by name in its namespace (an RBAC
/// rule can then name it: `deploy/rbac/`).
pub fn watch_specs(k: &KubeSection) -> Vec<WatchSpec> {
    let (cm_ns, cm_name) = k.authz_configmap.split_once('/').unwrap_or(("default", k.authz_configmap.as_str()));
    Watched::ALL
        .iter()
        .map(|&w| {
            let mut s = WatchSpec::all(w);
            if w == Watched::AuthzConfigMap {
                s.namespace = Some(cm_ns.to_string());
                s.fields = Some(format!("metadata.name={cm_name}"));
            }
            s
        })
        .collect()
}

/// A worker on `settings` that never switches (reports, tests); it stops
/// when the returned sender is dropped.
pub fn spawn(
    settings: KubeSettings,
    section: KubeSection,
    spire_every: Duration,
    tx: mpsc::Sender<Msg>,
) -> mpsc::UnboundedSender<KubeCmd> {
    let target = super::kube_target::KubeTarget::new(settings);
    spawn_following(target.follow(), section, spire_every, tx).0
}

/// A worker that follows `target`; its task ends on `KubeCmd::Quit` or
/// when the sender is dropped (its watches are aborted first).
pub fn spawn_following(
    target: target_watch::Receiver<KubeSettings>,
    section: KubeSection,
    spire_every: Duration,
    tx: mpsc::Sender<Msg>,
) -> (mpsc::UnboundedSender<KubeCmd>, JoinHandle<()>) {
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(run(target, section, spire_every, tx, cmd_rx));
    (cmd_tx, task)
}

async fn run(
    mut target: target_watch::Receiver<KubeSettings>,
    section: KubeSection,
    spire_every: Duration,
    tx: mpsc::Sender<Msg>,
    mut cmds: mpsc::UnboundedReceiver<KubeCmd>,
) {
    let mut settings = target.borrow_and_update().clone();
    if !section.enabled {
        let _ = tx.send(Msg::KubeLink(KubeLink::Off("Kubernetes is disabled in the config file".into()))).await;
        return;
    }
    loop {
        let _ = tx.send(Msg::KubeLink(KubeLink::Connecting)).await;
        let conn = match client::connect(&settings).await {
            Ok(Ok(c)) => Some(c),
            Ok(Err(off)) => {
                let _ = tx.send(Msg::KubeLink(KubeLink::Off(off.0))).await;
                None
            }
            Err(e) => {
                let _ = tx.send(Msg::KubeLink(KubeLink::Failed(warden_core::error_chain::chain(&e)))).await;
                None
            }
        };
        let mut tasks: Vec<JoinHandle<()>> = Vec::new();
        if let Some(c) = &conn {
            let _ = tx.send(Msg::KubeLink(KubeLink::Connected { context: c.context.clone() })).await;
            let (ktx, mut krx) = mpsc::channel(1024);
            for spec in watch_specs(&section) {
                tasks.push(watch::spawn(c.client.clone(), spec, ktx.clone()));
            }
            let fwd = tx.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(ev) = krx.recv().await {
                    if fwd.send(Msg::Kube(ev)).await.is_err() {
                        break;
                    }
                }
            }));
        }
        let next = serve(conn.as_ref(), &section, spire_every, &tx, &mut cmds, &mut target).await;
        for t in tasks {
            t.abort();
        }
        match next {
            Some(s) => settings = s,
            None => return,
        }
    }
}

/// Runs SPIRE refreshes until a context switch (returns the new settings) or quit.
async fn serve(
    conn: Option<&KubeConn>,
    section: &KubeSection,
    spire_every: Duration,
    tx: &mpsc::Sender<Msg>,
    cmds: &mut mpsc::UnboundedReceiver<KubeCmd>,
    target: &mut target_watch::Receiver<KubeSettings>,
) -> Option<KubeSettings> {
    let pod = spire_pod(section);
    let mut tick = interval(spire_every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            s = super::kube_target::next(target) => return Some(s),
            c = cmds.recv() => match c {
                None | Some(KubeCmd::Quit) => return None,
                Some(KubeCmd::RefreshSpire) => {}
            },
        }
        let Some(c) = conn else { continue };
        // A spire-server that does not answer holds this fetch up to its
        // deadline twice: quitting and switching context must not wait for it.
        let fetch = async {
            let entries = exec::entries(&c.client, &pod).await.map_err(|e| warden_core::error_chain::chain(&e));
            let agents = exec::agents(&c.client, &pod).await.map_err(|e| warden_core::error_chain::chain(&e));
            (entries, agents)
        };
        tokio::pin!(fetch);
        let (entries, agents) = loop {
            tokio::select! {
                r = &mut fetch => break r,
                s = super::kube_target::next(target) => return Some(s),
                c = cmds.recv() => match c {
                    None | Some(KubeCmd::Quit) => return None,
                    // Already fetching.
                    Some(KubeCmd::RefreshSpire) => {}
                },
            }
        };
        if tx.send(Msg::Spire { at: Clock::system(), entries, agents }).await.is_err() {
            return None;
        }
    }
}
