//! warden: terminal admin console for NATS + SPIFFE/SPIRE + Kubernetes workload identity.
//!
//! Layering (dependencies point one way): `ui` -> `app` -> domains
//! (`nats`, `kube`, `spire`, `identity`, `violations`, `sandbox`).
//! No domain module imports `app` or `ui`.

pub mod identity;
pub mod nats;
pub mod sandbox;
pub mod violations;
