//! The feed's batches and the tick: O(batch) per batch; the grouped rows
//! are rebuilt at most once a second, only while shown.

use crate::app::msg::Outcome;
use crate::app::state::AppState;
use crate::app::table::Clock;
use crate::app::view_id::ViewId;
use crate::app::violations::feed::Batch;

/// A batch from the feed: O(batch) (plus the grouped rows at most once a
/// second while shown).
pub fn on_batch(s: &mut AppState, b: Batch) -> Outcome {
    let v = &mut s.violations;
    if let Some(at) = b.at {
        v.now = v.now.max(at.now_unix);
    }
    let mut redraw = false;
    for st in b.sources {
        v.sources.retain(|o| o.name != st.name);
        v.sources.push(st);
        redraw = true;
    }
    let now = v.now;
    // Paused, scrolled away from the top, or the selected violation at the
    // bottom of the screen: the screen holds still (rows are counted) so
    // the selection never slides away from where the operator looks.
    let page = s.page_rows();
    let v = &mut s.violations;
    let mut shown = false;
    let mut causes = false;
    for x in b.violations {
        if let warden_core::violations::Outcome::Recorded { identity, .. } =
            v.pipeline.ingest_violation(x.clone(), now.max(0) as u64)
        {
            if let Some(c) = &x.cause {
                if v.auth_causes.len() >= crate::app::identities::AUTH_CAUSES_CAPACITY {
                    v.auth_causes.clear();
                }
                let text = format!("{} {}", x.at.as_deref().unwrap_or(""), c.text()).trim_start().to_string();
                if let Some(u) = &x.user {
                    v.auth_causes.insert(u.clone(), text.clone());
                }
                v.auth_causes.insert(identity.clone(), text);
                causes = true;
            }
            let t = &v.live.table;
            let hold = v.paused || t.offset > 0 || t.selected + 1 >= page;
            let pass = v.live.push(identity, x, now, hold);
            if pass && v.paused {
                v.unseen += 1;
            }
            shown |= pass;
            v.groups_dirty = true;
        }
    }
    let before = (v.per_minute, v.rate_jumped);
    v.rates();
    redraw |= before != (v.per_minute, v.rate_jumped);
    if causes {
        crate::app::identities::apply_auth_causes(&mut s.identities.rows, &s.violations.auth_causes);
        redraw |= s.view == ViewId::Identities;
    }
    let v = &mut s.violations;
    if s.view == ViewId::Violations {
        if v.grouped {
            if v.groups_dirty && now > v.groups_built_at {
                v.rebuild_groups();
                redraw = true;
            }
        } else {
            redraw |= shown;
        }
    }
    Outcome { cmds: vec![], redraw }
}

/// The one-second tick: the banner's per-minute count decays, the grouped
/// view catches up. Changes nothing (and draws nothing) when idle.
pub fn on_tick(s: &mut AppState, c: Clock) -> Outcome {
    let v = &mut s.violations;
    if v.pipeline.store.totals().ingested == 0 {
        return Outcome::none();
    }
    v.now = v.now.max(c.now_unix);
    let before = (v.per_minute, v.rate_jumped);
    v.rates();
    let mut redraw = before != (v.per_minute, v.rate_jumped);
    if s.view == ViewId::Violations && v.grouped && (v.groups_dirty || v.now / 60 != v.groups_built_at / 60) {
        v.rebuild_groups();
        redraw = true;
    }
    Outcome { cmds: vec![], redraw }
}
