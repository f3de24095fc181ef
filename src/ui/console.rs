//! The console: one loop owns the state, applies messages through `update`,
//! hands commands to the IO side, and draws only when something changed, at
//! most once per frame interval. An idle console writes nothing.

use std::time::Duration;

use anyhow::Result;
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::render::render;
use super::terminal;
use super::theme::Theme;
use crate::app::action_worker::ActionCmd;
use crate::app::kube_target::KubeTarget;
use crate::app::kube_worker::{self, KubeCmd};
use crate::app::msg::{Cmd, Msg};
use crate::app::state::AppState;
use crate::app::table::Clock;
use crate::app::update::update;
use crate::app::worker;
use warden_core::config::NatsSettings;
use warden_core::config::file::KubeSection;
use warden_core::kube::client::KubeSettings;
use warden_core::nats::connect::redact_url;

/// Shortest time between two frames (~60 fps); bursts of messages in between
/// are coalesced into one draw.
pub const FRAME: Duration = Duration::from_millis(16);
/// Messages applied before yielding to a draw, so a storm cannot starve it.
const MAX_BATCH: usize = 4096;

pub struct ConsoleOptions {
    pub nats: NatsSettings,
    pub kube: KubeSettings,
    pub kube_section: KubeSection,
    pub refresh: Duration,
    /// Each server's connections re-swept this often (missed events).
    pub reconcile: Duration,
    pub theme: Theme,
    pub read_only: bool,
    /// Signing keys for identity actions (from the config file).
    pub signing: warden_core::identity::jwt_actions::SigningConfig,
    /// nats-server log files followed for permission violations.
    pub server_logs: Vec<std::path::PathBuf>,
    /// `[identity]`: mode of the actions, include file.
    pub identity: warden_core::config::file::IdentitySection,
    /// Naming templates and trust domain (`[naming]` in the config file).
    pub naming: warden_core::identity::naming::Naming,
    /// `[doctor]` / `[policy]`: the `:doctor` view's thresholds and exceptions.
    pub doctor: warden_core::doctor::facts::Policy,
    /// `[[sites]]` and `--site`: the SITE column, `:site`.
    pub sites: Vec<warden_core::config::file::SiteSection>,
}

/// Runs the interactive console until the user quits or a signal arrives.
pub async fn run(opts: ConsoleOptions) -> Result<()> {
    let (tx, rx) = mpsc::channel(1024);
    let signals = terminal::spawn_signal_task(tx.clone())?;
    let (share_tx, share_rx) = tokio::sync::oneshot::channel();
    let worker_opts = worker::WorkerOptions { reconcile: opts.reconcile, ..worker::WorkerOptions::new(opts.refresh) };
    let cmds = worker::spawn_with(opts.nats.clone(), worker_opts, tx.clone(), Some(share_tx));
    // The one owner of the Kubernetes context: every worker below follows it.
    let target = KubeTarget::new(opts.kube.clone());
    let pods = crate::app::violations::feed::pod_logs(&opts.kube, &opts.kube_section)
        .await
        .map(|p| crate::app::violations::feed::PodLogs { target: Some(target.follow()), ..p });
    let feed = crate::app::violations::feed::spawn_console(
        crate::app::violations::feed::Sources {
            nats: Some(crate::app::violations::feed::NatsSource::Later(share_rx)),
            files: opts.server_logs.clone(),
            files_from_start: false,
            pods,
        },
        tx.clone(),
    );
    let (kube_cmds, kube_task) =
        kube_worker::spawn_following(target.follow(), opts.kube_section.clone(), SPIRE_REFRESH, tx.clone());
    let ttl = warden_core::identity::ttl::TtlPolicy::from_section(&opts.identity)?;
    let actions = crate::app::action_worker::spawn_following(
        crate::app::action_worker::ActionSettings {
            nats: opts.nats.clone(),
            kube: opts.kube.clone(),
            kube_section: opts.kube_section.clone(),
            signing: opts.signing.clone(),
            audit_log: warden_core::identity::audit::default_path(),
            identity: opts.identity.clone(),
            naming: opts.naming.clone(),
            read_only: opts.read_only,
            mode: opts.identity.mode,
            ttl,
        },
        Some(target.follow()),
        tx.clone(),
    );
    let ticker = spawn_ticker(tx.clone());
    let trimmer = crate::app::memory::spawn_trimmer();
    let mut state = AppState::new(redact_url(&opts.nats.url), opts.nats.source.clone(), Clock::system());
    state.read_only = opts.read_only;
    state.identity_mode = opts.identity.mode;
    state.authz_key = opts.kube_section.authz_key.clone();
    state.naming = opts.naming.clone();
    state.ttl = ttl;
    state.kube_section = opts.kube_section.clone();
    state.doctor_policy = opts.doctor.clone();
    state.sites = crate::app::sites::Sites::new(&opts.sites);
    state.kube_contexts = warden_core::kube::client::context_names(&opts.kube);
    state.save_dir = Some(warden_core::config::paths::state_dir().join("saved"));
    let saved = tx.clone();

    let mut guard = terminal::enter()?;
    let size = guard.terminal.size()?;
    state.size = (size.width, size.height);
    terminal::spawn_input_thread(tx.clone());
    drop(tx);
    let workers = Workers { nats: cmds, kube: kube_cmds, actions: actions.cmds, target };
    let result = run_loop(
        &mut guard.terminal,
        rx,
        |c| match c {
            Cmd::Copy(value) => terminal::copy_to_clipboard(&value),
            Cmd::Save { path, text } => {
                if let Err(e) = crate::app::save::write(&path, &text) {
                    let why = format!("could not save {}: {e}", path.display());
                    let _ = saved.try_send(Msg::Status(crate::app::state::Level::Error, why));
                }
            }
            c => route(c, &workers),
        },
        state,
        &opts.theme,
    )
    .await;
    drop(guard);
    // Every task stops: the ticker and the feed now; the workers when their
    // channels close (the Quit sent by `route`); a running action gets
    // QUIT_GRACE, then it is cancelled and its audit line says so.
    ticker.abort();
    trimmer.abort();
    signals.abort();
    drop(feed);
    drop(workers);
    let limit = crate::app::action_worker::QUIT_GRACE + Duration::from_secs(2);
    if tokio::time::timeout(limit, actions.task).await.is_err() {
        tracing::warn!("the action worker did not stop within {limit:?}");
    }
    if tokio::time::timeout(Duration::from_secs(1), kube_task).await.is_err() {
        tracing::warn!("the Kubernetes worker did not stop within 1s");
    }
    result.map(|_| ())
}

/// A one-second tick for live countdowns; `update` ignores it unless the
/// Expiry view is shown, so other views stay idle.
fn spawn_ticker(tx: mpsc::Sender<Msg>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut t = tokio::time::interval(Duration::from_secs(1));
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            t.tick().await;
            if tx.send(Msg::Tick(Clock::system())).await.is_err() {
                break;
            }
        }
    })
}

/// The IO side, as the loop hands it commands: each worker's channel and
/// the one owner of the Kubernetes context.
pub struct Workers {
    pub nats: mpsc::UnboundedSender<Cmd>,
    pub kube: mpsc::UnboundedSender<KubeCmd>,
    pub actions: mpsc::UnboundedSender<ActionCmd>,
    pub target: KubeTarget,
}

/// How often SPIRE entries and agents are re-read from the spire-server pod.
const SPIRE_REFRESH: Duration = Duration::from_secs(30);

/// Hands a command to the worker that owns the data. A context switch goes
/// to the one owner of the context, which every Kubernetes worker follows.
pub fn route(c: Cmd, w: &Workers) {
    let _ = match c {
        Cmd::Refresh(v) if v.is_kube() => w.kube.send(KubeCmd::RefreshSpire).map_err(|_| ()),
        Cmd::SwitchContext(ctx) => {
            w.target.switch(&ctx);
            Ok(())
        }
        Cmd::Action(req) => w.actions.send(ActionCmd::Run(req)).map_err(|_| ()),
        Cmd::CancelAction => w.actions.send(ActionCmd::Cancel).map_err(|_| ()),
        Cmd::Quit => {
            let _ = w.kube.send(KubeCmd::Quit);
            let _ = w.actions.send(ActionCmd::Quit);
            w.nats.send(Cmd::Quit).map_err(|_| ())
        }
        other => w.nats.send(other).map_err(|_| ()),
    };
}

/// The loop itself, generic over the backend so tests drive it with a
/// `TestBackend` and scripted messages. Returns the final state.
pub async fn run_loop<B: Backend>(
    term: &mut Terminal<B>,
    mut rx: mpsc::Receiver<Msg>,
    mut dispatch: impl FnMut(Cmd),
    mut state: AppState,
    theme: &Theme,
) -> Result<AppState>
where
    B::Error: Send + Sync + 'static,
{
    let mut dirty = true;
    let mut next_frame = Instant::now();
    loop {
        if dirty && Instant::now() >= next_frame {
            term.draw(|f| render(&state, theme, f))?;
            dirty = false;
            next_frame = Instant::now() + FRAME;
        }
        let msg = if dirty {
            tokio::select! {
                m = rx.recv() => m,
                _ = tokio::time::sleep_until(next_frame) => continue,
            }
        } else {
            rx.recv().await
        };
        let Some(msg) = msg else { break };
        let mut batch = Some(msg);
        let mut n = 0;
        let started = Instant::now();
        // Set when a key closed a dialog: the keys queued behind it were
        // typed ahead while the dialog was open and are dropped, so they
        // never act on the view the dialog returned to (a double approve).
        let mut swallow_keys = false;
        while let Some(m) = batch.take() {
            let is_key = matches!(m, Msg::Key(_));
            if is_key && swallow_keys {
                batch = rx.try_recv().ok();
                continue;
            }
            let dialog_was_open = state.dialog.is_some();
            let out = update(&mut state, m);
            swallow_keys |= is_key && dialog_was_open && state.dialog.is_none();
            dirty |= out.redraw;
            for c in out.cmds {
                dispatch(c);
            }
            n += 1;
            // A storm's messages never hold a frame back longer than half
            // a frame interval, however many are queued.
            if state.quit || n >= MAX_BATCH || started.elapsed() >= FRAME / 2 {
                break;
            }
            batch = rx.try_recv().ok();
        }
        if state.quit {
            break;
        }
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::{KeyCode, KeyEvent};

    use super::*;

    fn key(c: KeyCode) -> Msg {
        Msg::Key(KeyEvent::from(c))
    }

    async fn frames_after(msgs: Vec<Msg>) -> (usize, AppState) {
        let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let (tx, rx) = mpsc::channel(8192);
        for m in msgs {
            tx.send(m).await.unwrap();
        }
        tx.send(key(KeyCode::Char('q'))).await.unwrap();
        let state = AppState::new("nats://x".into(), "test".into(), Clock { now_unix: 0 });
        let theme = Theme::builtin("default").unwrap();
        let end = run_loop(&mut term, rx, |_| {}, state, &theme).await.unwrap();
        (term.get_frame().count(), end)
    }

    #[tokio::test]
    async fn an_idle_console_draws_nothing_more() {
        // Keys bound to nothing change nothing: only the first frame is drawn.
        let (frames, _) = frames_after((0..100).map(|_| key(KeyCode::Char('z'))).collect()).await;
        assert_eq!(frames, 1);
    }

    #[tokio::test]
    async fn a_burst_of_messages_is_coalesced_into_few_frames() {
        let (frames, end) = frames_after((0..2000).map(|_| key(KeyCode::Char('?'))).collect()).await;
        assert!(frames <= 2, "{frames} frames for one burst");
        assert!(!end.help, "2000 toggles of help leave it closed");
    }

    async fn run_until_signal(msgs: Vec<Msg>) -> (Vec<Cmd>, AppState) {
        let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let (tx, rx) = mpsc::channel(8192);
        for m in msgs {
            tx.send(m).await.unwrap();
        }
        // Not a key: never swallowed.
        tx.send(Msg::Signal("SIGTERM")).await.unwrap();
        let mut state = AppState::new("nats://x".into(), "test".into(), Clock { now_unix: 0 });
        state.view = crate::app::view_id::ViewId::Identities;
        let theme = Theme::builtin("default").unwrap();
        let mut cmds = Vec::new();
        let end = run_loop(&mut term, rx, |c| cmds.push(c), state, &theme).await.unwrap();
        (cmds, end)
    }

    #[tokio::test]
    async fn keys_typed_ahead_of_a_closing_dialog_are_dropped() {
        // `n` opens the register form, Esc cancels it; the `n` typed ahead
        // behind the Esc must not open it again.
        let (_, end) =
            run_until_signal(vec![key(KeyCode::Char('n')), key(KeyCode::Esc), key(KeyCode::Char('n'))]).await;
        assert!(end.dialog.is_none(), "the typed-ahead key acted");
        // Without a closing dialog, keys in one batch all act.
        let (_, end) = run_until_signal(vec![key(KeyCode::Char('n'))]).await;
        assert!(end.dialog.is_some());
    }

    #[tokio::test]
    async fn a_paste_is_text_never_keys() {
        // `a` (approve), `X` (revoke), `n` (register) pasted on the
        // Identities view: nothing opens, nothing is asked of a worker.
        let (cmds, end) = run_until_signal(vec![Msg::Paste("aXn\r\n".into())]).await;
        assert!(cmds.iter().all(|c| matches!(c, Cmd::Quit)), "{cmds:?}");
        assert!(end.dialog.is_none());
        // Into a text field it is text: the filter gets it, one line, no controls.
        let (_, end) = run_until_signal(vec![key(KeyCode::Char('/')), Msg::Paste("tent-\u{1b}dev\nX".into())]).await;
        assert_eq!(end.table().filter, "tent-dev");
        // Into an open form's focused field.
        let (_, end) = run_until_signal(vec![key(KeyCode::Char('n')), Msg::Paste("shop/cart".into())]).await;
        match end.dialog {
            Some(crate::app::dialog::model::Dialog::Register(f)) => assert_eq!(f.fields[0].value(), "shop/cart"),
            other => panic!("{other:?}"),
        }
    }
}
