//! The object store: JSON objects keyed by (group, plural, namespace, name),
//! one global monotonic resourceVersion (like etcd's revision), and a bounded
//! event history that watches resume from.
//!
//! One stored version per resource: a CRD serving several versions shows the
//! same objects under each, with `apiVersion` rewritten (no conversion).

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::{Value, json};

use super::errors::ApiError;
use super::managed;
use super::patch::{self, PatchKind};
use super::resources::{self, ResourceDef};
use super::schema;
use super::selectors::{FieldSelector, LabelSelector};
use super::util;

/// (group, plural, namespace or "", name)
pub type ObjKey = (String, String, String, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as kept in the watch history.
#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    pub group: String,
    pub plural: String,
    pub kind: EventType,
    pub object: Value,
    /// The object before a MODIFIED, so filtered watches can turn a change
    /// that leaves or enters the selection into DELETED or ADDED.
    pub prev: Option<Value>,
}

/// An RBAC-style denial rule; `*` matches any verb or resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Denial {
    pub verb: String,
    pub group: String,
    pub resource: String,
    /// None: everywhere (all namespaces and the cluster scope).
    pub namespace: Option<String>,
}

/// `fieldValidation` of a write (apiserver default: Warn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    /// Unknown fields are pruned silently (also: seeding from Rust).
    #[default]
    Ignore,
    Warn,
    Strict,
}

/// How the current write is made: set by the server around one store call.
#[derive(Debug, Clone, Default)]
pub struct WriteCtx {
    pub validation: FieldValidation,
    /// The field manager an Update (or Apply) is recorded for; None: no
    /// managedFields bookkeeping (seeding from Rust).
    pub manager: Option<String>,
    /// `force=true` on an apply.
    pub force: bool,
    /// Set while an apply writes: ownership is already recorded.
    pub applying: bool,
    /// Set while a (non-apply) patch writes: strict errors are worded as
    /// the patch handler words them.
    pub patching: bool,
    /// `Warning` headers to send back.
    pub warnings: Vec<String>,
}

/// Filters for list and watch.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Filter {
    pub fn matches(&self, obj: &Value) -> bool {
        let ns_ok = match &self.namespace {
            Some(ns) => obj["metadata"]["namespace"].as_str().unwrap_or("") == ns,
            None => true,
        };
        ns_ok && self.labels.matches(obj) && self.fields.matches(obj)
    }
}

/// Which part of an object a write targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Main,
    Status,
}

pub struct Store {
    pub objects: BTreeMap<ObjKey, Value>,
    pub rv: u64,
    pub history: VecDeque<Event>,
    /// Watches may resume from any resourceVersion >= floor.
    pub floor: u64,
    pub max_history: usize,
    uid_seq: u64,
    pub denials: Vec<Denial>,
    /// (group, resource or "*") -> HTTP code
    pub outages: HashMap<(String, String), u16>,
    /// RBAC allow-list (PolicyRules); None: everything allowed.
    pub rbac: Option<Vec<Value>>,
    pub ctx: WriteCtx,
}

fn key(def: &ResourceDef, ns: &str, name: &str) -> ObjKey {
    let ns = if def.namespaced { ns } else { "" };
    (def.group.clone(), def.plural.clone(), ns.into(), name.into())
}

fn name_of(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or("")
}

fn rv_of(obj: &Value) -> &str {
    obj["metadata"]["resourceVersion"].as_str().unwrap_or("")
}

/// Everything but metadata and status: a change there bumps `generation`.
fn spec_part(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    o
}

impl Store {
    pub fn new(max_history: usize) -> Self {
        Store {
            objects: BTreeMap::new(),
            rv: 1,
            history: VecDeque::new(),
            floor: 0,
            max_history: max_history.max(1),
            uid_seq: 0,
            denials: Vec::new(),
            outages: HashMap::new(),
            rbac: None,
            ctx: WriteCtx::default(),
        }
    }

    /// Built-ins plus the resources of every stored CRD.
    pub fn resources(&self) -> Vec<ResourceDef> {
        let mut all = resources::builtins();
        let crds = self.objects.range(
            (
                "apiextensions.k8s.io".to_string(),
                "customresourcedefinitions".to_string(),
                String::new(),
                String::new(),
            )..,
        );
        for ((g, p, _, _), crd) in crds {
            if g != "apiextensions.k8s.io" || p != "customresourcedefinitions" {
                break;
            }
            for d in resources::from_crd(crd) {
                if !all.iter().any(|b| b.group == d.group && b.version == d.version && b.plural == d.plural) {
                    all.push(d);
                }
            }
        }
        all
    }

    pub fn resource(&self, group: &str, version: &str, plural: &str) -> Option<ResourceDef> {
        self.resources().into_iter().find(|d| d.group == group && d.version == version && d.plural == plural)
    }

    /// The served object: `apiVersion` of the version asked for.
    pub fn present(def: &ResourceDef, obj: &Value) -> Value {
        let mut o = obj.clone();
        o["apiVersion"] = json!(def.api_version());
        o["kind"] = json!(def.kind);
        o
    }

    fn commit(&mut self, kind: EventType, k: &ObjKey, obj: Value, prev: Option<Value>) {
        if kind == EventType::Deleted {
            self.objects.remove(k);
        } else {
            self.objects.insert(k.clone(), obj.clone());
        }
        self.history.push_back(Event { rv: self.rv, group: k.0.clone(), plural: k.1.clone(), kind, object: obj, prev });
        while self.history.len() > self.max_history {
            if let Some(e) = self.history.pop_front() {
                self.floor = e.rv;
            }
        }
    }

    /// Drops the whole history: every open watch and every resume from an
    /// older resourceVersion gets 410 Gone (as after an etcd compaction).
    pub fn compact(&mut self) {
        self.rv += 1;
        self.floor = self.rv;
        self.history.clear();
    }

    fn next_rv(&mut self) -> String {
        self.rv += 1;
        self.rv.to_string()
    }

    pub fn get(&self, def: &ResourceDef, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.objects
            .get(&key(def, ns, name))
            .map(|o| Self::present(def, o))
            .ok_or_else(|| ApiError::not_found(&def.group, &def.plural, name))
    }

    /// Matching objects, ordered by namespace then name, and the list's RV.
    pub fn list(&self, def: &ResourceDef, filter: &Filter) -> (Vec<Value>, u64) {
        let items = self
            .objects
            .iter()
            .filter(|((g, p, _, _), _)| *g == def.group && *p == def.plural)
            .map(|(_, o)| o)
            .filter(|o| filter.matches(o))
            .map(|o| Self::present(def, o))
            .collect();
        (items, self.rv)
    }

    fn namespace_exists(&self, ns: &str) -> bool {
        self.objects.contains_key(&("".into(), "namespaces".into(), "".into(), ns.into()))
    }

    /// POST: like the apiserver's PrepareForCreate, a kind with a status
    /// subresource starts with its default status, whatever the body says.
    pub fn create(&mut self, def: &ResourceDef, ns: &str, obj: Value) -> Result<Value, ApiError> {
        self.create_inner(def, ns, obj, false)
    }

    fn create_inner(
        &mut self,
        def: &ResourceDef,
        ns: &str,
        mut obj: Value,
        keep_status: bool,
    ) -> Result<Value, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request("the body of the request must be a JSON object"));
        }
        if !obj["metadata"].is_object() {
            obj["metadata"] = json!({});
        }
        let meta = &mut obj["metadata"];
        if meta["name"].as_str().unwrap_or("").is_empty() {
            match meta["generateName"].as_str() {
                Some(prefix) if !prefix.is_empty() => {
                    let suffix: String =
                        util::new_uid(self.uid_seq).chars().filter(|c| c.is_ascii_alphanumeric()).take(5).collect();
                    meta["name"] = json!(format!("{prefix}{suffix}"));
                }
                _ => {
                    return Err(ApiError::invalid(
                        &def.group,
                        &def.plural,
                        "",
                        format!(
                            "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                            def.kind
                        ),
                    ));
                }
            }
        }
        if def.namespaced {
            match meta["namespace"].as_str() {
                Some(n) if !n.is_empty() && n != ns => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                _ => meta["namespace"] = json!(ns),
            }
            if !self.namespace_exists(ns) {
                return Err(ApiError::not_found("", "namespaces", ns));
            }
        } else if let Some(m) = meta.as_object_mut() {
            m.remove("namespace");
        }
        let name = name_of(&obj).to_string();
        let k = key(def, ns, &name);
        if self.objects.contains_key(&k) {
            return Err(ApiError::already_exists(&def.group, &def.plural, &name));
        }
        self.uid_seq += 1;
        let rv = self.next_rv();
        let meta = &mut obj["metadata"];
        meta["uid"] = json!(util::new_uid(self.uid_seq));
        meta["resourceVersion"] = json!(rv);
        meta["creationTimestamp"] = json!(util::now_rfc3339());
        if tracks_generation(def) {
            meta["generation"] = json!(1);
        }
        if let Some(m) = meta.as_object_mut() {
            m.remove("deletionTimestamp");
        }
        obj["apiVersion"] = json!(def.api_version());
        obj["kind"] = json!(def.kind);
        if def.status
            && !keep_status
            && let Some(m) = obj.as_object_mut()
        {
            m.remove("status");
        }
        defaults(def, &mut obj);
        self.admit(def, None, &mut obj, Part::Main)?;
        self.commit(EventType::Added, &k, obj.clone(), None);
        Ok(obj)
    }

    /// PUT. An empty `metadata.resourceVersion` is an unconditional update.
    pub fn update(
        &mut self,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        part: Part,
        body: Value,
    ) -> Result<Value, ApiError> {
        let k = key(def, ns, name);
        let Some(old) = self.objects.get(&k).cloned() else {
            return Err(ApiError::not_found(&def.group, &def.plural, name));
        };
        if !body.is_object() {
            return Err(ApiError::bad_request("the body of the request must be a JSON object"));
        }
        let body_name = name_of(&body);
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let want_rv = rv_of(&body);
        if !want_rv.is_empty() && want_rv != rv_of(&old) {
            return Err(ApiError::conflict(&def.group, &def.plural, name));
        }
        let mut new = match part {
            Part::Status => {
                let mut n = old.clone();
                n["status"] = body["status"].clone();
                if let Some(mf) = body["metadata"].get("managedFields") {
                    n["metadata"]["managedFields"] = mf.clone();
                }
                n
            }
            Part::Main => {
                let mut n = body;
                if def.status {
                    match old.get("status") {
                        Some(s) => n["status"] = s.clone(),
                        None => {
                            if let Some(m) = n.as_object_mut() {
                                m.remove("status");
                            }
                        }
                    }
                }
                n
            }
        };
        if !new["metadata"].is_object() {
            new["metadata"] = json!({});
        }
        for f in ["uid", "creationTimestamp", "namespace", "name", "deletionTimestamp", "generation"] {
            match old["metadata"].get(f) {
                Some(v) => new["metadata"][f] = v.clone(),
                None => {
                    if let Some(m) = new["metadata"].as_object_mut() {
                        m.remove(f);
                    }
                }
            }
        }
        if new["metadata"].get("managedFields").is_none()
            && let Some(mf) = old["metadata"].get("managedFields")
        {
            // A body without managedFields keeps them (an empty list resets).
            new["metadata"]["managedFields"] = mf.clone();
        }
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        new["apiVersion"] = old["apiVersion"].clone();
        new["kind"] = old["kind"].clone();
        self.admit(def, Some(&old), &mut new, part)?;
        namespace_name_label(def, &mut new);
        if new == old {
            // A no-op write does not bump the resourceVersion.
            return Ok(Self::present(def, &old));
        }
        if tracks_generation(def) && spec_part(&new) != spec_part(&old) {
            let g = old["metadata"]["generation"].as_i64().unwrap_or(0);
            new["metadata"]["generation"] = json!(g + 1);
        }
        new["metadata"]["resourceVersion"] = json!(self.next_rv());
        let finalized = new["metadata"]["deletionTimestamp"].is_string()
            && new["metadata"]["finalizers"].as_array().is_none_or(|f| f.is_empty());
        let kind = if finalized { EventType::Deleted } else { EventType::Modified };
        self.commit(kind, &k, new.clone(), Some(old));
        Ok(Self::present(def, &new))
    }

    pub fn patch(
        &mut self,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        part: Part,
        kind: PatchKind,
        body: &[u8],
    ) -> Result<Value, ApiError> {
        if kind == PatchKind::Apply {
            return self.server_side_apply(def, ns, name, part, body);
        }
        let Some(old) = self.objects.get(&key(def, ns, name)).cloned() else {
            return Err(ApiError::not_found(&def.group, &def.plural, name));
        };
        let patched = patch::apply(kind, &old, body)?;
        if !rv_of(&patched).is_empty() && rv_of(&patched) != rv_of(&old) {
            // The patch carried a resourceVersion precondition.
            return Err(ApiError::conflict(&def.group, &def.plural, name));
        }
        self.ctx.patching = true;
        let r = self.update(def, ns, name, part, patched);
        self.ctx.patching = false;
        r
    }

    /// `application/apply-patch+yaml`: the body (YAML or JSON) is the
    /// manager's whole intent; see [`managed::apply`]. Applying to a
    /// missing object creates it; applying to `/status` applies the status.
    fn server_side_apply(
        &mut self,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        part: Part,
        body: &[u8],
    ) -> Result<Value, ApiError> {
        let Some(manager) = self.ctx.manager.clone() else {
            return Err(ApiError::bad_request("fieldManager is required for apply patch"));
        };
        let text = std::str::from_utf8(body).map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
        let mut config: Value =
            serde_yaml::from_str(text).map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
        if !config.is_object() {
            return Err(ApiError::bad_request(
                "json: cannot unmarshal non-object into Go value of type map[string]interface {}",
            ));
        }
        let body_name = name_of(&config);
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        if let Some(m) = config.as_object_mut() {
            match part {
                Part::Status => m.retain(|k, _| k == "status"),
                Part::Main if def.status => {
                    m.remove("status");
                }
                Part::Main => {}
            }
        }
        let existing = self.objects.get(&key(def, ns, name)).map(|o| Self::present(def, o));
        if existing.is_none() && part == Part::Status {
            return Err(ApiError::not_found(&def.group, &def.plural, name));
        }
        let live = existing.clone().unwrap_or_else(|| json!({"metadata": {"name": name}}));
        let sub = if part == Part::Status { "status" } else { "" };
        let now = util::now_rfc3339();
        let mut out = managed::apply(&live, &config, &manager, &def.api_version(), sub, self.ctx.force, &now)?;
        self.ctx.applying = true;
        let r = match existing {
            None => {
                out["metadata"]["name"] = json!(name);
                self.create(def, ns, out)
            }
            Some(_) => {
                if let Some(m) = out["metadata"].as_object_mut() {
                    m.remove("resourceVersion");
                }
                self.update(def, ns, name, part, out)
            }
        };
        self.ctx.applying = false;
        r
    }

    /// What the apiserver does to a custom resource between decoding and
    /// storage: pruning (strict/warn on unknown fields), metadata.name and
    /// schema validation of the whole object, then managedFields.
    fn admit(&mut self, def: &ResourceDef, old: Option<&Value>, obj: &mut Value, part: Part) -> Result<(), ApiError> {
        if let Some(schema) = &def.schema {
            let before = obj.clone();
            let unknown = schema::prune::prune(obj, schema);
            if !unknown.is_empty() {
                let msgs: Vec<String> = unknown.iter().map(|u| format!("unknown field \"{u}\"")).collect();
                match self.ctx.validation {
                    FieldValidation::Strict => {
                        let strict = format!("strict decoding error: {}", msgs.join(", "));
                        // apiserver handlers: patch.go answers 422 on the
                        // patched object, create.go/update.go 400 through
                        // transformDecodeError.
                        if self.ctx.patching {
                            let e = schema::FieldError {
                                cause: schema::Cause::Invalid,
                                field: "patch".into(),
                                value: Some(json!(before.to_string())),
                                detail: strict,
                            };
                            return Err(schema::invalid("", "", "", &[e]));
                        }
                        if self.ctx.applying {
                            return Err(ApiError::bad_request(strict));
                        }
                        return Err(ApiError::bad_request(format!(
                            "{kind} in version {:?} cannot be handled as a {kind}: {strict}",
                            def.version,
                            kind = def.kind
                        )));
                    }
                    FieldValidation::Warn => self.ctx.warnings.extend(msgs),
                    FieldValidation::Ignore => {}
                }
            }
            let name = name_of(obj).to_string();
            let mut errs = if old.is_none() { schema::validate_name(&name) } else { Vec::new() };
            errs.extend(schema::validate::validate(schema, obj, ""));
            if !errs.is_empty() {
                return Err(schema::invalid(&def.group, &def.kind, &name, &errs));
            }
        }
        if !self.ctx.applying
            && let Some(manager) = self.ctx.manager.clone().filter(|m| !m.is_empty())
        {
            let sub = if part == Part::Status { "status" } else { "" };
            managed::record_update(old, obj, &manager, &def.api_version(), sub, &util::now_rfc3339());
        }
        Ok(())
    }

    /// DELETE: with finalizers the object only gets a deletionTimestamp.
    pub fn delete(
        &mut self,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        precondition_rv: Option<&str>,
    ) -> Result<Value, ApiError> {
        let k = key(def, ns, name);
        let Some(old) = self.objects.get(&k).cloned() else {
            return Err(ApiError::not_found(&def.group, &def.plural, name));
        };
        if let Some(want) = precondition_rv
            && !want.is_empty()
            && want != rv_of(&old)
        {
            return Err(ApiError::conflict(&def.group, &def.plural, name));
        }
        let mut obj = old.clone();
        let has_finalizers = obj["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty());
        if has_finalizers {
            if obj["metadata"]["deletionTimestamp"].is_string() {
                return Ok(Self::present(def, &obj));
            }
            obj["metadata"]["deletionTimestamp"] = json!(util::now_rfc3339());
            obj["metadata"]["resourceVersion"] = json!(self.next_rv());
            self.commit(EventType::Modified, &k, obj.clone(), Some(old));
            return Ok(Self::present(def, &obj));
        }
        if def.group.is_empty() && def.plural == "namespaces" {
            // Namespace deletion takes its contents with it.
            let inside: Vec<ObjKey> = self.objects.keys().filter(|(_, _, n, _)| n == name).cloned().collect();
            for ik in inside {
                if let Some(mut o) = self.objects.get(&ik).cloned() {
                    o["metadata"]["resourceVersion"] = json!(self.next_rv());
                    self.commit(EventType::Deleted, &ik, o, None);
                }
            }
        }
        obj["metadata"]["resourceVersion"] = json!(self.next_rv());
        self.commit(EventType::Deleted, &k, obj.clone(), None);
        Ok(Self::present(def, &obj))
    }

    /// Writes an object as given (seeding from Rust): creates or replaces
    /// without preconditions, status included, namespace auto-created.
    pub fn upsert(&mut self, def: &ResourceDef, mut obj: Value) -> Result<Value, ApiError> {
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or("default").to_string();
        if def.namespaced && !self.namespace_exists(&ns) {
            let nsdef = self.resource("", "v1", "namespaces").ok_or_else(ApiError::no_route)?;
            self.create(&nsdef, "", json!({"metadata": {"name": ns}}))?;
        }
        let name = name_of(&obj).to_string();
        match self.objects.get(&key(def, &ns, &name)).cloned() {
            None => self.create_inner(def, &ns, obj, true),
            Some(old) => {
                if let Some(m) = obj["metadata"].as_object_mut() {
                    m.remove("resourceVersion");
                }
                let status = obj.get("status").cloned();
                let mut out = self.update(def, &ns, &name, Part::Main, obj)?;
                if let Some(s) = status
                    && def.status
                    && Some(&s) != old.get("status")
                {
                    out = self.update(def, &ns, &name, Part::Status, json!({"status": s}))?;
                }
                Ok(out)
            }
        }
    }

    /// The first denial matching a request, if any.
    /// Whether the RBAC rules (when enforced) and the denial rules let
    /// `verb` through on `resource` (`plural` or `plural/sub`) named `name`.
    pub fn allows(&self, verb: &str, group: &str, resource: &str, ns: Option<&str>, name: &str) -> bool {
        let (plural, sub) = resource.split_once('/').unwrap_or((resource, ""));
        let by_rules = self.rbac.as_ref().is_none_or(|rules| {
            super::rbac::allows(rules, &super::rbac::Request { verb, group, resource: plural, subresource: sub, name })
        });
        by_rules && !self.denied(verb, group, resource, ns)
    }

    pub fn denied(&self, verb: &str, group: &str, resource: &str, ns: Option<&str>) -> bool {
        self.denials.iter().any(|d| {
            (d.verb == "*" || d.verb == verb)
                && d.group == group
                && (d.resource == "*" || d.resource == resource)
                && match &d.namespace {
                    None => true,
                    Some(n) => ns == Some(n.as_str()),
                }
        })
    }

    pub fn outage(&self, group: &str, resource: &str) -> Option<u16> {
        let base = resource.split('/').next().unwrap_or(resource);
        self.outages
            .get(&(group.to_string(), base.to_string()))
            .or_else(|| self.outages.get(&(group.to_string(), "*".to_string())))
            .copied()
    }
}

/// Kinds without a spec/status split carry no `metadata.generation`.
fn tracks_generation(def: &ResourceDef) -> bool {
    !(def.group == "rbac.authorization.k8s.io"
        || def.group.is_empty()
            && matches!(def.plural.as_str(), "configmaps" | "secrets" | "serviceaccounts" | "namespaces"))
}

/// What the apiserver (or its controllers) fill in on create.
/// Every Namespace carries `kubernetes.io/metadata.name: <name>`, set by
/// the apiserver on create and update whatever the client sent
/// (kubernetes pkg/registry/core/namespace/strategy.go, since 1.21);
/// namespace selectors (ClusterSPIFFEIDs) rely on it.
fn namespace_name_label(def: &ResourceDef, obj: &mut Value) {
    if def.group.is_empty() && def.plural == "namespaces" {
        let name = obj["metadata"]["name"].clone();
        if !obj["metadata"]["labels"].is_object() {
            obj["metadata"]["labels"] = json!({});
        }
        obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
    }
}

fn defaults(def: &ResourceDef, obj: &mut Value) {
    namespace_name_label(def, obj);
    match (def.group.as_str(), def.plural.as_str()) {
        ("", "namespaces") if obj["status"].is_null() => {
            obj["status"] = json!({"phase": "Active"});
        }
        ("", "pods") if obj["status"].is_null() => {
            obj["status"] = json!({"phase": "Pending"});
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            let names = obj["spec"]["names"].clone();
            obj["status"] = json!({
                "acceptedNames": names,
                "storedVersions": obj["spec"]["versions"].as_array().into_iter().flatten()
                    .filter(|v| v["storage"] == json!(true)).map(|v| v["name"].clone()).collect::<Vec<_>>(),
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                     "message": "no conflicts found", "lastTransitionTime": util::now_rfc3339()},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                     "message": "the initial names have been accepted", "lastTransitionTime": util::now_rfc3339()},
                ],
            });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm_def(st: &Store) -> ResourceDef {
        st.resource("", "v1", "configmaps").unwrap()
    }

    #[test]
    fn odd_bodies_are_errors_or_values_never_panics() {
        let mut st = Store::new(10);
        let ns = st.resource("", "v1", "namespaces").unwrap();
        st.create(&ns, "", json!({"metadata": {"name": "default"}})).unwrap();
        let d = cm_def(&st);
        assert!(st.create(&d, "default", json!(5)).is_err());
        assert!(st.create(&d, "default", json!({"metadata": 5})).is_err());
        st.create(&d, "default", json!({"metadata": {"name": "a"}})).unwrap();
        assert!(st.update(&d, "default", "a", Part::Main, json!([])).is_err());
        st.update(&d, "default", "a", Part::Main, json!({"metadata": 7, "data": {"x": "1"}})).unwrap();
        for (kind, body) in [
            (PatchKind::Json, &br#"[{"op":"replace","path":"","value":5}]"#[..]),
            (PatchKind::Merge, &br#"{"metadata":5}"#[..]),
            (PatchKind::Merge, &br#"{"metadata":{"resourceVersion":null},"data":{"y":"2"}}"#[..]),
            (PatchKind::Strategic, &b"\x00"[..]),
        ] {
            let _ = st.patch(&d, "default", "a", Part::Main, kind, body);
        }
        let a = st.get(&d, "default", "a").unwrap();
        assert_eq!(a["metadata"]["name"], "a");
        assert_eq!(a["data"]["y"], "2", "a patch removing resourceVersion is unconditional");
    }

    #[test]
    fn namespaces_always_carry_their_name_label() {
        let mut st = Store::new(10);
        let ns = st.resource("", "v1", "namespaces").unwrap();
        let created = st.create(&ns, "", json!({"metadata": {"name": "a", "labels": {"x": "y"}}})).unwrap();
        assert_eq!(created["metadata"]["labels"]["kubernetes.io/metadata.name"], "a");
        let body = json!({"metadata": {"name": "a", "labels": {"kubernetes.io/metadata.name": "b"}}});
        let updated = st.update(&ns, "", "a", Part::Main, body).unwrap();
        assert_eq!(updated["metadata"]["labels"]["kubernetes.io/metadata.name"], "a");
    }

    #[test]
    fn history_eviction_moves_the_floor() {
        let mut st = Store::new(2);
        let ns = st.resource("", "v1", "namespaces").unwrap();
        for n in ["a", "b", "c"] {
            st.create(&ns, "", json!({"metadata": {"name": n}})).unwrap();
        }
        assert_eq!(st.history.len(), 2);
        assert_eq!(st.floor, st.history[0].rv - 1);
        st.compact();
        assert!(st.history.is_empty() && st.floor == st.rv);
    }
}
