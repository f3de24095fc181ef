//! Watch streams: newline-delimited `{"type","object"}` events, chunked as
//! changes happen, resumed from the bounded history; a resourceVersion the
//! history no longer covers gets an in-stream ERROR 410 Expired (HTTP 200,
//! as the watch cache answers, which makes kube-rs's watcher relist).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::errors::ApiError;
use super::resources::ResourceDef;
use super::state::{Shared, lock};
use super::store::{EventType, Filter, Store};

/// Where a watch starts and how it behaves.
#[derive(Debug, Clone, Default)]
pub struct WatchParams {
    /// None ("" or "0"): first ADDED for every current object.
    pub start: Option<u64>,
    /// `sendInitialEvents=true`: initial ADDEDs, then a BOOKMARK annotated
    /// `k8s.io/initial-events-end`.
    pub initial_events_end: bool,
    pub timeout: Option<Duration>,
    pub bookmarks: bool,
    pub filter: Filter,
    /// An injected fault: the first event is sent half-way, then the
    /// stream ends (a connection dropped in the middle of an object).
    pub cut: bool,
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut b = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    b.push(b'\n');
    Bytes::from(b)
}

fn bookmark(def: &ResourceDef, rv: u64, end: bool) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    line("BOOKMARK", &json!({"kind": def.kind, "apiVersion": def.api_version(), "metadata": meta}))
}

/// Events after `last` for this watch, translated through its filter; the
/// bool is true when `last` is older than the history (410 sent, stop).
fn drain(st: &Store, def: &ResourceDef, filter: &Filter, last: u64) -> (Vec<Bytes>, bool) {
    if last < st.floor {
        return (vec![line("ERROR", &ApiError::gone(last, st.floor).status())], true);
    }
    let from = st.history.partition_point(|e| e.rv <= last);
    let mut out = Vec::new();
    for e in st.history.range(from..) {
        if e.group != def.group || e.plural != def.plural {
            continue;
        }
        let now = filter.matches(&e.object);
        let kind = match e.kind {
            EventType::Modified => {
                let before = e.prev.as_ref().is_some_and(|p| filter.matches(p));
                match (before, now) {
                    (true, true) => Some(EventType::Modified),
                    (false, true) => Some(EventType::Added),
                    (true, false) => Some(EventType::Deleted),
                    (false, false) => None,
                }
            }
            k => now.then_some(k),
        };
        if let Some(k) = kind {
            out.push(line(k.as_str(), &Store::present(def, &e.object)));
        }
    }
    (out, false)
}

pub fn serve(shared: Arc<Shared>, def: ResourceDef, p: WatchParams) -> Response {
    // Fail fast (before 200) only for what a real server rejects up front.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(256);
    let mut changed = shared.changed.subscribe();
    let mut shutdown = shared.shutdown.subscribe();
    let every = shared.config.bookmark_interval;
    tokio::spawn(async move {
        let deadline = p.timeout.map(|t| Instant::now() + t);
        let mut tick = tokio::time::interval_at(Instant::now() + every, every);
        let (first, mut last) = {
            let st = lock(&shared.store);
            match p.start {
                None => {
                    let (items, rv) = st.list(&def, &p.filter);
                    let mut v: Vec<Bytes> = items.iter().map(|o| line("ADDED", o)).collect();
                    if p.initial_events_end {
                        v.push(bookmark(&def, rv, true));
                    }
                    (v, rv)
                }
                Some(n) => (Vec::new(), n),
            }
        };
        // Sends one event; with `cut`, half of it and the stream ends.
        let send = |b: Bytes| {
            let tx = tx.clone();
            let cut = p.cut;
            async move {
                if cut {
                    let _ = tx.send(Ok(b.slice(..b.len() / 2))).await;
                    return false;
                }
                tx.send(Ok(b)).await.is_ok()
            }
        };
        for b in first {
            if !send(b).await {
                return;
            }
        }
        let mut want_bookmark = false;
        loop {
            let (lines, gone, rv) = {
                let st = lock(&shared.store);
                let (l, g) = drain(&st, &def, &p.filter, last);
                (l, g, st.rv)
            };
            for b in lines {
                if !send(b).await {
                    return;
                }
            }
            if gone {
                return;
            }
            last = last.max(rv);
            if want_bookmark && p.bookmarks {
                want_bookmark = false;
                if tx.send(Ok(bookmark(&def, last, false))).await.is_err() {
                    return;
                }
            }
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = changed.changed() => if r.is_err() { return },
                _ = tick.tick() => want_bookmark = true,
                _ = sleep => return,
                _ = shutdown.changed() => return,
                _ = tx.closed() => return,
            }
        }
    });
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], Body::from_stream(stream)).into_response()
}
