//! The config file (`config.toml`). Every field is optional; flags and the
//! environment override it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::secret::Secret;

pub use super::naming::{DEFAULT_TRUST_DOMAIN, NamingSection};

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigFile {
    /// Theme name (`default`, `high-contrast`, `monochrome`) or a path to a TOML theme.
    pub theme: Option<String>,
    /// How often server and connection data is refreshed (humantime, e.g. "5s").
    pub refresh: Option<String>,
    /// How often each server's connections are re-swept to heal missed
    /// connect/disconnect events (humantime, default "60s", at least "5s").
    pub reconcile: Option<String>,
    /// Start in read-only mode (no mutating action is offered).
    pub read_only: bool,
    pub nats: NatsSection,
    pub kubernetes: KubeSection,
    pub signing: SigningSection,
    pub naming: NamingSection,
    pub identity: IdentitySection,
    pub spire: SpireSection,
    pub policy: PolicySection,
    pub doctor: DoctorSection,
    /// `[[sites]]`: several sites examined at once (doctor).
    pub sites: Vec<SiteSection>,
}

/// One site: a Kubernetes context and how to reach its NATS servers
/// (the shared NATS settings when neither is given: a supercluster).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteSection {
    pub name: String,
    pub kube_context: Option<String>,
    /// natscli context name for this site's servers.
    pub nats_context: Option<String>,
    pub nats_url: Option<String>,
    /// The NATS cluster name (VARZ `cluster.name`) of this site's servers,
    /// when it is not the site's name: the console's SITE column.
    pub nats_cluster: Option<String>,
}

impl SiteSection {
    /// The cluster name this site's servers report.
    pub fn cluster(&self) -> &str {
        self.nats_cluster.as_deref().unwrap_or(&self.name)
    }
}

/// `[policy]`: what identities may look like.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicySection {
    /// SPIFFE IDs outside these prefixes are findings (`spiffe-id-outside-policy`).
    pub allowed_spiffe_prefixes: Vec<String>,
}

/// `[doctor]`: thresholds and exceptions of `:doctor`, `warden doctor` and
/// `warden check`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DoctorSection {
    /// Users (name, nkey or SPIFFE ID) allowed in the system account.
    pub admin_users: Vec<String>,
    /// Expiry warning threshold (humantime, default "7d").
    pub expiry_warn: Option<String>,
    /// Expiry critical threshold (humantime, default "1d").
    pub expiry_critical: Option<String>,
    /// Subscription violations per identity that make it "probably deaf" (default 3).
    pub sub_violations: Option<u64>,
}

/// Which authorization mode the NATS deployment runs (config
/// `[identity] mode`, flag `--mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Operator mode: user JWTs, account revocations.
    #[default]
    Jwt,
    /// `tls { verify_and_map: true }`: the authorization ConfigMap, SPIRE registrations.
    Spiffe,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Jwt => "jwt",
            Mode::Spiffe => "spiffe",
        }
    }
}

/// `[identity]`: which authorization mode the identity actions run in. The
/// trust domain and the naming templates are `[naming]`'s, shared by both
/// modes (see `identity::naming::Naming::from_section`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentitySection {
    /// `jwt` (operator mode, user JWTs) or `spiffe` (`verify_and_map`, the
    /// authorization ConfigMap).
    pub mode: Mode,
    /// The authorization include file as the NATS servers read it, when
    /// warden can see it (sandbox, or a host with the volume): SPIFFE-mode
    /// actions wait until it holds what the ConfigMap holds before asking the
    /// servers to reload. Without it the kubelet's sync is not observed.
    pub authz_file: Option<PathBuf>,
    /// Lifetime of minted JWTs when neither the action nor `spec.ttl` names
    /// one (Go-style duration, default `24h`).
    pub ttl: Option<String>,
    /// No JWT is minted for less than this (default `1m`)...
    pub min_ttl: Option<String>,
    /// ...or for more than this (default `2160h`, 90 days).
    pub max_ttl: Option<String>,
    /// An identity is shown as "Expiring" under this much time left (default `12h`).
    pub expiring_within: Option<String>,
}

/// Where the JWT-mode signing keys are (paths to nsc seed / creds files, or
/// Kubernetes Secret refs `namespace/name:key`). Loaded only for an action.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SigningSection {
    pub account_signing_key: Option<PathBuf>,
    pub operator_signing_key: Option<PathBuf>,
    pub account_signing_key_secret: Option<String>,
    pub operator_signing_key_secret: Option<String>,
}

/// Where warden finds things in Kubernetes. Defaults match the tentacular
/// conventions (see the brief); every name is configurable.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KubeSection {
    /// Use Kubernetes at all (false: the Kubernetes panels say it is off).
    pub enabled: bool,
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// Label whose value names a workload (Deployments and pods).
    pub workload_label: String,
    /// Label selector of the NATS server pods (their logs carry violations).
    pub nats_pods: String,
    /// Containers of the NATS pods whose logs are followed.
    pub nats_containers: Vec<String>,
    /// Label selecting credentials Secrets (value: the workload).
    pub creds_label: String,
    /// `namespace/name` of the SPIFFE-mode authorization ConfigMap.
    pub authz_configmap: String,
    /// Key in that ConfigMap holding the authorization include file.
    pub authz_key: String,
    /// Longest an action waits for one Kubernetes request (read or write),
    /// humantime; past it the step that made the request fails naming it.
    pub request_timeout: String,
    /// The `[spire]` section, copied here by [`ConfigFile::load`] so every
    /// holder of the Kubernetes settings sees where SPIRE runs.
    #[serde(skip)]
    pub spire: SpireSection,
}

/// `[spire]`: where the SPIRE server runs and which spire-controller-manager
/// class serves warden's ClusterSPIFFEIDs. The defaults are the official
/// chart's (spiffe/helm-charts-hardened `charts/spire`, release `spire` in
/// namespace `spire-server`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpireSection {
    /// `spec.className` of every ClusterSPIFFEID warden writes: the
    /// controller reconciles only its own class (chart default
    /// `<namespace>-<release>`).
    pub class_name: String,
    /// The controller also serves objects with no class (chart: false).
    pub watch_classless: bool,
    pub namespace: String,
    pub pod: String,
    pub container: String,
    /// Path of the `spire-server` CLI inside the container.
    pub binary: String,
    /// The server's admin API socket (`-socketPath` of the CLI).
    pub socket_path: String,
    /// Longest one spire-server command may take (exec, output, status),
    /// humantime; a command past it fails naming itself.
    pub exec_timeout: String,
}

impl Default for SpireSection {
    fn default() -> Self {
        SpireSection {
            class_name: "spire-server-spire".into(),
            watch_classless: false,
            namespace: "spire-server".into(),
            pod: "spire-server-0".into(),
            container: "spire-server".into(),
            binary: "/opt/spire/bin/spire-server".into(),
            socket_path: "/tmp/spire-server/private/api.sock".into(),
            exec_timeout: "20s".into(),
        }
    }
}

/// A positive humantime duration of a config key.
fn duration_key(key: &str, v: &str) -> Result<std::time::Duration> {
    let d = humantime::parse_duration(v).with_context(|| format!("config {key} {v:?}"))?;
    anyhow::ensure!(!d.is_zero(), "config {key} {v:?}: must be longer than zero");
    Ok(d)
}

impl KubeSection {
    /// `request_timeout`: longest an action waits for one Kubernetes request.
    pub fn request_deadline(&self) -> Result<std::time::Duration> {
        duration_key("[kubernetes] request_timeout", &self.request_timeout)
    }
}

impl SpireSection {
    /// `exec_timeout`: longest one spire-server command may take.
    pub fn exec_deadline(&self) -> Result<std::time::Duration> {
        duration_key("[spire] exec_timeout", &self.exec_timeout)
    }

    /// Whether a controller configured like this reconciles an object of
    /// `class` (spire-controller-manager: its own class, or none when it
    /// watches classless objects).
    pub fn serves(&self, class: &str) -> bool {
        class == self.class_name || (class.is_empty() && self.watch_classless)
    }
}

impl Default for KubeSection {
    fn default() -> Self {
        KubeSection {
            enabled: true,
            kubeconfig: None,
            context: None,
            workload_label: "tentacular.io/workflow".into(),
            nats_pods: "app.kubernetes.io/name=nats".into(),
            nats_containers: vec!["nats".into()],
            creds_label: "warden.dev/identity".into(),
            authz_configmap: "tentacular-system/nats-authz".into(),
            authz_key: "authz.conf".into(),
            request_timeout: "30s".into(),
            spire: SpireSection::default(),
        }
    }
}

/// NATS connection settings; same names as the natscli context fields.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsSection {
    pub context: Option<String>,
    pub url: Option<String>,
    pub creds: Option<PathBuf>,
    pub nkey: Option<PathBuf>,
    pub user: Option<String>,
    /// Secrets: `Debug` prints `***`.
    pub password: Option<Secret>,
    pub token: Option<Secret>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub ca: Option<PathBuf>,
}

impl ConfigFile {
    /// Reads the file; a missing file is an empty config, a malformed one an error.
    /// A file the user named (`--config`): that it does not exist is an
    /// error, never silently the defaults.
    pub fn load_named(path: &Path) -> Result<ConfigFile> {
        if !path.exists() {
            anyhow::bail!("config file {} does not exist", path.display());
        }
        ConfigFile::load(path)
    }

    /// The default place: a missing file means the defaults.
    pub fn load(path: &Path) -> Result<ConfigFile> {
        match std::fs::read_to_string(path) {
            Ok(text) => ConfigFile::from_text(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// The file's text as read from `path` (named in errors, never read here).
    pub fn from_text(path: &Path, text: &str) -> Result<ConfigFile> {
        let mut f: ConfigFile = toml::from_str(text).map_err(|e| parse_error(path, text, &e))?;
        f.kubernetes.spire = f.spire.clone();
        f.kubernetes.request_deadline()?;
        f.spire.exec_deadline()?;
        Ok(f)
    }
}

/// A parse error that names the place and the problem but never quotes
/// the file: the offending line may hold a password or a token (a
/// misspelt `pasword = "..."`), and serde's messages quote values
/// (`unknown variant `...``, `invalid type: integer `...``).
fn parse_error(path: &Path, text: &str, e: &toml::de::Error) -> anyhow::Error {
    let at = e.span().map(|sp| {
        let before = &text[..sp.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!(" at line {line}, column {col}")
    });
    anyhow::anyhow!(
        "parsing {}{}: {}",
        path.display(),
        at.unwrap_or_default(),
        super::redact::without_values(e.message())
    )
}

#[cfg(test)]
mod parse_error_tests {
    use super::*;

    #[test]
    fn a_malformed_file_never_echoes_its_values() {
        let dir = tempfile::tempdir().unwrap();
        for text in [
            "[nats]\npasword = \"hunter2-secret\"\n",
            "[nats]\npassword = 5\ntoken = [\"hunter2-secret\"]\n",
            "[nats]\ntoken = \"hunter2-secret\n",
            "[nats]\nurl = \"nats://x\"\npassword = { x = \"hunter2-secret\" }\n",
            // Found by the config_file fuzz target: backtick-quoted values.
            "[identity]\nmode = \"hunter2-secret\"\n",
            "[nats]\npassword = 975310001\n",
            "[nats]\ntoken = 97531.25\n",
        ] {
            let p = dir.path().join("config.toml");
            std::fs::write(&p, text).unwrap();
            let e = format!("{:#}", ConfigFile::load(&p).unwrap_err());
            assert!(!e.contains("hunter2") && !e.contains("97531"), "{e}");
            assert!(e.contains("line "), "{e}");
        }
    }
}

#[cfg(test)]
mod identity_section_tests {
    use super::*;

    #[test]
    fn identity_section_has_mode_and_authz_file() {
        let f: ConfigFile = toml::from_str(
            "[naming]\ntrust_domain = \"prod.example\"\n[identity]\nmode = \"spiffe\"\nauthz_file = \"/x/authz.conf\"\n",
        )
        .unwrap();
        assert_eq!(f.identity.mode, Mode::Spiffe);
        assert_eq!(f.identity.authz_file.as_deref(), Some(Path::new("/x/authz.conf")));
        assert_eq!(f.naming.trust_domain.as_deref(), Some("prod.example"));
        assert_eq!(ConfigFile::default().identity.mode, Mode::Jwt);
        // One trust domain: `[identity]` does not take its own.
        assert!(toml::from_str::<ConfigFile>("[identity]\ntrust_domain = \"x\"\n").is_err());
    }
}
