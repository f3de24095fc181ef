//! What only the doctor asks NATS for, fetched alike by `warden doctor` and
//! the console's `:doctor`: JetStream per server, account and stream
//! (`$SYS.REQ.SERVER.PING.JSZ`), and the `INFO` an unauthenticated client
//! is sent (a `no_auth_user` shows only there: VARZ reports auth required).

use std::time::Duration;

use warden_core::doctor::facts::{StreamFacts, jetstream_of};
use warden_core::nats::info_probe::{self, InfoLine};
use warden_core::nats::sys::SysClient;

/// How long the unauthenticated probe may take.
const PROBE_LIMIT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Default)]
pub struct DoctorNats {
    /// Servers with JetStream enabled.
    pub jetstream_servers: usize,
    pub streams: Vec<StreamFacts>,
    /// The `INFO` the configured server sends an unauthenticated client.
    pub anonymous_info: Option<InfoLine>,
    /// What could not be read, and why.
    pub unavailable: Vec<String>,
}

impl DoctorNats {
    /// Both fetches; a failure is named, never fatal. `sys` is `None` when
    /// warden has no system connection (the probe still runs).
    pub async fn fetch(url: &str, sys: Option<&SysClient>) -> DoctorNats {
        let mut d = DoctorNats::default();
        match info_probe::probe(url, PROBE_LIMIT).await {
            Ok(i) => d.anonymous_info = Some(i),
            Err(e) => d.unavailable.push(format!("anonymous INFO: {e:#}")),
        }
        if let Some(sys) = sys {
            match sys.jsz().await {
                Ok(replies) => (d.jetstream_servers, d.streams) = jetstream_of(replies.iter().filter_map(|r| r.ok())),
                Err(e) => d.unavailable.push(format!("JSZ: {e:#}")),
            }
        }
        d
    }
}
