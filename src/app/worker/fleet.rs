//! The connection fleet: every client connection of every server, kept
//! current by events rather than by polling.
//!
//! One CONNZ sweep at the start (each server's answer shown as it arrives),
//! then `$SYS.ACCOUNT.<acc>.CONNECT` / `.DISCONNECT` advisories add and
//! remove rows; a slow reconciling sweep (one server at a time, each server
//! once per `reconcile`) heals anything missed, and so does a full sweep
//! whenever async-nats reports a slow consumer (events were dropped).
//! JWTs are decoded and verified here, once per distinct token.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::time::{Duration, Instant, MissedTickBehavior, interval, interval_at};
use tracing::warn;

use super::super::conns::{ConnRow, RowNames};
use super::super::msg::{ConnsDelta, Msg};
use super::super::table::Clock;
use super::super::text::Text;
use super::{FleetCtl, WorkerOptions};
use warden_core::config::NatsSettings;
use warden_core::nats::sys::{CLIENT_EVENTS, ConnzPage, SysClient};
use warden_core::nats::types::{ClientEventMsg, DISCONNECT_EVENT_TYPE, ServerInfo};

type Key = (Text, u64);

/// What a sweep task reports.
pub enum SweepOut {
    Page(ConnzPage),
    Done(Result<(), String>),
}

/// Rows waiting in the worker before a delta is sent anyway: about one
/// CONNZ page, so a sweep's rows cross to the console page by page instead
/// of piling up here.
const PENDING_ROWS: usize = 4096;

/// The fleet's state; pure (no IO), so its rules are unit-tested.
#[derive(Default)]
pub struct Fleet {
    /// The connections listed now (the rows themselves live in the console's
    /// state; here only their keys and the changes not yet sent).
    rows: HashSet<Key>,
    pending: HashMap<Key, ConnRow>,
    /// Known servers by id (from sweeps and events), for the reconcile.
    servers: BTreeMap<String, ServerInfo>,
    /// Servers whose last sweep failed: id -> message.
    errors: BTreeMap<String, String>,
    /// Shared strings and decoded JWTs of the rows.
    pub names: RowNames,
    rm: HashSet<Key>,
    /// Disconnects seen for a connection not (yet) listed: its connect is
    /// ignored if a replay brings it (cids are never reused by a server).
    gone: HashSet<Key>,
    /// Events received while a sweep is in flight, replayed on its answers.
    replay: Option<Vec<ClientEventMsg>>,
    /// Connections listed so far by each server whose sweep is under way.
    listed: HashMap<Text, HashSet<u64>>,
    pub dropped: u64,
    /// The first sweep finished: the console may show "no rows".
    ready: bool,
    dirty: bool,
}

impl Fleet {
    pub fn sweep_started(&mut self) {
        self.replay = Some(Vec::new());
        self.listed.clear();
    }

    pub fn sweep_done(&mut self, result: Result<(), String>) {
        self.replay = None;
        self.gone.clear();
        self.listed.clear();
        if let Err(e) = result {
            self.errors.insert(String::new(), e);
        } else {
            self.errors.remove("");
        }
        // Strings no row holds any more (connections gone, counters moved on).
        self.names.names.prune();
        self.ready = true;
        self.dirty = true;
    }

    /// One connect or disconnect advisory.
    pub fn event(&mut self, e: ClientEventMsg) {
        self.apply(&e);
        if let Some(r) = &mut self.replay {
            r.push(e);
        }
    }

    fn apply(&mut self, e: &ClientEventMsg) {
        if e.server.id.is_empty() || e.client.id == 0 {
            return;
        }
        let key = (self.names.names.get(&e.server.id), e.client.id);
        if !self.servers.contains_key(&e.server.id) {
            self.servers.insert(e.server.id.clone(), e.server.clone());
        }
        if e.event_type == DISCONNECT_EVENT_TYPE {
            if self.rows.remove(&key) {
                self.pending.remove(&key);
                self.rm.insert(key);
                self.dirty = true;
            } else if self.replay.is_some() {
                self.gone.insert(key);
            }
            return;
        }
        // A connect: a row already listed (by a sweep) is richer; keep it.
        if self.rows.contains(&key) || self.gone.contains(&key) {
            return;
        }
        let row = ConnRow::from_event(
            &e.server.name,
            &e.server.id,
            &e.server.ver,
            e.client.clone().into_conn_info(),
            &mut self.names,
        );
        self.upsert(key, row);
    }

    fn upsert(&mut self, key: Key, row: ConnRow) {
        self.rm.remove(&key);
        self.rows.insert(key.clone());
        self.pending.insert(key, row);
        self.dirty = true;
    }

    /// One page of one server's CONNZ. Once its last page is in, the
    /// server's rows are exactly those its pages listed, then the events
    /// received since the sweep began are applied again. A server whose
    /// sweep fails keeps its rows and is named.
    pub fn sweep_page(&mut self, p: ConnzPage) {
        let id = p.server.id.clone();
        if !id.is_empty() {
            self.servers.insert(id.clone(), p.server.clone());
        }
        self.dirty = true;
        let sid = self.names.names.get(&id);
        let page = match p.result {
            Ok(page) => page,
            Err(e) => {
                let name = if p.server.name.is_empty() { "?" } else { &p.server.name };
                self.errors.insert(id, format!("{name}: {e:#}"));
                self.listed.remove(&sid);
                return;
            }
        };
        let listed = self.listed.entry(sid.clone()).or_default();
        listed.extend(page.connections.iter().map(|c| c.cid));
        for c in page.connections {
            let row = ConnRow::console(&p.server.name, &id, c, &mut self.names);
            self.upsert((sid.clone(), row.info.cid), row);
        }
        if !p.last {
            return;
        }
        self.errors.remove(&id);
        let listed = self.listed.remove(&sid).unwrap_or_default();
        let stale: Vec<Key> = self.rows.iter().filter(|k| k.0 == sid && !listed.contains(&k.1)).cloned().collect();
        for k in stale {
            self.rows.remove(&k);
            self.pending.remove(&k);
            self.rm.insert(k);
        }
        if let Some(events) = self.replay.take() {
            for e in events.iter().filter(|e| e.server.id == id) {
                self.apply(e);
            }
            self.replay = Some(events);
        }
    }

    /// Rows waiting to be sent.
    pub fn pending_rows(&self) -> usize {
        self.pending.len()
    }

    /// The changes since the last call, if any (and once the first sweep has
    /// answered at least once).
    pub fn take_delta(&mut self, at: Clock) -> Option<ConnsDelta> {
        if !self.dirty {
            return None;
        }
        self.dirty = false;
        let upserts = std::mem::take(&mut self.pending).into_values().collect();
        let removed = self.rm.drain().collect();
        let errors = self.errors.values().cloned().collect();
        Some(ConnsDelta { at, upserts, removed, errors, dropped: self.dropped })
    }

    /// The next server to reconcile after `last` (round robin by id).
    fn next_server(&self, last: &str) -> Option<ServerInfo> {
        self.servers
            .range::<str, _>((std::ops::Bound::Excluded(last), std::ops::Bound::Unbounded))
            .next()
            .or_else(|| self.servers.iter().next())
            .map(|(_, s)| s.clone())
    }
}

/// Runs until the console's channel closes.
pub async fn run(
    sys: SysClient,
    settings: Option<NatsSettings>,
    opts: WorkerOptions,
    tx: mpsc::Sender<Msg>,
    mut ctl: mpsc::UnboundedReceiver<FleetCtl>,
) {
    let client = sys.client().clone();
    // Subscribed before the first sweep, so nothing falls between the two.
    let mut events = match client.subscribe(CLIENT_EVENTS).await {
        Ok(s) => Some(s),
        Err(e) => {
            warn!("subscribing to {CLIENT_EVENTS}: {e}");
            None
        }
    };
    let _ = client.flush().await;
    let (sweep_tx, mut sweep_rx) = mpsc::unbounded_channel::<SweepOut>();
    let mut fleet = Fleet::default();
    let mut again = false;
    let mut last_full = Instant::now();
    let sweeper = Sweeper { sys: sys.clone(), settings, page: opts.page };
    sweeper.full(&sweep_tx);
    fleet.sweep_started();
    let mut in_flight = true;

    let mut flush = interval(opts.flush);
    flush.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Reconcile one server per step; each server once per `reconcile`.
    let step = |n: usize| (opts.reconcile / n.max(1) as u32).max(Duration::from_millis(100));
    let mut reconcile = interval_at(Instant::now() + opts.reconcile, step(1));
    let mut last_server = String::new();
    loop {
        tokio::select! {
            m = async { events.as_mut().unwrap().next().await }, if events.is_some() => match m {
                Some(m) => {
                    // Garbage on the wire is skipped, never fatal.
                    if let Ok(e) = serde_json::from_slice::<ClientEventMsg>(&m.payload) {
                        fleet.event(e);
                    }
                }
                None => events = None,
            },
            Some(out) = sweep_rx.recv() => match out {
                SweepOut::Page(p) => {
                    fleet.sweep_page(p);
                    // A sweep's rows go to the console a page at a time.
                    if fleet.pending_rows() >= PENDING_ROWS
                        && let Some(d) = fleet.take_delta(Clock::system())
                        && tx.send(Msg::ConnsDelta(Box::new(d))).await.is_err()
                    {
                        return;
                    }
                }
                SweepOut::Done(r) => {
                    fleet.sweep_done(r);
                    in_flight = false;
                    // Megabytes of CONNZ JSON were just freed.
                    crate::app::memory::release_freed();
                    if std::mem::take(&mut again) {
                        sweeper.full(&sweep_tx);
                        fleet.sweep_started();
                        in_flight = true;
                        last_full = Instant::now();
                    }
                    let n = fleet.servers.len();
                    if reconcile.period() != step(n) {
                        reconcile = interval_at(Instant::now() + step(n), step(n));
                    }
                }
            },
            c = ctl.recv() => {
                match c {
                    None => return,
                    Some(FleetCtl::Dropped) => {
                        fleet.dropped += 1;
                        fleet.dirty = true;
                    }
                    Some(FleetCtl::Record(server_id, cid)) => {
                        // The server as last seen (its version decides the masking).
                        let server = fleet.servers.get(server_id.as_str()).cloned().unwrap_or_else(|| ServerInfo {
                            id: server_id.to_string(),
                            ..Default::default()
                        });
                        let (sys, tx) = (sys.clone(), tx.clone());
                        tokio::spawn(async move {
                            let result = sys
                                .server_connz_record(&server, cid)
                                .await
                                .map(|r| r.map(Box::new))
                                .map_err(|e| format!("{e:#}"));
                            let _ = tx.send(Msg::ConnRecord { server_id, cid, result }).await;
                        });
                        continue;
                    }
                    // A refresh right after a sweep (the first connect) is
                    // the same picture: coalesced.
                    Some(FleetCtl::Sweep) if !in_flight && last_full.elapsed() < Duration::from_secs(2) => continue,
                    Some(FleetCtl::Sweep) => {}
                }
                if in_flight {
                    again = true;
                } else {
                    sweeper.full(&sweep_tx);
                    fleet.sweep_started();
                    in_flight = true;
                    last_full = Instant::now();
                }
            }
            _ = reconcile.tick(), if !in_flight => {
                if let Some(server) = fleet.next_server(&last_server) {
                    last_server = server.id.clone();
                    fleet.sweep_started();
                    in_flight = true;
                    sweeper.one(server, &sweep_tx);
                }
            }
            _ = flush.tick() => {
                if !fleet.ready && !fleet.dirty {
                    continue;
                }
                if let Some(d) = fleet.take_delta(Clock::system())
                    && tx.send(Msg::ConnsDelta(Box::new(d))).await.is_err()
                {
                    return;
                }
            }
        }
    }
}

/// Starts sweeps, each on a connection of its own that closes with it: a
/// CONNZ page of thousands of connections is megabytes of JSON, and
/// async-nats keeps a connection's read buffer as large as the largest
/// message it has read (8 MiB for the rest of the session, measured at
/// 10,000 connections).
struct Sweeper {
    sys: SysClient,
    settings: Option<NatsSettings>,
    page: i64,
}

impl Sweeper {
    /// The client for one sweep (the shared one if a new connection fails).
    async fn client(sys: SysClient, settings: Option<NatsSettings>) -> SysClient {
        let Some(s) = settings else { return sys };
        match warden_core::nats::connect::connect(&s, None).await {
            Ok(c) => SysClient::new(c),
            Err(e) => {
                warn!("sweep connection: {e:#}; sweeping on the shared one");
                sys
            }
        }
    }

    /// A full sweep: each page handed over as soon as it arrives.
    fn full(&self, tx: &mpsc::UnboundedSender<SweepOut>) {
        let (sys, settings, page, tx) = (self.sys.clone(), self.settings.clone(), self.page, tx.clone());
        tokio::spawn(async move {
            let sys = Self::client(sys, settings).await;
            let each = tx.clone();
            let r = sys.connz_pages(page, move |p| {
                let _ = each.send(SweepOut::Page(p));
            });
            let r = r.await.map_err(|e| format!("CONNZ: {e:#}"));
            let _ = tx.send(SweepOut::Done(r));
        });
    }

    /// One server's reconciling sweep.
    fn one(&self, server: ServerInfo, tx: &mpsc::UnboundedSender<SweepOut>) {
        let (sys, settings, page, tx) = (self.sys.clone(), self.settings.clone(), self.page, tx.clone());
        tokio::spawn(async move {
            let sys = Self::client(sys, settings).await;
            let each = tx.clone();
            sys.connz_server_pages(&server, page, &mut |p| drop(each.send(SweepOut::Page(p)))).await;
            let _ = tx.send(SweepOut::Done(Ok(())));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::nats::types::{CONNECT_EVENT_TYPE, ConnInfo, Connz, EventClient};

    fn server(id: &str) -> ServerInfo {
        ServerInfo { id: id.into(), name: format!("n-{id}"), ..Default::default() }
    }
    fn ev(kind: &str, sid: &str, cid: u64) -> ClientEventMsg {
        ClientEventMsg {
            event_type: kind.into(),
            server: server(sid),
            client: EventClient { id: cid, acc: "A".into(), user: "u".into(), ..Default::default() },
            reason: String::new(),
        }
    }
    fn page(sid: &str, cids: &[u64], last: bool) -> ConnzPage {
        let connections = cids.iter().map(|&cid| ConnInfo { cid, ..Default::default() }).collect();
        ConnzPage { server: server(sid), result: Ok(Connz { connections, ..Default::default() }), last }
    }
    fn connz(sid: &str, cids: &[u64]) -> ConnzPage {
        page(sid, cids, true)
    }
    fn keys(f: &Fleet) -> Vec<(String, u64)> {
        let mut k: Vec<(String, u64)> = f.rows.iter().map(|(s, c)| (s.to_string(), *c)).collect();
        k.sort();
        k
    }

    #[test]
    fn events_add_and_remove_and_deltas_say_so() {
        let mut f = Fleet::default();
        f.event(ev(CONNECT_EVENT_TYPE, "S", 1));
        f.event(ev(CONNECT_EVENT_TYPE, "S", 2));
        f.event(ev(DISCONNECT_EVENT_TYPE, "S", 1));
        let d = f.take_delta(Clock { now_unix: 0 }).unwrap();
        assert_eq!(d.upserts.iter().map(|r| r.info.cid).collect::<Vec<_>>(), vec![2]);
        assert_eq!(d.removed, vec![("S".into(), 1)]);
        assert!(f.take_delta(Clock { now_unix: 0 }).is_none());
    }

    #[test]
    fn a_sweep_replaces_one_server_and_replays_events_since_it_began() {
        let mut f = Fleet::default();
        f.event(ev(CONNECT_EVENT_TYPE, "T", 9));
        f.event(ev(CONNECT_EVENT_TYPE, "S", 1)); // its disconnect was missed
        f.sweep_started();
        f.event(ev(CONNECT_EVENT_TYPE, "S", 5)); // after the server answered
        f.event(ev(DISCONNECT_EVENT_TYPE, "S", 4)); // before we knew of it
        f.sweep_page(connz("S", &[2, 4]));
        f.sweep_done(Ok(()));
        assert_eq!(keys(&f), vec![("S".into(), 2), ("S".into(), 5), ("T".into(), 9)]);
    }

    #[test]
    fn a_server_answering_in_overlapping_pages_is_replaced_once_its_last_page_is_in() {
        let mut f = Fleet::default();
        f.event(ev(CONNECT_EVENT_TYPE, "S", 1)); // its disconnect was missed
        f.sweep_started();
        f.sweep_page(page("S", &[2, 3, 4], false));
        assert!(keys(&f).contains(&("S".into(), 1)), "not before the server's last page");
        f.sweep_page(page("S", &[4, 6], true));
        f.sweep_done(Ok(()));
        assert_eq!(keys(&f), vec![("S".into(), 2), ("S".into(), 3), ("S".into(), 4), ("S".into(), 6)]);
        let d = f.take_delta(Clock { now_unix: 0 }).unwrap();
        let mut up: Vec<u64> = d.upserts.iter().map(|r| r.info.cid).collect();
        up.sort();
        assert_eq!(up, vec![2, 3, 4, 6], "a connection on two pages is one row");
    }

    #[test]
    fn a_failed_server_keeps_its_rows_and_is_named() {
        let mut f = Fleet::default();
        f.event(ev(CONNECT_EVENT_TYPE, "S", 1));
        f.sweep_started();
        f.sweep_page(ConnzPage { server: server("S"), result: Err(anyhow::anyhow!("timeout")), last: true });
        f.sweep_done(Ok(()));
        assert_eq!(keys(&f), vec![("S".into(), 1)]);
        assert!(f.take_delta(Clock { now_unix: 0 }).unwrap().errors[0].contains("timeout"));
    }
}
