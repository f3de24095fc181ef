//! `pods/exec` over WebSocket with the `v5.channel.k8s.io` /
//! `v4.channel.k8s.io` subprotocols (what kube-rs and kubectl 1.30+ ask for):
//! every binary message starts with a stream byte (0 stdin, 1 stdout,
//! 2 stderr, 3 status JSON, 4 resize, v5: 255 close). The command runs to
//! completion, its output is written, then the status, then the close.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::json;

use super::command::{ExecOutput, ExecRequest};
use super::spire;
use super::state::{Shared, lock};

const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const STATUS: u8 = 3;

/// Runs a command against the double's state.
pub fn run(shared: &Shared, req: &ExecRequest) -> ExecOutput {
    let handler = lock(&shared.exec_handler).clone();
    if let Some(out) = handler.and_then(|h| h(req)) {
        return out;
    }
    if let Some(out) = spire::run(&req.command, &lock(&shared.spire)) {
        return out;
    }
    let bin = req.command.first().cloned().unwrap_or_default();
    ExecOutput {
        stdout: Vec::new(),
        stderr: format!(
            "OCI runtime exec failed: exec failed: unable to start container process: exec: \"{bin}\": executable file not found in $PATH: unknown\r\n"
        )
        .into_bytes(),
        exit_code: 127,
    }
}

/// The status frame body, as the apiserver writes it on stream 3.
fn status_json(req: &ExecRequest, code: i32) -> Vec<u8> {
    let v = if code == 0 {
        json!({"metadata": {}, "status": "Success"})
    } else {
        json!({
            "metadata": {},
            "status": "Failure",
            "message": format!(
                "command terminated with non-zero exit code: error executing command [{}], exit code {code}",
                req.command.join(" ")
            ),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
        })
    };
    serde_json::to_vec(&v).unwrap_or_default()
}

fn frame(stream: u8, data: &[u8]) -> Message {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(stream);
    v.extend_from_slice(data);
    Message::Binary(v.into())
}

pub fn serve(shared: Arc<Shared>, ws: WebSocketUpgrade, req: ExecRequest) -> Response {
    ws.protocols(["v5.channel.k8s.io", "v4.channel.k8s.io"]).on_upgrade(move |socket| session(shared, socket, req))
}

async fn session(shared: Arc<Shared>, mut socket: WebSocket, req: ExecRequest) {
    let out = run(&shared, &req);
    // Output goes to stdout even with tty, where stderr is merged into it.
    // In chunks, as the kubelet streams a process's output (a client reads
    // as it comes; one frame of many megabytes would be refused by its
    // WebSocket message limit before warden could bound what it keeps).
    if req.stdout {
        for chunk in out.stdout.chunks(32 * 1024) {
            if socket.send(frame(STDOUT, chunk)).await.is_err() {
                return;
            }
        }
    }
    if !out.stderr.is_empty() {
        let stream = if req.tty || !req.stderr { STDOUT } else { STDERR };
        if req.stderr || req.tty {
            let _ = socket.send(frame(stream, &out.stderr)).await;
        }
    }
    let _ = socket.send(frame(STATUS, &status_json(&req, out.exit_code))).await;
    let _ = socket.send(Message::Close(Some(CloseFrame { code: 1000, reason: "".into() }))).await;
    // Finish the closing handshake (bounded: a silent client is dropped).
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(m)) = socket.recv().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}
