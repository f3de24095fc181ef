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

/// The OSC 52 sequence that puts `value` on the terminal's clipboard. The
/// value travels base64-encoded: whatever it holds, it is data, never a
/// sequence the terminal would act on.
pub fn osc52(value: &str) -> String {
    format!("\x1b]52;c;{}\x07", data_encoding::BASE64.encode(value.as_bytes()))
}

/// Writes `osc52(value)` to the terminal.
pub fn copy_to_clipboard(value: &str) {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = out.write_all(osc52(value).as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    #[test]
    fn osc52_carries_the_value_as_base64() {
        let s = super::osc52("UABC\x1b]0;x\x07");
        assert!(s.starts_with("\x1b]52;c;") && s.ends_with('\x07'));
        let body = &s[7..s.len() - 1];
        assert!(!body.contains('\x1b') && !body.contains('\x07'), "{s:?}");
        assert_eq!(data_encoding::BASE64.decode(body.as_bytes()).unwrap(), b"UABC\x1b]0;x\x07");
    }
}
