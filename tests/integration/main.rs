//! One integration-test binary (one link step), one module per area.

mod foundation;
mod harness;
mod views;
