//! Defects an independent scenario set found, each reproduced with data of its own through one
//! partition: the windows on RocksDB, the view the processor builds from them, the engine. Mist
//! data goes through the same normalisers as the webhook endpoint and the poller, starting from
//! Mist's own published examples where one exists.

use callsight_model::types::*;
use callsight_processor::partition::Record;
use callsight_telemetry::mist::webhook;
use callsight_telemetry::{Record as Normalized, TimeWindow};
use callsight_testkit::records::*;
use callsight_testkit::samples::{ORG, SITE};
use callsight_testkit::vendor;
use callsight_testkit::world::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// The latest verdict of every leg after `telemetry` (in time order), then `legs`, went through
/// one partition of the reference site's inventory.
fn verdicts(
    mut telemetry: Vec<NetworkSample>,
    legs: &[CallLeg],
) -> BTreeMap<String, RootCauseVerdict> {
    telemetry.sort_by_key(|s| s.time);
    let mut records: Vec<Record> = telemetry_records(&telemetry);
    let offset = records.len() as i64;
    records.extend(leg_records(legs).into_iter().map(|r| match r {
        Record::Leg { leg, offset: o } => Record::Leg {
            leg,
            offset: offset + o,
        },
        other => other,
    }));
    latest(&run_partition(records, &[64], &inventory(), &settings()))
}

/// The samples a Mist webhook body normalises to, filed under the reference org.
fn mist_webhook(body: &Value) -> Vec<NetworkSample> {
    let bytes = serde_json::to_vec(body).expect("json");
    let delivery = webhook::Delivery {
        org: Some(ORG),
        window: TimeWindow::ANY,
    };
    let batch = webhook::parse(&bytes, &delivery).expect("parses");
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    batch
        .records
        .into_iter()
        .filter_map(|r| match r {
            Normalized::Sample(s) => Some(s),
            Normalized::Inventory(_) => None,
        })
        .collect()
}

/// Mist's nac-accounting example for `client` and `ip` on the reference site at `time`, of
/// `kind` (`NAC_ACCOUNTING_START`, `_UPDATE`, `_STOP`).
fn nac_accounting(client: &str, ip: &str, time: i64, kind: &str) -> Value {
    let mut body = vendor::example_json("mist/nac-accounting-1.json");
    let event = &mut body["events"][0];
    event["org_id"] = ORG.into();
    event["site_id"] = SITE.into();
    event["mac"] = client.into();
    event["client_ip"] = ip.into();
    event["ap"] = AP.into();
    event["bssid"] = BSSID_5.into();
    event["timestamp"] = (time as f64 / 1000.0).into();
    event["type"] = kind.into();
    body
}

#[test]
fn a_nac_accounting_stop_releases_the_ip_it_names() {
    let (start, _) = call_window();
    let mut telemetry = telemetry(10);
    // Mist's example is a STOP: the session of that client, and its IP, ended.
    assert_eq!(
        vendor::example_json("mist/nac-accounting-1.json")["events"][0]["type"],
        "NAC_ACCOUNTING_STOP"
    );
    // The sample caller had .77 from an hour before the call until half an hour before it;
    // the other client got .78 and kept it.
    for (client, ip, time, kind) in [
        (
            CLIENT,
            "10.20.10.77",
            start - 60 * MINUTE,
            "NAC_ACCOUNTING_START",
        ),
        (
            CLIENT,
            "10.20.10.77",
            start - 45 * MINUTE,
            "NAC_ACCOUNTING_UPDATE",
        ),
        (
            CLIENT,
            "10.20.10.77",
            start - 30 * MINUTE,
            "NAC_ACCOUNTING_STOP",
        ),
        (
            OTHER,
            "10.20.10.78",
            start - 60 * MINUTE,
            "NAC_ACCOUNTING_START",
        ),
    ] {
        telemetry.extend(mist_webhook(&nac_accounting(client, ip, time, kind)));
    }
    let by_ip = |name: &str, ip: &str| {
        let mut leg = sample_leg_as(name, 0);
        leg.network.mac_address = None;
        leg.network.ip_address = Some(ip.into());
        leg
    };
    let legs = [
        by_ip("released", "10.20.10.77"),
        by_ip("held", "10.20.10.78"),
    ];
    let verdicts = verdicts(telemetry, &legs);
    let held = &verdicts[&legs[1].leg_id];
    assert!(held.completeness.client, "a held IP finds its client");
    let released = &verdicts[&legs[0].leg_id];
    assert!(
        !released.completeness.client,
        "an IP released before the call is nobody's: {:?}",
        released.completeness
    );
}
