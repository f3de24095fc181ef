//! `pods/log`: per-container line buffers, served like the kubelet does
//! (`tailLines`, `sinceSeconds`, `timestamps`, `limitBytes`, `previous`,
//! `follow`). A restart moves the log to `previous` and ends follows.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::errors::ApiError;
use super::log_store::ContainerLog;
use super::state::{Shared, lock};
use super::util;

/// Query parameters of a log request.
#[derive(Debug, Default)]
pub struct LogParams {
    pub container: String,
    pub follow: bool,
    pub previous: bool,
    pub timestamps: bool,
    pub tail_lines: Option<usize>,
    pub since_seconds: Option<i64>,
    pub limit_bytes: Option<usize>,
}

fn format_line(ts: i128, line: &str, timestamps: bool) -> String {
    if timestamps { format!("{} {line}\n", util::rfc3339_nanos(ts)) } else { format!("{line}\n") }
}

/// Picks the container like the apiserver: the only one, or the named one.
pub fn container_for(pod: &Value, name: &str, wanted: &str) -> Result<String, ApiError> {
    let names: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(pod["spec"]["initContainers"].as_array().into_iter().flatten())
        .filter_map(|c| c["name"].as_str())
        .collect();
    if wanted.is_empty() {
        return match names.as_slice() {
            [one] => Ok(one.to_string()),
            _ => Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                names.join(" ")
            ))),
        };
    }
    if names.contains(&wanted) {
        Ok(wanted.to_string())
    } else {
        Err(ApiError::bad_request(format!("container {wanted} is not valid for pod {name}")))
    }
}

pub fn serve(shared: Arc<Shared>, ns: &str, pod: &Value, p: LogParams) -> Response {
    let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
    let container = match container_for(pod, &name, &p.container) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let key = (ns.to_string(), name.clone(), container.clone());
    let now = util::now_nanos();
    let since = p.since_seconds.map(|s| now - i128::from(s) * 1_000_000_000);
    let keep = |ts: i128| since.is_none_or(|s| ts >= s);
    let (initial, mut next_seq, epoch) = {
        let logs = lock(&shared.logs);
        let empty = ContainerLog::default();
        let log = logs.map.get(&key).unwrap_or(&empty);
        if p.previous {
            if log.epoch == 0 {
                return ApiError::bad_request(format!(
                    "previous terminated container \"{container}\" in pod \"{name}\" not found"
                ))
                .into_response();
            }
            let lines: Vec<&(i128, String)> = log.previous.iter().filter(|(t, _)| keep(*t)).collect();
            (select(&lines, &p), 0, log.epoch)
        } else {
            let lines: Vec<&(i128, String)> = log.lines.iter().filter(|(t, _)| keep(*t)).collect();
            (select(&lines, &p), log.dropped + log.lines.len() as u64, log.epoch)
        }
    };
    let text_plain = [(header::CONTENT_TYPE, "text/plain")];
    if !p.follow || p.previous {
        return (StatusCode::OK, text_plain, initial).into_response();
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    let mut woke = shared.logs_changed.subscribe();
    let mut shutdown = shared.shutdown.subscribe();
    let mut budget = p.limit_bytes.map(|l| l.saturating_sub(initial.len()));
    tokio::spawn(async move {
        if !initial.is_empty() && tx.send(Ok(Bytes::from(initial))).await.is_err() {
            return;
        }
        loop {
            let (chunk, ended) = {
                let logs = lock(&shared.logs);
                match logs.map.get(&key) {
                    Some(log) if log.epoch == epoch => {
                        let start = next_seq.saturating_sub(log.dropped) as usize;
                        let mut s = String::new();
                        for (ts, l) in log.lines.iter().skip(start) {
                            s.push_str(&format_line(*ts, l, p.timestamps));
                        }
                        next_seq = log.dropped + log.lines.len() as u64;
                        (s, false)
                    }
                    Some(_) => (String::new(), true),
                    None => (String::new(), false),
                }
            };
            if !chunk.is_empty() {
                let mut bytes = chunk.into_bytes();
                if let Some(b) = budget.as_mut() {
                    bytes.truncate(*b);
                    *b -= bytes.len();
                }
                let done = budget == Some(0);
                if tx.send(Ok(Bytes::from(bytes))).await.is_err() || done {
                    return;
                }
            }
            if ended {
                return;
            }
            tokio::select! {
                r = woke.changed() => if r.is_err() { return },
                _ = shutdown.changed() => return,
                _ = tx.closed() => return,
            }
        }
    });
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    (StatusCode::OK, text_plain, Body::from_stream(stream)).into_response()
}

/// tailLines, timestamps and limitBytes over the chosen lines.
fn select(lines: &[&(i128, String)], p: &LogParams) -> String {
    let skip = p.tail_lines.map(|t| lines.len().saturating_sub(t)).unwrap_or(0);
    let mut out = String::new();
    for (ts, l) in lines.iter().skip(skip).map(|x| (x.0, &x.1)) {
        out.push_str(&format_line(ts, l, p.timestamps));
    }
    if let Some(limit) = p.limit_bytes
        && out.len() > limit
    {
        let mut cut = limit;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}
