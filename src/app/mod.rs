//! The application core: state, messages, `update`, and the IO tasks that
//! feed it. Pure of any terminal concern: `ui` draws it, `report` prints it.

pub mod accounts;
pub mod action_worker;
pub mod conn_facts;
pub mod conns;
pub mod derive;
pub mod describe;
pub mod dialog;
pub mod doctor;
pub mod doctor_facts;
pub mod doctor_nats;
pub mod expiry;
pub mod format;
pub mod identities;
pub mod keys;
pub mod kube_state;
pub mod kube_target;
pub mod kube_worker;
pub mod memory;
pub mod msg;
pub mod panel;
pub mod permissions;
pub mod save;
pub mod servers;
pub mod sites;
pub mod spire_objects;
pub mod spire_views;
pub mod state;
pub mod table;
pub mod text;
pub mod trace_text;
pub mod update;
pub mod view_id;
pub mod violations;
pub mod worker;
