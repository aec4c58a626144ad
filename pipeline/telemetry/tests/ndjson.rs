//! The vendor-neutral NDJSON format: the worked example, the published JSON Schema, and
//! properties of the parser.

use callsight_model::types::{
    ApRadioSample, EntityKind, NetworkEvent, NetworkEventKind, NetworkSample, SampleBody,
    SwitchPortSample, WanPathSample, WifiBand, WirelessClientSample,
};
use callsight_telemetry::TimeWindow;
use callsight_telemetry::mist::webhook;
use callsight_telemetry::ndjson::{self, Parser, to_line};
use callsight_telemetry::{Batch, Record};
use proptest::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ndjson/example.ndjson"))
        .expect("example")
}

#[test]
fn the_worked_example_is_accepted_whole() {
    let batch = Parser::new().parse(&example(), TimeWindow::ANY);
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    assert_eq!(batch.records.len(), 14);
    let inventory: Vec<String> = batch
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Inventory(i) => Some(i.entity_id.clone()),
            Record::Sample(_) => None,
        })
        .collect();
    assert_eq!(
        inventory,
        vec![
            "site:site-lon",
            "ap:001122334450",
            "switch:00aabbccdd00",
            "gateway:00aabbccee00",
            "subnet:org-acme/site-lon/10.40.8.0/22",
            "wan:00aabbccee00/wan0",
        ]
    );
    // MACs in any spelling are normalised, at any depth.
    let Record::Inventory(ap) = &batch.records[1] else {
        panic!()
    };
    let json = serde_json::to_string(ap).expect("json");
    assert!(
        json.contains("\"001122334461\"") && json.contains("\"00aabbccdd00\""),
        "{json}"
    );
    // IF-MIB counters 60 s apart become rates: (720 - 120) / 60 errors, (70 - 10) / 60 discards.
    let ports: Vec<&SwitchPortSample> = batch
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Sample(NetworkSample {
                body: SampleBody::SwitchPort(p),
                ..
            }) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(
        ports[0].rx_errors_per_s, None,
        "no rate from the first reading"
    );
    assert_eq!(ports[1].rx_errors_per_s, Some(10.0));
    assert_eq!(ports[1].tx_drops_per_s, Some(1.0));
    assert_eq!(ports[1].rx_drops_per_s, Some(0.0));
    // RFC 3339 with an offset.
    let Record::Sample(wan) = &batch.records[12] else {
        panic!()
    };
    assert_eq!(wan.time, 1_767_603_660_000);
}

#[test]
fn lines_are_validated_one_by_one_with_reasons() {
    let body = br#"{"type":"ap","org_id":"o","site_id":"s","time":1,"ap_mac":"001122334450"}
not json
{"type":"ap","org_id":"o","site_id":"s","time":1,"ap_mac":"001122334450","rssi":-70}
{"type":"warp_drive","org_id":"o","site_id":"s","time":1}
{"type":"ap","org_id":"o","site_id":"s","ap_mac":"001122334450"}
{"type":"ap","org_id":"o","site_id":"s","time":1,"ap_mac":"zz"}

{"type":"subnet","org_id":"o","site_id":"s","time":1,"cidr":"10.0.0.0"}
"#;
    let batch = Parser::new().parse(body, TimeWindow::ANY);
    assert_eq!(batch.records.len(), 1);
    let lines: Vec<usize> = batch.rejected.iter().map(|r| r.index).collect();
    assert_eq!(lines, vec![2, 3, 4, 5, 6, 8]);
    let errors: Vec<&str> = batch.rejected.iter().map(|r| r.error.as_str()).collect();
    assert!(errors[0].starts_with("not JSON"), "{errors:?}");
    assert!(errors[1].contains("unknown field `rssi`"), "{errors:?}");
    assert!(
        errors[2].contains("unknown type \"warp_drive\""),
        "{errors:?}"
    );
    assert_eq!(errors[3], "no time");
    assert!(errors[4].contains("not a MAC address"), "{errors:?}");
    assert!(errors[5].contains("no prefix length"), "{errors:?}");
    assert_eq!(
        batch.rejected[1].raw,
        br#"{"type":"ap","org_id":"o","site_id":"s","time":1,"ap_mac":"001122334450","rssi":-70}"#
    );
}

#[test]
fn the_published_schema_is_the_generated_one() {
    let path = repo().join("schemas/telemetry.schema.json");
    let generated = serde_json::to_string_pretty(&ndjson::json_schema()).expect("json") + "\n";
    if std::env::var_os("CALLSIGHT_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write");
    }
    let published = std::fs::read_to_string(&path).expect("schemas/telemetry.schema.json");
    assert_eq!(
        published, generated,
        "schemas/telemetry.schema.json is stale: CALLSIGHT_BLESS=1 cargo test -p callsight-telemetry --test ndjson"
    );
}

/// Python's reference JSON Schema validator agrees with the parser on the example and on a few
/// bad lines (the test command installs `jsonschema`).
#[test]
fn the_schema_accepts_what_the_parser_accepts() {
    let dir = std::env::temp_dir().join(format!("callsight-ndjson-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = [
        r#"{"type":"ap","org_id":"o","site_id":"s","time":1,"ap_mac":"001122334450","rssi":-70}"#,
        r#"{"type":"ap","org_id":"o","site_id":"s","ap_mac":"001122334450"}"#,
        r#"{"type":"warp_drive","org_id":"o","site_id":"s","time":1}"#,
    ];
    std::fs::write(dir.join("good.ndjson"), example()).expect("write");
    std::fs::write(dir.join("bad.ndjson"), bad.join("\n")).expect("write");
    let script = r#"
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
v = Draft202012Validator(schema)
out = {}
for name in ("good", "bad"):
    lines = [l for l in open(f"{sys.argv[2]}/{name}.ndjson") if l.strip()]
    out[name] = [v.is_valid(json.loads(l)) for l in lines]
print(json.dumps(out))
"#;
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(repo().join("schemas/telemetry.schema.json"))
        .arg(&dir)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "python jsonschema failed (the test command installs it): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verdicts: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(
        verdicts["good"]
            .as_array()
            .expect("good")
            .iter()
            .all(|v| v == true),
        "{verdicts}"
    );
    assert!(
        verdicts["bad"]
            .as_array()
            .expect("bad")
            .iter()
            .all(|v| v == false),
        "{verdicts}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn mac_strategy() -> impl Strategy<Value = String> {
    any::<[u8; 6]>().prop_map(|b| {
        let mut b = b;
        b[0] &= 0xfc; // a globally administered unicast address
        b[0] |= 0x04;
        b.iter().map(|x| format!("{x:02x}")).collect()
    })
}

fn finite() -> impl Strategy<Value = f64> {
    (-1_000_000i64..1_000_000).prop_map(|x| x as f64 / 64.0)
}

fn body_strategy() -> impl Strategy<Value = SampleBody> {
    prop_oneof![
        (
            mac_strategy(),
            mac_strategy(),
            finite(),
            proptest::option::of(finite())
        )
            .prop_map(|(c, a, rssi, snr)| {
                SampleBody::WirelessClient(WirelessClientSample {
                    client_mac: c,
                    ap_mac: a,
                    band: WifiBand::Band5Ghz,
                    rssi_dbm: Some(rssi),
                    snr_db: snr,
                    ..Default::default()
                })
            }),
        (mac_strategy(), 0.0f64..1.0, 0i32..200).prop_map(|(a, u, n)| SampleBody::ApRadio(
            ApRadioSample {
                ap_mac: a,
                band: WifiBand::Band2_4Ghz,
                util_all_ratio: Some(u),
                num_clients: Some(n),
                ..Default::default()
            }
        )),
        (
            mac_strategy(),
            "[a-z]{2}-[0-9]/[0-9]/[0-9]{1,2}",
            any::<bool>(),
            finite()
        )
            .prop_map(|(s, p, up, e)| {
                SampleBody::SwitchPort(SwitchPortSample {
                    switch_mac: s,
                    port_id: p,
                    up,
                    rx_errors_per_s: Some(e.abs()),
                    ..Default::default()
                })
            }),
        (mac_strategy(), finite(), 0.0f64..1.0).prop_map(|(g, l, loss)| SampleBody::WanPath(
            WanPathSample {
                gateway_mac: g,
                wan_port_id: "wan0".into(),
                up: true,
                latency_ms: Some(l.abs()),
                loss_ratio: Some(loss),
                ..Default::default()
            }
        )),
        (mac_strategy(), "[A-Z_]{3,20}").prop_map(|(m, t)| SampleBody::Event(NetworkEvent {
            kind: NetworkEventKind::ApRestart,
            vendor_type: t,
            entity_kind: EntityKind::Ap,
            entity_id: m,
            ..Default::default()
        })),
    ]
}

fn sample_strategy() -> impl Strategy<Value = NetworkSample> {
    (
        "[a-z0-9-]{1,12}",
        "[a-z0-9-]{1,12}",
        0i64..4_000_000_000_000,
        0i64..5,
        body_strategy(),
    )
        .prop_map(|(org, site, time, sequence, body)| NetworkSample {
            org_id: org,
            site_id: site,
            time,
            source: "exporter".into(),
            sequence,
            body,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Valid lines come out exactly, whatever garbage lines stand between them.
    #[test]
    fn valid_lines_survive_garbage(
        samples in prop::collection::vec(sample_strategy(), 0..20),
        garbage in prop::collection::vec(prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..80), 0..10),
    ) {
        let mut body = Vec::new();
        let mut garbage = garbage.into_iter();
        for sample in &samples {
            if let Some(g) = garbage.next() {
                body.extend_from_slice(&g);
                body.push(b'\n');
            }
            body.extend_from_slice(to_line(&Record::Sample(sample.clone())).as_bytes());
            body.push(b'\n');
        }
        let batch: Batch = Parser::new().parse(&body, TimeWindow::ANY);
        let parsed: Vec<NetworkSample> = batch
            .records
            .into_iter()
            .filter_map(|r| match r { Record::Sample(s) if s.source == "exporter" => Some(s), _ => None })
            .collect();
        prop_assert_eq!(parsed, samples);
    }

    /// Whatever arrives, parsing returns.
    #[test]
    fn garbage_never_panics(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Parser::new().parse(&body, TimeWindow::ANY);
        let _ = webhook::parse(&body, &anytime(Some("org")));
    }
}

/// The worked SNMP converter in `docs/examples` turns two IF-MIB walks into lines callsight
/// accepts, and the second walk yields rates.
#[test]
fn the_snmp_converter_example_produces_accepted_lines() {
    let script = repo().join("docs/examples/snmp_ifmib_to_ndjson.py");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/snmp");
    let mut body = Vec::new();
    for (walk, time) in [
        ("walk1.txt", "1741597500000"),
        ("walk2.txt", "1741597800000"),
    ] {
        let output = Command::new("python3")
            .arg(&script)
            .args([
                "--org",
                "org-acme",
                "--site",
                "site-hq",
                "--switch-mac",
                "0C:81:26:C7:A1:00",
            ])
            .arg("--walk-file")
            .arg(data.join(walk))
            .args(["--time", time])
            .output()
            .expect("python3 runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        body.extend_from_slice(&output.stdout);
    }
    let batch = Parser::new().parse(&body, TimeWindow::ANY);
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    assert_eq!(batch.records.len(), 4);
    let Record::Sample(NetworkSample {
        body: SampleBody::SwitchPort(port),
        ..
    }) = &batch.records[2]
    else {
        panic!("{:?}", batch.records[2])
    };
    assert_eq!(port.port_id, "ge-0/0/1");
    assert_eq!(port.switch_mac, "0c8126c7a100");
    assert_eq!(port.speed_mbps, Some(100));
    assert_eq!(port.full_duplex, Some(false));
    assert!((port.rx_errors_per_s.expect("a rate") - 3373.0 / 300.0).abs() < 1e-9);
    assert_eq!(port.tx_drops_per_s, Some(2.0));
}

#[test]
fn counters_of_ports_gone_for_an_hour_are_forgotten() {
    let line = |port: &str, time: i64, errors: u64| {
        format!(
            r#"{{"type":"switch_port","org_id":"o","site_id":"s","time":{time},"switch_mac":"001122334455","port_id":"{port}","up":true,"rx_errors":{errors}}}"#
        )
    };
    let mut parser = Parser::new();
    parser.parse(line("ge-0/0/1", 1_000, 5).as_bytes(), TimeWindow::ANY);
    parser.parse(line("ge-0/0/2", 2_000, 5).as_bytes(), TimeWindow::ANY);
    assert_eq!(parser.tracked_counters(), 2);
    // Two hours later only the port still reporting is tracked.
    let later = 2_000 + 2 * 3_600_000;
    parser.parse(line("ge-0/0/2", later, 9).as_bytes(), TimeWindow::ANY);
    assert_eq!(parser.tracked_counters(), 1);
    // The forgotten port starts afresh: no rate from its first reading back.
    let batch = parser.parse(
        line("ge-0/0/1", later + 60_000, 100).as_bytes(),
        TimeWindow::ANY,
    );
    let Record::Sample(NetworkSample {
        body: SampleBody::SwitchPort(port),
        ..
    }) = &batch.records[0]
    else {
        panic!("a switch port sample")
    };
    assert_eq!(port.rx_errors_per_s, None);
}

/// A delivery for `org` that accepts any event time (the samples are of the past).
fn anytime(org: Option<&str>) -> webhook::Delivery<'_> {
    webhook::Delivery {
        org,
        window: TimeWindow::ANY,
    }
}

#[test]
fn lines_outside_the_time_window_or_too_long_are_rejected_alone() {
    let now = 1_800_000_000_000_i64;
    let window = TimeWindow::around(
        now,
        std::time::Duration::from_secs(7 * 86_400),
        std::time::Duration::from_secs(600),
    );
    let ap = |time: &str, org: &str| {
        format!(
            r#"{{"type":"ap","org_id":"{org}","site_id":"s","time":{time},"ap_mac":"001122334450"}}"#
        )
    };
    let body = [
        ap(&now.to_string(), "o"),
        ap(&i64::MAX.to_string(), "o"),
        ap(&i64::MIN.to_string(), "o"),
        ap(&(now + 600_001).to_string(), "o"),
        ap(&(now - 8 * 86_400_000).to_string(), "o"),
        ap(&now.to_string(), &"o".repeat(300)),
        format!(
            r#"{{"type":"ap","org_id":"o","site_id":"s","time":{now},"ap_mac":"001122334450","name":"{}"}}"#,
            "n".repeat(70_000)
        ),
        ap(&(now + 600_000).to_string(), "o"),
    ]
    .join("\n");
    let batch = Parser::new().parse(body.as_bytes(), window);
    assert_eq!(batch.records.len(), 2, "{:?}", batch.rejected);
    let lines: Vec<usize> = batch.rejected.iter().map(|r| r.index).collect();
    assert_eq!(lines, vec![2, 3, 4, 5, 6, 7]);
    let errors: Vec<&str> = batch.rejected.iter().map(|r| r.error.as_str()).collect();
    assert!(
        errors[0].contains("further ahead than accepted"),
        "{errors:?}"
    );
    assert!(errors[1].contains("older than accepted"), "{errors:?}");
    assert!(
        errors[4].starts_with("org_id is 300 bytes long"),
        "{errors:?}"
    );
    assert!(errors[5].starts_with("the line is"), "{errors:?}");
    // Its dead letter keeps the first 64 KiB: it always fits a broker's message.
    assert!(
        errors[5].ends_with("(the first 65536 of 70095 bytes are kept)"),
        "{errors:?}"
    );
    assert_eq!(batch.rejected[5].raw.len(), 65_536);
}
