//! `update(state, msg)`: the only place state changes.

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::keys::{self, Action};
use super::kube_state::KubeLink;
use super::msg::{Cmd, Msg, Outcome};
use super::permissions;
use super::spire_objects::{SpiffeIdRow, StaticEntryRow};
use super::spire_views::{AgentRow, EntryRow};
use super::state::{AppState, Level, Link, Mode};
use super::view_id::ViewId;
use warden_core::kube::resources::Watched;
use warden_core::nats::connect::ConnEvent;

/// Seconds between two JetStream/INFO fetches while `:doctor` is shown
/// (a JSZ with stream details is a scatter-gather of every server).
const DOCTOR_NATS_EVERY: i64 = 30;

pub fn update(s: &mut AppState, msg: Msg) -> Outcome {
    match msg {
        Msg::Key(k) if k.kind == KeyEventKind::Release => Outcome::none(),
        Msg::Key(k) => on_key(s, k),
        Msg::Paste(text) => on_paste(s, &text),
        Msg::Resize(w, h) => {
            s.size = (w, h);
            let page = s.page_rows();
            // Every view's table, not only the one shown; the live
            // violations keep their held position (paused, scrolled).
            let shown = s.view;
            for v in ViewId::ALL {
                s.view = v;
                if v == ViewId::Violations && !s.violations.grouped {
                    s.table_mut().scroll_into_view(page);
                } else {
                    s.table_mut().fit_page(page);
                }
            }
            s.view = shown;
            Outcome::redraw()
        }
        Msg::Link(ev) => on_link(s, ev),
        Msg::WhoAmI(r) => {
            match r {
                Ok(u) => {
                    s.conn.account = Some(u.account);
                    s.conn.user = (!u.user.is_empty()).then_some(u.user);
                }
                Err(e) => s.conn.notice = Some(format!("cannot tell which account this is: {e}")),
            }
            Outcome::redraw()
        }
        Msg::Servers { at, result } => {
            s.clock = at;
            match result {
                Ok(rows) if rows.is_empty() => {
                    s.conn.notice = Some(no_answer_notice(s));
                    s.servers.mark_stale("no server answered");
                }
                Ok(rows) => {
                    if let Some(sys) = rows.iter().map(|r| &r.system_account).find(|a| !a.is_empty()) {
                        s.conn.notice = match &s.conn.account {
                            Some(a) if a != sys => {
                                Some(format!("connected as account {a}, not the system account {sys}"))
                            }
                            _ => None,
                        };
                    }
                    let mut rows = rows;
                    for r in &mut rows {
                        r.set_site(&s.sites);
                    }
                    s.servers.replace(rows, at.now_unix);
                    super::derive::place_conns_in_sites(s);
                }
                Err(e) => s.servers.mark_stale(&e),
            }
            Outcome::redraw()
        }
        Msg::Conns { at, result } => {
            s.clock = at;
            match result {
                Ok((rows, errors)) if rows.is_empty() && s.servers.rows.is_empty() && !errors.is_empty() => {
                    s.conns.mark_stale(&errors.join("; "));
                }
                Ok((rows, errors)) => {
                    s.conns.replace(rows, at.now_unix);
                    s.conns.errors = errors;
                    rebuild_permissions(s);
                    super::derive::rejoin(s);
                }
                Err(e) => s.conns.mark_stale(&e),
            }
            Outcome::redraw()
        }
        Msg::DoctorNats { at, nats } => {
            s.doctor_nats = Some((at.now_unix, *nats));
            if s.view != ViewId::Doctor {
                return Outcome::none();
            }
            super::derive::refresh_doctor(s);
            Outcome::redraw()
        }
        Msg::ClosedConns { at, result } => {
            s.clock = at;
            match result {
                Ok((rows, errors)) => {
                    s.closed.replace(rows, at.now_unix);
                    s.closed.errors = errors;
                    let names = super::derive::account_names(&s.accounts.rows);
                    for c in &mut s.closed.rows {
                        c.set_account_name(names.get(c.info.account.as_str()));
                    }
                }
                Err(e) => s.closed.mark_stale(&e),
            }
            Outcome::redraw()
        }
        Msg::ConnsDelta(d) => on_conns_delta(s, *d),
        Msg::ConnRecord { server_id, cid, result } => {
            if super::describe::conn_record(s, &server_id, cid, result) {
                Outcome::redraw()
            } else {
                Outcome::none()
            }
        }
        Msg::Statsz(m) => {
            let Some(row) = s.servers.rows.iter_mut().find(|r| r.id == m.server.id) else {
                // A server we have not listed yet: fetch the full picture.
                return Outcome { cmds: vec![Cmd::Refresh(ViewId::Servers)], redraw: false };
            };
            let before = row.clone();
            row.apply_statsz(&m);
            Outcome { cmds: vec![], redraw: *row != before }
        }
        Msg::KubeLink(l) => {
            s.kube.link = l;
            rebuild_kube_panels(s, None);
            Outcome::redraw()
        }
        Msg::Kube(ev) => {
            let what = ev.what;
            s.kube.apply(ev);
            rebuild_kube_panels(s, Some(what));
            if what == Watched::AuthzConfigMap {
                rebuild_permissions(s);
            }
            if matches!(what, Watched::NatsIdentities | Watched::ClusterSpiffeIds) {
                super::derive::rejoin(s);
            }
            Outcome::redraw()
        }
        Msg::Spire { at, entries, agents } => {
            let sp = &mut s.kube.spire;
            let mut errors = Vec::new();
            match entries {
                Ok(e) => sp.entries = e,
                Err(e) => errors.push(e),
            }
            match agents {
                Ok(a) => sp.agents = a,
                Err(e) => errors.push(e),
            }
            sp.error = (!errors.is_empty()).then(|| errors.join("; "));
            if sp.error.is_none() {
                sp.fetched_at = Some(at.now_unix);
            }
            s.clock = at;
            rebuild_kube_panels(s, None);
            // The Expiry view shows SPIRE entries' and agents' SVIDs.
            super::derive::rejoin(s);
            Outcome::redraw()
        }
        Msg::Accounts { at, result } => {
            s.clock = at;
            match result {
                Ok((rows, errors)) => {
                    s.accounts.replace(rows, at.now_unix);
                    s.accounts.errors = errors;
                    super::derive::rejoin(s);
                    // Scoped keys, defaults and mappings decide the users' permissions.
                    rebuild_permissions(s);
                }
                Err(e) => s.accounts.mark_stale(&e),
            }
            Outcome::redraw()
        }
        Msg::Tick(c) if s.expire_status(c.now_unix) => {
            let mut out = update(s, Msg::Tick(c));
            out.redraw = true;
            out
        }
        // The doctor re-examines what the console holds while it is shown.
        Msg::Tick(c) if s.view == ViewId::Doctor => {
            let mut out = super::violations::handlers::on_tick(s, c);
            let before = s.doctor.rows.clone();
            super::derive::refresh_doctor(s);
            out.redraw |= s.doctor.rows != before;
            // JetStream and the INFO probe are asked for again now and then.
            if c.now_unix - s.doctor_nats_asked >= DOCTOR_NATS_EVERY {
                s.doctor_nats_asked = c.now_unix;
                out.cmds.push(Cmd::Refresh(ViewId::Doctor));
            }
            out
        }
        Msg::Tick(c) if s.view == ViewId::Expiry => {
            s.clock = c;
            Outcome::redraw()
        }
        // A running action's progress dialog shows the time elapsed.
        Msg::Tick(c) if matches!(s.dialog, Some(super::dialog::model::Dialog::Progress { done: None, .. })) => {
            s.clock = c;
            if let Some(super::dialog::model::Dialog::Progress { started, .. }) = &mut s.dialog {
                started.get_or_insert(c.now_unix);
            }
            let mut out = super::violations::handlers::on_tick(s, c);
            out.redraw = true;
            out
        }
        Msg::Tick(c) => super::violations::handlers::on_tick(s, c),
        Msg::Violations(b) => super::violations::handlers::on_batch(s, b),
        Msg::ActionStep(step) => super::dialog::progress::on_step(s, step),
        Msg::ActionDone(report) => super::dialog::progress::on_done(s, report),
        Msg::Status(level, text) => {
            s.status = Some((level, text));
            Outcome::redraw()
        }
        Msg::Signal(name) => {
            s.status = Some((Level::Info, format!("{name}: quitting")));
            s.quit = true;
            Outcome::cmd(Cmd::Quit)
        }
    }
}

/// Folds the worker's connection changes into the rows. Cheap: no JWT is
/// decoded here (rows carry their claims), no allocation per row.
fn on_conns_delta(s: &mut AppState, d: super::msg::ConnsDelta) -> Outcome {
    use std::collections::HashMap;
    s.clock = d.at;
    // The selection follows its row through the delta (taken before the
    // rows are moved out).
    let keep = s.conns.selected().map(super::table::TableRow::key);
    let mut rows = std::mem::take(&mut s.conns.rows);
    if !d.removed.is_empty() {
        let mut gone: HashMap<u64, Vec<&str>> = HashMap::new();
        for (server, cid) in &d.removed {
            gone.entry(*cid).or_default().push(server);
        }
        rows.retain(|r| !gone.get(&r.info.cid).is_some_and(|ids| ids.contains(&r.server_id.as_str())));
    }
    if !d.upserts.is_empty() {
        let slots: Vec<Option<usize>> = {
            let at: HashMap<(&str, u64), usize> =
                rows.iter().enumerate().map(|(i, r)| ((r.server_id.as_str(), r.info.cid), i)).collect();
            d.upserts.iter().map(|u| at.get(&(u.server_id.as_str(), u.info.cid)).copied()).collect()
        };
        // Room for the new rows with a little to spare: a sweep's pages
        // and the events after it grow the rows without doubling them.
        let new = slots.iter().filter(|s| s.is_none()).count();
        if rows.capacity() < rows.len() + new {
            rows.reserve_exact(new + (rows.len() + new) / 32);
        }
        let mut pushed = false;
        for (u, slot) in d.upserts.into_iter().zip(slots) {
            match slot {
                Some(i) => rows[i] = u,
                None => {
                    rows.push(u);
                    pushed = true;
                }
            }
        }
        if pushed {
            rows.sort_by(|a, b| a.server.cmp(&b.server).then(a.info.cid.cmp(&b.info.cid)));
        }
    }
    s.conns.replace_keeping(rows, d.at.now_unix, keep);
    s.conns.errors = d.errors;
    if d.dropped > 0 {
        s.conns.errors.push(format!("{} connection events dropped (slow consumer): reconciled by a sweep", d.dropped));
    }
    rebuild_permissions(s);
    super::derive::rejoin(s);
    Outcome::redraw()
}

fn no_answer_notice(s: &AppState) -> String {
    match &s.conn.account {
        Some(a) => format!("connected as account {a}; server views need the system account"),
        None if s.conn.link != Link::Connected => "not connected".to_string(),
        None => "no server answered $SYS.REQ.SERVER.PING.VARZ: server views need system account credentials".into(),
    }
}

fn on_link(s: &mut AppState, ev: ConnEvent) -> Outcome {
    // Before the first connection the console is "connecting": failed
    // attempts say why in the status line, never "connection lost".
    let first = s.conn.link == Link::Connecting;
    match ev {
        ConnEvent::Connected if s.conn.link == Link::Connected => return Outcome::none(),
        // The worker reads everything itself once connected the first time.
        ConnEvent::Connected if first => {
            s.conn.link = Link::Connected;
            s.conn.link_error = None;
            if s.status.as_ref().is_some_and(|(l, _)| *l == Level::Error) {
                s.status = None;
            }
            return Outcome::redraw();
        }
        ConnEvent::Connected => {
            s.conn.link = Link::Connected;
            s.conn.link_error = None;
            // The error that came with the loss is over.
            if s.status.as_ref().is_some_and(|(l, _)| *l == Level::Error) {
                s.status = None;
            }
            return Outcome { cmds: vec![Cmd::Refresh(ViewId::Servers), Cmd::Refresh(ViewId::Conns)], redraw: true };
        }
        // Before any connection the reason stays (the views say it) until
        // an attempt succeeds; later client errors are flash messages.
        ConnEvent::Error(e) if first => {
            s.conn.link_error = Some(e.clone());
            s.status = Some((Level::Error, e));
            return Outcome::redraw();
        }
        ConnEvent::Error(e) => {
            s.status = Some((Level::Error, e));
            return Outcome::redraw();
        }
        // Counted and healed by the worker (it reports the count with the rows).
        ConnEvent::SlowConsumer => return Outcome::none(),
        _ if first => return Outcome::none(),
        ConnEvent::Disconnected => s.conn.link = Link::Disconnected,
        ConnEvent::Reconnecting(n) => s.conn.link = Link::Reconnecting(n),
        ConnEvent::Closed => s.conn.link = Link::Closed,
    }
    if s.conn.link != Link::Connected {
        let why = "connection lost".to_string();
        s.servers.stale.get_or_insert_with(|| why.clone());
        s.conns.stale.get_or_insert(why);
    }
    Outcome::redraw()
}

fn on_key(s: &mut AppState, k: KeyEvent) -> Outcome {
    if s.dialog.is_some() {
        return super::dialog::input::on_key(s, k);
    }
    match std::mem::replace(&mut s.mode, Mode::Normal) {
        Mode::Command(input) => on_command_key(s, input, k),
        Mode::Filter(input) => on_filter_key(s, input, k),
        Mode::Tester(input) => on_tester_key(s, input, k),
        Mode::Normal if s.describe.is_some() => on_describe_key(s, k),
        Mode::Normal if s.help => {
            match keys::action_for(&k) {
                Some(Action::Back | Action::Help | Action::Quit) => {
                    s.help = false;
                    s.help_scroll = 0;
                }
                Some(Action::Down) => s.help_scroll = s.help_scroll.saturating_add(1),
                Some(Action::Up) => s.help_scroll = s.help_scroll.saturating_sub(1),
                Some(Action::PageDown) => s.help_scroll = s.help_scroll.saturating_add(10),
                Some(Action::PageUp) => s.help_scroll = s.help_scroll.saturating_sub(10),
                Some(Action::Top) => s.help_scroll = 0,
                _ => return Outcome::none(),
            }
            Outcome::redraw()
        }
        Mode::Normal => match keys::action_for(&k) {
            Some(a) => on_action(s, a),
            None => Outcome::none(),
        },
    }
}

/// Keys while the describe view is open: scroll, copy, close.
fn on_describe_key(s: &mut AppState, k: KeyEvent) -> Outcome {
    let page = s.page_rows() as u16;
    let Some(d) = s.describe.as_mut() else { return Outcome::none() };
    let last = d.text.lines().count().saturating_sub(1).min(u16::MAX as usize) as u16;
    match keys::action_for(&k) {
        Some(Action::Back | Action::Describe | Action::Quit) => s.describe = None,
        Some(Action::Down | Action::DetailDown) => d.scroll = d.scroll.saturating_add(1).min(last),
        Some(Action::Up | Action::DetailUp) => d.scroll = d.scroll.saturating_sub(1),
        Some(Action::PageDown) => d.scroll = d.scroll.saturating_add(page).min(last),
        Some(Action::PageUp) => d.scroll = d.scroll.saturating_sub(page),
        Some(Action::Top) => d.scroll = 0,
        Some(Action::Bottom) => d.scroll = last.saturating_sub(page.saturating_sub(1)),
        Some(Action::Copy) => return on_action(s, Action::Copy),
        _ => return Outcome::none(),
    }
    Outcome::redraw()
}

fn on_action(s: &mut AppState, a: Action) -> Outcome {
    let page = s.page_rows();
    match a {
        Action::Quit => {
            s.quit = true;
            return Outcome::cmd(Cmd::Quit);
        }
        Action::CommandLine => s.mode = Mode::Command(Input::default()),
        Action::Filter => s.mode = Mode::Filter(Input::new(s.table().filter.clone())),
        Action::Help => s.help = true,
        Action::Back => {
            if s.detail {
                s.detail = false;
            } else if let Some(b) = s.back.pop() {
                s.set_filter(b.target_filter);
                s.view = b.view;
                s.detail = b.detail;
                s.status = Some((Level::Info, format!("back to {}", b.view.tab())));
            } else if !s.table().filter.is_empty() {
                set_filter(s, String::new());
            } else {
                s.status = None;
            }
        }
        Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom => {
            // Another row: its detail starts at its top.
            s.detail_scroll = 0;
            let t = s.table_mut();
            match a {
                Action::Up => t.move_by(-1, page),
                Action::Down => t.move_by(1, page),
                Action::PageUp => t.move_by(-(page as isize), page),
                Action::PageDown => t.move_by(page as isize, page),
                Action::Top => t.home(),
                _ => t.end(page),
            }
        }
        Action::Detail => {
            s.detail = !s.detail;
            s.detail_scroll = 0;
        }
        Action::DetailDown | Action::DetailUp if !s.detail => {
            s.status = Some((Level::Info, "J/K scroll the detail: open it with enter".into()));
        }
        // Clamped when drawn (the pane's height is the renderer's).
        Action::DetailDown => s.detail_scroll = s.detail_scroll.saturating_add(1),
        Action::DetailUp => s.detail_scroll = s.detail_scroll.saturating_sub(1),
        Action::Refresh if s.view == ViewId::Conns && s.show_closed => return Outcome::cmd(Cmd::FetchClosed),
        Action::Refresh => return Outcome::cmd(Cmd::Refresh(s.view)),
        Action::NextView | Action::PrevView => {
            let all = ViewId::ALL;
            let i = all.iter().position(|v| *v == s.view).unwrap_or(0);
            let step = if a == Action::NextView { 1 } else { all.len() - 1 };
            return show(s, all[(i + step) % all.len()]);
        }
        Action::Show(v) => return show(s, v),
        Action::Tester if s.view == ViewId::Permissions => {
            s.mode = Mode::Tester(Input::new(s.tester_subject.clone().unwrap_or_default()))
        }
        Action::Pause | Action::Group | Action::JumpIdentity => {
            return super::violations::actions::on_action(s, a);
        }
        Action::Revoke | Action::Grant if s.view == ViewId::Violations => {
            return super::violations::actions::on_action(s, a);
        }
        Action::Register
        | Action::Approve
        | Action::Deny
        | Action::Renew
        | Action::Revoke
        | Action::Grant
        | Action::Ungrant => {
            return super::dialog::propose::on_action(s, a);
        }
        Action::Kick => return super::dialog::propose::on_kick(s),
        Action::Closed if s.view == ViewId::Conns => {
            s.show_closed = !s.show_closed;
            s.detail_scroll = 0;
            if s.show_closed {
                return Outcome::cmd(Cmd::FetchClosed);
            }
        }
        Action::Closed => s.status = Some((Level::Info, "closed connections are in the Connections view (2)".into())),
        Action::Describe => match super::describe::of_selected(s) {
            Some(d) => {
                let fetch = d.awaiting.clone();
                s.describe = Some(d);
                if let Some((server_id, cid)) = fetch {
                    return Outcome { cmds: vec![Cmd::FetchConnRecord { server_id, cid }], redraw: true };
                }
            }
            None => s.status = Some((Level::Info, "nothing to describe here".into())),
        },
        Action::Trace => match super::derive::trace_selected(s) {
            Some(d) => s.describe = Some(d),
            None => s.status = Some((Level::Info, "T traces an identity: select one in Identities (8)".into())),
        },
        Action::Copy => match super::describe::copy_value(s) {
            Some((what, value)) => {
                let shown = super::format::printable(&value).into_owned();
                s.status = Some((Level::Info, format!("copied {what} {shown} (OSC 52: the terminal must allow it)")));
                return Outcome::cmd(Cmd::Copy(value));
            }
            None => s.status = Some((Level::Info, "nothing to copy here".into())),
        },
        Action::Save => {
            let Some(dir) = &s.save_dir else {
                s.status = Some((Level::Warn, "nowhere to save: no state directory".into()));
                return Outcome::redraw();
            };
            let (path, n, text) = super::save::save_view(s, dir);
            s.status = Some((Level::Info, format!("saved {n} rows to {}", path.display())));
            return Outcome::cmd(Cmd::Save { path, text });
        }
        Action::Sort | Action::SortReverse => {
            if !s.cycle_sort(a == Action::SortReverse) {
                s.status = Some((Level::Info, "the live violations keep their arrival order (v groups them)".into()));
            }
            let page = s.page_rows();
            s.table_mut().scroll_into_view(page);
        }
        Action::Tester => {
            s.status = Some((Level::Info, "the subject tester is in the permissions view (6 or :perms)".into()))
        }
    }
    Outcome::redraw()
}

fn show(s: &mut AppState, v: ViewId) -> Outcome {
    // Going somewhere by hand ends the trail of jumps.
    s.back.clear();
    s.view = v;
    s.detail = false;
    if v == ViewId::Doctor {
        s.doctor_nats_asked = s.clock.now_unix;
        super::derive::refresh_doctor(s);
    }
    Outcome::cmd(Cmd::Refresh(v))
}

/// Pasted text goes into the text field that has the focus (command line,
/// filter, subject tester, a dialog's form field), as text: one line,
/// control characters dropped. Anywhere else it is ignored, never read
/// as keys (a paste holding `a` must not approve anything).
fn on_paste(s: &mut AppState, text: &str) -> Outcome {
    let clean: String = text.lines().next().unwrap_or_default().chars().filter(|c| !c.is_control()).collect();
    let insert = |input: &mut Input| {
        for c in clean.chars() {
            input.handle(tui_input::InputRequest::InsertChar(c));
        }
    };
    if s.dialog.is_some() {
        return super::dialog::input::on_paste(s, &clean);
    }
    match &mut s.mode {
        Mode::Command(input) => insert(input),
        Mode::Filter(input) => {
            insert(input);
            let f = input.value().to_string();
            set_filter(s, f);
        }
        Mode::Tester(input) => {
            insert(input);
            let subject = input.value().trim().to_string();
            s.tester_subject = (!subject.is_empty()).then_some(subject);
            retest(s);
        }
        Mode::Normal => {
            s.status = Some((Level::Info, "paste ignored: no text field has the focus".into()));
        }
    }
    Outcome::redraw()
}

fn on_command_key(s: &mut AppState, mut input: Input, k: KeyEvent) -> Outcome {
    match k.code {
        KeyCode::Esc => {}
        KeyCode::Enter => return run_command(s, input.value()),
        KeyCode::Tab => {
            let done = match keys::command(input.value()) {
                // `:ctx pr<Tab>`: the kubeconfig's contexts.
                Some(("ctx", partial)) if input.value().contains(char::is_whitespace) => {
                    format!("ctx {}", keys::complete_from(partial, s.kube_contexts.iter().map(String::as_str)).0)
                }
                Some(("site", partial)) if input.value().contains(char::is_whitespace) => {
                    format!("site {}", keys::complete_from(partial, s.sites.names()).0)
                }
                _ => keys::complete(input.value()).0,
            };
            s.mode = Mode::Command(Input::new(done));
        }
        _ => {
            input.handle_event(&Event::Key(k));
            s.mode = Mode::Command(input);
        }
    }
    Outcome::redraw()
}

fn run_command(s: &mut AppState, line: &str) -> Outcome {
    let view = ViewId::ALL.iter().copied().find(|v| keys::command(line).is_some_and(|(c, _)| c == v.tab()));
    if let Some(v) = view {
        return show(s, v);
    }
    match keys::command(line) {
        Some(("help", _)) => {
            s.help = true;
            Outcome::redraw()
        }
        Some(("quit", _)) => {
            s.quit = true;
            Outcome::cmd(Cmd::Quit)
        }
        Some(("site", name)) => match s.sites.get(name).map(|site| site.kube_context.clone()) {
            _ if s.sites.is_empty() => {
                s.status = Some((Level::Warn, "no sites configured ([[sites]] or --site NAME=CONTEXT)".into()));
                Outcome::redraw()
            }
            None => {
                let known = s.sites.names().collect::<Vec<_>>().join(" ");
                s.status = Some((Level::Info, format!("sites: {known} (:site NAME switches Kubernetes context)")));
                Outcome::redraw()
            }
            Some(None) => {
                s.status = Some((Level::Warn, format!("site {name} names no Kubernetes context")));
                Outcome::redraw()
            }
            // The site's Kubernetes context, switched as `:ctx` does.
            Some(Some(ctx)) => run_command(s, &format!("ctx {ctx}")),
        },
        Some(("ctx", "")) => {
            let names = if s.kube_contexts.is_empty() { "none".to_string() } else { s.kube_contexts.join(" ") };
            s.status = Some((Level::Info, format!("Kubernetes contexts: {names}")));
            Outcome::redraw()
        }
        Some(("ctx", name)) if !s.kube_contexts.iter().any(|c| c == name) => {
            let known = if s.kube_contexts.is_empty() { "none".to_string() } else { s.kube_contexts.join(" ") };
            s.status = Some((Level::Warn, format!("unknown Kubernetes context {name:?} (known: {known})")));
            Outcome::redraw()
        }
        Some(("ctx", name)) => {
            s.status = Some((Level::Info, format!("switching Kubernetes context to {name}")));
            // What was shown belongs to the old cluster: nothing of it may
            // stay on screen (or be acted on) as if it were the new one's.
            s.kube = Default::default();
            rebuild_kube_panels(s, None);
            rebuild_permissions(s);
            super::derive::rejoin(s);
            Outcome::cmd(Cmd::SwitchContext(name.to_string()))
        }
        _ => {
            s.status = Some((Level::Warn, format!("unknown command: {}", line.trim())));
            Outcome::redraw()
        }
    }
}

fn on_filter_key(s: &mut AppState, mut input: Input, k: KeyEvent) -> Outcome {
    match k.code {
        KeyCode::Esc => set_filter(s, String::new()),
        KeyCode::Enter => {}
        _ => {
            input.handle_event(&Event::Key(k));
            set_filter(s, input.value().to_string());
            s.mode = Mode::Filter(input);
        }
    }
    Outcome::redraw()
}

fn on_tester_key(s: &mut AppState, mut input: Input, k: KeyEvent) -> Outcome {
    match k.code {
        KeyCode::Esc => s.tester_subject = None,
        KeyCode::Enter => {}
        _ => {
            input.handle_event(&Event::Key(k));
            let subject = input.value().trim().to_string();
            s.tester_subject = (!subject.is_empty()).then_some(subject);
            s.mode = Mode::Tester(input);
        }
    }
    retest(s);
    Outcome::redraw()
}

/// Recomputes the tester's answers (after the subject or the rules changed).
fn retest(s: &mut AppState) {
    let rows = match &s.tester_subject {
        Some(subj) => permissions::test_subject(&s.perm_sets, subj),
        None => Vec::new(),
    };
    s.tester.replace(rows, s.clock.now_unix);
}

/// Rebuilds the permission sets from everything that carries rules.
pub fn rebuild_permissions(s: &mut AppState) {
    let from_conns = permissions::sets_from_conns(&s.naming, &s.conns.rows, &s.accounts.rows);
    let mut from_authz = Vec::new();
    s.authz_error = None;
    for cm in s.kube.objects(Watched::AuthzConfigMap) {
        match permissions::authz_doc_of(cm, &s.authz_key) {
            Some(Ok(doc)) => from_authz.extend(permissions::sets_from_authz(&s.naming, &doc)),
            Some(Err(e)) => s.authz_error = Some(format!("authorization ConfigMap key {}: {e}", s.authz_key)),
            None => {}
        }
    }
    set_permissions(s, permissions::merge_sets(from_conns, from_authz));
}

/// Replaces every identity's rules and what is derived from them.
pub fn set_permissions(s: &mut AppState, sets: Vec<warden_core::identity::permissions::PermissionSet>) {
    s.perm_sets = sets;
    let rows = permissions::rows(&s.perm_sets);
    s.perms.replace(rows, s.clock.now_unix);
    super::derive::name_accounts(s);
    retest(s);
    super::derive::refresh_attributor(s);
}

fn set_filter(s: &mut AppState, f: String) {
    s.set_filter(f);
}

/// Rebuilds the Kubernetes-fed panels from the stores (after a watch event
/// or a SPIRE refresh): rows are derived in `update`, never in `render`.
fn rebuild_kube_panels(s: &mut AppState, what: Option<Watched>) {
    let now = s.clock.now_unix;
    if what.is_none_or(|w| w == Watched::ClusterSpiffeIds) {
        let spire = &s.kube_section.spire;
        let rows = s.kube.objects(Watched::ClusterSpiffeIds).map(|o| SpiffeIdRow::from_object(o, spire)).collect();
        s.spiffe_ids.replace(rows, now);
        if let Some(p) = s.kube.problem(Watched::ClusterSpiffeIds) {
            s.spiffe_ids.mark_stale(&p);
        }
    }
    if what.is_none_or(|w| w == Watched::ClusterStaticEntries) {
        let spire = &s.kube_section.spire;
        let rows =
            s.kube.objects(Watched::ClusterStaticEntries).map(|o| StaticEntryRow::from_object(o, spire)).collect();
        s.static_entries.replace(rows, now);
        if let Some(p) = s.kube.problem(Watched::ClusterStaticEntries) {
            s.static_entries.mark_stale(&p);
        }
    }
    if what.is_none() {
        let sp = &s.kube.spire;
        let (entries, agents, err, at) = (sp.entries.clone(), sp.agents.clone(), sp.error.clone(), sp.fetched_at);
        s.entries.replace(entries.into_iter().map(EntryRow::new).collect(), at.unwrap_or(now));
        s.agents.replace(agents.into_iter().map(AgentRow::new).collect(), at.unwrap_or(now));
        s.entries.fetched_at = at;
        s.agents.fetched_at = at;
        let why = match &s.kube.link {
            KubeLink::Connected { .. } => err,
            KubeLink::Off(r) | KubeLink::Failed(r) => Some(r.clone()),
            KubeLink::Connecting => None,
        };
        if let Some(w) = why {
            s.entries.mark_stale(&w);
            s.agents.mark_stale(&w);
        }
    }
}
