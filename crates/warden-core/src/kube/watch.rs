//! Watch tasks: one per resource, list+watch with backoff, relisting on 410.
//! They send whole-state resets and single changes, so a consumer can keep
//! a store per panel and mark it stale on errors without losing it.

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::errors::describe_watch;
use super::resources::Watched;

#[derive(Debug, Clone, PartialEq)]
pub struct WatchSpec {
    pub what: Watched,
    /// None: all namespaces (or cluster-scoped).
    pub namespace: Option<String>,
    pub labels: Option<String>,
    pub fields: Option<String>,
}

impl WatchSpec {
    pub fn all(what: Watched) -> WatchSpec {
        WatchSpec { what, namespace: None, labels: None, fields: None }
    }
}

#[derive(Debug, Clone)]
pub enum Change {
    /// The complete current set (after the initial list or a relist).
    Reset(Vec<DynamicObject>),
    Applied(DynamicObject),
    Deleted(DynamicObject),
    /// The watch failed; it retries with backoff. The store is now stale.
    Error(String),
}

#[derive(Debug, Clone)]
pub struct KubeEvent {
    pub what: Watched,
    pub change: Change,
}

fn api_for(client: &Client, spec: &WatchSpec) -> Api<DynamicObject> {
    let ar = spec.what.api_resource();
    match (&spec.namespace, spec.what.cluster_scoped()) {
        (_, true) | (None, false) => Api::all_with(client.clone(), &ar),
        (Some(ns), false) => Api::namespaced_with(client.clone(), ns, &ar),
    }
}

pub fn spawn(client: Client, spec: WatchSpec, tx: mpsc::Sender<KubeEvent>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let api = api_for(&client, &spec);
        let mut cfg = watcher::Config::default();
        if let Some(l) = &spec.labels {
            cfg = cfg.labels(l);
        }
        if let Some(f) = &spec.fields {
            cfg = cfg.fields(f);
        }
        let resource = spec.what.resource_name();
        let what = spec.what;
        let mut stream = watcher(api, cfg).default_backoff().boxed();
        let mut buffer: Vec<DynamicObject> = Vec::new();
        while let Some(item) = stream.next().await {
            let change = match item {
                Ok(watcher::Event::Init) => {
                    buffer.clear();
                    continue;
                }
                Ok(watcher::Event::InitApply(o)) => {
                    buffer.push(o);
                    continue;
                }
                Ok(watcher::Event::InitDone) => Change::Reset(std::mem::take(&mut buffer)),
                Ok(watcher::Event::Apply(o)) => Change::Applied(o),
                Ok(watcher::Event::Delete(o)) => Change::Deleted(o),
                Err(e) => {
                    tracing::warn!(%resource, "watch: {e}");
                    Change::Error(describe_watch(&e, &resource))
                }
            };
            if tx.send(KubeEvent { what, change }).await.is_err() {
                break;
            }
        }
    })
}
