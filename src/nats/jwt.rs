//! NATS JWT v2 codec.
