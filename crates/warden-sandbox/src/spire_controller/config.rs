//! What a spire-controller-manager is configured with, and the values the
//! official Helm chart gives it.

use std::time::Duration;

/// Release namespace of the official install (charts/spire/README.md:
/// `helm upgrade --install -n spire-server spire spire --repo
/// https://spiffe.github.io/helm-charts-hardened/`).
pub const CHART_NAMESPACE: &str = "spire-server";
/// Release name of the official install (same command).
pub const CHART_RELEASE: &str = "spire";
/// The server StatefulSet's pod: `spire-server.fullname` (release `spire` +
/// `nameOverride: server` from charts/spire/values.yaml) plus ordinal 0.
pub const CHART_SERVER_POD: &str = "spire-server-0";
/// The server container: `{{ .Chart.Name }}` in
/// charts/spire/charts/spire-server/templates/server-resource.yaml.
pub const CHART_SERVER_CONTAINER: &str = "spire-server";
/// `spireServerSocketPath` in templates/controller-manager-configmap.yaml.
pub const CHART_SERVER_SOCKET: &str = "/tmp/spire-server/private/api.sock";

/// A spire-controller-manager's configuration (the fields of its
/// `ControllerManagerConfig`, api/v1alpha1/controllermanagerconfig_types.go,
/// that the entry reconciler reads).
#[derive(Debug, Clone, PartialEq)]
pub struct ControllerConfig {
    /// Serve ClusterSPIFFEIDs / ClusterStaticEntries whose `spec.className`
    /// equals this.
    pub class_name: String,
    /// Also serve objects with an empty `spec.className`.
    pub watch_classless: bool,
    pub trust_domain: String,
    pub cluster_name: String,
    pub cluster_domain: String,
    /// Namespace patterns (Go regular expressions, unanchored as
    /// `regexp.MatchString`) whose pods never get entries. Supported
    /// syntax: literals, `.`, `*`, `^`, `$`, `\` escapes.
    pub ignore_namespaces: Vec<String>,
    /// Go template of an entry's parent ID (the node's agent ID).
    pub parent_id_template: String,
    /// Prefix of the entry IDs it creates (`<clusterName>.` when the chart's
    /// `addEntryIDPrefix` is on); empty: plain UUIDs.
    pub entry_id_prefix: String,
    /// `reconcile.clusterSPIFFEIDs` / `reconcile.clusterStaticEntries`.
    pub reconcile_cluster_spiffe_ids: bool,
    pub reconcile_cluster_static_entries: bool,
    /// `gcInterval`: how long it idles before reconciling anyway.
    pub gc_interval: Duration,
    /// Not a controller setting: the API double serves no Nodes, so a
    /// pod's node gets a UID derived from its name ([`node_uid`]) when no
    /// Node object is found. Off, a missing Node is a render failure, as
    /// in the real controller.
    pub derive_node_uids: bool,
}

impl ControllerConfig {
    /// What the official chart (spiffe/helm-charts-hardened) configures,
    /// installed as its README says (namespace `spire-server`, release
    /// `spire`), with `trust_domain` in place of `global.spire.trustDomain`
    /// (default `example.org`):
    ///
    /// - className `spire-server-spire`: `controllerManager.className: ""`
    ///   in charts/spire/charts/spire-server/values.yaml, so the
    ///   `spire-server.controller-manager-class-name` helper
    ///   (templates/_helpers.tpl) gives `<Release.Namespace>-<Release.Name>`;
    /// - watchClassless `false`: `controllerManager.watchClassless`;
    /// - clusterName `example-cluster`: `global.spire.clusterName` in
    ///   charts/spire/values.yaml;
    /// - clusterDomain `cluster.local`: the chart writes none, the
    ///   controller autodetects it (cmd/main.go); `global.k8s.clusterDomain`
    ///   is `cluster.local`;
    /// - ignoreNamespaces `kube-system`, `kube-public`,
    ///   `local-path-storage`, `openshift-.*`, `ibm-.*`:
    ///   `controllerManager.ignoreNamespaces`;
    /// - parentIDTemplate
    ///   `spiffe://{{ .TrustDomain }}/spire/agent/k8s_psat/{{ .ClusterName }}/{{ .NodeMeta.UID }}`:
    ///   `controllerManager.parentIDTemplate`;
    /// - entryIDPrefix `example-cluster.`: `controllerManager.addEntryIDPrefix:
    ///   true` writes `entryIDPrefix: <clusterName>`
    ///   (templates/controller-manager-configmap.yaml), cmd/main.go adds
    ///   the dot;
    /// - reconcile clusterSPIFFEIDs and clusterStaticEntries on;
    /// - gcInterval 10 s (`controllerManager.gcInterval: 10000000000`).
    pub fn chart_default(trust_domain: &str) -> ControllerConfig {
        let cluster_name = "example-cluster".to_string();
        ControllerConfig {
            class_name: format!("{CHART_NAMESPACE}-{CHART_RELEASE}"),
            watch_classless: false,
            trust_domain: trust_domain.to_string(),
            cluster_domain: "cluster.local".into(),
            ignore_namespaces: ["kube-system", "kube-public", "local-path-storage", "openshift-.*", "ibm-.*"]
                .map(String::from)
                .to_vec(),
            parent_id_template:
                "spiffe://{{ .TrustDomain }}/spire/agent/k8s_psat/{{ .ClusterName }}/{{ .NodeMeta.UID }}".into(),
            entry_id_prefix: format!("{cluster_name}."),
            cluster_name,
            reconcile_cluster_spiffe_ids: true,
            reconcile_cluster_static_entries: true,
            gc_interval: Duration::from_secs(10),
            derive_node_uids: true,
        }
    }

    /// Whether an object of `class_name` is this controller's
    /// (`reconcileClass`, pkg/spireentry/reconciler.go).
    pub fn serves(&self, class_name: &str) -> bool {
        (class_name.is_empty() && self.watch_classless) || class_name == self.class_name
    }

    /// Whether pods in `namespace` are ignored (`namespace.IsIgnored`,
    /// pkg/namespace/namespace.go: any pattern matching anywhere).
    pub fn ignores(&self, namespace: &str) -> bool {
        self.ignore_namespaces.iter().any(|p| regex_search(p, namespace))
    }
}

/// The UID the sandbox gives the node `name` when the double holds no Node
/// object (stable, UUID-shaped). The sandbox's SPIRE agents use it too.
pub fn node_uid(name: &str) -> String {
    let a = fnv1a(name.as_bytes(), 0xcbf2_9ce4_8422_2325);
    let b = fnv1a(name.as_bytes(), 0x8422_2325_cbf2_9ce4);
    let h = format!("{a:016x}{b:016x}");
    format!("{}-{}-4{}-a{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    bytes.iter().fold(seed, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// Unanchored search of a small regular expression subset (literals, `.`,
/// `*`, `^`, `$`, `\`-escapes). Other metacharacters never match.
pub fn regex_search(pattern: &str, text: &str) -> bool {
    if pattern.chars().any(|c| matches!(c, '[' | ']' | '(' | ')' | '+' | '?' | '|' | '{' | '}')) {
        tracing::warn!(pattern, "unsupported ignoreNamespaces pattern; it matches nothing here");
        return false;
    }
    let mut atoms: Vec<(Option<char>, bool)> = Vec::new(); // (char or any, starred)
    let mut chars = pattern.chars().peekable();
    let anchored = chars.peek() == Some(&'^');
    if anchored {
        chars.next();
    }
    let mut end_anchor = false;
    while let Some(c) = chars.next() {
        let atom = match c {
            '.' => None,
            '\\' => Some(chars.next().unwrap_or('\\')),
            '$' if chars.peek().is_none() => {
                end_anchor = true;
                continue;
            }
            '*' => match atoms.last_mut() {
                Some(a) if !a.1 => {
                    a.1 = true;
                    continue;
                }
                _ => return false,
            },
            c => Some(c),
        };
        atoms.push((atom, false));
    }
    let t: Vec<char> = text.chars().collect();
    let starts: Vec<usize> = if anchored { vec![0] } else { (0..=t.len()).collect() };
    starts.into_iter().any(|s| match_here(&atoms, &t[s..], end_anchor))
}

fn match_here(atoms: &[(Option<char>, bool)], t: &[char], end: bool) -> bool {
    let Some(&(atom, star)) = atoms.first() else { return !end || t.is_empty() };
    let ok = |c: char| atom.is_none_or(|a| a == c);
    if star {
        let mut i = 0;
        loop {
            if match_here(&atoms[1..], &t[i..], end) {
                return true;
            }
            if i < t.len() && ok(t[i]) {
                i += 1;
            } else {
                return false;
            }
        }
    }
    !t.is_empty() && ok(t[0]) && match_here(&atoms[1..], &t[1..], end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_default_class_is_namespace_dash_release() {
        let c = ControllerConfig::chart_default("td");
        assert_eq!(c.class_name, "spire-server-spire");
        assert!(c.serves("spire-server-spire"));
        assert!(!c.serves(""), "watchClassless is false in the chart");
        assert!(!c.serves("other"));
        let c = ControllerConfig { watch_classless: true, ..c };
        assert!(c.serves(""));
    }

    #[test]
    fn ignored_namespaces_are_unanchored_go_regexps() {
        let c = ControllerConfig::chart_default("td");
        for ns in ["kube-system", "kube-public", "openshift-monitoring", "ibm-x", "my-kube-system"] {
            assert!(c.ignores(ns), "{ns}");
        }
        for ns in ["default", "tent-dev", "spire-server", "spire-system", "openshift"] {
            assert!(!c.ignores(ns), "{ns}");
        }
        assert!(regex_search("^a.c$", "abc") && !regex_search("^a.c$", "xabc") && !regex_search("^a.c$", "abcd"));
        assert!(!regex_search("a+", "a") && !regex_search("*", "a"));
    }

    #[test]
    fn node_uids_are_stable_and_distinct() {
        assert_eq!(node_uid("node-a"), node_uid("node-a"));
        assert_ne!(node_uid("node-a"), node_uid("node-b"));
        assert_eq!(node_uid("node-a").len(), 36);
    }
}
