//! The application state: owned by the console loop, changed only by `update`.

use tui_input::Input;

use super::conns::ConnRow;
use super::kube_state::KubeState;
use super::panel::Panel;
use super::permissions::{PermRow, TestRow};
use super::servers::ServerRow;
use super::spire_objects::{SpiffeIdRow, StaticEntryRow};
use super::spire_views::{AgentRow, EntryRow};
use super::table::{Clock, TableState};
use super::view_id::ViewId;
use warden_core::identity::permissions::PermissionSet;

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
    /// Why the last connection attempt failed (creds file missing,
    /// refused, TLS, authorization), until one succeeds.
    pub link_error: Option<String>,
}

/// Seconds a status line (a flash message) stays; warnings and errors
/// stay longer, and a link error is also cleared once connected again.
pub const FLASH_SECS: i64 = 5;
pub const FLASH_ERROR_SECS: i64 = 15;

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

/// An open describe view (`y`): what it shows and where it is scrolled to.
#[derive(Debug, Clone, PartialEq)]
pub struct Describe {
    pub title: String,
    /// YAML for Kubernetes objects, JSON for the rest; drawn as data.
    pub text: String,
    pub scroll: u16,
    /// The connection (server id, cid) whose CONNZ record is being fetched
    /// for this view: rows keep only what their columns show.
    pub awaiting: Option<(super::text::Text, u64)>,
}

/// A view to return to after a jump, and what the jump changed.
#[derive(Debug, Clone, PartialEq)]
pub struct BackTo {
    pub view: ViewId,
    pub detail: bool,
    /// The filter the jump's target view had before the jump set its own.
    pub target_filter: String,
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub view: ViewId,
    pub mode: Mode,
    pub help: bool,
    /// First line of the help shown (it scrolls when taller than the screen).
    pub help_scroll: u16,
    pub detail: bool,
    /// First line of the detail pane shown (`J`/`K` scroll it).
    pub detail_scroll: u16,
    /// Where `i` jumps came from, latest last: `esc`/`backspace` returns.
    pub back: Vec<BackTo>,
    /// `y`: the raw record of the selected row, over the view.
    pub describe: Option<Describe>,
    pub conn: Connection,
    pub servers: Panel<ServerRow>,
    pub conns: Panel<ConnRow>,
    /// Recently closed connections, shown instead of `conns` when
    /// `show_closed` (`C` in the Connections view).
    pub closed: Panel<ConnRow>,
    pub show_closed: bool,
    pub entries: Panel<EntryRow>,
    pub spiffe_ids: Panel<SpiffeIdRow>,
    pub static_entries: Panel<StaticEntryRow>,
    pub agents: Panel<AgentRow>,
    pub perms: Panel<PermRow>,
    pub accounts: Panel<super::accounts::AccountRow>,
    pub identities: Panel<super::identities::IdentityRow>,
    pub expiry: Panel<super::expiry::ExpiryRow>,
    /// `:doctor`: findings, recomputed while the view is shown.
    pub doctor: Panel<super::doctor::FindingRow>,
    /// When the findings were last computed.
    pub doctor_at: Option<i64>,
    /// What only `:doctor` asks NATS for, and when it arrived.
    pub doctor_nats: Option<(i64, super::doctor_nats::DoctorNats)>,
    /// When it was last asked for (one fetch at a time, however slow).
    pub doctor_nats_asked: i64,
    /// `[doctor]` / `[policy]` thresholds and exceptions.
    pub doctor_policy: warden_core::doctor::facts::Policy,
    /// Live violations: store, live list, groups, feed sources.
    pub violations: super::violations::state::ViolationsState,
    /// An open identity-action dialog (form, confirmation, result).
    pub dialog: Option<super::dialog::model::Dialog>,
    /// Every identity's rules (the Permissions view and the tester read them).
    pub perm_sets: Vec<PermissionSet>,
    /// The subject under test and every identity's answer for it.
    pub tester_subject: Option<String>,
    pub tester: Panel<TestRow>,
    pub kube: KubeState,
    /// Context names of the kubeconfig, for `:ctx` completion.
    pub kube_contexts: Vec<String>,
    /// `[[sites]]`: the SITE column and `:site`.
    pub sites: super::sites::Sites,
    pub clock: Clock,
    /// Terminal size, for paging.
    pub size: (u16, u16),
    pub status: Option<(Level, String)>,
    /// The status text as first seen by a tick, and when: a flash message
    /// expires `FLASH_SECS` (errors `FLASH_ERROR_SECS`) after it appeared.
    pub status_seen: Option<(String, i64)>,
    /// Where `ctrl-s` saves views (none: saving is off).
    pub save_dir: Option<std::path::PathBuf>,
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
    /// TTLs and the "Expiring" threshold (`[identity]`).
    pub ttl: warden_core::identity::ttl::TtlPolicy,
}

impl AppState {
    pub fn new(url: String, source: String, clock: Clock) -> AppState {
        AppState {
            view: ViewId::Servers,
            mode: Mode::Normal,
            help: false,
            help_scroll: 0,
            detail: false,
            detail_scroll: 0,
            describe: None,
            back: Vec::new(),
            conn: Connection {
                link: Link::Connecting,
                url,
                source,
                account: None,
                user: None,
                notice: None,
                link_error: None,
            },
            servers: Panel::default(),
            conns: Panel::default(),
            closed: Panel::default(),
            show_closed: false,
            entries: Panel::default(),
            spiffe_ids: Panel::default(),
            static_entries: Panel::default(),
            agents: Panel::default(),
            perms: Panel::default(),
            accounts: Panel::default(),
            identities: Panel::default(),
            expiry: Panel::default(),
            doctor: Panel::default(),
            doctor_at: None,
            doctor_nats: None,
            doctor_nats_asked: 0,
            doctor_policy: Default::default(),
            violations: Default::default(),
            dialog: None,
            perm_sets: Vec::new(),
            tester_subject: None,
            tester: Panel::default(),
            kube: KubeState::default(),
            kube_contexts: Vec::new(),
            sites: Default::default(),
            clock,
            size: (80, 24),
            status: None,
            status_seen: None,
            save_dir: None,
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
            ttl: Default::default(),
        }
    }

    /// Clears the status line once it has been shown long enough (ticks
    /// call this); true when it was cleared. Any new text starts its own
    /// time, whoever set it.
    pub fn expire_status(&mut self, now: i64) -> bool {
        let Some((level, text)) = &self.status else {
            self.status_seen = None;
            return false;
        };
        match &self.status_seen {
            Some((seen, at)) if seen == text => {
                let ttl = if *level == Level::Info { FLASH_SECS } else { FLASH_ERROR_SECS };
                if now - at >= ttl {
                    self.status = None;
                    self.status_seen = None;
                    return true;
                }
                false
            }
            _ => {
                self.status_seen = Some((text.clone(), now));
                false
            }
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
            ViewId::Conns => &mut self.conns_panel_mut().table,
            ViewId::Entries => &mut self.entries.table,
            ViewId::SpiffeIds => &mut self.spiffe_ids.table,
            ViewId::StaticEntries => &mut self.static_entries.table,
            ViewId::Agents => &mut self.agents.table,
            ViewId::Permissions => &mut self.perms.table,
            ViewId::Accounts => &mut self.accounts.table,
            ViewId::Identities => &mut self.identities.table,
            ViewId::Expiry => &mut self.expiry.table,
            ViewId::Doctor => &mut self.doctor.table,
            ViewId::Violations => self.violations.table_mut(),
        }
    }

    pub fn table(&self) -> &TableState {
        match self.view {
            ViewId::Servers => &self.servers.table,
            ViewId::Conns => &self.conns_panel().table,
            ViewId::Entries => &self.entries.table,
            ViewId::SpiffeIds => &self.spiffe_ids.table,
            ViewId::StaticEntries => &self.static_entries.table,
            ViewId::Agents => &self.agents.table,
            ViewId::Permissions => &self.perms.table,
            ViewId::Accounts => &self.accounts.table,
            ViewId::Identities => &self.identities.table,
            ViewId::Expiry => &self.expiry.table,
            ViewId::Doctor => &self.doctor.table,
            ViewId::Violations => self.violations.table(),
        }
    }

    /// The Connections view's panel: open connections, or the closed ones.
    pub fn conns_panel(&self) -> &Panel<ConnRow> {
        if self.show_closed { &self.closed } else { &self.conns }
    }

    pub fn conns_panel_mut(&mut self) -> &mut Panel<ConnRow> {
        if self.show_closed { &mut self.closed } else { &mut self.conns }
    }

    /// `s` / `S` in the current view: next sort column, or reverse. False
    /// where the rows keep their own order (the live violations).
    pub fn cycle_sort(&mut self, reverse: bool) -> bool {
        match self.view {
            ViewId::Servers => self.servers.cycle_sort(reverse),
            ViewId::Conns => self.conns_panel_mut().cycle_sort(reverse),
            ViewId::Entries => self.entries.cycle_sort(reverse),
            ViewId::SpiffeIds => self.spiffe_ids.cycle_sort(reverse),
            ViewId::StaticEntries => self.static_entries.cycle_sort(reverse),
            ViewId::Agents => self.agents.cycle_sort(reverse),
            ViewId::Permissions => self.perms.cycle_sort(reverse),
            ViewId::Accounts => self.accounts.cycle_sort(reverse),
            ViewId::Identities => self.identities.cycle_sort(reverse),
            ViewId::Expiry => self.expiry.cycle_sort(reverse),
            ViewId::Doctor => self.doctor.cycle_sort(reverse),
            ViewId::Violations => return false,
        }
        true
    }

    pub fn set_filter(&mut self, f: String) {
        match self.view {
            ViewId::Servers => self.servers.set_filter(f),
            ViewId::Conns => self.conns_panel_mut().set_filter(f),
            ViewId::Entries => self.entries.set_filter(f),
            ViewId::SpiffeIds => self.spiffe_ids.set_filter(f),
            ViewId::StaticEntries => self.static_entries.set_filter(f),
            ViewId::Agents => self.agents.set_filter(f),
            ViewId::Permissions => self.perms.set_filter(f),
            ViewId::Accounts => self.accounts.set_filter(f),
            ViewId::Identities => self.identities.set_filter(f),
            ViewId::Expiry => self.expiry.set_filter(f),
            ViewId::Doctor => self.doctor.set_filter(f),
            ViewId::Violations => self.violations.set_filter(f),
        }
    }

    /// An account key as every view shows it: its name when an account JWT
    /// names it, else `ABCD…WXYZ` (the full key stays in the details).
    pub fn account_label(&self, key: &str) -> String {
        let name = self.accounts.rows.iter().find(|a| a.key == key).map(|a| a.name.as_str());
        super::format::principal(name, key)
    }

    /// A user key as every view shows it: the name its JWT gives (from the
    /// connections), else `ABCD…WXYZ`.
    pub fn user_label(&self, key: &str) -> String {
        let name = self.conns.rows.iter().find(|c| c.info.authorized_user == key).and_then(|c| c.user_name.as_deref());
        super::format::principal(name, key)
    }

    pub fn row_count(&self, v: ViewId) -> usize {
        match v {
            ViewId::Servers => self.servers.rows.len(),
            ViewId::Conns => self.conns.rows.len(),
            ViewId::Entries => self.entries.rows.len(),
            ViewId::SpiffeIds => self.spiffe_ids.rows.len(),
            ViewId::StaticEntries => self.static_entries.rows.len(),
            ViewId::Agents => self.agents.rows.len(),
            ViewId::Permissions => self.perms.rows.len(),
            ViewId::Accounts => self.accounts.rows.len(),
            ViewId::Identities => self.identities.rows.len(),
            ViewId::Expiry => self.expiry.rows.len(),
            ViewId::Doctor => self.doctor.rows.len(),
            ViewId::Violations => self.violations.row_count(),
        }
    }
}
