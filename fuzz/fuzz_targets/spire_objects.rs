//! ClusterSPIFFEID and ClusterStaticEntry objects as the Kubernetes API
//! serves them (spire-controller-manager `api/v1alpha1`, CRDs in
//! `deploy/crds/`): the fields warden reads (`spire::cluster_spiffe_id`),
//! whether the configured controller serves them, and the console rows.
#![no_main]

#[path = "common/rows.rs"]
mod rows;

use kube::api::DynamicObject;
use libfuzzer_sys::fuzz_target;
use warden::app::spire_objects::{SpiffeIdRow, StaticEntryRow};
use warden_core::config::file::SpireSection;
use warden_core::spire::cluster_spiffe_id::{ClusterSpiffeId, ClusterStaticEntry, Stats};

fuzz_target!(|data: &[u8]| {
    let Ok(o) = serde_json::from_slice::<DynamicObject>(data) else { return };
    let classless = SpireSection { watch_classless: true, ..Default::default() };
    for spire in [SpireSection::default(), classless] {
        let id = ClusterSpiffeId::from_object(&o);
        let _ = id.controller_problem(&spire);
        if let Some(stats) = id.stats {
            assert_eq!(Stats::from_json(&stats.to_json()), stats);
        }
        let _ = ClusterStaticEntry::from_object(&o).controller_problem(&spire);
        rows::show(&SpiffeIdRow::from_object(&o, &spire));
        rows::show(&StaticEntryRow::from_object(&o, &spire));
    }
});
