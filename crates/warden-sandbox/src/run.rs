//! `warden sandbox`: a real nats-server, the Kubernetes API double seeded
//! with a fleet, simulated workloads, and (unless headless) the console, all
//! in one process that cleans up after itself.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::connections::{Identity, hold, open_many};
use super::nats_server::NatsServer;
use super::operator_mode::{OperatorWorld, UserSpec, push_account_jwt};
use super::scenario::controller_config;
use super::scenario::{self, Kind, Tentacle};
use super::spiffe_mode::{ConfigSync, SpiffeWorld};
use super::spire_controller::config::{CHART_NAMESPACE, CHART_SERVER_CONTAINER, CHART_SERVER_POD, CHART_SERVER_SOCKET};
use super::spire_controller::{SpireController, SpireControllerHandle};
use super::workloads::{self, Behaviour, Credentials, Workload};
use kube_double::{KubeDouble, KubeDoubleConfig, KubeState};
use warden_core::config::file::KubeSection;
use warden_core::identity::actions::Mode;
use warden_core::identity::naming::{IdentityName, Naming};
use warden_core::nats::jwt::{SigningKey, render_seed, write_secret_file};

/// How long the ExpiringSoon tentacle's JWT lives after the start.
pub const EXPIRING_IN: i64 = 4 * 60;

/// How the system user (warden's own connection) authenticates.
#[derive(Debug, Clone)]
pub enum SystemAuth {
    /// JWT mode: a creds file of the system account.
    Creds(PathBuf),
    /// SPIFFE mode: warden's X.509 SVID and the trust bundle.
    Svid { cert: PathBuf, key: PathBuf, bundle: PathBuf },
}

/// Everything a second warden, kubectl or natscli needs to connect.
#[derive(Debug, Clone)]
pub struct SandboxInfo {
    pub dir: PathBuf,
    pub mode: Mode,
    pub nats_url: String,
    pub system: SystemAuth,
    pub kubeconfig: PathBuf,
    pub warden_config: PathBuf,
    pub nats_log: PathBuf,
    pub nats_pid: Option<u32>,
}

impl SandboxInfo {
    /// What `--headless` prints (tests read these `key: value` lines).
    pub fn describe(&self) -> String {
        let (mode, system) = match &self.system {
            SystemAuth::Creds(c) => ("JWT", format!("system creds:  {}\n", c.display())),
            SystemAuth::Svid { cert, key, bundle } => (
                "SPIFFE",
                format!(
                    "system cert:   {}\nsystem key:    {}\nCA bundle:     {}\n",
                    cert.display(),
                    key.display(),
                    bundle.display()
                ),
            ),
        };
        format!(
            "warden sandbox is running ({mode} mode). Ctrl-C stops it and removes everything it started.\n\
             mode:          {}\n\
             NATS URL:      {}\n\
             {system}\
             kubeconfig:    {}\n\
             warden config: {}\n\
             nats log:      {}\n\
             nats pid:      {}\n\
             \n\
             Try:\n  WARDEN_CONFIG={} KUBECONFIG={} warden\n  kubectl --kubeconfig {} get natsidentities -A\n",
            match self.mode {
                Mode::Jwt => "jwt",
                Mode::Spiffe => "spiffe",
            },
            self.nats_url,
            self.kubeconfig.display(),
            self.warden_config.display(),
            self.nats_log.display(),
            self.nats_pid.map(|p| p.to_string()).unwrap_or_default(),
            self.warden_config.display(),
            self.kubeconfig.display(),
            self.kubeconfig.display(),
        )
    }
}

/// The running world. Dropping it stops the workloads, the double and the
/// nats-server.
pub struct Sandbox {
    pub info: SandboxInfo,
    pub double: KubeDouble,
    pub server: NatsServer,
    tasks: Vec<JoinHandle<()>>,
    /// SPIFFE mode: plays the kubelet (ConfigMap -> include file).
    _sync: Option<ConfigSync>,
    /// Plays spire-controller-manager (ClusterSPIFFEIDs -> SPIRE entries).
    _spire: SpireControllerHandle,
}

/// The `[spire]` section: where the official chart installs the SPIRE
/// server and the class its controller serves (warden's defaults too,
/// written out so the file says what the sandbox runs).
fn spire_server_config() -> String {
    let cfg = controller_config();
    format!(
        "\n[spire]\nclass_name = {}\nwatch_classless = {}\nnamespace = {}\npod = {}\ncontainer = {}\nsocket_path = {}\n",
        toml::Value::String(cfg.class_name),
        cfg.watch_classless,
        toml::Value::String(CHART_NAMESPACE.into()),
        toml::Value::String(CHART_SERVER_POD.into()),
        toml::Value::String(CHART_SERVER_CONTAINER.into()),
        toml::Value::String(CHART_SERVER_SOCKET.into()),
    )
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        self.server.stop();
    }
}

fn toml_str(p: &Path) -> String {
    toml::Value::String(p.display().to_string()).to_string()
}

/// `context` is the kubeconfig context of `[kubernetes]`; `extra` is
/// appended as is (`[[sites]]` tables, which must come last).
pub(crate) fn write_warden_config(
    dir: &Path,
    world: &OperatorWorld,
    url: &str,
    kubeconfig: &Path,
    context: &str,
    extra: &str,
) -> Result<PathBuf> {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys)?;
    let acc_key = keys.join("app-signing.nk");
    let op_key = keys.join("operator-signing.nk");
    write_secret_file(&acc_key, render_seed(&world.app_signing).expose().as_bytes())?;
    write_secret_file(&op_key, render_seed(&world.operator_signing).expose().as_bytes())?;
    let text = format!(
        "# Written by `warden sandbox`: connects a second warden to the sandbox.\n\
         [nats]\nurl = {url}\ncreds = {creds}\n\n\
         [kubernetes]\nkubeconfig = {kc}\ncontext = {context}\n{spire}\n\
         [signing]\naccount_signing_key = {acc}\noperator_signing_key = {op}\n{policy}\n{extra}",
        url = toml::Value::String(url.to_string()),
        context = toml::Value::String(context.to_string()),
        creds = toml_str(&world.sys_creds_path),
        kc = toml_str(kubeconfig),
        acc = toml_str(&acc_key),
        op = toml_str(&op_key),
        spire = spire_server_config(),
        policy = super::seeds::policy_section(),
    );
    let path = dir.join("warden.toml");
    write_secret_file(&path, text.as_bytes())?;
    Ok(path)
}

/// Starts the world of `mode` in `dir` (created 0700).
pub async fn start_mode(dir: &Path, mode: Mode) -> Result<Sandbox> {
    start_with(dir, mode, Fleet::default()).await
}

/// Extra live connections for measuring warden at fleet scale
/// (`warden sandbox --connections N --identities K`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Fleet {
    /// Connections held open (plain client protocol, a few tasks).
    pub connections: usize,
    /// Distinct user identities they are spread over (default 200), named
    /// `fleet/wl<i>`: user JWTs in JWT mode, SVIDs with authorization
    /// entries in SPIFFE mode.
    pub identities: usize,
    /// Accounts the identities are spread over (JWT mode): APP, then
    /// `FLEET1`, `FLEET2`... (0 or 1: APP only).
    pub accounts: usize,
}

impl Fleet {
    /// Refuses what the mode cannot hold, before anything starts.
    pub fn check(&self, mode: Mode) -> Result<()> {
        if mode == Mode::Spiffe && self.accounts > 1 {
            // verify_and_map users live in the account of the authorization
            // document warden manages (one ConfigMap, one account).
            anyhow::bail!(
                "--accounts needs --mode jwt: SPIFFE mode maps every SVID into the authorization ConfigMap's account"
            );
        }
        Ok(())
    }

    /// The identity names of the fleet's users.
    fn names(&self) -> impl Iterator<Item = Result<IdentityName>> {
        (0..self.identities.max(1)).map(|i| Ok(IdentityName::parse(&format!("{FLEET_NAMESPACE}/wl{i}"))?))
    }
}

/// The namespace of the fleet's identities.
pub const FLEET_NAMESPACE: &str = "fleet";

/// Opens the fleet's connections to `addr` (`host:port`) spread over `ids`
/// and holds them in one task.
async fn hold_fleet(addr: &str, ids: &[Identity], n: usize) -> Result<JoinHandle<()>> {
    crate::connections::raise_nofile();
    let conns = open_many(addr, ids, n, 8).await.context("opening the fleet's connections")?;
    Ok(tokio::spawn(async move {
        let (_keep, stop) = watch::channel(false);
        hold(conns, stop).await
    }))
}

/// [`start_mode`] with a fleet of extra connections.
pub async fn start_with(dir: &Path, mode: Mode, fleet: Fleet) -> Result<Sandbox> {
    fleet.check(mode)?;
    match mode {
        Mode::Jwt => start_jwt(dir, fleet).await,
        Mode::Spiffe => start_spiffe(dir, fleet).await,
    }
}

/// Starts everything in `dir` (created 0700), JWT mode.
pub async fn start(dir: &Path) -> Result<Sandbox> {
    start_jwt(dir, Fleet::default()).await
}

async fn start_jwt(dir: &Path, extra: Fleet) -> Result<Sandbox> {
    warden_core::logging::create_private_dir(dir)?;
    let now = chrono::Utc::now().timestamp();
    let mut world = OperatorWorld::generate(dir).context("generating the operator, accounts and keys")?;
    let fleet = scenario::mint_fleet(&world, now, EXPIRING_IN)?;
    super::seeds::prepare_jwt(&mut world, now)?;
    // The fleet's other accounts, preloaded like APP.
    let fleet_accounts = (1..extra.accounts.max(1))
        .map(|i| world.add_account(&format!("FLEET{i}"), None))
        .collect::<Result<Vec<_>>>()?;
    let server = NatsServer::start(&dir.join("nats"), "nats-0", world.config_body()).context("starting nats-server")?;

    // Revocations go through the server like an operator's would.
    let sys = async_nats::ConnectOptions::with_credentials_file(&world.sys_creds_path)
        .await?
        .connect(server.url())
        .await
        .context("connecting as the system account")?;
    for t in fleet.iter().filter(|t| t.kind == Kind::Revoked) {
        let jwt = world.revoke_user(t.key.public_key(), now)?;
        push_account_jwt(&sys, &jwt, Duration::from_millis(300), Duration::from_secs(5)).await?;
    }

    let double = start_double().await?;
    let kubeconfig = dir.join("kubeconfig");
    double.write_kubeconfig(&kubeconfig, "sandbox")?;
    scenario::seed(&double.state(), &world, &fleet, now, now)?;
    let seeded = super::seeds::seed_jwt(&double.state(), &world, now)?;
    let spire = SpireController::spawn(double.state(), scenario::controller_config());
    let warden_config = write_warden_config(dir, &world, &server.url(), &kubeconfig, "sandbox", "")?;

    let mut tasks = vec![follow_server_log(server.log_path.clone(), double.state())];
    tasks.extend(start_workloads(&server.url(), fleet, double.state()));
    tasks.extend(super::seeds::start_jwt(&server.url(), seeded));
    if extra.connections > 0 {
        // Identity i in account i mod A (0: APP).
        let ids = extra
            .names()
            .enumerate()
            .map(|(i, name)| {
                let name = name?;
                let spec = UserSpec::tentacle(&name.namespace, &name.workload);
                let (jwt, key) = match i % (fleet_accounts.len() + 1) {
                    0 => {
                        let u = world.mint_user(&spec)?;
                        (u.jwt, u.key.context("a generated user key")?)
                    }
                    a => world.mint_user_in(&fleet_accounts[a - 1], &spec)?,
                };
                Ok(Identity::jwt(jwt, Arc::new(key)))
            })
            .collect::<Result<Vec<_>>>()?;
        let addr = server.url().trim_start_matches("nats://").to_string();
        tasks.push(hold_fleet(&addr, &ids, extra.connections).await?);
    }
    let info = SandboxInfo {
        dir: dir.to_path_buf(),
        mode: Mode::Jwt,
        nats_url: server.url(),
        system: SystemAuth::Creds(world.sys_creds_path.clone()),
        kubeconfig,
        warden_config,
        nats_log: server.log_path.clone(),
        nats_pid: server.pid(),
    };
    Ok(Sandbox { info, double, server, tasks, _sync: None, _spire: spire })
}

/// The NATS pod's log is the real server's log, line by line.
pub(crate) fn follow_server_log(path: PathBuf, k: KubeState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let opts = warden_core::violations::follow_file::FollowOptions { from_start: true, ..Default::default() };
        let Ok(mut f) = warden_core::violations::follow_file::Follower::open(&path, opts).await else { return };
        while let Ok(line) = f.next_line().await {
            k.append_pod_log("tentacular-system", "nats-0", "nats", &line.text);
        }
    })
}

/// A workload's credentials channel and its own key (to wrap a new JWT).
type CredentialsSender = (watch::Sender<Option<Credentials>>, Arc<SigningKey>);

/// Each tentacle's client, and a watcher that hands a workload its new JWT
/// when its NatsIdentity status gets one (approval, renewal).
pub(crate) fn start_workloads(url: &str, fleet: Vec<Tentacle>, k: KubeState) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    let mut senders: HashMap<(String, String), CredentialsSender> = HashMap::new();
    for t in fleet {
        match t.kind {
            Kind::Drifted => {}
            Kind::Revoked => {
                if let Some(jwt) = t.jwt.clone() {
                    let creds = Credentials::Jwt { jwt, key: Arc::new(t.key.clone()) };
                    tasks.push(workloads::spawn_refused(url.to_string(), t.name(), creds, Duration::from_secs(15)));
                }
            }
            _ => {
                let key = Arc::new(t.key.clone());
                let creds = t.jwt.clone().map(|jwt| Credentials::Jwt { jwt, key: key.clone() });
                let (tx, rx) = watch::channel(creds);
                let behaviour = match t.kind {
                    Kind::Violator => Behaviour::Violator { forbidden: "tentacular.payments.ledger.commands".into() },
                    _ => Behaviour::Steady,
                };
                let w = Workload {
                    name: t.name(),
                    prefix: t.prefix(),
                    behaviour,
                    credentials: rx,
                    every: Duration::from_secs(3),
                };
                tasks.push(workloads::spawn(url.to_string(), w));
                senders.insert((t.namespace.to_string(), t.workload.to_string()), (tx, key));
            }
        }
    }
    tasks.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tick.tick().await;
            for obj in k.list("warden.dev/v1alpha1", "NatsIdentity", None) {
                let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
                let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_string();
                let jwt = obj["status"]["jwt"].as_str().filter(|j| !j.is_empty()).map(str::to_string);
                if let (Some((tx, key)), Some(jwt)) = (senders.get(&(ns, name)), jwt) {
                    tx.send_if_modified(|cur| {
                        let changed = cur.as_ref().and_then(Credentials::jwt) != Some(jwt.as_str());
                        if changed {
                            *cur = Some(Credentials::Jwt { jwt: jwt.clone(), key: key.clone() });
                        }
                        changed
                    });
                }
            }
        }
    }));
    tasks
}

fn write_spiffe_warden_config(
    dir: &Path,
    world: &SpiffeWorld,
    url: &str,
    kubeconfig: &Path,
    section: &KubeSection,
) -> Result<PathBuf> {
    let text = format!(
        "# Written by `warden sandbox --mode spiffe`: connects a second warden to the sandbox.\n\
         [nats]\nurl = {url}\nca = {ca}\ncert = {cert}\nkey = {key}\n\n\
         [kubernetes]\nkubeconfig = {kc}\ncontext = \"sandbox\"\nauthz_configmap = {cm}\nauthz_key = {ck}\n{spire}\n\
         [naming]\ntrust_domain = {td}\n\n\
         [identity]\nmode = \"spiffe\"\nauthz_file = {authz}\n{policy}",
        url = toml::Value::String(url.to_string()),
        ca = toml_str(&world.bundle_file),
        cert = toml_str(&world.system.cert_file),
        key = toml_str(&world.system.key_file),
        kc = toml_str(kubeconfig),
        cm = toml::Value::String(section.authz_configmap.clone()),
        ck = toml::Value::String(section.authz_key.clone()),
        td = toml::Value::String(world.trust_domain.clone()),
        authz = toml_str(&world.authz_file),
        spire = spire_server_config(),
        policy = super::seeds::policy_section(),
    );
    let path = dir.join("warden.toml");
    write_secret_file(&path, text.as_bytes())?;
    Ok(path)
}

/// SPIFFE mode: a `verify_and_map` nats-server whose authorization include
/// file follows the authorization ConfigMap in the double, and workloads
/// that connect with their SVIDs.
pub async fn start_spiffe(dir: &Path, extra: Fleet) -> Result<Sandbox> {
    warden_core::logging::create_private_dir(dir)?;
    let now = chrono::Utc::now().timestamp();
    let naming = Naming::with_defaults(scenario::TRUST_DOMAIN)?;
    let section = KubeSection::default();
    let world = SpiffeWorld::generate(&dir.join("nats"), scenario::TRUST_DOMAIN)
        .context("generating the trust bundle, server certificate and SVIDs")?;
    let fleet = scenario::mint_spiffe_fleet(&world, &naming, EXPIRING_IN)?;

    let double = start_double().await?;
    let kubeconfig = dir.join("kubeconfig");
    double.write_kubeconfig(&kubeconfig, "sandbox")?;
    let doc = scenario::seed_spiffe(&double.state(), &naming, &section, &fleet, now)?;
    let mut doc = super::seeds::seed_spiffe(&double.state(), &naming, &section, doc, now)?;
    // The extra fleet: an SVID and an authorization entry (its scope) each,
    // in the ConfigMap and so in the server's include file from the start.
    let mut fleet_ids = Vec::new();
    if extra.connections > 0 {
        for name in extra.names() {
            let name = name?;
            let spiffe_id = naming.spiffe_id(&name);
            doc.upsert_scope(&spiffe_id, &naming.scope(&name))?;
            let svid = world.issue_svid(&spiffe_id)?;
            fleet_ids.push(Identity::svid(&spiffe_id, &svid.cert_file, &svid.key_file, &world.bundle_file)?);
        }
        scenario::put_authz_configmap(&double.state(), &section, &doc)?;
    }
    let spire = SpireController::spawn(double.state(), scenario::controller_config());
    world.write_authz(&doc)?;
    let server =
        NatsServer::start(&world.dir, "nats-0", &world.config_body()).context("starting nats-server (SPIFFE mode)")?;

    let settings = warden_core::kube::client::KubeSettings { kubeconfig: Some(kubeconfig.clone()), context: None };
    let client = warden_core::kube::client::connect(&settings)
        .await?
        .map_err(|e| anyhow::anyhow!("connecting to the Kubernetes API double: {}", e.0))?
        .client;
    let sync = ConfigSync::spawn(
        client,
        &section.authz_configmap,
        &section.authz_key,
        vec![world.authz_file.clone()],
        Duration::from_millis(200),
    )?;
    let url = server.url().replacen("nats://", "tls://", 1);
    let warden_config = write_spiffe_warden_config(dir, &world, &url, &kubeconfig, &section)?;

    let mut tasks = vec![follow_server_log(server.log_path.clone(), double.state())];
    tasks.extend(start_spiffe_workloads(&url, &world, fleet));
    if extra.connections > 0 {
        let addr = server.url().trim_start_matches("nats://").to_string();
        tasks.push(hold_fleet(&addr, &fleet_ids, extra.connections).await?);
    }
    let info = SandboxInfo {
        dir: dir.to_path_buf(),
        mode: Mode::Spiffe,
        nats_url: url,
        system: SystemAuth::Svid {
            cert: world.system.cert_file.clone(),
            key: world.system.key_file.clone(),
            bundle: world.bundle_file.clone(),
        },
        kubeconfig,
        warden_config,
        nats_log: server.log_path.clone(),
        nats_pid: server.pid(),
    };
    Ok(Sandbox { info, double, server, tasks, _sync: Some(sync), _spire: spire })
}

/// Each SPIFFE tentacle's client. Its SVID is there from the start: a
/// pending workload retries until approval writes its entry (and the reload
/// lets it in); a revoked one keeps being refused.
fn start_spiffe_workloads(url: &str, world: &SpiffeWorld, fleet: Vec<scenario::SpiffeTentacle>) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    let mut senders = Vec::new();
    for t in fleet {
        let Some(svid) = &t.svid else { continue };
        let creds = Credentials::Svid {
            cert: svid.cert_file.clone(),
            key: svid.key_file.clone(),
            bundle: world.bundle_file.clone(),
        };
        let name = t.name.to_string();
        if t.kind == Kind::Revoked {
            tasks.push(workloads::spawn_refused(url.to_string(), name, creds, Duration::from_secs(15)));
            continue;
        }
        let (tx, rx) = watch::channel(Some(creds));
        let behaviour = match t.kind {
            Kind::Violator => Behaviour::Violator { forbidden: "tentacular.payments.ledger.commands".into() },
            _ => Behaviour::Steady,
        };
        let w = Workload { name, prefix: t.prefix(), behaviour, credentials: rx, every: Duration::from_secs(3) };
        tasks.push(workloads::spawn(url.to_string(), w));
        senders.push(tx);
    }
    tasks.push(workloads::keep_credentials(senders));
    tasks
}

/// The double behind the sandbox's Kubernetes: it answers only requests
/// bearing a token made now, which is written nowhere but the kubeconfig in
/// the sandbox's private directory (0600), so another local user cannot
/// read the sandbox's credentials through it.
pub(crate) async fn start_double() -> Result<KubeDouble> {
    let config = KubeDoubleConfig { token: kube_double::random_token(), ..KubeDoubleConfig::default() };
    KubeDouble::start(config).await.context("starting the Kubernetes API double")
}

/// The sandbox's directory, private to this user: `dir` when given (a
/// symlink there is refused; created 0700 if missing), else a fresh one
/// with an unpredictable name under the temporary directory, created with
/// mkdir (which never follows a symlink someone planted) and mode 0700.
/// The sandbox writes credentials into it.
pub fn private_dir(dir: Option<&Path>) -> Result<PathBuf> {
    use std::hash::{BuildHasher, Hasher};
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if let Some(d) = dir {
        if std::fs::symlink_metadata(d).is_ok_and(|m| m.file_type().is_symlink()) {
            anyhow::bail!("{} is a symbolic link: give the sandbox a real directory", d.display());
        }
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(d)?;
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))?;
        return Ok(d.to_path_buf());
    }
    for _ in 0..8 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let p = std::env::temp_dir().join(format!("warden-sandbox-{:016x}", h.finish()));
        match std::fs::DirBuilder::new().mode(0o700).create(&p) {
            Ok(()) => return Ok(p),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", p.display())),
        }
    }
    anyhow::bail!("could not create a fresh sandbox directory under {}", std::env::temp_dir().display())
}

#[cfg(test)]
mod private_dir_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn fresh_private_and_never_through_a_symlink() {
        let a = private_dir(None).unwrap();
        let b = private_dir(None).unwrap();
        assert_ne!(a, b);
        assert_eq!(std::fs::metadata(&a).unwrap().permissions().mode() & 0o777, 0o700);
        let t = tempfile::tempdir().unwrap();
        let link = t.path().join("link");
        std::os::unix::fs::symlink(t.path(), &link).unwrap();
        assert!(private_dir(Some(&link)).is_err());
        let given = t.path().join("given");
        assert_eq!(private_dir(Some(&given)).unwrap(), given);
        assert_eq!(std::fs::metadata(&given).unwrap().permissions().mode() & 0o777, 0o700);
        let _ = (std::fs::remove_dir(&a), std::fs::remove_dir(&b));
    }
}
