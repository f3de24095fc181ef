//! The terminal console: drawing (`render`), the event loop (`console`) and
//! terminal lifecycle (`terminal`). Uses the app core; nothing below imports it.

pub mod chrome;
pub mod console;
pub mod dialog;
pub mod overlay;
pub mod panel;
pub mod render;
pub mod table;
pub mod terminal;
pub mod theme;
pub mod violations_ui;
