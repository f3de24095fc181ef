//! Identity actions in the console: the register and grant forms, the
//! confirmation dialog (Cancel is the default button), and the part-by-part
//! result. Keys here only change state and return `Cmd::Action`; the action
//! runs in an IO task (`app::action_worker`), never inside `update`.
//!
//! `model` is the dialog's data (held by the state); the other modules are
//! handlers that change the state.

pub mod input;
pub mod model;
pub mod progress;
pub mod propose;
