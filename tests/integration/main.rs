//! Integration tests against real processes (nats-server). One binary, one
//! module per area.

mod violations;
