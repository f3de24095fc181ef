//! SPIFFE mode for the sandbox and the tests: a trust bundle (an rcgen CA),
//! a server certificate for 127.0.0.1/localhost, an SVID issuer, and the
//! nats-server config body for `tls { verify_and_map: true }`.
//!
//! What nats-server 2.15.1 does here (checked by `tests/integration/spiffe.rs`):
//!
//! - With `verify_and_map`, *every* client, warden included, must present a
//!   certificate the CA signed whose URI SAN (or email/DNS SAN, or subject DN
//!   in RFC 2253 form) is, as an exact string, a configured user. So warden's
//!   own system user is an SVID too: its SPIFFE ID
//!   (`spiffe://<td>/warden` here) is the one user of the `SYS` account, and
//!   `system_account: SYS` makes it the system account.
//! - The tentacles' entries live in the authorization document
//!   ([`warden_core::identity::spiffe_authz`]). Default layout: the document is a
//!   bare `users = [...]` included inside `accounts { APP { include ... } }`,
//!   so tentacles are in `APP`. The other layout
//!   (`authorization { users = [...] }` included at the top level, tentacles in
//!   `$G`) is also accepted beside the `accounts` block.
//! - `include` paths are joined to the including file's directory, even an
//!   absolute one (`/d/x` becomes `<dir>/d/x`), so the include is relative.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use time::OffsetDateTime;

use warden_core::identity::conf::quote;
use warden_core::identity::spiffe_authz::{AuthzDocument, DocumentShape};

/// The file name of the authorization document beside the server config.
pub const AUTHZ_FILE: &str = "authz.conf";

/// An X.509 SVID written to disk.
#[derive(Debug, Clone)]
pub struct Svid {
    pub spiffe_id: String,
    pub cert_file: PathBuf,
    /// Written 0600.
    pub key_file: PathBuf,
    pub not_after: OffsetDateTime,
}

/// The generated PKI and file layout of a SPIFFE-mode server.
pub struct SpiffeWorld {
    pub dir: PathBuf,
    pub trust_domain: String,
    /// The trust bundle (the CA certificate).
    pub bundle_file: PathBuf,
    pub server_cert_file: PathBuf,
    pub server_key_file: PathBuf,
    /// The authorization document the server includes.
    pub authz_file: PathBuf,
    pub shape: DocumentShape,
    /// warden's own SVID: the system user.
    pub system: Svid,
    /// Validity of SVIDs made by [`SpiffeWorld::issue_svid`] (SPIRE's default is 1h).
    pub svid_ttl: Duration,
    issuer: Issuer<'static, KeyPair>,
}

fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(data)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

fn now_minus_skew() -> OffsetDateTime {
    OffsetDateTime::now_utc() - time::Duration::minutes(5)
}

impl SpiffeWorld {
    /// Generates the CA, the server certificate and warden's system SVID
    /// under `dir`, and an empty authorization document.
    pub fn generate(dir: &Path, trust_domain: &str) -> Result<SpiffeWorld> {
        warden_core::identity::naming::validate_trust_domain(trust_domain)?;
        std::fs::create_dir_all(dir)?;
        let dir = dir.canonicalize()?;

        // CA (the trust bundle).
        let mut ca = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "warden sandbox");
        dn.push(DnType::CommonName, format!("{trust_domain} trust bundle"));
        ca.distinguished_name = dn;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        ca.subject_alt_names = vec![SanType::URI(format!("spiffe://{trust_domain}").try_into()?)];
        ca.not_before = now_minus_skew();
        ca.not_after = OffsetDateTime::now_utc() + time::Duration::days(30);
        let ca_key = KeyPair::generate()?;
        let ca_cert = ca.self_signed(&ca_key)?;
        let bundle_file = dir.join("bundle.pem");
        write_file(&bundle_file, ca_cert.pem().as_bytes(), 0o644)?;
        let issuer = Issuer::new(ca, ca_key);

        let server_cert_file = dir.join("server.pem");
        let server_key_file = dir.join("server-key.pem");

        let mut w = SpiffeWorld {
            authz_file: dir.join(AUTHZ_FILE),
            dir,
            trust_domain: trust_domain.to_string(),
            bundle_file,
            server_cert_file,
            server_key_file,
            shape: DocumentShape::UsersArray,
            system: Svid {
                spiffe_id: String::new(),
                cert_file: PathBuf::new(),
                key_file: PathBuf::new(),
                not_after: OffsetDateTime::UNIX_EPOCH,
            },
            svid_ttl: Duration::from_secs(3600),
            issuer,
        };
        w.reissue_server_cert(Duration::from_secs(30 * 24 * 3600))?;
        let sys_id = format!("spiffe://{trust_domain}/warden");
        w.system = w.issue_svid_as(&sys_id, "warden", Duration::from_secs(24 * 3600))?;
        w.write_authz(&AuthzDocument::new(w.shape))?;
        Ok(w)
    }

    /// (Re)writes the server certificate for 127.0.0.1/localhost, valid for
    /// `ttl` from now (a running server picks it up on a reload); its expiry.
    pub fn reissue_server_cert(&self, ttl: Duration) -> Result<OffsetDateTime> {
        let mut sp = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
        sp.distinguished_name = DistinguishedName::new();
        sp.distinguished_name.push(DnType::CommonName, "nats-server");
        sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        sp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        sp.use_authority_key_identifier_extension = true;
        sp.not_before = now_minus_skew();
        sp.not_after = OffsetDateTime::now_utc() + time::Duration::try_from(ttl)?;
        let sk = KeyPair::generate()?;
        let sc = sp.signed_by(&sk, &self.issuer)?;
        write_file(&self.server_key_file, sk.serialize_pem().as_bytes(), 0o600)?;
        write_file(&self.server_cert_file, sc.pem().as_bytes(), 0o644)?;
        Ok(sp.not_after)
    }

    /// Issues an SVID for `spiffe_id` valid for [`SpiffeWorld::svid_ttl`],
    /// written as `<dir>/svid/<stem>.pem` and `<stem>-key.pem`, where the
    /// stem is derived from the ID.
    pub fn issue_svid(&self, spiffe_id: &str) -> Result<Svid> {
        let stem: String = spiffe_id
            .trim_start_matches("spiffe://")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
            .collect();
        self.issue_svid_as(spiffe_id, &stem, self.svid_ttl)
    }

    /// Issues an SVID with an explicit file stem and validity.
    pub fn issue_svid_as(&self, spiffe_id: &str, stem: &str, ttl: Duration) -> Result<Svid> {
        if !spiffe_id.starts_with(&format!("spiffe://{}/", self.trust_domain)) {
            bail!("{spiffe_id} is not in trust domain {}", self.trust_domain);
        }
        let mut p = CertificateParams::default();
        // Like SPIRE: the identity is the URI SAN; the subject says little.
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name.push(DnType::CountryName, "US");
        p.distinguished_name.push(DnType::OrganizationName, "SPIRE");
        p.subject_alt_names = vec![SanType::URI(spiffe_id.try_into()?)];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth, ExtendedKeyUsagePurpose::ServerAuth];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyAgreement];
        p.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        p.not_before = now - time::Duration::seconds(30);
        p.not_after = now + time::Duration::try_from(ttl)?;
        let key = KeyPair::generate()?;
        let cert = p.signed_by(&key, &self.issuer)?;
        let svid_dir = self.dir.join("svid");
        std::fs::create_dir_all(&svid_dir)?;
        let cert_file = svid_dir.join(format!("{stem}.pem"));
        let key_file = svid_dir.join(format!("{stem}-key.pem"));
        write_file(&cert_file, cert.pem().as_bytes(), 0o644)?;
        write_file(&key_file, key.serialize_pem().as_bytes(), 0o600)?;
        Ok(Svid { spiffe_id: spiffe_id.to_string(), cert_file, key_file, not_after: p.not_after })
    }

    /// Writes the authorization document (atomically: a reload never reads
    /// half a file).
    pub fn write_authz(&self, doc: &AuthzDocument) -> Result<()> {
        if doc.shape != self.shape {
            bail!("document shape {:?} does not fit this server's layout {:?}", doc.shape, self.shape);
        }
        write_file(&self.authz_file, doc.render().as_bytes(), 0o644)
    }

    /// Reads the authorization document back.
    pub fn read_authz(&self) -> Result<AuthzDocument> {
        let text = std::fs::read_to_string(&self.authz_file)?;
        Ok(AuthzDocument::parse(&text)?)
    }

    /// The nats-server config body (for [`super::nats_server::NatsServer::start`]).
    /// The config file must live in [`SpiffeWorld::dir`]: the authorization
    /// document is included by a path relative to it.
    pub fn config_body(&self) -> String {
        let q = |p: &Path| {
            let mut s = String::new();
            quote(&mut s, &p.display().to_string());
            s
        };
        let (cert, key, ca) = (q(&self.server_cert_file), q(&self.server_key_file), q(&self.bundle_file));
        // nats-server joins an include path to the including file's directory,
        // even an absolute one, so the include must be relative.
        let authz = q(Path::new(AUTHZ_FILE));
        let mut sys = String::new();
        quote(&mut sys, &self.system.spiffe_id);
        let (app, top) = match self.shape {
            DocumentShape::UsersArray => (format!("  APP {{\n    include {authz}\n  }}\n"), String::new()),
            DocumentShape::AuthorizationBlock => (String::new(), format!("include {authz}\n")),
        };
        format!(
            "# SPIFFE mode: clients authenticate with X.509 SVIDs; the URI SAN is the user.\n\
             tls {{\n  cert_file: {cert}\n  key_file: {key}\n  ca_file: {ca}\n  verify_and_map: true\n  timeout: 2\n}}\n\
             accounts {{\n  SYS {{\n    users: [ {{ user: {sys} }} ]\n  }}\n{app}}}\n\
             system_account: SYS\n{top}"
        )
    }
}

/// Asks a running nats-server to reload its config the way an operator on
/// the host would: `nats-server --signal reload=<pid>` (a SIGHUP).
pub fn signal_reload(pid: u32) -> Result<()> {
    let bin = super::nats_server::binary()?;
    let out = Command::new(&bin)
        .arg("--signal")
        .arg(format!("reload={pid}"))
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    if !out.status.success() {
        bail!("nats-server --signal reload={pid}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Mirrors the authorization ConfigMap's key into the servers' include
/// files, as the kubelet does for a mounted ConfigMap (in a real cluster
/// nothing like this runs: the pods mount the ConfigMap). Polls the
/// Kubernetes API every `every`; a file is rewritten (atomically) only when
/// the text changed. Stops when dropped.
pub struct ConfigSync {
    task: tokio::task::JoinHandle<()>,
}

impl ConfigSync {
    /// `configmap` is `namespace/name`.
    pub fn spawn(
        client: kube::Client,
        configmap: &str,
        key: &str,
        files: Vec<PathBuf>,
        every: Duration,
    ) -> Result<ConfigSync> {
        let (ns, name) = warden_core::identity::spiffe_actions::configmap_ref(configmap)?;
        let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> = kube::Api::namespaced(client, &ns);
        let key = key.to_string();
        let task = tokio::spawn(async move {
            let mut last: Option<String> = None;
            loop {
                match api.get_opt(&name).await {
                    Ok(Some(cm)) => {
                        let text = cm.data.as_ref().and_then(|d| d.get(&key)).cloned();
                        if let Some(text) = text
                            && last.as_deref() != Some(text.as_str())
                        {
                            let mut ok = true;
                            for f in &files {
                                if let Err(e) = write_file(f, text.as_bytes(), 0o644) {
                                    tracing::warn!("config sync: {e:#}");
                                    ok = false;
                                }
                            }
                            if ok {
                                last = Some(text);
                            }
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::debug!("config sync: reading ConfigMap {ns}/{name}: {e}"),
                }
                tokio::time::sleep(every).await;
            }
        });
        Ok(ConfigSync { task })
    }
}

impl Drop for ConfigSync {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generates_files_with_private_keys_0600() {
        let d = tempfile::tempdir().unwrap();
        let w = SpiffeWorld::generate(d.path(), "td.local").unwrap();
        let s = w.issue_svid("spiffe://td.local/ns/a/wf/b").unwrap();
        for k in [&w.server_key_file, &w.system.key_file, &s.key_file] {
            let mode = std::fs::metadata(k).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", k.display());
        }
        assert!(s.cert_file.ends_with("svid/td_local_ns_a_wf_b.pem"));
        assert!(w.issue_svid("spiffe://other/ns/a/wf/b").is_err());
        let body = w.config_body();
        assert!(body.contains("verify_and_map: true"));
        assert!(body.contains("user: \"spiffe://td.local/warden\""));
        assert!(w.read_authz().unwrap().is_empty());
    }
}
