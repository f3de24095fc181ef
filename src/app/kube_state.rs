//! What warden knows from Kubernetes: one store per watched resource, each
//! with its own freshness and error, so one refused resource does not blank
//! the others.

use std::collections::BTreeMap;

use kube::api::DynamicObject;

use warden_core::kube::resources::Watched;
use warden_core::kube::watch::{Change, KubeEvent};
use warden_core::spire::model::{Agent, Entry};

#[derive(Debug, Clone, PartialEq)]
pub enum KubeLink {
    /// Not configured or not reachable by design: the reason, for the panels.
    Off(String),
    Connecting,
    Connected {
        context: String,
    },
    Failed(String),
}

#[derive(Debug, Clone, Default)]
pub struct Store {
    /// By (namespace, name); cluster-scoped objects have an empty namespace.
    pub objects: BTreeMap<(String, String), DynamicObject>,
    /// The initial list arrived.
    pub synced: bool,
    /// The watch is failing (it retries); objects are as last seen.
    pub error: Option<String>,
}

/// Result of the last SPIRE CLI run, kept with its time.
#[derive(Debug, Clone, Default)]
pub struct SpireData {
    pub entries: Vec<Entry>,
    pub agents: Vec<Agent>,
    pub fetched_at: Option<i64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct KubeState {
    pub link: KubeLink,
    pub stores: BTreeMap<Watched, Store>,
    pub spire: SpireData,
}

impl Default for KubeState {
    fn default() -> Self {
        KubeState { link: KubeLink::Connecting, stores: BTreeMap::new(), spire: SpireData::default() }
    }
}

fn key_of(o: &DynamicObject) -> (String, String) {
    (o.metadata.namespace.clone().unwrap_or_default(), o.metadata.name.clone().unwrap_or_default())
}

impl KubeState {
    pub fn apply(&mut self, ev: KubeEvent) {
        let store = self.stores.entry(ev.what).or_default();
        match ev.change {
            Change::Reset(all) => {
                store.objects = all.into_iter().map(|o| (key_of(&o), o)).collect();
                store.synced = true;
                store.error = None;
            }
            Change::Applied(o) => {
                store.objects.insert(key_of(&o), o);
                store.error = None;
            }
            Change::Deleted(o) => {
                store.objects.remove(&key_of(&o));
            }
            Change::Error(e) => store.error = Some(e),
        }
    }

    pub fn store(&self, w: Watched) -> Option<&Store> {
        self.stores.get(&w)
    }

    pub fn objects(&self, w: Watched) -> impl Iterator<Item = &DynamicObject> {
        self.stores.get(&w).into_iter().flat_map(|s| s.objects.values())
    }

    /// Why a panel fed by `w` may be empty or old, if it is.
    pub fn problem(&self, w: Watched) -> Option<String> {
        match &self.link {
            KubeLink::Off(r) | KubeLink::Failed(r) => return Some(r.clone()),
            KubeLink::Connecting => return Some("connecting to Kubernetes…".into()),
            KubeLink::Connected { .. } => {}
        }
        match self.stores.get(&w) {
            None => Some(format!("listing {}…", w.resource_name())),
            Some(s) if s.error.is_some() => s.error.clone(),
            Some(s) if !s.synced => Some(format!("listing {}…", w.resource_name())),
            Some(_) => None,
        }
    }
}
