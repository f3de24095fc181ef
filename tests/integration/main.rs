//! Integration tests against real nats-servers and the Kubernetes API double.

mod spiffe;
