//! What the SPIFFE-mode modules share: the context, the request and the
//! common imports.

pub(super) use std::future::Future;
pub(super) use std::time::Duration;

pub(super) use anyhow::{Context, Result, anyhow, bail};
pub(super) use k8s_openapi::api::core::v1::ConfigMap;
pub(super) use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
pub(super) use serde_json::{Value, json};

pub(super) use super::context::*;
pub(super) use crate::config::file::KubeSection;
pub(super) use crate::identity::action::kube::{KubeCtx, cluster_spiffe_id_name};
pub(super) use crate::identity::naming::{IdentityName, Naming};
pub(super) use crate::identity::record::{
    GrantEntry, IdentityRecord, IdentitySpec, IdentityStatus, now_rfc3339, status_patch,
};
pub(super) use crate::identity::spiffe_authz::{AuthzDocument, AuthzError, DocumentShape};
pub(super) use crate::kube::errors::{is_conflict, is_not_found};
pub(super) use crate::kube::resources::{cluster_spiffe_id, nats_identity};
pub(super) use crate::nats::subject::Direction;
pub(super) use crate::nats::sys::SysClient;
