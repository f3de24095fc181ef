//! Integration tests: one binary, one module per area.

mod kube_double;
