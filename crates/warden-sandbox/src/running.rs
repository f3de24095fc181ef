//! What `warden sandbox` runs: one site (the default world) or several
//! (`--sites N`). Dropping it stops everything it started.

use std::path::Path;

use anyhow::Result;
use warden_core::identity::actions::Mode;

use super::run::{self, Fleet, Sandbox};
use super::sites::{self, SitesSandbox};

pub enum Running {
    One(Box<Sandbox>),
    Sites(SitesSandbox),
}

impl Running {
    /// Starts `sites` sites when given, else the one-site world of `mode`.
    /// Refuses a request that makes no sense, before anything is made.
    pub fn check(mode: Mode, fleet: &Fleet, sites: Option<usize>) -> Result<()> {
        fleet.check(mode)?;
        match sites {
            Some(n) => sites::check_request(n, mode, fleet.connections),
            None => Ok(()),
        }
    }

    pub async fn start(dir: &Path, mode: Mode, fleet: Fleet, sites: Option<usize>) -> Result<Running> {
        Self::check(mode, &fleet, sites)?;
        match sites {
            Some(n) => Ok(Running::Sites(sites::start(dir, n).await?)),
            None => Ok(Running::One(Box::new(run::start_with(dir, mode, fleet).await?))),
        }
    }

    /// What `--headless` prints.
    pub fn describe(&self) -> String {
        match self {
            Running::One(s) => s.info.describe(),
            Running::Sites(s) => s.describe(),
        }
    }

    /// The config file a second warden (and the console) reads.
    pub fn warden_config(&self) -> &Path {
        match self {
            Running::One(s) => &s.info.warden_config,
            Running::Sites(s) => &s.warden_config,
        }
    }
}
