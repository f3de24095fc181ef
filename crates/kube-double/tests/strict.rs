//! The double is at least as strict as a real apiserver where warden
//! depends on it: CRD-only custom kinds, structural-schema validation and
//! pruning, printer columns, server-side apply with field ownership, RBAC
//! allow-lists. Driven by kube-rs and by kubectl when it is on PATH.

use std::path::PathBuf;
use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube_double::{KubeDouble, KubeDoubleConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;
use common::{kubectl, kubectl_ok, run_kubectl};

const NATS_CRD: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/crds/natsidentity.yaml"));

/// A small CRD of our own: no preserve-unknown-fields in spec, so unknown
/// fields are pruned; two printer columns, one of priority 1.
const WIDGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.test.dev
spec:
  group: test.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
      subresources: {status: {}}
      additionalPrinterColumns:
        - {name: Size, type: integer, jsonPath: .spec.size}
        - {name: Color, type: string, jsonPath: .spec.color, priority: 1}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [size]
              properties:
                size: {type: integer, minimum: 1, maximum: 10}
                color: {type: string, enum: [red, blue]}
                tags: {type: array, maxItems: 2, items: {type: string}}
            status:
              type: object
              properties:
                ready: {type: boolean}
---
apiVersion: test.dev/v1
kind: Widget
metadata: {name: seeded, namespace: default}
spec: {size: 3}
"#;

const READ_ONLY_ROLE: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: warden-reader
rules:
  - apiGroups: ["warden.dev"]
    resources: ["natsidentities"]
    verbs: ["get", "list", "watch"]
  - apiGroups: [""]
    resources: ["namespaces"]
    verbs: ["list"]
"#;

const T: Duration = Duration::from_secs(10);

struct Fixture {
    double: KubeDouble,
    client: kube::Client,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let double = KubeDouble::start(KubeDoubleConfig::default()).await.expect("start double");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    double.write_kubeconfig(&kubeconfig, "double").unwrap();
    let kc = Kubeconfig::read_from(&kubeconfig).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await.unwrap();
    let client = kube::Client::try_from(cfg).unwrap();
    Fixture { double, client, kubeconfig, _dir: dir }
}

fn api(client: &kube::Client, g: &str, v: &str, kind: &str, plural: &str, ns: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(g, v, kind), plural);
    Api::namespaced_with(client.clone(), ns, &ar)
}

fn ids(f: &Fixture) -> Api<DynamicObject> {
    api(&f.client, "warden.dev", "v1alpha1", "NatsIdentity", "natsidentities", "default")
}

fn widgets(f: &Fixture) -> Api<DynamicObject> {
    api(&f.client, "test.dev", "v1", "Widget", "widgets", "default")
}

fn obj(v: Value) -> DynamicObject {
    serde_json::from_value(v).unwrap()
}

fn status_of(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// One raw HTTP/1.1 request over TLS (the double's CA trusted), with the
/// double's bearer token when `token` is set; returns (status, headers
/// lowercased, body).
async fn raw_as(
    f: &Fixture,
    token: Option<&str>,
    method: &str,
    path: &str,
    ct: &str,
    body: &str,
) -> (u16, String, Value) {
    use tokio_rustls::rustls;
    let pem = f.double.ca_pem();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = data_encoding::BASE64.decode(b64.as_bytes()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from(der)).unwrap();
    let cfg =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(f.double.addr()).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut s = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg)).connect(name, tcp).await.unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    // A TLS peer may close without close_notify after the answer.
    let _ = tokio::time::timeout(T, s.read_to_end(&mut out)).await.expect("answer in time");
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let code = head.split(' ').nth(1).unwrap().parse().unwrap();
    (code, head.to_lowercase(), serde_json::from_str(body).unwrap_or(Value::Null))
}

/// [`raw_as`] with the double's token.
async fn raw(f: &Fixture, method: &str, path: &str, ct: &str, body: &str) -> (u16, String, Value) {
    let token = f.double.token().to_string();
    raw_as(f, Some(&token), method, path, ct, body).await
}

/// Without the kubeconfig's bearer token (none, or another) every request,
/// discovery included, is 401 with the apiserver's Status; the token never
/// appears in the answer.
#[tokio::test]
async fn a_request_without_the_token_is_401_unauthorized() {
    let f = fixture().await;
    for token in [None, Some("not-the-token")] {
        for path in ["/api", "/apis", "/api/v1/namespaces/default/configmaps", "/version"] {
            let (code, _, body) = raw_as(&f, token, "GET", path, "application/json", "").await;
            assert_eq!(code, 401, "{path}");
            assert_eq!(
                body,
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
            );
        }
    }
    let (code, _, _) = raw(&f, "GET", "/api", "application/json", "").await;
    assert_eq!(code, 200);
    let c = KubeDoubleConfig::default();
    assert!(c.token.len() >= 50 && !format!("{c:?}").contains(&c.token));
}

#[tokio::test]
async fn custom_kinds_exist_only_once_their_crd_is_stored() {
    let f = fixture().await;
    let state = f.double.state();
    let ni = json!({"apiVersion": "warden.dev/v1alpha1", "kind": "NatsIdentity",
        "metadata": {"name": "a", "namespace": "default"}, "spec": {"workload": "a"}});
    assert_eq!(state.upsert(ni.clone()).unwrap_err().code, 400);
    assert_eq!(status_of(ids(&f).list(&ListParams::default()).await.unwrap_err()).code, 404);
    let stored = state.apply_manifest(NATS_CRD).unwrap();
    assert_eq!(stored[0]["kind"], "CustomResourceDefinition");
    state.upsert(ni).unwrap();
    assert_eq!(ids(&f).list(&ListParams::default()).await.unwrap().items.len(), 1);
    // a manifest with a CRD and an object of it, in one text
    let out = state.apply_manifest(WIDGET_CRD).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(widgets(&f).get("seeded").await.unwrap().data["spec"]["size"], 3);
}

#[tokio::test]
async fn invalid_status_write_is_422_like_the_apiserver() {
    let f = fixture().await;
    f.double.state().apply_manifest(NATS_CRD).unwrap();
    let ids = ids(&f);
    let o = obj(json!({"apiVersion": "warden.dev/v1alpha1", "kind": "NatsIdentity",
        "metadata": {"name": "x"}, "spec": {"workload": "x"}}));
    ids.create(&PostParams::default(), &o).await.unwrap();
    let err = ids
        .patch_status("x", &PatchParams::default(), &Patch::Merge(json!({"status": {"approvedAt": ""}})))
        .await
        .unwrap_err();
    let s = status_of(err);
    assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        s.message,
        "NatsIdentity.warden.dev \"x\" is invalid: status.approvedAt: Invalid value: \"\": status.approvedAt in body must be of type date-time: \"\""
    );
    // the full Status, causes included
    let (code, _, body) = raw(
        &f,
        "PATCH",
        "/apis/warden.dev/v1alpha1/namespaces/default/natsidentities/x/status",
        "application/merge-patch+json",
        r#"{"status": {"approvedAt": "", "phase": "Bogus"}}"#,
    )
    .await;
    assert_eq!(code, 422);
    assert_eq!(body["details"]["name"], "x");
    assert_eq!(body["details"]["group"], "warden.dev");
    assert_eq!(body["details"]["kind"], "NatsIdentity");
    let causes = body["details"]["causes"].as_array().unwrap();
    assert!(causes.contains(&json!({"reason": "FieldValueTypeInvalid", "field": "status.approvedAt",
        "message": "Invalid value: \"\": status.approvedAt in body must be of type date-time: \"\""})));
    assert!(causes.contains(&json!({"reason": "FieldValueNotSupported", "field": "status.phase",
        "message": "Unsupported value: \"Bogus\": supported values: \"Pending\", \"Active\", \"Expiring\", \"Expired\", \"Denied\", \"Revoked\", \"Drifted\""})));
    assert!(body["message"].as_str().unwrap().starts_with("NatsIdentity.warden.dev \"x\" is invalid: ["));
    // a valid RFC 3339 time is fine, and nothing was stored by the failures
    let ok = ids
        .patch_status(
            "x",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"approvedAt": "2025-01-02T03:04:05Z", "phase": "Active"}})),
        )
        .await
        .unwrap();
    assert_eq!(ok.data["status"]["phase"], "Active");
    // required spec field, on create and on seeding
    let bad = obj(json!({"apiVersion": "warden.dev/v1alpha1", "kind": "NatsIdentity",
        "metadata": {"name": "y"}, "spec": {"mode": "jwt"}}));
    let s = status_of(ids.create(&PostParams::default(), &bad).await.unwrap_err());
    assert_eq!(s.message, "NatsIdentity.warden.dev \"y\" is invalid: spec.workload: Required value");
    let e = f
        .double
        .state()
        .upsert(json!({"apiVersion": "warden.dev/v1alpha1", "kind": "NatsIdentity",
            "metadata": {"name": "z", "namespace": "default"}, "spec": {"workload": 5}}))
        .unwrap_err();
    assert_eq!(e.code, 422);
    // metadata.name must be a DNS-1123 subdomain
    let bad = obj(json!({"apiVersion": "warden.dev/v1alpha1", "kind": "NatsIdentity",
        "metadata": {"name": "Bad_Name"}, "spec": {"workload": "w"}}));
    let s = status_of(ids.create(&PostParams::default(), &bad).await.unwrap_err());
    assert!(s.message.starts_with("NatsIdentity.warden.dev \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"), "{}", s.message);
}

#[tokio::test]
async fn unknown_fields_are_pruned_warned_or_rejected() {
    let f = fixture().await;
    f.double.state().apply_manifest(WIDGET_CRD).unwrap();
    let w = widgets(&f);
    let o = obj(json!({"apiVersion": "test.dev/v1", "kind": "Widget", "metadata": {"name": "p"},
        "spec": {"size": 2, "foo": 1}, "bogus": true}));
    let created = w.create(&PostParams::default(), &o).await.unwrap();
    assert_eq!(created.data["spec"], json!({"size": 2}));
    assert!(created.data.get("bogus").is_none());
    // Strict: a create is 400 (create.go transformDecodeError), a patch 422
    // on the patched object (patch.go); nothing is written
    let strict_create = raw(
        &f,
        "POST",
        "/apis/test.dev/v1/namespaces/default/widgets?fieldValidation=Strict",
        "application/json",
        r#"{"apiVersion": "test.dev/v1", "kind": "Widget", "metadata": {"name": "q"}, "spec": {"size": 1, "foo": 1}}"#,
    )
    .await;
    assert_eq!(strict_create.0, 400);
    assert_eq!(
        strict_create.2["message"],
        "Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: unknown field \"spec.foo\""
    );
    assert_eq!(status_of(w.get("q").await.unwrap_err()).code, 404);
    let strict = PatchParams::default().validation_strict();
    let s = status_of(w.patch("p", &strict, &Patch::Merge(json!({"spec": {"foo": 1, "size": 3}}))).await.unwrap_err());
    assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
    assert!(s.message.starts_with(" \"\" is invalid: patch: Invalid value: \"{"), "{}", s.message);
    assert!(s.message.ends_with("\": strict decoding error: unknown field \"spec.foo\""), "{}", s.message);
    assert_eq!(w.get("p").await.unwrap().data["spec"]["size"], 2);
    // Warn (the default): a Warning header, the field dropped
    let (code, head, body) = raw(
        &f,
        "PATCH",
        "/apis/test.dev/v1/namespaces/default/widgets/p",
        "application/merge-patch+json",
        r#"{"spec": {"foo": 1, "size": 4}}"#,
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert!(head.contains("warning: 299 - \"unknown field \\\"spec.foo\\\"\""), "{head}");
    assert_eq!(body["spec"], json!({"size": 4}));
}

#[tokio::test]
async fn server_side_apply_tracks_ownership() {
    let f = fixture().await;
    f.double.state().apply_manifest(NATS_CRD).unwrap();
    let ids = ids(&f);
    let base = json!({"apiVersion": "warden.dev/v1alpha1", "kind": "NatsIdentity", "metadata": {"name": "s"},
        "spec": {"workload": "s", "ttl": "1h"}});
    // apply creates; the fields become A's
    let a = PatchParams::apply("manager-a");
    let got = ids.patch("s", &a, &Patch::Apply(&base)).await.unwrap();
    let mf = got.metadata.managed_fields.clone().unwrap();
    assert_eq!(mf.len(), 1);
    assert_eq!(mf[0].manager.as_deref(), Some("manager-a"));
    assert_eq!(mf[0].operation.as_deref(), Some("Apply"));
    assert_eq!(mf[0].fields_type.as_deref(), Some("FieldsV1"));
    assert_eq!(mf[0].api_version.as_deref(), Some("warden.dev/v1alpha1"));
    assert!(mf[0].time.is_some());
    assert_eq!(
        serde_json::to_value(mf[0].fields_v1.clone().unwrap()).unwrap(),
        json!({"f:spec": {"f:ttl": {}, "f:workload": {}}})
    );
    // B applies the same field with another value: conflict
    let b_cfg = json!({"apiVersion": "warden.dev/v1alpha1", "kind": "NatsIdentity", "metadata": {"name": "s"},
        "spec": {"workload": "s", "ttl": "2h", "mode": "jwt"}});
    let s = status_of(ids.patch("s", &PatchParams::apply("manager-b"), &Patch::Apply(&b_cfg)).await.unwrap_err());
    assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
    assert_eq!(s.message, "Apply failed with 1 conflict: conflict with \"manager-a\": .spec.ttl");
    // force takes it over
    let got = ids.patch("s", &PatchParams::apply("manager-b").force(), &Patch::Apply(&b_cfg)).await.unwrap();
    assert_eq!(got.data["spec"]["ttl"], "2h");
    // B drops ttl and mode from its config: mode goes (B alone owned it),
    // workload stays (A still owns it), ttl goes (B took it from A)
    let b2 = json!({"apiVersion": "warden.dev/v1alpha1", "kind": "NatsIdentity", "metadata": {"name": "s"},
        "spec": {"workload": "s"}});
    let got = ids.patch("s", &PatchParams::apply("manager-b"), &Patch::Apply(&b2)).await.unwrap();
    assert_eq!(got.data["spec"], json!({"workload": "s"}));
    // an update (merge patch) is recorded as operation Update, and an apply
    // changing that field conflicts with it, named with its apiVersion
    let pp = PatchParams { field_manager: Some("kubectl-client-side-apply".into()), ..PatchParams::default() };
    let got = ids.patch("s", &pp, &Patch::Merge(json!({"spec": {"ttl": "5h"}}))).await.unwrap();
    let mf = got.metadata.managed_fields.unwrap();
    assert!(
        mf.iter()
            .any(|e| e.manager.as_deref() == Some("kubectl-client-side-apply")
                && e.operation.as_deref() == Some("Update"))
    );
    let s = status_of(
        ids.patch(
            "s",
            &a,
            &Patch::Apply(json!({"apiVersion": "warden.dev/v1alpha1", "kind": "NatsIdentity",
            "metadata": {"name": "s"}, "spec": {"workload": "s", "ttl": "9h"}})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(
        s.message,
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using warden.dev/v1alpha1: .spec.ttl"
    );
    // apply to /status applies the status only
    let st = ids
        .patch_status(
            "s",
            &PatchParams::apply("controller"),
            &Patch::Apply(json!({"apiVersion": "warden.dev/v1alpha1", "kind": "NatsIdentity",
                "metadata": {"name": "s"}, "spec": {"workload": "evil"}, "status": {"phase": "Active"}})),
        )
        .await
        .unwrap();
    assert_eq!(st.data["status"]["phase"], "Active");
    assert_eq!(st.data["spec"]["workload"], "s");
    let mf = st.metadata.managed_fields.unwrap();
    let c = mf.iter().find(|e| e.manager.as_deref() == Some("controller")).unwrap();
    assert_eq!(c.subresource.as_deref(), Some("status"));
    // apply without a fieldManager is invalid, like ValidatePatchOptions
    let (code, _, body) = raw(
        &f,
        "PATCH",
        "/apis/warden.dev/v1alpha1/namespaces/default/natsidentities/s",
        "application/apply-patch+yaml",
        "spec:\n  ttl: 1h\n",
    )
    .await;
    assert_eq!(code, 422);
    assert_eq!(
        body["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );
    // YAML apply bodies work
    let (code, _, body) = raw(
        &f,
        "PATCH",
        "/apis/warden.dev/v1alpha1/namespaces/default/natsidentities/y?fieldManager=yaml",
        "application/apply-patch+yaml",
        "apiVersion: warden.dev/v1alpha1\nkind: NatsIdentity\nmetadata:\n  name: y\nspec:\n  workload: y\n",
    )
    .await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["metadata"]["managedFields"][0]["manager"], "yaml");
}

#[tokio::test]
async fn rbac_allow_list_and_changes() {
    let f = fixture().await;
    let state = f.double.state();
    state.apply_manifest(NATS_CRD).unwrap();
    state
        .upsert(json!({"apiVersion": "warden.dev/v1alpha1", "kind": "NatsIdentity",
            "metadata": {"name": "x", "namespace": "ns"}, "spec": {"workload": "x"}}))
        .unwrap();
    let mut changes = state.changes();
    let before = *changes.borrow_and_update();
    state.enforce_cluster_role_yaml(READ_ONLY_ROLE).unwrap();
    let ids = api(&f.client, "warden.dev", "v1alpha1", "NatsIdentity", "natsidentities", "ns");
    assert_eq!(ids.list(&ListParams::default()).await.unwrap().items.len(), 1);
    ids.get("x").await.unwrap();
    let s = status_of(
        ids.patch_status("x", &PatchParams::default(), &Patch::Merge(json!({"status": {"phase": "Active"}})))
            .await
            .unwrap_err(),
    );
    assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        s.message,
        "natsidentities.warden.dev \"x\" is forbidden: User \"warden\" cannot patch resource \"natsidentities/status\" in API group \"warden.dev\" in the namespace \"ns\""
    );
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::default_namespaced(f.client.clone());
    let s = status_of(cms.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(
        s.message,
        "configmaps is forbidden: User \"warden\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\""
    );
    // discovery stays open
    let (code, _, _) = raw(&f, "GET", "/apis", "application/json", "").await;
    assert_eq!(code, 200);
    // writes from Rust are not requests: they pass and are seen by changes()
    state.enforce_rbac(None);
    ids.patch_status("x", &PatchParams::default(), &Patch::Merge(json!({"status": {"phase": "Active"}})))
        .await
        .unwrap();
    tokio::time::timeout(T, changes.wait_for(|rv| *rv > before)).await.expect("change seen").unwrap();
}

/// SelfSubjectAccessReview answers from the enforced rules (what `kubectl
/// auth can-i` asks); a list/watch with `fieldSelector=metadata.name=X` is
/// authorized against name X (apiserver requestinfo.go).
#[tokio::test]
async fn access_reviews_and_name_selected_lists() {
    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };
    let f = fixture().await;
    let state = f.double.state();
    state.apply_manifest(NATS_CRD).unwrap();
    state.enforce_rbac(Some(vec![
        json!({"apiGroups": ["warden.dev"], "resources": ["natsidentities"], "verbs": ["get"]}),
        json!({"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["authz"], "verbs": ["list", "watch"]}),
    ]));
    let reviews: Api<SelfSubjectAccessReview> = Api::all(f.client.clone());
    let ask = |verb: &str, group: &str, resource: &str, sub: Option<&str>| SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.into()),
                group: Some(group.into()),
                resource: Some(resource.into()),
                subresource: sub.map(str::to_string),
                namespace: Some("ns".into()),
                name: Some("x".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let pp = PostParams::default();
    let yes = reviews.create(&pp, &ask("get", "warden.dev", "natsidentities", None)).await.unwrap();
    assert!(yes.status.unwrap().allowed);
    let no = reviews.create(&pp, &ask("patch", "warden.dev", "natsidentities", Some("status"))).await.unwrap();
    assert!(!no.status.unwrap().allowed);
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::default_namespaced(f.client.clone());
    cms.list(&ListParams::default().fields("metadata.name=authz")).await.unwrap();
    let s = status_of(cms.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(s.code, 403);
    let s = status_of(cms.list(&ListParams::default().fields("metadata.name=other")).await.unwrap_err());
    assert_eq!(s.code, 403);
}

// ---- kubectl ----

#[tokio::test]
async fn kubectl_sees_the_strict_double() {
    let bin = kubectl();
    let f = fixture().await;
    let kc = f.kubeconfig.clone();
    let k = kubectl_ok(bin.clone(), kc.clone());
    let out = k(vec!["apply", "-f", "-"], Some(NATS_CRD.into())).await;
    assert!(out.contains("customresourcedefinition.apiextensions.k8s.io/natsidentities.warden.dev created"), "{out}");
    let ni = "apiVersion: warden.dev/v1alpha1\nkind: NatsIdentity\nmetadata:\n  name: orders\n  namespace: shop\nspec:\n  workload: orders-wf\n";
    f.double.state().upsert(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})).unwrap();
    assert!(k(vec!["apply", "-f", "-"], Some(ni.into())).await.contains("natsidentity.warden.dev/orders created"));
    k(
        vec![
            "patch",
            "natsidentity",
            "orders",
            "-n",
            "shop",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"phase":"Active","expiresAt":"2030-01-01T00:00:00Z"}}"#,
        ],
        None,
    )
    .await;

    // printer columns
    let out = k(vec!["get", "natsidentities", "-A"], None).await;
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAMESPACE", "NAME", "WORKLOAD", "PHASE", "EXPIRES", "AGE"], "{out}");
    let row: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..5], ["shop", "orders", "orders-wf", "Active", "2030-01-01T00:00:00Z"], "{out}");

    // an invalid status write, in kubectl's words
    let (ok, _, err) = run_kubectl(
        &bin,
        &kc,
        &[
            "patch",
            "natsidentity",
            "orders",
            "-n",
            "shop",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"approvedAt":""}}"#,
        ],
        None,
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains(
            "status.approvedAt: Invalid value: \"\": status.approvedAt in body must be of type date-time: \"\""
        ),
        "{err}"
    );

    // kubectl apply validates strictly: an unknown field outside the
    // preserved subtrees is an error
    let (ok, _, err) = run_kubectl(&bin, &kc, &["apply", "-f", "-"], Some(&format!("{ni}bogus: 1\n"))).await;
    assert!(!ok && err.contains("unknown field \"bogus\""), "{err}");

    // RBAC YAML applies, then enforced: reads work, writes are forbidden
    let out = k(vec!["apply", "-f", "-"], Some(READ_ONLY_ROLE.into())).await;
    assert!(out.contains("clusterrole.rbac.authorization.k8s.io/warden-reader created"), "{out}");
    let out = k(vec!["get", "clusterroles", "-o", "name"], None).await;
    assert_eq!(out.trim(), "clusterrole.rbac.authorization.k8s.io/warden-reader");
    f.double.state().enforce_cluster_role_yaml(READ_ONLY_ROLE).unwrap();
    assert!(k(vec!["get", "natsid", "-n", "shop"], None).await.contains("orders"));
    let (ok, _, err) = run_kubectl(
        &bin,
        &kc,
        &["patch", "natsidentity", "orders", "-n", "shop", "--type=merge", "-p", r#"{"spec":{"ttl":"1h"}}"#],
        None,
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains("natsidentities.warden.dev \"orders\" is forbidden: User \"warden\" cannot patch resource \"natsidentities\" in API group \"warden.dev\" in the namespace \"shop\""),
        "{err}"
    );
}
