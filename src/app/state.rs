//! The application state: owned by the console loop, changed only by `update`.

use tui_input::Input;

use super::conns::ConnRow;
use super::kube_state::KubeState;
use super::permissions::{PermRow, TestRow};
use super::servers::ServerRow;
use super::spire_views::{AgentRow, EntryRow, SpiffeIdRow};
use super::table::{Clock, TableRow, TableState};
use warden_core::identity::permissions::PermissionSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewId {
    Servers,
    Conns,
    Entries,
    SpiffeIds,
    Agents,
    Permissions,
    Accounts,
    Identities,
    Expiry,
    Violations,
}

impl ViewId {
    pub const ALL: [ViewId; 10] = [
        ViewId::Servers,
        ViewId::Conns,
        ViewId::Entries,
        ViewId::SpiffeIds,
        ViewId::Agents,
        ViewId::Permissions,
        ViewId::Accounts,
        ViewId::Identities,
        ViewId::Expiry,
        ViewId::Violations,
    ];

    pub fn title(self) -> &'static str {
        match self {
            ViewId::Servers => "Servers",
            ViewId::Conns => "Connections",
            ViewId::Entries => "SPIRE entries",
            ViewId::SpiffeIds => "ClusterSPIFFEIDs",
            ViewId::Agents => "SPIRE agents",
            ViewId::Permissions => "Permissions",
            ViewId::Accounts => "Accounts",
            ViewId::Identities => "Identities",
            ViewId::Expiry => "Expiry",
            ViewId::Violations => "Violations",
        }
    }

    /// Short label for the tab line.
    pub fn tab(self) -> &'static str {
        match self {
            ViewId::Servers => "servers",
            ViewId::Conns => "conns",
            ViewId::Entries => "entries",
            ViewId::SpiffeIds => "spiffeids",
            ViewId::Agents => "agents",
            ViewId::Permissions => "perms",
            ViewId::Accounts => "accounts",
            ViewId::Identities => "identities",
            ViewId::Expiry => "expiry",
            ViewId::Violations => "violations",
        }
    }

    /// Two to four letters, for narrow terminals.
    pub fn short(self) -> &'static str {
        match self {
            ViewId::Servers => "srv",
            ViewId::Conns => "con",
            ViewId::Entries => "ent",
            ViewId::SpiffeIds => "sid",
            ViewId::Agents => "agt",
            ViewId::Permissions => "perm",
            ViewId::Accounts => "acct",
            ViewId::Identities => "ids",
            ViewId::Expiry => "exp",
            ViewId::Violations => "viol",
        }
    }

    /// Data comes from Kubernetes / SPIRE rather than NATS.
    pub fn is_kube(self) -> bool {
        matches!(self, ViewId::Entries | ViewId::SpiffeIds | ViewId::Agents)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    Connecting,
    Connected,
    Reconnecting(usize),
    Disconnected,
    Closed,
}

/// What the banner says about the NATS connection.
#[derive(Debug, Clone)]
pub struct Connection {
    pub link: Link,
    /// Server URL with any credentials removed.
    pub url: String,
    /// Where the settings came from ("context prod", "flags").
    pub source: String,
    pub account: Option<String>,
    pub user: Option<String>,
    /// Plain-words problem with the connection (wrong account, errors).
    pub notice: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone)]
pub enum Mode {
    Normal,
    Command(Input),
    Filter(Input),
    /// Typing a subject into the Permissions view's subject tester.
    Tester(Input),
}

/// Rows of one view plus how fresh they are.
#[derive(Debug, Clone)]
pub struct Panel<R> {
    pub rows: Vec<R>,
    pub table: TableState,
    /// When the rows were fetched (unix seconds); None until the first fetch.
    pub fetched_at: Option<i64>,
    /// The last fetch failed or got no answer: rows are from `fetched_at`.
    pub stale: Option<String>,
    /// Servers that answered with an error.
    pub errors: Vec<String>,
}

impl<R> Default for Panel<R> {
    fn default() -> Self {
        Panel { rows: Vec::new(), table: TableState::default(), fetched_at: None, stale: None, errors: Vec::new() }
    }
}

impl<R: TableRow> Panel<R> {
    /// New rows from a successful fetch or a watch reset.
    pub fn replace(&mut self, rows: Vec<R>, at: i64) {
        self.rows = rows;
        self.fetched_at = Some(at);
        self.stale = None;
        self.table.refilter(&self.rows, R::key);
    }

    /// The data could not be refreshed: keep it, say why.
    pub fn mark_stale(&mut self, why: &str) {
        self.stale = Some(why.to_string());
    }

    pub fn set_filter(&mut self, f: String) {
        self.table.filter = f;
        self.table.refilter(&self.rows, R::key);
    }

    pub fn selected(&self) -> Option<&R> {
        self.table.selected_index().and_then(|i| self.rows.get(i))
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub view: ViewId,
    pub mode: Mode,
    pub help: bool,
    /// First line of the help shown (it scrolls when taller than the screen).
    pub help_scroll: u16,
    pub detail: bool,
    pub conn: Connection,
    pub servers: Panel<ServerRow>,
    pub conns: Panel<ConnRow>,
    pub entries: Panel<EntryRow>,
    pub spiffe_ids: Panel<SpiffeIdRow>,
    pub agents: Panel<AgentRow>,
    pub perms: Panel<PermRow>,
    pub accounts: Panel<super::accounts::AccountRow>,
    pub identities: Panel<super::identities::IdentityRow>,
    pub expiry: Panel<super::expiry::ExpiryRow>,
    /// Live violations: store, live list, groups, feed sources.
    pub violations: super::violations_view::ViolationsState,
    /// An open identity-action dialog (form, confirmation, result).
    pub dialog: Option<super::dialog::Dialog>,
    /// Every identity's rules (the Permissions view and the tester read them).
    pub perm_sets: Vec<PermissionSet>,
    /// The subject under test and every identity's answer for it.
    pub tester_subject: Option<String>,
    pub tester: Panel<TestRow>,
    pub kube: KubeState,
    /// Context names of the kubeconfig, for `:ctx` completion.
    pub kube_contexts: Vec<String>,
    pub clock: Clock,
    /// Terminal size, for paging.
    pub size: (u16, u16),
    pub status: Option<(Level, String)>,
    pub read_only: bool,
    /// Key of the authorization ConfigMap holding the SPIFFE-mode document.
    pub authz_key: String,
    /// Why the authorization ConfigMap could not be read as rules, if so.
    pub authz_error: Option<String>,
    /// Which mode the identity actions run in.
    pub identity_mode: warden_core::identity::actions::Mode,
    pub quit: bool,
    /// Naming templates (`[naming]`): user name <-> identity, scope.
    pub naming: warden_core::identity::naming::Naming,
    /// Kubernetes names (workload label, creds label) from the config.
    pub kube_section: warden_core::config::file::KubeSection,
}

impl AppState {
    pub fn new(url: String, source: String, clock: Clock) -> AppState {
        AppState {
            view: ViewId::Servers,
            mode: Mode::Normal,
            help: false,
            help_scroll: 0,
            detail: false,
            conn: Connection { link: Link::Connecting, url, source, account: None, user: None, notice: None },
            servers: Panel::default(),
            conns: Panel::default(),
            entries: Panel::default(),
            spiffe_ids: Panel::default(),
            agents: Panel::default(),
            perms: Panel::default(),
            accounts: Panel::default(),
            identities: Panel::default(),
            expiry: Panel::default(),
            violations: Default::default(),
            dialog: None,
            perm_sets: Vec::new(),
            tester_subject: None,
            tester: Panel::default(),
            kube: KubeState::default(),
            kube_contexts: Vec::new(),
            clock,
            size: (80, 24),
            status: None,
            read_only: false,
            authz_key: warden_core::config::file::KubeSection::default().authz_key,
            authz_error: None,
            identity_mode: warden_core::identity::actions::Mode::Jwt,
            quit: false,
            naming: warden_core::identity::naming::Naming::with_defaults(
                warden_core::config::file::DEFAULT_TRUST_DOMAIN,
            )
            .expect("default naming compiles"),
            kube_section: Default::default(),
        }
    }

    /// Rows in a page of the body table (terminal minus header, footer,
    /// borders and the column header line).
    pub fn page_rows(&self) -> usize {
        (self.size.1 as usize).saturating_sub(6).max(1)
    }

    pub fn table_mut(&mut self) -> &mut TableState {
        match self.view {
            ViewId::Servers => &mut self.servers.table,
            ViewId::Conns => &mut self.conns.table,
            ViewId::Entries => &mut self.entries.table,
            ViewId::SpiffeIds => &mut self.spiffe_ids.table,
            ViewId::Agents => &mut self.agents.table,
            ViewId::Permissions => &mut self.perms.table,
            ViewId::Accounts => &mut self.accounts.table,
            ViewId::Identities => &mut self.identities.table,
            ViewId::Expiry => &mut self.expiry.table,
            ViewId::Violations => self.violations.table_mut(),
        }
    }

    pub fn table(&self) -> &TableState {
        match self.view {
            ViewId::Servers => &self.servers.table,
            ViewId::Conns => &self.conns.table,
            ViewId::Entries => &self.entries.table,
            ViewId::SpiffeIds => &self.spiffe_ids.table,
            ViewId::Agents => &self.agents.table,
            ViewId::Permissions => &self.perms.table,
            ViewId::Accounts => &self.accounts.table,
            ViewId::Identities => &self.identities.table,
            ViewId::Expiry => &self.expiry.table,
            ViewId::Violations => self.violations.table(),
        }
    }

    pub fn set_filter(&mut self, f: String) {
        match self.view {
            ViewId::Servers => self.servers.set_filter(f),
            ViewId::Conns => self.conns.set_filter(f),
            ViewId::Entries => self.entries.set_filter(f),
            ViewId::SpiffeIds => self.spiffe_ids.set_filter(f),
            ViewId::Agents => self.agents.set_filter(f),
            ViewId::Permissions => self.perms.set_filter(f),
            ViewId::Accounts => self.accounts.set_filter(f),
            ViewId::Identities => self.identities.set_filter(f),
            ViewId::Expiry => self.expiry.set_filter(f),
            ViewId::Violations => self.violations.set_filter(f),
        }
    }

    pub fn row_count(&self, v: ViewId) -> usize {
        match v {
            ViewId::Servers => self.servers.rows.len(),
            ViewId::Conns => self.conns.rows.len(),
            ViewId::Entries => self.entries.rows.len(),
            ViewId::SpiffeIds => self.spiffe_ids.rows.len(),
            ViewId::Agents => self.agents.rows.len(),
            ViewId::Permissions => self.perms.rows.len(),
            ViewId::Accounts => self.accounts.rows.len(),
            ViewId::Identities => self.identities.rows.len(),
            ViewId::Expiry => self.expiry.rows.len(),
            ViewId::Violations => self.violations.row_count(),
        }
    }
}
