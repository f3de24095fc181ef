//! Identities: naming, the joined model, permissions, and the actions on them.

pub mod permissions;
