//! NATS subject syntax and wildcard matching.
