//! Messages into `update` and commands out of it.

use ratatui::crossterm::event::KeyEvent;

use super::conns::ConnRow;
use super::kube_state::KubeLink;
use super::servers::ServerRow;
use super::table::Clock;
use super::view_id::ViewId;
use super::violations::feed::Batch;
use warden_core::kube::watch::KubeEvent;
use warden_core::nats::connect::ConnEvent;
use warden_core::nats::types::{StatszMsg, UserInfo};
use warden_core::spire::model::{Agent, Entry};

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// A bracketed paste: text for the focused text field, never keys.
    Paste(String),
    Resize(u16, u16),
    Link(ConnEvent),
    WhoAmI(Result<UserInfo, String>),
    Servers {
        at: Clock,
        result: Result<Vec<ServerRow>, String>,
    },
    Conns {
        at: Clock,
        result: Result<(Vec<ConnRow>, Vec<String>), String>,
    },
    /// Recently closed connections (CONNZ `state: closed`).
    ClosedConns {
        at: Clock,
        result: Result<(Vec<ConnRow>, Vec<String>), String>,
    },
    /// Changes to the connection rows since the last delta (the worker's
    /// fleet state: one sweep, then connect/disconnect events, reconciles).
    ConnsDelta(Box<ConnsDelta>),
    /// JetStream and the anonymous `INFO`, for `:doctor`.
    DoctorNats {
        at: Clock,
        nats: Box<super::doctor_nats::DoctorNats>,
    },
    Statsz(Box<StatszMsg>),
    KubeLink(KubeLink),
    Kube(KubeEvent),
    Spire {
        at: Clock,
        entries: Result<Vec<Entry>, String>,
        agents: Result<Vec<Agent>, String>,
    },
    Accounts {
        at: Clock,
        result: Result<(Vec<super::accounts::AccountRow>, Vec<String>), String>,
    },
    /// One-second tick: moves the clock only while the Expiry view is shown.
    Tick(Clock),
    ActionStep(warden_core::identity::action::report::Step),
    ActionDone(warden_core::identity::action::report::ActionReport),
    /// Parsed violations from the live feed (at most every 100 ms).
    Violations(Batch),
    /// SIGTERM/SIGHUP/SIGINT.
    Signal(&'static str),
    /// A line for the status bar from the IO side (a view that could not
    /// be saved).
    Status(super::state::Level, String),
    /// One connection's CONNZ record for its describe view (None: the
    /// server no longer knows the connection).
    ConnRecord {
        server_id: super::text::Text,
        cid: u64,
        result: Result<Option<Box<warden_core::nats::types::ConnInfo>>, String>,
    },
}

/// Rows added or changed, rows gone, and the per-server errors now.
#[derive(Debug)]
pub struct ConnsDelta {
    pub at: Clock,
    pub upserts: Vec<ConnRow>,
    pub removed: Vec<(super::text::Text, u64)>,
    /// Servers whose CONNZ failed (named, not silently missing).
    pub errors: Vec<String>,
    /// Connect/disconnect events lost to a slow consumer since the start
    /// (each loss triggers a reconciling sweep).
    pub dropped: u64,
}

impl From<Batch> for Msg {
    fn from(b: Batch) -> Msg {
        Msg::Violations(b)
    }
}

/// Work `update` asks the IO side to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    Refresh(ViewId),
    SwitchContext(String),
    /// Run an identity action in the action worker.
    Action(warden_core::identity::binding::BoundRequest),
    /// Stop the running action (confirmed in the progress dialog).
    CancelAction,
    /// Fetch the recently closed connections (the Connections view's `C`).
    FetchClosed,
    /// Fetch one connection's whole CONNZ record (its describe view).
    FetchConnRecord {
        server_id: super::text::Text,
        cid: u64,
    },
    /// Put a value (a key, a name: never a secret) on the terminal's
    /// clipboard (OSC 52).
    Copy(String),
    /// Write a saved view (`ctrl-s`) to a file.
    Save {
        path: std::path::PathBuf,
        text: String,
    },
    Quit,
}

/// What one `update` call produced.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub cmds: Vec<Cmd>,
    /// The state changed in a way the screen shows.
    pub redraw: bool,
}

impl Outcome {
    pub fn redraw() -> Outcome {
        Outcome { cmds: vec![], redraw: true }
    }
    pub fn none() -> Outcome {
        Outcome::default()
    }
    pub fn cmd(c: Cmd) -> Outcome {
        Outcome { cmds: vec![c], redraw: true }
    }
}
