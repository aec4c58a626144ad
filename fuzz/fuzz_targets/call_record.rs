//! Call records as Graph returns them (`GET /communications/callRecords/{id}` with sessions):
//! parsed and normalised into legs as the fetcher does.
#![no_main]

use callsight_graph::model::CallRecord;
use callsight_graph::normalize::{Lookups, Tenant, legs};
use callsight_graph::privacy::TenantKey;
use callsight_inventory::Inventory;
use callsight_rca::ClassificationConfig;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn key() -> &'static TenantKey {
    static KEY: OnceLock<TenantKey> = OnceLock::new();
    KEY.get_or_init(|| TenantKey::from_secret("fuzz", [7; 32]))
}

fuzz_target!(|body: &[u8]| {
    let Ok(record) = serde_json::from_slice::<CallRecord>(body) else {
        return;
    };
    let inventory = Inventory::new();
    let classification = ClassificationConfig::default();
    for keep_identity in [false, true] {
        let _ = legs(
            &record,
            Tenant {
                org_id: "org",
                tenant_id: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
                key: key(),
                keep_identity,
            },
            Lookups {
                inventory: &inventory,
                classification: &classification,
            },
            1_767_600_000_000,
        );
    }
});
