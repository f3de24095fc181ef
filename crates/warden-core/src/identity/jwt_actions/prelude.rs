//! What the action modules (`lifecycle`, `grant`, `revoke`) share: the
//! context, the request, the record helpers and the common imports.

pub(super) use std::time::Duration;

pub(super) use anyhow::{Context, Result, anyhow};
pub(super) use kube::api::{Patch, PatchParams};
pub(super) use serde_json::json;

pub(super) use super::context::*;
pub(super) use super::records::*;
pub(super) use super::request::*;
pub(super) use crate::identity::action::kube::KubeCtx;
pub(super) use crate::identity::action::nats::kick;
pub(super) use crate::identity::action::report::{Recorder, Step};
pub(super) use crate::identity::naming::{IdentityName, Naming};
pub(super) use crate::identity::record::{GrantEntry, IdentityRecord, IdentitySpec, IdentityStatus, now_rfc3339};
pub(super) use crate::nats::jwt::{self, KeyKind, SigningKey, UserClaims};
pub(super) use crate::nats::subject::Direction;
pub(super) use crate::nats::sys::SysClient;
pub(super) use crate::nats::types::ConnInfo;
