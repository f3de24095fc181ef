//! Live authorization violations: parsing, attribution, bounded aggregation.
//!
//! Sources: nats-server log lines (publish/subscribe permission violations
//! are only logged, never published as events) and system-account events
//! (`$SYS.SERVER.<id>.CLIENT.AUTH.ERR`, `$SYS.ACCOUNT.<acc>.DISCONNECT`).
//! [`pipeline::Pipeline::ingest`] turns either into a [`events::Violation`],
//! attributes it to an identity and records it in a bounded [`store::Store`].

pub mod attribution;
pub mod auth_diagnosis;
pub mod auth_events;
pub mod auth_facts;
pub mod bounded_lines;
pub mod events;
pub mod follow_file;
pub mod go_text;
pub mod log_line;
pub mod log_notice;
pub mod pipeline;
pub mod records;
pub mod store;

pub use attribution::{Attribution, AttributionSource, Attributor, IdentityRecord};
pub use events::{Violation, ViolationKind};
pub use pipeline::{Input, Outcome, Pipeline};
pub use records::RecordSet;
pub use store::{Store, StoreConfig};
