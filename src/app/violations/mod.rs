//! The Violations view: the live list (newest first, pause/follow) and the
//! grouped sub-view (identity x subject x kind with counts and a per-minute
//! sparkline), fed by `Msg::Violations` batches from [`feed`].
//!
//! Cost: a batch costs `update` O(batch): each violation is attributed,
//! recorded in the bounded store and appended to the bounded live list,
//! whose filter index is kept incrementally. The grouped rows are rebuilt
//! from the store (O(groups), at most `group_capacity`) only while that
//! sub-view is shown, at most once a second.
//!
//! `rows`, `live` and `state` are data (held by the app state); `handlers`
//! and `actions` change the state; `feed` is the IO task.

pub mod actions;
pub mod feed;
pub mod handlers;
pub mod live;
pub mod rows;
pub mod state;
