//! The Kubernetes objects of a SPIFFE-mode identity: its ClusterSPIFFEID and
//! its NatsIdentity record.

use super::prelude::*;

/// The ClusterSPIFFEID spec for a workload. It carries the configured
/// `className`: spire-controller-manager reconciles only its own class
/// (`[spire] class_name`), so a classless object produces no entry on the
/// official chart's install (`watchClassless: false`).
pub fn cluster_spiffe_id_spec(naming: &Naming, section: &KubeSection, name: &IdentityName) -> Value {
    json!({
        "className": &section.spire.class_name,
        "spiffeIDTemplate": naming.spire_id_template(&section.workload_label),
        "podSelector": { "matchLabels": { &section.workload_label: &name.workload } },
        "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": &name.namespace } },
    })
}

pub(super) fn cluster_spiffe_id_object(naming: &Naming, section: &KubeSection, name: &IdentityName) -> DynamicObject {
    let mut o = DynamicObject::new(&cluster_spiffe_id_name(name), &cluster_spiffe_id());
    o.metadata.labels = Some(
        [
            ("app.kubernetes.io/managed-by".to_string(), "warden".to_string()),
            ("warden.dev/namespace".to_string(), name.namespace.clone()),
            ("warden.dev/workload".to_string(), name.workload.clone()),
        ]
        .into(),
    );
    o.data = json!({ "spec": cluster_spiffe_id_spec(naming, section, name) });
    o
}

pub(super) fn cspiffeid_api(k: &KubeCtx) -> Api<DynamicObject> {
    Api::all_with(k.client.clone(), &cluster_spiffe_id())
}

/// Creates or updates the workload's ClusterSPIFFEID; says which.
pub(super) async fn ensure_cluster_spiffe_id(ctx: &SpiffeContext, name: &IdentityName) -> Result<String> {
    let api = cspiffeid_api(&ctx.kube);
    let want = cluster_spiffe_id_object(&ctx.naming, &ctx.kube.section, name);
    let oname = cluster_spiffe_id_name(name);
    let existing = api.get_opt(&oname).await.with_context(|| format!("reading ClusterSPIFFEID {oname}"))?;
    if let Some(o) = &existing
        && o.data.get("spec") == want.data.get("spec")
    {
        return Ok(format!("{oname} already present"));
    }
    api.patch(&oname, &PatchParams::apply("warden").force().validation_strict(), &Patch::Apply(&want))
        .await
        .with_context(|| format!("writing ClusterSPIFFEID {oname}"))?;
    let template = want.data["spec"]["spiffeIDTemplate"].as_str().unwrap_or_default().to_string();
    let class = want.data["spec"]["className"].as_str().unwrap_or_default().to_string();
    Ok(format!(
        "{oname} {} ({template}, class {class}: entries appear once that class's controller reconciles it)",
        if existing.is_some() { "updated" } else { "created" }
    ))
}

pub(super) fn record_api(k: &KubeCtx, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(k.client.clone(), ns, &nats_identity())
}

pub(super) async fn get_record(ctx: &SpiffeContext, name: &IdentityName) -> Result<Option<IdentityRecord>> {
    let o = record_api(&ctx.kube, &name.namespace)
        .get_opt(&name.workload)
        .await
        .with_context(|| format!("reading NatsIdentity {name}"))?;
    Ok(o.as_ref().map(IdentityRecord::from_object))
}

/// Writes status through the status subresource, or the object when the
/// CRD has none.
pub(super) async fn write_status(ctx: &SpiffeContext, name: &IdentityName, status: &IdentityStatus) -> Result<()> {
    let api = record_api(&ctx.kube, &name.namespace);
    let body = status_patch(status);
    match api.patch_status(&name.workload, &PatchParams::default().validation_strict(), &Patch::Merge(&body)).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => {
            api.patch(&name.workload, &PatchParams::default().validation_strict(), &Patch::Merge(&body))
                .await
                .with_context(|| format!("writing NatsIdentity {name} status"))?;
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("writing NatsIdentity {name} status")),
    }
}

pub(super) fn grant_specs(doc: &AuthzDocument, user: &str) -> Vec<GrantEntry> {
    doc.get(user)
        .map(|e| {
            e.grants
                .iter()
                .map(|g| GrantEntry { direction: g.direction.to_string(), subject: g.subject.clone() })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn spec_for(ctx: &SpiffeContext, name: &IdentityName, grants: Vec<GrantEntry>) -> IdentitySpec {
    let scope = ctx.naming.scope(name);
    IdentitySpec {
        workload: name.workload.clone(),
        user: ctx.naming.nats_user(name),
        publish: scope.publish_allow,
        subscribe: scope.subscribe_allow,
        mode: "spiffe".into(),
        namespace: name.namespace.clone(),
        spiffe_id: ctx.naming.spiffe_id(name),
        grants,
        ..Default::default()
    }
}

/// Writes the record's spec (server-side apply, creating it if needed).
pub(super) async fn apply_spec(ctx: &SpiffeContext, name: &IdentityName, spec: &IdentitySpec) -> Result<()> {
    let rec = IdentityRecord {
        namespace: name.namespace.clone(),
        name: name.workload.clone(),
        spec: spec.clone(),
        status: Default::default(),
    };
    record_api(&ctx.kube, &name.namespace)
        .patch(
            &name.workload,
            &PatchParams::apply("warden").force().validation_strict(),
            &Patch::Apply(rec.to_object()),
        )
        .await
        .with_context(|| format!("writing NatsIdentity {name}"))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The NATS servers: reload, connections, kick.
