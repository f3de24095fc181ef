//! The config file (`config.toml`). Every field is optional; flags and the
//! environment override it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigFile {
    /// Theme name (`default`, `high-contrast`, `monochrome`) or a path to a TOML theme.
    pub theme: Option<String>,
    /// How often server and connection data is refreshed (humantime, e.g. "5s").
    pub refresh: Option<String>,
    /// Start in read-only mode (no mutating action is offered).
    pub read_only: bool,
    pub nats: NatsSection,
    pub kubernetes: KubeSection,
    pub signing: SigningSection,
    pub naming: NamingSection,
    pub identity: IdentitySection,
}

/// `[identity]`: which authorization mode the identity actions run in. The
/// trust domain and the naming templates are `[naming]`'s, shared by both
/// modes (see [`ConfigFile::naming`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentitySection {
    /// `jwt` (operator mode, user JWTs) or `spiffe` (`verify_and_map`, the
    /// authorization ConfigMap).
    pub mode: crate::identity::actions::Mode,
    /// The authorization include file as the NATS servers read it, when
    /// warden can see it (sandbox, or a host with the volume): SPIFFE-mode
    /// actions wait until it holds what the ConfigMap holds before asking the
    /// servers to reload. Without it the kubelet's sync is not observed.
    pub authz_file: Option<PathBuf>,
}

/// The trust domain used when `[naming] trust_domain` is not set.
pub const DEFAULT_TRUST_DOMAIN: &str = "tentacular.local";

/// `[naming]`: the trust domain and the naming templates (every field
/// optional; defaults from the brief, section 1).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct NamingSection {
    pub trust_domain: Option<String>,
    #[serde(flatten)]
    pub templates: crate::identity::naming::NamingConfig,
}

impl NamingSection {
    /// The compiled templates (errors name the bad template or trust domain).
    pub fn naming(&self) -> Result<crate::identity::naming::Naming> {
        let td = self.trust_domain.as_deref().unwrap_or(DEFAULT_TRUST_DOMAIN);
        crate::identity::naming::Naming::new(td, &self.templates).context("[naming] in the config file")
    }
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
    pub spire_namespace: String,
    pub spire_pod: String,
    pub spire_container: String,
    pub spire_binary: String,
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
            spire_namespace: "spire-system".into(),
            spire_pod: "spire-server-0".into(),
            spire_container: "spire-server".into(),
            spire_binary: "/opt/spire/bin/spire-server".into(),
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
    pub password: Option<String>,
    pub token: Option<String>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub ca: Option<PathBuf>,
}

impl ConfigFile {
    /// The naming templates of `[naming]`.
    pub fn naming(&self) -> Result<crate::identity::naming::Naming> {
        self.naming.naming()
    }

    /// Reads the file; a missing file is an empty config, a malformed one an error.
    pub fn load(path: &Path) -> Result<ConfigFile> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).with_context(|| format!("parsing {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
}

#[cfg(test)]
mod naming_tests {
    use super::*;

    #[test]
    fn naming_section_deserializes_into_naming_config() {
        let f: ConfigFile =
            toml::from_str("[naming]\ntrust_domain = \"prod.example\"\nnats_user = \"wf.{namespace}.{workload}\"\n")
                .unwrap();
        let nm = f.naming().unwrap();
        let id = crate::identity::naming::IdentityName::parse("a/b").unwrap();
        assert_eq!(nm.trust_domain, "prod.example");
        assert_eq!(nm.nats_user(&id), "wf.a.b");
        assert_eq!(nm.subject_scope(&id), "tentacular.a.b.>");
        assert_eq!(ConfigFile::default().naming().unwrap().trust_domain, DEFAULT_TRUST_DOMAIN);
        let bad: ConfigFile = toml::from_str("[naming]\nspiffe_id = \"nope\"\n").unwrap();
        assert!(bad.naming().is_err());
    }

    #[test]
    fn identity_section_has_mode_and_authz_file_and_reads_the_trust_domain_from_naming() {
        let f: ConfigFile = toml::from_str(
            "[naming]\ntrust_domain = \"prod.example\"\n[identity]\nmode = \"spiffe\"\nauthz_file = \"/x/authz.conf\"\n",
        )
        .unwrap();
        assert_eq!(f.identity.mode, crate::identity::actions::Mode::Spiffe);
        assert_eq!(f.identity.authz_file.as_deref(), Some(Path::new("/x/authz.conf")));
        assert_eq!(f.naming().unwrap().trust_domain, "prod.example");
        assert_eq!(ConfigFile::default().identity.mode, crate::identity::actions::Mode::Jwt);
        // One trust domain: `[identity]` does not take its own.
        assert!(toml::from_str::<ConfigFile>("[identity]\ntrust_domain = \"x\"\n").is_err());
    }
}
