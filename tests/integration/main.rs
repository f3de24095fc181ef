//! Integration tests against real nats-servers (and, in other modules, the
//! Kubernetes API double). One binary; each module adds its own `mod` line.

mod support;

mod jwt;
