//! `POST /graph/notifications` and `/graph/lifecycle` bodies: the bounded delivery parser and
//! each notification's checks against a linked tenant.
#![no_main]

use callsight_graph::privacy::MasterKey;
use callsight_model::types::{LinkState, TenantLink};
use callsight_teams::link::store::LinkStore;
use callsight_teams::webhook::notification::check;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

const TENANT: &str = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

fn setup() -> &'static (Arc<LinkStore>, MasterKey) {
    static SETUP: OnceLock<(Arc<LinkStore>, MasterKey)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let links = LinkStore::new(None);
        links.apply(TenantLink {
            org_id: "org".into(),
            tenant_id: TENANT.into(),
            state: LinkState::Linked,
            linked_by_name: None,
            linked_by_email: None,
            linked_at: 0,
            updated_at: 0,
            static_config: false,
            keep_identity: false,
            key_id: None,
            wrapped_keys: Vec::new(),
            subscription_id: Some("11111111-2222-4333-8444-555555555555".into()),
            subscription_expires_at: None,
        });
        let master = MasterKey::from_hex(&"11".repeat(32)).expect("a key");
        (links, master)
    })
}

fuzz_target!(|body: &[u8]| {
    let (links, master) = setup();
    let _ = check(body, 1000, links, Some(master), 0);
    let _ = check(body, 3, links, None, 0);
});
