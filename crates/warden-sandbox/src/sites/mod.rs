//! `warden sandbox --sites N`: N sites, each one cluster of a NATS
//! supercluster (operator mode, one operator and system account, gateways
//! named after the sites) with its own Kubernetes API double seeded like
//! the default sandbox and its own simulated workloads; one kubeconfig with
//! a context per site and a warden config with `[[sites]]`.
//!
//! The last site is drifted on purpose, as a site that missed two changes:
//! it lacks the NatsIdentity [`MISSING_RECORD`] the others have, and its
//! server serves the APP account JWT from before the revocation the others
//! hold (so `warden doctor` reports `site-drift` and `account-jwt-drift`).

mod files;
mod gateway;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::task::JoinHandle;

use super::nats_server::{NatsServer, free_port};
use super::operator_mode::OperatorWorld;
use super::run::{EXPIRING_IN, follow_server_log, start_double, start_workloads, write_warden_config};
use super::scenario::{self, Tentacle};
use super::spire_controller::{SpireController, SpireControllerHandle};
use kube_double::KubeDouble;
use warden_core::identity::actions::Mode;

/// The NatsIdentity (namespace, name) the drifted site lacks.
pub const MISSING_RECORD: (&str, &str) = ("payments", "settlement");
/// The account whose JWT is older at the drifted site.
pub const STALE_ACCOUNT: &str = "APP";
/// Most sites one machine runs.
pub const MAX_SITES: usize = 6;
const NAMES: [&str; MAX_SITES] = ["east", "west", "south", "north", "central", "edge"];
/// How long the gateways may take to connect.
const GATEWAYS_WITHIN: Duration = Duration::from_secs(30);

/// Refuses what `--sites` cannot be combined with, saying why.
pub fn check_request(sites: usize, mode: Mode, connections: usize) -> Result<()> {
    if sites < 2 {
        bail!("--sites {sites}: several sites means at least 2 (without --sites the sandbox is one site)");
    }
    if sites > MAX_SITES {
        bail!("--sites {sites}: at most {MAX_SITES} sites (each runs a nats-server and a Kubernetes API double)");
    }
    if mode != Mode::Jwt {
        bail!("--sites runs operator mode (--mode jwt): SPIFFE mode has no account JWTs to share between sites");
    }
    if connections > 0 {
        bail!("--connections measures one server: it cannot be combined with --sites");
    }
    Ok(())
}

/// One running site.
pub struct Site {
    pub name: String,
    pub server: NatsServer,
    pub double: KubeDouble,
    _spire: SpireControllerHandle,
}

/// The running sites. Dropping it stops the workloads, the doubles and the
/// servers.
pub struct SitesSandbox {
    pub dir: PathBuf,
    pub sites: Vec<Site>,
    pub drifted: String,
    pub sys_creds: PathBuf,
    pub kubeconfig: PathBuf,
    pub warden_config: PathBuf,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for SitesSandbox {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for s in &mut self.sites {
            s.server.stop();
        }
    }
}

impl SitesSandbox {
    /// What `--headless` prints: a `site NAME:` line per site, then the
    /// shared files (tests read these `key: value` lines; `nats pids` last).
    pub fn describe(&self) -> String {
        let mut out = format!(
            "warden sandbox is running: {} sites, one NATS supercluster (JWT mode). Ctrl-C stops it and removes everything it started.\n",
            self.sites.len()
        );
        for s in &self.sites {
            let drift = if s.name == self.drifted {
                format!(
                    "  drifted: lacks NatsIdentity {}/{}, serves an older {STALE_ACCOUNT} JWT",
                    MISSING_RECORD.0, MISSING_RECORD.1
                )
            } else {
                String::new()
            };
            out.push_str(&format!(
                "site {}: nats {} server {} pid {} kube context {}{drift}\n",
                s.name,
                s.server.url(),
                s.server.name,
                s.server.pid().map(|p| p.to_string()).unwrap_or_default(),
                s.name,
            ));
        }
        let pids: Vec<String> = self.sites.iter().filter_map(|s| s.server.pid()).map(|p| p.to_string()).collect();
        out.push_str(&format!(
            "drifted site:  {}\nmissing record: {}/{}\nstale account: {STALE_ACCOUNT}\nsystem creds:  {}\nkubeconfig:    {}\nwarden config: {}\nnats pids:     {}\n\n\
             Try:\n  WARDEN_CONFIG={} warden doctor\n  kubectl --kubeconfig {} --context {} get natsidentities -A\n",
            self.drifted,
            MISSING_RECORD.0,
            MISSING_RECORD.1,
            self.sys_creds.display(),
            self.kubeconfig.display(),
            self.warden_config.display(),
            pids.join(" "),
            self.warden_config.display(),
            self.kubeconfig.display(),
            self.drifted,
        ));
        out
    }
}

fn site_names(n: usize) -> Vec<String> {
    NAMES.iter().take(n).map(|s| s.to_string()).collect()
}

/// The same fleet again (each site runs its own replica of every workload).
fn replica(fleet: &[Tentacle]) -> Vec<Tentacle> {
    fleet
        .iter()
        .map(|t| Tentacle {
            namespace: t.namespace,
            workload: t.workload,
            kind: t.kind,
            key: t.key.clone(),
            jwt: t.jwt.clone(),
        })
        .collect()
}

/// Starts `n` sites in `dir` (created 0700); the last one is drifted.
pub async fn start(dir: &Path, n: usize) -> Result<SitesSandbox> {
    check_request(n, Mode::Jwt, 0)?;
    warden_core::logging::create_private_dir(dir)?;
    let names = site_names(n);
    let drifted = names.last().cloned().unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    let mut world = OperatorWorld::generate(dir).context("generating the operator, accounts and keys")?;
    let fleet = scenario::mint_fleet(&world, now, EXPIRING_IN)?;
    // The revocation every site but the drifted one received.
    let before = world.app_jwt.clone();
    let revoked_at = chrono::Utc::now().timestamp();
    for t in fleet.iter().filter(|t| t.kind == scenario::Kind::Revoked) {
        world.revoke_user(t.key.public_key(), revoked_at)?;
    }
    let after = world.app_jwt.clone();

    let ports: Vec<gateway::Ports> =
        names.iter().map(|s| gateway::Ports { site: s.clone(), client: free_port(), gateway: free_port() }).collect();
    let mut sites = Vec::new();
    let mut tasks = Vec::new();
    for p in &ports {
        let server_dir = dir.join("nats").join(&p.site);
        // The full resolvers' periodic sync (2m) would heal the drift
        // before anyone looked: a day keeps it until it is fixed.
        let mut body =
            world.config_body_in_without_jetstream(&server_dir).replace("interval: \"2m\"", "interval: \"24h\"");
        if p.site != drifted {
            body = body.replace(&before, &after);
        }
        body.push_str(&gateway::block(&p.site, &ports));
        let server = NatsServer::start_on(&server_dir, &format!("nats-{}", p.site), p.client, &body)
            .with_context(|| format!("starting site {}'s nats-server", p.site))?;
        let double = start_double().await?;
        let k = double.state();
        scenario::seed(&k, &world, &fleet, now, revoked_at)?;
        if p.site == drifted {
            let (ns, name) = MISSING_RECORD;
            k.delete("warden.dev/v1alpha1", "NatsIdentity", ns, name)
                .map_err(|e| anyhow::anyhow!("removing {ns}/{name} at {drifted}: {e:?}"))?;
        }
        let spire = SpireController::spawn(k.clone(), scenario::controller_config());
        tasks.push(follow_server_log(server.log_path.clone(), k.clone()));
        sites.push(Site { name: p.site.clone(), server, double, _spire: spire });
    }

    let sys = async_nats::ConnectOptions::with_credentials_file(&world.sys_creds_path)
        .await?
        .connect(sites[0].server.url())
        .await
        .context("connecting as the system account")?;
    gateway::wait_connected(sys, &names, GATEWAYS_WITHIN).await?;
    for s in &sites {
        tasks.extend(start_workloads(&s.server.url(), replica(&fleet), s.double.state()));
    }

    let kubeconfig = dir.join("kubeconfig");
    let contexts: Vec<(&str, &KubeDouble)> = sites.iter().map(|s| (s.name.as_str(), &s.double)).collect();
    files::write_kubeconfig(&kubeconfig, &contexts)?;
    let urls: Vec<(&str, String)> = sites.iter().map(|s| (s.name.as_str(), s.server.url())).collect();
    let tables = files::sites_tables(&urls);
    let warden_config = write_warden_config(dir, &world, &sites[0].server.url(), &kubeconfig, &sites[0].name, &tables)?;
    Ok(SitesSandbox {
        dir: dir.to_path_buf(),
        sites,
        drifted,
        sys_creds: world.sys_creds_path.clone(),
        kubeconfig,
        warden_config,
        tasks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_that_make_no_sense_are_refused() {
        assert!(check_request(3, Mode::Jwt, 0).is_ok());
        let err = |r: Result<()>| r.unwrap_err().to_string();
        assert!(err(check_request(1, Mode::Jwt, 0)).contains("at least 2"));
        assert!(err(check_request(MAX_SITES + 1, Mode::Jwt, 0)).contains("at most"));
        assert!(err(check_request(3, Mode::Spiffe, 0)).contains("--mode jwt"));
        assert!(err(check_request(3, Mode::Jwt, 10)).contains("--connections"));
        assert_eq!(site_names(3), vec!["east", "west", "south"]);
    }
}
