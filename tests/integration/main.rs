//! One integration-test binary (one link step), one module per area, against
//! real nats-servers and the Kubernetes API double.

mod harness;

mod auth_diagnosis;
mod doctor;
mod doctor_console;
mod doctor_jetstream;
mod doctor_seeds;
mod doctor_servers;
mod faults;
mod feedback;
mod fleet;
mod foundation;
mod js_cluster;
mod jwt;
mod jwt_actions;
mod jwt_kube;
mod jwt_views;
mod kube_views;
mod lifecycle;
mod operator_ux;
mod permissions;
mod permissions_server;
mod safe_actions;
mod sandbox;
mod sandbox_fleet;
mod sandbox_spiffe;
mod sites_sandbox;
mod spiffe;
mod spiffe_actions;
mod spiffe_console;
mod views;
mod violations;
mod violations_live;
mod violations_matrix;
