//! The authorization ConfigMap as a versioned store: read, modify, write back
//! only if unchanged, retrying a bounded number of times on conflicts.

use super::prelude::*;

/// How many times a ConfigMap write is retried after a 409 Conflict.
pub const MAX_ATTEMPTS: u32 = 5;

/// The ConfigMap's key as read: its text and the object's resourceVersion
/// (`None`: no ConfigMap at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub text: Option<String>,
    pub version: Option<String>,
}

/// How a conditional write went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Written; the new resourceVersion.
    Done(String),
    /// Someone else changed (or created) it first: 409.
    Conflict,
}

/// Where the authorization document is stored (the ConfigMap; a fake in tests).
pub trait AuthzStore: Send + Sync {
    fn read(&self) -> impl Future<Output = Result<Versioned>> + Send;
    /// Writes `text` if the object is still at `version` (`None`: create it).
    fn write(&self, text: &str, version: Option<&str>) -> impl Future<Output = Result<Written>> + Send;
    /// How to name it in reports.
    fn describe(&self) -> String;
}

/// The outcome of [`modify_authz`].
#[derive(Debug, Clone)]
pub struct Modified {
    /// The document changed and was written.
    pub changed: bool,
    /// Reads it took (1 without conflicts).
    pub attempts: u32,
    /// The document as stored now.
    pub doc: AuthzDocument,
    /// Its text as stored now (what the include file must become).
    pub text: String,
    pub version: Option<String>,
}

/// Reads the document, applies `f` (which says whether it changed
/// anything), and writes it back conditionally on the version read; on a
/// conflict it starts over from a fresh read, at most `max_attempts` times.
/// `f` must be a pure function of the document (it may run more than once).
pub async fn modify_authz<S: AuthzStore>(
    store: &S,
    max_attempts: u32,
    mut f: impl FnMut(&mut AuthzDocument) -> Result<bool, AuthzError> + Send,
) -> Result<Modified> {
    for attempt in 1..=max_attempts.max(1) {
        let cur = store.read().await?;
        let mut doc = match &cur.text {
            Some(t) => AuthzDocument::parse(t)
                .with_context(|| format!("{} is not an authorization document", store.describe()))?,
            None => AuthzDocument::new(DocumentShape::default()),
        };
        if !f(&mut doc)? {
            let text = cur.text.clone().unwrap_or_else(|| doc.render());
            return Ok(Modified { changed: false, attempts: attempt, doc, text, version: cur.version });
        }
        let text = doc.render();
        match store.write(&text, cur.version.as_deref()).await? {
            Written::Done(v) => {
                return Ok(Modified { changed: true, attempts: attempt, doc, text, version: Some(v) });
            }
            Written::Conflict => {
                tracing::info!(attempt, store = %store.describe(), "authorization ConfigMap changed under us; retrying");
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
            }
        }
    }
    bail!(
        "{}: still conflicting after {} attempts (someone else keeps changing it); nothing written",
        store.describe(),
        max_attempts.max(1)
    )
}

/// `namespace/name` -> (namespace, name).
pub fn configmap_ref(s: &str) -> Result<(String, String)> {
    match s.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => Ok((ns.into(), name.into())),
        _ => bail!("[kubernetes] authz_configmap {s:?} is not NAMESPACE/NAME"),
    }
}

/// The authorization ConfigMap through the Kubernetes API.
pub struct KubeAuthzStore {
    api: Api<ConfigMap>,
    namespace: String,
    name: String,
    key: String,
}

impl KubeAuthzStore {
    pub fn new(client: kube::Client, section: &KubeSection) -> Result<KubeAuthzStore> {
        let (namespace, name) = configmap_ref(&section.authz_configmap)?;
        if section.authz_key.is_empty() {
            bail!("[kubernetes] authz_key is empty");
        }
        Ok(KubeAuthzStore { api: Api::namespaced(client, &namespace), namespace, name, key: section.authz_key.clone() })
    }
}

impl AuthzStore for KubeAuthzStore {
    async fn read(&self) -> Result<Versioned> {
        let cm = self.api.get_opt(&self.name).await.with_context(|| format!("reading {}", self.describe()))?;
        Ok(match cm {
            None => Versioned { text: None, version: None },
            Some(cm) => Versioned {
                text: cm.data.as_ref().and_then(|d| d.get(&self.key)).cloned(),
                version: Some(cm.metadata.resource_version.unwrap_or_default()),
            },
        })
    }

    async fn write(&self, text: &str, version: Option<&str>) -> Result<Written> {
        let result = match version {
            // A merge patch carrying metadata.resourceVersion is conditional
            // on it (409 when it moved); other keys of the ConfigMap stay.
            Some(rv) => {
                let body = json!({ "metadata": { "resourceVersion": rv }, "data": { &self.key: text } });
                self.api.patch(&self.name, &PatchParams::default().validation_strict(), &Patch::Merge(&body)).await
            }
            None => {
                let mut cm = ConfigMap::default();
                cm.metadata.name = Some(self.name.clone());
                cm.metadata.namespace = Some(self.namespace.clone());
                cm.metadata.labels = Some([("app.kubernetes.io/managed-by".to_string(), "warden".to_string())].into());
                cm.data = Some([(self.key.clone(), text.to_string())].into());
                self.api.create(&PostParams::default(), &cm).await
            }
        };
        match result {
            Ok(cm) => Ok(Written::Done(cm.metadata.resource_version.unwrap_or_default())),
            Err(e) if is_conflict(&e) => Ok(Written::Conflict),
            Err(e) => Err(e).with_context(|| format!("writing {}", self.describe())),
        }
    }

    fn describe(&self) -> String {
        format!("ConfigMap {}/{} key {}", self.namespace, self.name, self.key)
    }
}

// ---------------------------------------------------------------------------
// ClusterSPIFFEID and NatsIdentity.
