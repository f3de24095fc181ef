//! The Kubernetes parts of a JWT-mode identity: its `NatsIdentity` record
//! and its creds Secret (written by name, in the workload's namespace).

use anyhow::{Context, Result};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;

use crate::identity::action::kube::KubeCtx;
use crate::identity::naming::IdentityName;
use crate::identity::record::{IdentityRecord, IdentityStatus, status_patch};
use crate::nats::jwt;

/// Name of the credentials Secret in the workload's namespace.
pub fn creds_secret_name(name: &IdentityName) -> String {
    format!("{}-nats-creds", name.workload)
}

pub(super) fn kube_api(k: &KubeCtx, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(k.client.clone(), ns, &crate::kube::resources::nats_identity())
}

pub(super) async fn get_record(k: &KubeCtx, name: &IdentityName) -> Result<Option<IdentityRecord>> {
    let o = kube_api(k, &name.namespace)
        .get_opt(&name.workload)
        .await
        .with_context(|| format!("reading NatsIdentity {name}"))?;
    Ok(o.as_ref().map(IdentityRecord::from_object))
}

pub(super) async fn apply_record(k: &KubeCtx, rec: &IdentityRecord) -> Result<()> {
    let api = kube_api(k, &rec.namespace);
    api.patch(&rec.name, &PatchParams::apply("warden").force().validation_strict(), &Patch::Apply(rec.to_object()))
        .await
        .with_context(|| format!("writing NatsIdentity {}/{}", rec.namespace, rec.name))?;
    write_status(k, &rec.namespace, &rec.name, &rec.status).await
}

/// Writes status through the status subresource, or the object when the
/// CRD has none.
pub(super) async fn write_status(k: &KubeCtx, ns: &str, name: &str, status: &IdentityStatus) -> Result<()> {
    let api = kube_api(k, ns);
    let body = status_patch(status);
    match api.patch_status(name, &PatchParams::default().validation_strict(), &Patch::Merge(&body)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => {
            api.patch(name, &PatchParams::default().validation_strict(), &Patch::Merge(&body))
                .await
                .with_context(|| format!("writing NatsIdentity {ns}/{name} status"))?;
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("writing NatsIdentity {ns}/{name} status")),
    }
}

pub(super) async fn apply_creds_secret(k: &KubeCtx, name: &IdentityName, creds: &jwt::CredsText) -> Result<String> {
    let ar = crate::kube::resources::secret();
    let api: Api<DynamicObject> = Api::namespaced_with(k.client.clone(), &name.namespace, &ar);
    let mut o = DynamicObject::new(&creds_secret_name(name), &ar).within(&name.namespace);
    let label = k.section.creds_label.split('=').next().unwrap_or("warden.dev/identity").to_string();
    o.metadata.labels = Some([(label, name.workload.clone())].into_iter().collect());
    o.data = json!({
        "type": "Opaque",
        "data": { "user.creds": data_encoding::BASE64.encode(creds.expose().as_bytes()) },
    });
    api.patch(&creds_secret_name(name), &PatchParams::apply("warden").force().validation_strict(), &Patch::Apply(o))
        .await
        .with_context(|| format!("writing Secret {}/{}", name.namespace, creds_secret_name(name)))?;
    Ok(format!("{}/{}", name.namespace, creds_secret_name(name)))
}

pub(super) async fn read_creds_secret(k: &KubeCtx, name: &IdentityName) -> Result<Option<jwt::Creds>> {
    let api: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(k.client.clone(), &name.namespace);
    let Some(s) = api.get_opt(&creds_secret_name(name)).await? else { return Ok(None) };
    let Some(data) = s.data else { return Ok(None) };
    for v in data.values() {
        if let Ok(text) = std::str::from_utf8(&v.0)
            && let Ok(c) = jwt::parse_creds(text)
        {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

pub(super) fn read_creds_file(path: &std::path::Path) -> Result<Option<jwt::Creds>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(jwt::parse_creds(&t).with_context(|| format!("{} is not a creds file", path.display()))?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}
