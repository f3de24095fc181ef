//! Terminal lifecycle: raw mode + alternate screen on entry; restored on exit,
//! on panic (ratatui's hook) and, through the console loop, on signals.

use std::time::Duration;

use anyhow::Result;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, DisableBracketedPaste, EnableBracketedPaste, Event};
use tokio::sync::mpsc;

use crate::app::msg::Msg;

/// Restores the terminal when dropped, however the console ends.
pub struct TerminalGuard {
    pub terminal: DefaultTerminal,
}

pub fn enter() -> Result<TerminalGuard> {
    // try_init also installs a panic hook that restores before printing.
    let terminal = ratatui::try_init()?;
    // A paste arrives as one Paste event (text), never as keys.
    ratatui::crossterm::execute!(std::io::stdout(), EnableBracketedPaste)?;
    Ok(TerminalGuard { terminal })
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = ratatui::crossterm::execute!(std::io::stdout(), DisableBracketedPaste);
        ratatui::restore();
    }
}

/// Reads keys and resizes on a thread of its own (crossterm's reader blocks)
/// and forwards them; stops when the console is gone.
pub fn spawn_input_thread(tx: mpsc::Sender<Msg>) {
    std::thread::Builder::new()
        .name("warden-input".into())
        .spawn(move || {
            loop {
                match event::poll(Duration::from_millis(200)) {
                    Ok(true) => {
                        let msg = match event::read() {
                            Ok(Event::Key(k)) => Msg::Key(k),
                            Ok(Event::Paste(text)) => Msg::Paste(text),
                            Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                            Ok(_) => continue,
                            Err(_) => break,
                        };
                        if tx.blocking_send(msg).is_err() {
                            break;
                        }
                    }
                    Ok(false) if tx.is_closed() => break,
                    Ok(false) => {}
                    Err(_) => break,
                }
            }
        })
        .expect("spawning the input thread");
}

/// SIGTERM, SIGHUP and SIGINT end the console cleanly (restoring the terminal).
pub fn spawn_signal_task(tx: mpsc::Sender<Msg>) -> Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = hup.recv() => "SIGHUP",
            _ = int.recv() => "SIGINT",
        };
        let _ = tx.send(Msg::Signal(name)).await;
    }))
}
