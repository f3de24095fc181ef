//! A Kubernetes API double: a real HTTP server on loopback speaking the
//! Kubernetes wire protocol, for tests, `warden sandbox` and kubectl.
