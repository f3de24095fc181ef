//! The Servers view's data: one row per server, from VARZ, kept live by STATSZ.

use anyhow::Result;
use serde::Serialize;

use super::format;
use super::table::{Clock, Column, Cut, Searchable, TableRow};
use warden_core::nats::sys::SysClient;
use warden_core::nats::types::{ServerInfo, StatszMsg, Varz};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServerRow {
    pub name: String,
    pub id: String,
    pub version: String,
    pub cluster: String,
    /// The configured site whose NATS cluster this server is in (`[[sites]]`).
    pub site: String,
    pub host: String,
    pub port: u16,
    pub start: String,
    pub connections: i64,
    pub total_connections: u64,
    pub subscriptions: u64,
    pub slow_consumers: i64,
    pub mem: i64,
    pub cpu: f64,
    pub cores: i64,
    pub in_msgs: i64,
    pub out_msgs: i64,
    pub in_bytes: i64,
    pub out_bytes: i64,
    pub routes: i64,
    pub leafnodes: i64,
    pub jetstream: bool,
    pub system_account: String,
    pub auth_required: bool,
    pub tls_required: bool,
    pub tls_verify: bool,
    /// Unix seconds, when the server reports `tls_cert_not_after`.
    pub tls_cert_not_after: Option<i64>,
    /// The trusted operators' JWTs (public; the doctor checks their expiry).
    #[serde(skip)]
    pub operator_jwts: Vec<String>,
    /// Why this server's data is missing or partial.
    pub error: Option<String>,
    #[serde(skip)]
    search: String,
}

impl Searchable for ServerRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

impl TableRow for ServerRow {
    type Key = String;
    fn key(&self) -> String {
        self.id.clone()
    }
    fn columns() -> Vec<Column<Self>> {
        columns()
    }
    fn detail_title(&self) -> String {
        format!("server {}", self.name)
    }
    fn detail(&self, clock: &Clock) -> Vec<(&'static str, String)> {
        detail(self, clock)
    }
}

impl ServerRow {
    pub fn from_varz(server: &ServerInfo, v: &Varz) -> ServerRow {
        let mut r = ServerRow {
            name: first_non_empty(&v.server_name, &server.name),
            id: first_non_empty(&v.server_id, &server.id),
            version: first_non_empty(&v.version, &server.ver),
            cluster: first_non_empty(&v.cluster.name, &server.cluster),
            site: String::new(),
            host: v.host.clone(),
            port: v.port,
            start: v.start.clone(),
            connections: v.connections,
            total_connections: v.total_connections,
            subscriptions: v.subscriptions,
            slow_consumers: v.slow_consumers,
            mem: v.mem,
            cpu: v.cpu,
            cores: v.cores,
            in_msgs: v.in_msgs,
            out_msgs: v.out_msgs,
            in_bytes: v.in_bytes,
            out_bytes: v.out_bytes,
            routes: v.routes,
            leafnodes: v.leafnodes,
            jetstream: server.jetstream,
            system_account: v.system_account.clone(),
            auth_required: v.auth_required,
            tls_required: v.tls_required,
            tls_verify: v.tls_verify,
            tls_cert_not_after: format::unix_of_rfc3339(&v.tls_cert_not_after),
            operator_jwts: v.trusted_operators_jwt.clone(),
            error: None,
            search: String::new(),
        };
        r.reindex();
        r
    }

    /// A server that answered with an error: shown, not hidden.
    pub fn failed(server: &ServerInfo, error: String) -> ServerRow {
        let mut r = ServerRow {
            name: server.name.clone(),
            id: server.id.clone(),
            version: server.ver.clone(),
            cluster: server.cluster.clone(),
            error: Some(error),
            ..Default::default()
        };
        r.reindex();
        r
    }

    /// Folds a live STATSZ event into the row.
    pub fn apply_statsz(&mut self, m: &StatszMsg) {
        let s = &m.statsz;
        self.connections = s.connections;
        self.subscriptions = s.subscriptions.max(0) as u64;
        self.slow_consumers = s.slow_consumers;
        self.mem = s.mem;
        self.cpu = s.cpu;
        self.in_msgs = s.received.msgs;
        self.in_bytes = s.received.bytes;
        self.out_msgs = s.sent.msgs;
        self.out_bytes = s.sent.bytes;
        if !m.server.ver.is_empty() {
            self.version = m.server.ver.clone();
        }
    }

    /// What the doctor reads of this server.
    pub fn doctor_facts(&self) -> warden_core::doctor::facts::ServerFacts {
        warden_core::doctor::facts::ServerFacts {
            id: self.id.clone(),
            name: self.name.clone(),
            auth_required: self.auth_required,
            tls_required: self.tls_required,
            tls_verify: self.tls_verify,
            system_account: self.system_account.clone(),
            operator_jwts: self.operator_jwts.clone(),
            tls_cert_not_after: self.tls_cert_not_after,
            jetstream: self.jetstream,
            anonymous_allowed: None,
        }
    }

    fn reindex(&mut self) {
        self.search =
            format!("{} {} {} {} {} {}", self.name, self.id, self.version, self.cluster, self.site, self.host)
                .to_lowercase();
    }

    /// Sets the site from the cluster (`sites`: cluster name -> site).
    pub fn set_site(&mut self, sites: &super::sites::Sites) {
        let site = sites.of_cluster(&self.cluster).map(|t| t.as_str()).unwrap_or_default();
        if site != self.site {
            self.site = site.to_string();
            self.reindex();
        }
    }

    pub fn uptime(&self, clock: &Clock) -> String {
        format::unix_of_rfc3339(&self.start).map(|s| format::duration(clock.now_unix - s)).unwrap_or_default()
    }
}

fn first_non_empty(a: &str, b: &str) -> String {
    if a.is_empty() { b.to_string() } else { a.to_string() }
}

/// Every server that answers VARZ, sorted by name. Servers answering with an
/// error are kept as rows carrying the error.
pub async fn fetch(sys: &SysClient) -> Result<Vec<ServerRow>> {
    let replies = sys.varz().await?;
    let mut rows: Vec<ServerRow> = replies
        .iter()
        .map(|r| match &r.result {
            Ok(v) => ServerRow::from_varz(&r.server, v),
            Err(e) => ServerRow::failed(&r.server, warden_core::error_chain::chain(e)),
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(rows)
}

pub fn columns() -> Vec<Column<ServerRow>> {
    vec![
        Column { title: "NAME", width: 14, priority: 0, cut: Cut::End, cell: |r, _| r.name.clone() },
        // Empty (and so given away) unless `[[sites]]` are configured.
        Column { title: "SITE", width: 6, priority: 1, cut: Cut::End, cell: |r, _| r.site.clone() },
        Column { title: "VERSION", width: 8, priority: 1, cut: Cut::End, cell: |r, _| r.version.clone() },
        Column { title: "CLUSTER", width: 10, priority: 2, cut: Cut::End, cell: |r, _| r.cluster.clone() },
        Column { title: "UPTIME", width: 8, priority: 1, cut: Cut::End, cell: |r, c| r.uptime(c) },
        Column { title: "CONNS", width: 6, priority: 0, cut: Cut::End, cell: |r, _| r.connections.to_string() },
        Column {
            title: "SUBS",
            width: 6,
            priority: 3,
            cut: Cut::End,
            cell: |r, _| format::count(r.subscriptions as i64),
        },
        Column { title: "SLOW", width: 5, priority: 2, cut: Cut::End, cell: |r, _| r.slow_consumers.to_string() },
        Column { title: "MEM", width: 9, priority: 1, cut: Cut::End, cell: |r, _| format::bytes(r.mem) },
        Column { title: "CPU", width: 6, priority: 1, cut: Cut::End, cell: |r, _| format!("{:.1}%", r.cpu) },
        Column { title: "MSGS IN", width: 8, priority: 4, cut: Cut::End, cell: |r, _| format::count(r.in_msgs) },
        Column { title: "MSGS OUT", width: 8, priority: 4, cut: Cut::End, cell: |r, _| format::count(r.out_msgs) },
        Column {
            title: "ID",
            width: 20,
            priority: 5,
            cut: Cut::End,
            cell: |r, _| match &r.error {
                Some(e) => format!("error: {e}"),
                None => r.id.clone(),
            },
        },
    ]
}

/// Field/value pairs for the detail pane.
pub fn detail(r: &ServerRow, clock: &Clock) -> Vec<(&'static str, String)> {
    let mut d = vec![
        ("Name", r.name.clone()),
        ("ID", r.id.clone()),
        ("Version", r.version.clone()),
        ("Cluster", r.cluster.clone()),
        ("Listen", format!("{}:{}", r.host, r.port)),
        ("Started", r.start.clone()),
        ("Uptime", r.uptime(clock)),
        ("Connections", format!("{} (total {})", r.connections, r.total_connections)),
        ("Subscriptions", r.subscriptions.to_string()),
        ("Slow consumers", r.slow_consumers.to_string()),
        ("Memory", format::bytes(r.mem)),
        ("CPU", format!("{:.1}% of {} cores", r.cpu, r.cores)),
        ("Msgs in/out", format!("{} / {}", r.in_msgs, r.out_msgs)),
        ("Bytes in/out", format!("{} / {}", format::bytes(r.in_bytes), format::bytes(r.out_bytes))),
        ("Routes", r.routes.to_string()),
        ("Leafnodes", r.leafnodes.to_string()),
        ("JetStream", if r.jetstream { "enabled" } else { "disabled" }.to_string()),
        ("System account", r.system_account.clone()),
    ];
    if let Some(e) = &r.error {
        d.push(("Error", e.clone()));
    }
    d
}
