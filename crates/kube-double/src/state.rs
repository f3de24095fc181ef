//! The shared state behind the server, and [`KubeState`], the handle tests
//! and the sandbox use to seed and inspect it without HTTP. Every write made
//! here is seen by watches exactly like a write through the API.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::watch;

use super::KubeDoubleConfig;
use super::command::{ExecHandler, ExecOutput, ExecRequest};
use super::errors::ApiError;
use super::faults::{Fault, FaultHits, Faults};
use super::log_store::Logs;
use super::resources::ResourceDef;
use super::spire::SpireState;
use super::store::{Denial, Filter, Store};

pub(crate) struct Shared {
    pub store: Mutex<Store>,
    pub logs: Mutex<Logs>,
    pub spire: Mutex<SpireState>,
    pub exec_handler: Mutex<Option<ExecHandler>>,
    pub faults: Mutex<Faults>,
    /// Latest resourceVersion; wakes watches.
    pub changed: watch::Sender<u64>,
    /// Bumped on every log append or restart; wakes log follows.
    pub logs_changed: watch::Sender<u64>,
    /// Set when the double is dropped; ends every open stream.
    pub shutdown: watch::Sender<bool>,
    pub config: KubeDoubleConfig,
}

/// Locks a mutex, recovering from poisoning (a panicked test thread must
/// not take the whole double down).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn new(config: KubeDoubleConfig) -> Self {
        Shared {
            store: Mutex::new(Store::new(config.watch_history)),
            logs: Mutex::new(Logs::default()),
            spire: Mutex::new(SpireState::default()),
            exec_handler: Mutex::new(None),
            faults: Mutex::new(Faults::default()),
            changed: watch::channel(0).0,
            logs_changed: watch::channel(0).0,
            shutdown: watch::channel(false).0,
            config,
        }
    }

    /// Runs a mutation on the store and wakes watches.
    pub fn mutate<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let (r, rv) = {
            let mut st = lock(&self.store);
            let r = f(&mut st);
            (r, st.rv)
        };
        self.changed.send_replace(rv);
        r
    }

    pub fn bump_logs(&self) {
        self.logs_changed.send_modify(|v| *v += 1);
    }
}

/// Handle to the double's state; cheap to clone.
#[derive(Clone)]
pub struct KubeState {
    pub(crate) shared: Arc<Shared>,
}

/// Splits `apiVersion` into (group, version).
fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

impl KubeState {
    fn def_for(&self, api_version: &str, kind: &str) -> Result<ResourceDef, ApiError> {
        let (g, v) = split_api_version(api_version);
        lock(&self.shared.store)
            .resources()
            .into_iter()
            .find(|d| d.group == g && d.version == v && d.kind == kind)
            .ok_or_else(|| ApiError::bad_request(format!("no resource of kind {kind} in {api_version}")))
    }

    /// Creates or replaces an object as given (status included), assigning
    /// uid/resourceVersion/creationTimestamp; its namespace is created if
    /// missing. Returns the stored object.
    pub fn upsert(&self, obj: Value) -> Result<Value, ApiError> {
        let def = self.def_for(obj["apiVersion"].as_str().unwrap_or(""), obj["kind"].as_str().unwrap_or(""))?;
        self.shared.mutate(|st| st.upsert(&def, obj))
    }

    /// One object; `namespace` is ignored for cluster-scoped kinds.
    pub fn get(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let def = self.def_for(api_version, kind).ok()?;
        lock(&self.shared.store).get(&def, namespace, name).ok()
    }

    /// All objects of a kind, in one namespace or (None) everywhere.
    pub fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        let Ok(def) = self.def_for(api_version, kind) else {
            return Vec::new();
        };
        let filter = Filter { namespace: namespace.map(str::to_string), ..Filter::default() };
        lock(&self.shared.store).list(&def, &filter).0
    }

    pub fn delete(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Result<Value, ApiError> {
        let def = self.def_for(api_version, kind)?;
        self.shared.mutate(|st| st.delete(&def, namespace, name, None))
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        lock(&self.shared.store).rv
    }

    /// Adds a Running pod with the given labels and containers (ready,
    /// restartCount 0). Returns the stored pod.
    pub fn add_pod(&self, namespace: &str, name: &str, labels: &[(&str, &str)], containers: &[&str]) -> Value {
        let labels: serde_json::Map<String, Value> = labels.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        let specs: Vec<Value> =
            containers.iter().map(|c| json!({"name": c, "image": format!("example.invalid/{c}:latest")})).collect();
        let statuses: Vec<Value> = containers
            .iter()
            .map(|c| {
                json!({"name": c, "ready": true, "restartCount": 0, "started": true,
                       "image": format!("example.invalid/{c}:latest"), "imageID": "",
                       "state": {"running": {"startedAt": super::util::now_rfc3339()}}})
            })
            .collect();
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"containers": specs, "nodeName": "double-node"},
            "status": {"phase": "Running", "podIP": "10.0.0.10", "containerStatuses": statuses,
                       "startTime": super::util::now_rfc3339()},
        });
        self.upsert(pod).unwrap_or(Value::Null)
    }

    /// Appends one line to a container's log (follow streams see it).
    pub fn append_pod_log(&self, namespace: &str, pod: &str, container: &str, line: &str) {
        lock(&self.shared.logs).append(namespace, pod, container, line);
        self.shared.bump_logs();
    }

    /// Restarts every container of a pod: bumps `restartCount` (and records
    /// `lastState.terminated`), moves the current log to `previous=true`,
    /// and ends open follow streams, as a container restart does.
    pub fn restart_pod(&self, namespace: &str, pod: &str) -> Result<Value, ApiError> {
        let Some(mut obj) = self.get("v1", "Pod", namespace, pod) else {
            return Err(ApiError::not_found("", "pods", pod));
        };
        let now = super::util::now_rfc3339();
        let mut names = Vec::new();
        if let Some(cs) = obj["status"]["containerStatuses"].as_array_mut() {
            for c in cs.iter_mut().filter(|c| c.is_object()) {
                let n = c["restartCount"].as_i64().unwrap_or(0);
                c["restartCount"] = json!(n + 1);
                c["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": now}});
                c["state"] = json!({"running": {"startedAt": now}});
                names.push(c["name"].as_str().unwrap_or("").to_string());
            }
        }
        lock(&self.shared.logs).restart(namespace, pod, &names);
        self.shared.bump_logs();
        self.upsert(obj)
    }

    /// Replaces the SPIRE registration entries (objects in the CLI's JSON
    /// shape, e.g. from [`super::spire_entry`]).
    pub fn set_spire_entries(&self, entries: Vec<Value>) {
        lock(&self.shared.spire).entries = entries;
    }

    /// Replaces the SPIRE agents (see [`super::spire_agent`]).
    pub fn set_spire_agents(&self, agents: Vec<Value>) {
        lock(&self.shared.spire).agents = agents;
    }

    /// Answers execs before the built-in spire-server emulation; return
    /// None to fall through.
    pub fn set_exec_handler(&self, handler: impl Fn(&ExecRequest) -> Option<ExecOutput> + Send + Sync + 'static) {
        *lock(&self.shared.exec_handler) = Some(Arc::new(handler));
    }

    /// Denies `verb` (`get`, `list`, `watch`, `create`, `update`, `patch`,
    /// `delete`, `deletecollection`, or `*`) on `resource` (plural, or
    /// `pods/log`, `pods/exec`, `x/status`; `*` for all) of `group`, in one
    /// namespace or (None) everywhere. Answers 403 Forbidden.
    pub fn deny(&self, verb: &str, group: &str, resource: &str, namespace: Option<&str>) {
        self.shared.mutate(|st| {
            st.denials.push(Denial {
                verb: verb.into(),
                group: group.into(),
                resource: resource.into(),
                namespace: namespace.map(str::to_string),
            })
        });
    }

    /// Removes every denial rule.
    pub fn clear_denials(&self) {
        self.shared.mutate(|st| st.denials.clear());
    }

    /// Makes a resource (or `*`: a whole group) answer `code` (500, 503...)
    /// on every request; None ends the outage.
    pub fn set_outage(&self, group: &str, resource: &str, code: Option<u16>) {
        let k = (group.to_string(), resource.to_string());
        self.shared.mutate(|st| match code {
            Some(c) => {
                st.outages.insert(k, c);
            }
            None => {
                st.outages.remove(&k);
            }
        });
    }

    /// Injects a fault (see [`Fault`]): the next matching requests fail as
    /// it says, then answer normally. The returned counter says how many
    /// times it fired.
    pub fn inject(&self, fault: Fault) -> FaultHits {
        lock(&self.shared.faults).add(fault)
    }

    /// Removes every injected fault that has not fired yet.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Forgets the watch history: open watches get an ERROR 410 Expired
    /// event, and resuming from any older resourceVersion is 410, so
    /// watchers must relist (as after an etcd compaction).
    pub fn expire_watch_history(&self) {
        self.shared.mutate(|st| st.compact());
    }

    /// Upserts every document of a multi-document YAML manifest (what
    /// `kubectl apply -f` would send: CRDs, RBAC, objects), in order, so a
    /// CRD earlier in the text makes its kind known to later documents.
    /// Empty documents are skipped; `kind: List` items are applied one by
    /// one. Returns the stored objects.
    pub fn apply_manifest(&self, yaml: &str) -> Result<Vec<Value>, ApiError> {
        let mut out = Vec::new();
        for doc in parse_yaml_docs(yaml)? {
            if doc["kind"] == "List" {
                for item in doc["items"].as_array().into_iter().flatten() {
                    out.push(self.upsert(item.clone())?);
                }
            } else {
                out.push(self.upsert(doc)?);
            }
        }
        Ok(out)
    }

    /// Turns on RBAC as an allow-list: with `Some(rules)` (PolicyRule
    /// objects as in a ClusterRole's `rules`) every resource request they
    /// do not allow is 403 Forbidden, worded like the apiserver's
    /// authorizer; discovery (`/api`, `/apis`, `/version`, `/openapi`)
    /// stays open like `system:discovery`. `None` turns it off. Denial
    /// rules ([`Self::deny`]) still apply on top.
    pub fn enforce_rbac(&self, rules: Option<Vec<Value>>) {
        self.shared.mutate(|st| st.rbac = rules);
    }

    /// [`Self::enforce_rbac`] with the union of the rules of every
    /// ClusterRole document in `yaml`.
    pub fn enforce_cluster_role_yaml(&self, yaml: &str) -> Result<(), ApiError> {
        let mut rules = Vec::new();
        for doc in parse_yaml_docs(yaml)? {
            if doc["kind"] == "ClusterRole" {
                rules.extend(doc["rules"].as_array().cloned().unwrap_or_default());
            }
        }
        self.enforce_rbac(Some(rules));
        Ok(())
    }

    /// Follows the global resourceVersion: changes on every write, so
    /// controllers emulated in-process can react to them.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.changed.subscribe()
    }
}

/// The documents of a YAML stream as JSON values (null documents dropped).
fn parse_yaml_docs(yaml: &str) -> Result<Vec<Value>, ApiError> {
    use serde::Deserialize;
    let mut docs = Vec::new();
    for de in serde_yaml::Deserializer::from_str(yaml) {
        let v = Value::deserialize(de).map_err(|e| ApiError::bad_request(format!("error parsing YAML: {e}")))?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}
