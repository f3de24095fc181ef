//! The one owner of "which Kubernetes cluster": the console holds the
//! [`KubeTarget`]; every worker that talks to Kubernetes (the views'
//! watches, the action worker, the pod-log follower) follows a receiver of
//! it, so after `:ctx B` they all read and write in B.

use tokio::sync::watch;

use warden_core::kube::client::KubeSettings;

pub struct KubeTarget {
    tx: watch::Sender<KubeSettings>,
}

impl KubeTarget {
    pub fn new(settings: KubeSettings) -> KubeTarget {
        KubeTarget { tx: watch::Sender::new(settings) }
    }

    /// A receiver for a worker; it sees every switch from now on.
    pub fn follow(&self) -> watch::Receiver<KubeSettings> {
        self.tx.subscribe()
    }

    /// `:ctx name`: every follower moves to this context.
    pub fn switch(&self, context: &str) {
        self.tx.send_modify(|s| s.context = Some(context.to_string()));
    }

    pub fn current(&self) -> KubeSettings {
        self.tx.borrow().clone()
    }
}

/// Waits for the next switch; never returns when the owner is gone (the
/// settings then never change again).
pub async fn next(rx: &mut watch::Receiver<KubeSettings>) -> KubeSettings {
    if rx.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
    rx.borrow_and_update().clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn followers_see_a_switch() {
        let t = KubeTarget::new(KubeSettings { kubeconfig: None, context: Some("a".into()) });
        let mut f = t.follow();
        t.switch("b");
        assert_eq!(next(&mut f).await.context.as_deref(), Some("b"));
        assert_eq!(t.current().context.as_deref(), Some("b"));
    }
}
