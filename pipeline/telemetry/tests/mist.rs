//! Mist webhooks and statistics: the documented signatures, and golden files of the records
//! every sample normalises to. `CALLSIGHT_BLESS=1 cargo test -p callsight-telemetry --test mist`
//! rewrites the golden files (review the diff before committing it).

use callsight_telemetry::TimeWindow;
use callsight_telemetry::mist::signature::{SignatureError, verify};
use callsight_telemetry::mist::stats::{self, Scope, StatsNormalizer};
use callsight_telemetry::mist::webhook;
use callsight_telemetry::{Batch, Record};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SECRET: &[u8] = b"s3cr3t";
const ORG: &str = "0c8e2d7a-5f31-4b62-9d84-1a2b3c4d5e6f";
const SITE: &str = "3f9c1e2a-7b4d-4c8e-9a01-5d6e7f809a1b";
/// The poll of the samples' timeline: 2025-03-10T09:10:00Z.
const POLL: i64 = 1_741_597_800_000;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mist")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(data().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn json(name: &str) -> Value {
    serde_json::from_slice(&read(name)).expect("JSON")
}

/// The documented header values, from SIGNATURES.txt.
fn signatures() -> BTreeMap<String, (String, String)> {
    let text = String::from_utf8(read("SIGNATURES.txt")).expect("utf-8");
    let mut out = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("webhook_") && trimmed.contains(".json") {
            current = trimmed.split_whitespace().next().map(str::to_string);
        } else if let (Some(file), Some(v2)) =
            (&current, trimmed.strip_prefix("X-Mist-Signature-v2:"))
        {
            out.insert(file.clone(), (v2.trim().to_string(), String::new()));
        } else if let (Some(file), Some(v1)) = (&current, trimmed.strip_prefix("X-Mist-Signature:"))
        {
            if let Some(entry) = out.get_mut(file) {
                entry.1 = v1.trim().to_string();
            }
            current = None;
        }
    }
    out
}

#[test]
fn every_sample_verifies_with_its_documented_signature() {
    let sigs = signatures();
    assert_eq!(sigs.len(), 5, "{sigs:?}");
    for (file, (v2, v1)) in &sigs {
        let body = read(file);
        assert_eq!(
            verify(SECRET, &body, Some(v2), None, false),
            Ok(()),
            "{file} v2"
        );
        assert_eq!(
            verify(SECRET, &body, None, Some(v1), true),
            Ok(()),
            "{file} v1"
        );
        assert_eq!(
            verify(SECRET, &body, None, Some(v1), false),
            Err(SignatureError::LegacyNotAllowed),
            "{file}: SHA1 only when allowed"
        );
        assert_eq!(
            verify(b"wrong", &body, Some(v2), None, false),
            Err(SignatureError::Mismatch),
            "{file}: another secret"
        );
        for i in [0, body.len() / 2, body.len() - 1] {
            let mut changed = body.clone();
            changed[i] ^= 0x01;
            assert_eq!(
                verify(SECRET, &changed, Some(v2), None, false),
                Err(SignatureError::Mismatch),
                "{file}: byte {i} changed"
            );
        }
    }
}

#[test]
fn the_documented_failing_bodies_fail() {
    let (v2, _) = signatures()["webhook_client_join.json"].clone();
    let original: Value = json("webhook_client_join.json");
    let compact = serde_json::to_vec(&original).expect("compact");
    assert_eq!(
        compact.len(),
        421,
        "the compact re-serialisation of SIGNATURES.txt"
    );
    assert_eq!(
        verify(SECRET, &compact, Some(&v2), None, false),
        Err(SignatureError::Mismatch)
    );
    let mut newline = read("webhook_client_join.json");
    newline.push(b'\n');
    assert_eq!(
        verify(SECRET, &newline, Some(&v2), None, false),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify(SECRET, &newline, None, None, false),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        verify(SECRET, &newline, Some("zz"), None, false),
        Err(SignatureError::Malformed)
    );
}

fn render(batch: &Batch) -> Value {
    let records: Vec<Value> = batch
        .records
        .iter()
        .map(|r| match r {
            Record::Sample(s) => {
                serde_json::json!({ "topic": "net.telemetry", "key": r.key(), "value": s })
            }
            Record::Inventory(i) => {
                serde_json::json!({ "topic": "net.inventory", "key": r.key(), "value": i })
            }
        })
        .collect();
    let rejected: Vec<Value> = batch
        .rejected
        .iter()
        .map(|r| serde_json::json!({ "index": r.index, "error": r.error }))
        .collect();
    serde_json::json!({ "records": records, "rejected": rejected, "ignored": batch.ignored })
}

fn golden(name: &str, batch: &Batch) {
    let path = data().join("expected").join(format!("{name}.json"));
    let actual = render(batch);
    if std::env::var_os("CALLSIGHT_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let text = serde_json::to_string_pretty(&actual).expect("json") + "\n";
        std::fs::write(&path, text).expect("write");
        return;
    }
    let expected: Value = serde_json::from_slice(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (bless first)", path.display())),
    )
    .expect("JSON");
    assert_eq!(actual, expected, "{name} differs from its golden file");
}

#[test]
fn webhooks_normalise_to_their_golden_records() {
    for name in [
        "webhook_client_sessions",
        "webhook_client_join",
        "webhook_client_info",
        "webhook_device_events",
        "webhook_alarms",
    ] {
        let batch =
            webhook::parse(&read(&format!("{name}.json")), &anytime(Some(ORG))).expect("parses");
        assert!(batch.rejected.is_empty(), "{name}: {:?}", batch.rejected);
        golden(name, &batch);
    }
}

#[test]
fn statistics_normalise_to_their_golden_records() {
    let scope = Scope {
        org_id: ORG,
        site_id: SITE,
        poll_ms: POLL,
    };
    let mut normalizer = StatsNormalizer::new();
    let array = |v: Value| v.as_array().cloned().unwrap_or_else(|| vec![v]);

    golden(
        "stats_wireless_client",
        &normalizer.wireless_clients(&scope, &array(json("stats_wireless_client.json"))),
    );
    golden(
        "stats_ap",
        &normalizer.aps(&scope, &array(json("stats_ap.json"))),
    );
    golden(
        "stats_gateway",
        &normalizer.gateways(&scope, &array(json("stats_gateway.json"))),
    );
    golden(
        "vpn_peer_stat",
        &normalizer.vpn_peers(ORG, POLL, &array(json("vpn_peer_stat.json"))),
    );
    golden(
        "subnets",
        &stats::subnets(
            &scope,
            &array(json("org_networks.json")),
            &json("site_setting_derived.partial.json"),
        ),
    );

    // Two polls five minutes apart: the second has rates.
    let switches = BTreeMap::from([(
        "0c8126c7a100".to_string(),
        (
            Some("HQ-ACC-SW1".to_string()),
            Some("EX2300-C-12P".to_string()),
        ),
    )]);
    let gateways = stats::GatewayPorts {
        macs: BTreeSet::from(["4c96147e2b00".to_string()]),
        ..Default::default()
    };
    let earlier = Scope {
        poll_ms: POLL - 300_000,
        ..scope.clone()
    };
    normalizer.switch_ports(
        &earlier,
        &array(json("stats_switch_port.prev.json")),
        &switches,
        &gateways,
    );
    golden(
        "stats_switch_port",
        &normalizer.switch_ports(
            &scope,
            &array(json("stats_switch_port.json")),
            &switches,
            &gateways,
        ),
    );
}

#[test]
fn quirks_are_tolerated() {
    // Underscore topic, upper-case ev_type, string timestamp, float duration, unknown fields.
    let body = br#"{"topic":"device_events","events":[{"mac":"0C:81:26:C7:A1:00","device_type":"switch","type":"SW_PORT_DOWN","ev_type":"NOTICE","port_id":"ge-0/0/3","site_id":"s","timestamp":"1741597510.5","shiny_new_field":[1,2]}]}"#;
    let batch = webhook::parse(body, &anytime(Some("org"))).expect("parses");
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    let Record::Sample(s) = &batch.records[0] else {
        panic!("a sample")
    };
    assert_eq!(s.time, 1_741_597_510_500);
    assert_eq!(s.org_id, "org");
    let callsight_model::types::SampleBody::Event(e) = &s.body else {
        panic!("an event")
    };
    assert_eq!(e.entity_id, "0c8126c7a100/ge-0/0/3");
}

#[test]
fn bad_events_are_rejected_one_by_one() {
    let body = br#"{"topic":"client-join","events":[{"mac":"a4c3f0851a2b","site_id":"s","timestamp":1},{"site_id":"s","timestamp":1},{"mac":"nonsense","site_id":"s","timestamp":1},{"mac":"a4c3f0851a2b","timestamp":1},7]}"#;
    let batch = webhook::parse(body, &anytime(Some("org"))).expect("parses");
    assert_eq!(batch.records.len(), 1);
    let errors: Vec<(usize, &str)> = batch
        .rejected
        .iter()
        .map(|r| (r.index, r.error.as_str()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (1, "no mac"),
            (2, "mac \"nonsense\" is not a MAC address"),
            (3, "no site_id"),
            (4, "the event is not an object"),
        ]
    );
}

#[test]
fn unusable_bodies_are_errors_and_other_topics_are_ignored() {
    assert!(webhook::parse(b"not json", &anytime(None)).is_err());
    assert!(webhook::parse(br#"{"events":[]}"#, &anytime(None)).is_err());
    assert!(webhook::parse(br#"{"topic":"alarms"}"#, &anytime(None)).is_err());
    let ping = webhook::parse(
        br#"{"topic":"ping","events":[{"id":"x","name":"y","site_id":"s","timestamp":1}]}"#,
        &anytime(None),
    )
    .expect("parses");
    assert_eq!((ping.records.len(), ping.ignored), (0, 1));
}

/// A delivery for `org` that accepts any event time (the samples are of the past).
fn anytime(org: Option<&str>) -> webhook::Delivery<'_> {
    webhook::Delivery {
        org,
        window: TimeWindow::ANY,
    }
}

#[test]
fn events_of_another_org_far_times_or_huge_size_are_rejected_alone() {
    let now = 1_800_000_000;
    let event = |org: &str, connect: &str, name: &str| {
        format!(
            r#"{{"mac":"a4c3f0851a2b","site_id":"s","org_id":"{org}","connect":{connect},"ap":"5c5b35000001","ssid":"{name}"}}"#
        )
    };
    let events = [
        event("A", &now.to_string(), "ok"),
        event("B", &now.to_string(), "other org"),
        event("A", "1e300", "far future"),
        event("A", "-1e300", "far past"),
        event("A", &now.to_string(), &"x".repeat(70_000)),
        format!(r#"{{"mac":"a4c3f0851a2b","site_id":"s","connect":{now},"ap":"5c5b35000001"}}"#),
    ];
    let body = format!(
        r#"{{"topic":"client-join","events":[{}]}}"#,
        events.join(",")
    );
    let delivery = webhook::Delivery {
        org: Some("A"),
        window: TimeWindow::around(
            now * 1000,
            std::time::Duration::from_secs(7 * 86_400),
            std::time::Duration::from_secs(600),
        ),
    };
    let batch = webhook::parse(body.as_bytes(), &delivery).expect("parses");
    let indices: Vec<usize> = batch.rejected.iter().map(|r| r.index).collect();
    assert_eq!(indices, vec![1, 2, 3, 4], "{:?}", batch.rejected);
    assert!(batch.rejected[0].error.contains("another org"));
    assert!(batch.rejected[1].error.contains("further ahead"));
    assert!(batch.rejected[2].error.contains("older"));
    assert!(batch.rejected[3].error.contains("larger than"));
    assert!(!batch.records.is_empty());
    for record in &batch.records {
        let Record::Sample(s) = record else {
            panic!("a sample")
        };
        assert_eq!(s.org_id, "A", "the signed org files every event");
    }
}

/// Mist's own port search example: its one row is a gateway's port (`type: gateway`).
fn vendor_port_row() -> Value {
    callsight_testkit::vendor::example_json("mist/stats-ports-search-1.json")["results"][0].clone()
}

#[test]
fn gateway_rows_of_the_port_search_are_wan_links_not_switches() {
    let scope = Scope {
        org_id: ORG,
        site_id: SITE,
        poll_ms: POLL,
    };
    let row = vendor_port_row();
    assert_eq!(row["type"], "gateway");
    let gateway = "5c4527a96580";
    let mut wan = row.clone();
    wan["port_usage"] = "wan".into();
    wan["latency"] = 42.0.into();
    wan["jitter"] = 7.0.into();
    wan["loss"] = 1.5.into();
    wan["rx_bps"] = 80_000_000.into();
    wan["speed"] = 100.into();
    let mut unsaid = wan.clone();
    unsaid.as_object_mut().expect("object").remove("port_usage");
    unsaid["port_id"] = "ge-0/0/1".into();
    for (rows, lan) in [(vec![row.clone()], true), (vec![wan, unsaid], false)] {
        let batch = StatsNormalizer::new().switch_ports(
            &scope,
            &rows,
            &BTreeMap::new(),
            &stats::GatewayPorts::default(),
        );
        assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
        for record in &batch.records {
            if let Record::Inventory(i) = record {
                assert!(!i.entity_id.starts_with("switch:"), "a fake switch: {i:?}");
            }
        }
        let paths: Vec<_> = batch
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Sample(s) => match &s.body {
                    callsight_model::types::SampleBody::WanPath(w) => Some(w.clone()),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        if lan {
            assert!(paths.is_empty(), "a LAN port of the gateway is no WAN link");
            continue;
        }
        assert_eq!(paths.len(), 2);
        let first = &paths[0];
        assert_eq!(first.gateway_mac, gateway);
        assert_eq!(first.wan_port_id, "ge-0/0/0");
        assert_eq!(first.latency_ms, Some(42.0));
        assert_eq!(first.jitter_ms, Some(7.0));
        assert_eq!(first.loss_ratio, Some(0.015));
        assert_eq!(first.rx_bps, Some(80_000_000));
        assert_eq!(first.capacity_down_bps, Some(100_000_000));
        assert_eq!(first.peer_mac, None);
        let links: Vec<String> = batch
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Inventory(i) => Some(i.entity_id.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            links,
            [
                format!("wan:{gateway}/ge-0/0/0"),
                format!("wan:{gateway}/ge-0/0/1")
            ]
        );
    }

    // A port the gateway's `if_stat` lists as WAN keeps the link inventory from there.
    let mut known = row.clone();
    known["port_usage"] = serde_json::Value::Null;
    let gateways = stats::GatewayPorts {
        macs: BTreeSet::from([gateway.to_string()]),
        wan: BTreeSet::from([(gateway.to_string(), "ge-0/0/0".to_string())]),
        ..Default::default()
    };
    let batch = StatsNormalizer::new().switch_ports(&scope, &[known], &BTreeMap::new(), &gateways);
    assert!(
        batch.records.iter().all(|r| matches!(r, Record::Sample(_))),
        "one sample, no second inventory of the link"
    );
}
