//! Mist statistics API answers, as the poller reads them: each list through its normaliser,
//! the counter state carried across inputs as it is across polls.
#![no_main]

use callsight_telemetry::mist::stats::{self, Scope, StatsNormalizer};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeMap;

thread_local! {
    static NORMALIZER: RefCell<StatsNormalizer> = RefCell::new(StatsNormalizer::new());
}

fuzz_target!(|body: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    // A list answer, or one object (a site, its derived settings).
    let items: Vec<Value> = match &value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let scope = Scope {
        org_id: "org",
        site_id: "site",
        poll_ms: 1_767_600_000_000,
    };
    let gateways = stats::GatewayPorts::of(&items);
    NORMALIZER.with(|n| {
        let mut n = n.borrow_mut();
        drop(n.wireless_clients(&scope, &items));
        drop(n.wired_clients(&scope, &items));
        drop(n.aps(&scope, &items));
        drop(n.switch_ports(&scope, &items, &BTreeMap::new(), &gateways));
        drop(n.gateways(&scope, &items));
        drop(n.vpn_peers("org", scope.poll_ms, &items));
    });
    drop(stats::site("org", &value, scope.poll_ms));
    drop(stats::subnets(&scope, &items, &value));
});
