//! HTTP front: one fallback handler that parses the apiserver's URL layout
//! itself (the `namespaces/{ns}/{resource}` vs `namespaces/{name}/status`
//! ambiguity is resolved like k8s.io/apiserver's RequestInfoFactory), checks
//! the bearer token, denial rules and outages, then dispatches.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, Query, Request};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::access_review;
use super::command::ExecRequest;
use super::discovery;
use super::errors::{ApiError, json_response};
use super::exec;
use super::faults::Effect;
use super::logs::{self, LogParams};
use super::openapi;
use super::patch::PatchKind;
use super::resources::ResourceDef;
use super::schema;
use super::selectors::{FieldSelector, LabelSelector};
use super::state::{Shared, lock};
use super::store::{FieldValidation, Filter, Part, Store, WriteCtx};
use super::table;
use super::watch::{self, WatchParams};

const MAX_BODY: usize = 8 * 1024 * 1024;

/// A parsed resource URL.
#[derive(Debug, Clone, PartialEq, Default)]
struct Target {
    group: String,
    version: String,
    namespace: Option<String>,
    plural: String,
    name: Option<String>,
    sub: Option<String>,
    watch_prefix: bool,
}

#[derive(Debug, PartialEq)]
enum Route {
    Version,
    CoreVersions,
    Groups,
    Group(String),
    Resources(String, String),
    Resource(Target),
    OpenApiRoot,
    OpenApi(String, String),
    NotFound,
}

fn parse_path(path: &str) -> Route {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["version"] => return Route::Version,
        ["api"] => return Route::CoreVersions,
        ["apis"] => return Route::Groups,
        ["apis", g] => return Route::Group(g.to_string()),
        ["api", v] => return Route::Resources(String::new(), v.to_string()),
        ["apis", g, v] => return Route::Resources(g.to_string(), v.to_string()),
        ["openapi", "v3"] => return Route::OpenApiRoot,
        ["openapi", "v3", "api", v] => return Route::OpenApi(String::new(), v.to_string()),
        ["openapi", "v3", "apis", g, v] => return Route::OpenApi(g.to_string(), v.to_string()),
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Route::NotFound,
    };
    let mut t = Target { group: group.into(), version: version.into(), ..Target::default() };
    let mut rest = rest;
    if rest.first() == Some(&"watch") {
        t.watch_prefix = true;
        rest = &rest[1..];
    }
    if rest.first() == Some(&"namespaces")
        && rest.len() >= 3
        && !(rest.len() == 3 && matches!(rest[2], "status" | "finalize"))
    {
        t.namespace = Some(rest[1].to_string());
        rest = &rest[2..];
    }
    match rest {
        [p] => t.plural = p.to_string(),
        [p, n] => {
            t.plural = p.to_string();
            t.name = Some(n.to_string());
        }
        [p, n, s] => {
            t.plural = p.to_string();
            t.name = Some(n.to_string());
            t.sub = Some(s.to_string());
        }
        _ => return Route::NotFound,
    }
    if t.plural.is_empty() || t.name.as_deref() == Some("") || t.namespace.as_deref() == Some("") {
        return Route::NotFound;
    }
    Route::Resource(t)
}

/// Query parameters, repeated keys kept (exec's `command`).
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
    }
    fn all(&self, k: &str) -> Vec<String> {
        self.0.iter().filter(|(a, _)| a == k).map(|(_, v)| v.clone()).collect()
    }
    fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("true" | "1"))
    }
    fn num<T: std::str::FromStr>(&self, k: &str) -> Result<Option<T>, ApiError> {
        match self.get(k) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| ApiError::bad_request(format!("invalid value for {k}: {v:?}"))),
        }
    }
}

pub async fn handle(shared: Arc<Shared>, req: Request) -> Response {
    match dispatch(shared, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// Every request must carry the kubeconfig's bearer token; anything else
/// is 401 Unauthorized, as an apiserver without anonymous auth answers
/// (its authentication filter, k8s.io/apiserver `endpoints/filters/authentication.go`).
/// The comparison takes the same time wherever the tokens differ.
fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let want = format!("Bearer {}", shared.config.token);
    let Some(got) = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()) else { return false };
    got.len() == want.len() && got.iter().zip(want.as_bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

async fn dispatch(shared: Arc<Shared>, req: Request) -> Result<Response, ApiError> {
    if !authorized(&shared, req.headers()) {
        return Err(ApiError::unauthorized());
    }
    let path = req.uri().path().to_string();
    let params = Params(
        Query::<Vec<(String, String)>>::try_from_uri(req.uri())
            .map(|q| q.0)
            .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))?,
    );
    let defs = lock(&shared.store).resources();
    let ok = |v: Value| Ok(json_response(StatusCode::OK, &v));
    match parse_path(&path) {
        Route::Version => ok(discovery::version()),
        Route::CoreVersions => ok(discovery::core_versions(&shared.config.server_address)),
        Route::Groups => ok(discovery::group_list(&defs)),
        Route::Group(g) => discovery::group(&defs, &g).map_or_else(|| Err(ApiError::no_route()), ok),
        Route::Resources(g, v) => discovery::resource_list(&defs, &g, &v).map_or_else(|| Err(ApiError::no_route()), ok),
        Route::OpenApiRoot => ok(openapi::root(&defs)),
        Route::OpenApi(g, v) => openapi::group_version(&defs, &g, &v).map_or_else(|| Err(ApiError::no_route()), ok),
        Route::NotFound => Err(ApiError::no_route()),
        Route::Resource(t) => {
            let def = defs
                .into_iter()
                .find(|d| d.group == t.group && d.version == t.version && d.plural == t.plural)
                .ok_or_else(ApiError::no_route)?;
            if t.namespace.is_some() && !def.namespaced {
                return Err(ApiError::no_route());
            }
            resource(shared, def, t, params, req).await
        }
    }
}

/// `metadata.name=X` (or `==`) alone in a field selector.
fn exact_name(selector: &str) -> Option<String> {
    let s = selector.trim();
    if s.contains(',') {
        return None;
    }
    let v = s.strip_prefix("metadata.name==").or_else(|| s.strip_prefix("metadata.name="))?;
    (!v.is_empty()).then(|| v.to_string())
}

/// RBAC verb of a request, as the apiserver's RequestInfo computes it
/// (apiserver pkg/endpoints/request/requestinfo.go): a GET of `pods/exec`
/// (the websocket upgrade kube-rs and kubectl use) is `get`.
fn verb(method: &Method, t: &Target, watch: bool) -> &'static str {
    match (method.as_str(), t.name.is_some()) {
        ("POST", _) => "create",
        ("GET", false) if watch || t.watch_prefix => "watch",
        ("GET", false) => "list",
        ("GET", true) => "get",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", false) => "deletecollection",
        ("DELETE", true) => "delete",
        _ => "unknown",
    }
}

async fn read_body(body: Body) -> Result<Vec<u8>, ApiError> {
    axum::body::to_bytes(body, MAX_BODY)
        .await
        .map(|b| b.to_vec())
        .map_err(|e| ApiError::new(413, "RequestEntityTooLarge", format!("reading request body: {e}")))
}

fn json_body(bytes: &[u8], headers: &HeaderMap) -> Result<Value, ApiError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    if ct.contains("protobuf") || ct.contains("cbor") {
        return Err(ApiError::unsupported_media_type(ct));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}")))
}

fn filter(def: &ResourceDef, ns: Option<&str>, p: &Params) -> Result<Filter, ApiError> {
    Ok(Filter {
        namespace: ns.map(str::to_string),
        labels: LabelSelector::parse(p.get("labelSelector").unwrap_or("")).map_err(ApiError::bad_request)?,
        fields: FieldSelector::parse(p.get("fieldSelector").unwrap_or(""), &def.kind).map_err(ApiError::bad_request)?,
    })
}

fn wants_table(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("as=Table"))
}

async fn resource(
    shared: Arc<Shared>,
    def: ResourceDef,
    t: Target,
    p: Params,
    req: Request,
) -> Result<Response, ApiError> {
    let method = req.method().clone();
    let watching = p.flag("watch") || t.watch_prefix;
    let verb = verb(&method, &t, watching);
    // Since Kubernetes 1.31 (AuthorizePodWebsocketUpgradeCreatePermission)
    // a websocket exec is also authorized as `create`.
    let verbs: &[&str] = if verb == "get" && t.sub.as_deref() == Some("exec") { &["get", "create"] } else { &[verb] };
    let resource = match &t.sub {
        Some(s) => format!("{}/{s}", def.plural),
        None => def.plural.clone(),
    };
    let ns = t.namespace.clone().unwrap_or_default();
    if def.group == "authorization.k8s.io" {
        // Every authenticated user may ask what it may do
        // (system:basic-user), so no rule applies to the review itself.
        if method != Method::POST {
            return Err(ApiError::method_not_allowed());
        }
        let (_, body) = req.into_parts();
        let review = json_body(&read_body(body).await?, &HeaderMap::new())?;
        let answer = access_review::answer(&lock(&shared.store), &review)?;
        return Ok(json_response(StatusCode::CREATED, &answer));
    }
    {
        let st = lock(&shared.store);
        // A list or watch of one name (fieldSelector metadata.name=X) is
        // authorized against that name (requestinfo.go).
        let selected = match verb {
            "list" | "watch" => p.get("fieldSelector").and_then(exact_name),
            _ => None,
        };
        let name = t.name.as_deref().or(selected.as_deref()).unwrap_or("");
        for v in verbs {
            if !st.allows(v, &def.group, &resource, t.namespace.as_deref(), name) {
                return Err(ApiError::forbidden(
                    &shared.config.user,
                    v,
                    &def.group,
                    &resource,
                    t.namespace.as_deref(),
                    name,
                ));
            }
        }
        if let Some(code) = st.outage(&def.group, &resource) {
            return Err(ApiError::outage(code));
        }
    }
    // The lock is released before any await below.
    let fault = lock(&shared.faults).take(verb, &resource, t.name.as_deref().unwrap_or(""));
    let cut = match fault {
        None => false,
        Some(Effect::Status(code)) => return Err(ApiError::injected(code)),
        Some(Effect::Conflict) => {
            return Err(ApiError::conflict(&def.group, &def.plural, t.name.as_deref().unwrap_or("")));
        }
        Some(Effect::Hang) => {
            // Never answered: only the client's deadline (or the double
            // stopping) ends the request.
            let mut stop = shared.shutdown.subscribe();
            let _ = stop.wait_for(|s| *s).await;
            return Err(ApiError::injected(503));
        }
        Some(Effect::Hold(gate)) => {
            let mut stop = shared.shutdown.subscribe();
            tokio::select! {
                _ = gate.opened() => {}
                _ = stop.wait_for(|s| *s) => return Err(ApiError::injected(503)),
            }
            false
        }
        Some(Effect::Cut) if watching => true,
        Some(Effect::Cut) => return Err(ApiError::injected(500)),
    };
    let part = match t.sub.as_deref() {
        None => Part::Main,
        Some("status") if def.status => Part::Status,
        Some("log" | "exec") if def.is_pod() => Part::Main,
        Some(_) => return Err(ApiError::no_route()),
    };
    let table = wants_table(req.headers());
    let ctx = write_ctx(&p, req.headers())?;
    let include_object = p.get("includeObject") == Some("Object");
    let (mut parts, body) = req.into_parts();
    let name = t.name.clone().unwrap_or_default();
    let ok = |v: Value| Ok(json_response(StatusCode::OK, &v));

    match (method.as_str(), t.name.is_some(), t.sub.as_deref()) {
        ("GET", false, None) if watching => {
            let f = filter(&def, t.namespace.as_deref(), &p)?;
            let rv = p.get("resourceVersion").unwrap_or("");
            let start = match rv {
                "" | "0" => None,
                n => Some(
                    n.parse::<u64>().map_err(|_| ApiError::bad_request(format!("invalid resource version: {n:?}")))?,
                ),
            };
            let initial = p.flag("sendInitialEvents");
            let wp = WatchParams {
                start: if initial { None } else { start },
                initial_events_end: initial,
                timeout: p.num::<u64>("timeoutSeconds")?.map(Duration::from_secs),
                bookmarks: p.flag("allowWatchBookmarks"),
                filter: f,
                cut,
            };
            Ok(watch::serve(shared, def, wp))
        }
        ("GET", false, None) => {
            let f = filter(&def, t.namespace.as_deref(), &p)?;
            let st = lock(&shared.store);
            if p.get("resourceVersionMatch") == Some("Exact")
                && let Some(n) = p.num::<u64>("resourceVersion")?
                && n < st.floor
            {
                return Err(ApiError::gone(n, st.floor));
            }
            let (items, rv) = st.list(&def, &f);
            drop(st);
            let (items, meta) = paginate(items, rv, &p)?;
            if table {
                return ok(table::table(&def, &items, meta, include_object));
            }
            ok(json!({
                "kind": format!("{}List", def.kind),
                "apiVersion": def.api_version(),
                "metadata": meta,
                "items": items,
            }))
        }
        ("GET", true, None | Some("status")) => {
            let obj = lock(&shared.store).get(&def, &ns, &name)?;
            if table {
                let meta = json!({"resourceVersion": obj["metadata"]["resourceVersion"]});
                return ok(table::table(&def, &[obj], meta, include_object));
            }
            ok(obj)
        }
        ("GET", true, Some("log")) => {
            let pod = lock(&shared.store).get(&def, &ns, &name)?;
            let lp = LogParams {
                container: p.get("container").unwrap_or("").to_string(),
                follow: p.flag("follow"),
                previous: p.flag("previous"),
                timestamps: p.flag("timestamps"),
                tail_lines: p.num::<i64>("tailLines")?.map(|n| n.max(0) as usize),
                since_seconds: p.num("sinceSeconds")?,
                limit_bytes: p.num("limitBytes")?,
            };
            Ok(logs::serve(shared, &ns, &pod, lp))
        }
        ("GET" | "POST", true, Some("exec")) => {
            let pod = lock(&shared.store).get(&def, &ns, &name)?;
            let container = logs::container_for(&pod, &name, p.get("container").unwrap_or(""))?;
            let command = p.all("command");
            if command.is_empty() {
                return Err(ApiError::bad_request("you must specify at least 1 command"));
            }
            let er = ExecRequest {
                namespace: ns.clone(),
                pod: name.clone(),
                container,
                command,
                stdin: p.flag("stdin"),
                stdout: p.flag("stdout"),
                stderr: p.flag("stderr"),
                tty: p.flag("tty"),
            };
            let ws = WebSocketUpgrade::from_request_parts(&mut parts, &())
                .await
                .map_err(|_| ApiError::bad_request("Upgrade request required"))?;
            Ok(exec::serve(shared, ws, er))
        }
        ("POST", false, None) => {
            let bytes = read_body(body).await?;
            let obj = json_body(&bytes, &parts.headers)?;
            let (r, warn) = write(&shared, ctx, |st| st.create(&def, &ns, obj));
            with_warnings(StatusCode::CREATED, r?, warn)
        }
        ("PUT", true, None | Some("status")) => {
            let bytes = read_body(body).await?;
            let obj = json_body(&bytes, &parts.headers)?;
            let (r, warn) = write(&shared, ctx, |st| st.update(&def, &ns, &name, part, obj));
            with_warnings(StatusCode::OK, r?, warn)
        }
        ("PATCH", true, None | Some("status")) => {
            let ct = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let kind = PatchKind::from_content_type(&ct)?;
            check_patch_options(kind, &p)?;
            let bytes = read_body(body).await?;
            let existed = lock(&shared.store).get(&def, &ns, &name).is_ok();
            let (r, warn) = write(&shared, ctx, |st| st.patch(&def, &ns, &name, part, kind, &bytes));
            with_warnings(if existed { StatusCode::OK } else { StatusCode::CREATED }, r?, warn)
        }
        ("DELETE", true, None) => {
            let bytes = read_body(body).await?;
            let opts: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let pre = opts["preconditions"]["resourceVersion"].as_str().map(str::to_string);
            ok(shared.mutate(|st| st.delete(&def, &ns, &name, pre.as_deref()))?)
        }
        ("DELETE", false, None) => {
            let f = filter(&def, t.namespace.as_deref(), &p)?;
            let v = shared.mutate(|st| {
                let (items, _) = st.list(&def, &f);
                let mut gone = Vec::new();
                for o in items {
                    let on = o["metadata"]["name"].as_str().unwrap_or("").to_string();
                    let ons = o["metadata"]["namespace"].as_str().unwrap_or("").to_string();
                    if let Ok(d) = st.delete(&def, &ons, &on, None) {
                        gone.push(d);
                    }
                }
                json!({"kind": format!("{}List", def.kind), "apiVersion": def.api_version(),
                       "metadata": {"resourceVersion": st.rv.to_string()}, "items": gone})
            });
            ok(v)
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// The write context of a request: `fieldValidation` (default Warn), the
/// field manager (`fieldManager`, else the User-Agent up to its first `/`
/// like the apiserver's managerOrUserAgent in handlers/create.go), `force`.
fn write_ctx(p: &Params, headers: &HeaderMap) -> Result<WriteCtx, ApiError> {
    let validation = match p.get("fieldValidation") {
        None | Some("") | Some("Warn") => FieldValidation::Warn,
        Some("Strict") => FieldValidation::Strict,
        Some("Ignore") => FieldValidation::Ignore,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {other} (must be one of Ignore, Warn, Strict)"
            )));
        }
    };
    let manager = match p.get("fieldManager") {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => {
            let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
            ua.split('/').next().unwrap_or("").chars().filter(|c| !c.is_control()).take(128).collect()
        }
    };
    Ok(WriteCtx { validation, manager: Some(manager), force: p.flag("force"), ..WriteCtx::default() })
}

/// apimachinery ValidatePatchOptions: apply needs a fieldManager, and
/// `force` is for apply only.
fn check_patch_options(kind: PatchKind, p: &Params) -> Result<(), ApiError> {
    let err = |cause, field: &str, detail: &str| {
        let e = schema::FieldError { cause, field: field.into(), value: None, detail: detail.into() };
        schema::invalid("meta.k8s.io", "PatchOptions", "", &[e])
    };
    match kind {
        PatchKind::Apply if p.get("fieldManager").unwrap_or("").is_empty() => {
            Err(err(schema::Cause::Required, "fieldManager", "is required for apply patch"))
        }
        PatchKind::Apply => Ok(()),
        _ if p.get("force").is_some() => {
            Err(err(schema::Cause::Forbidden, "force", "may not be specified for non-apply patch"))
        }
        _ => Ok(()),
    }
}

/// Runs one store write under `ctx`; returns its warnings too.
fn write<R>(shared: &Shared, ctx: WriteCtx, f: impl FnOnce(&mut Store) -> R) -> (R, Vec<String>) {
    shared.mutate(|st| {
        st.ctx = ctx;
        let r = f(st);
        let w = std::mem::take(&mut st.ctx.warnings);
        st.ctx = WriteCtx::default();
        (r, w)
    })
}

/// A JSON answer with `Warning: 299 - "..."` headers, as the apiserver
/// sends for fieldValidation=Warn.
fn with_warnings(code: StatusCode, v: Value, warnings: Vec<String>) -> Result<Response, ApiError> {
    let mut r = json_response(code, &v);
    for w in warnings {
        let text = format!("299 - {}", schema::go_quote(&w));
        if let Ok(h) = axum::http::HeaderValue::from_str(&text) {
            r.headers_mut().append(header::WARNING, h);
        }
    }
    Ok(r)
}

/// `limit`/`continue`: the token is "<list rv>:<offset>" (opaque to clients).
fn paginate(items: Vec<Value>, rv: u64, p: &Params) -> Result<(Vec<Value>, Value), ApiError> {
    let (list_rv, offset) = match p.get("continue") {
        None | Some("") => (rv, 0usize),
        Some(tok) => tok
            .split_once(':')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
            .ok_or_else(|| ApiError::bad_request("continue key is not valid"))?,
    };
    let limit = p.num::<usize>("limit")?.filter(|l| *l > 0);
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(limit.unwrap_or(usize::MAX)).collect();
    let mut meta = json!({"resourceVersion": list_rv.to_string()});
    let next = offset + page.len();
    if limit.is_some() && next < total {
        meta["continue"] = json!(format!("{list_rv}:{next}"));
        meta["remainingItemCount"] = json!(total - next);
    }
    Ok((page, meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let r = parse_path("/api/v1/namespaces/default/pods/p1/log");
        let Route::Resource(t) = r else { panic!("{r:?}") };
        assert_eq!((t.namespace.as_deref(), t.plural.as_str()), (Some("default"), "pods"));
        assert_eq!((t.name.as_deref(), t.sub.as_deref()), (Some("p1"), Some("log")));
        let Route::Resource(t) = parse_path("/api/v1/namespaces/foo/status") else { panic!() };
        assert_eq!(
            (t.plural.as_str(), t.name.as_deref(), t.sub.as_deref()),
            ("namespaces", Some("foo"), Some("status"))
        );
        let Route::Resource(t) = parse_path("/api/v1/namespaces/foo") else { panic!() };
        assert_eq!((t.plural.as_str(), t.name.as_deref()), ("namespaces", Some("foo")));
        let Route::Resource(t) = parse_path("/apis/spire.spiffe.io/v1alpha1/clusterspiffeids") else { panic!() };
        assert_eq!(t.group, "spire.spiffe.io");
        let Route::Resource(t) = parse_path("/api/v1/watch/namespaces/a/configmaps") else { panic!() };
        assert!(t.watch_prefix);
        for bad in ["/", "/apis/a/b/c/d/e/f/g", "/api/v1/namespaces//pods", "/foo"] {
            assert_eq!(parse_path(bad), Route::NotFound, "{bad}");
        }
    }
}
