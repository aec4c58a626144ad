//! What the simulator emits is what real sources send: every callRecord validates against Graph's
//! v1.0 schema (`tests/tools/graph_tools/validate.py`), every telemetry line against
//! `schemas/telemetry.schema.json` (Python's `jsonschema`, installed by the test command).

use callsight_sim::{Schedule, SimConfig, Simulation};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// A short run with every fault kind active somewhere.
fn run() -> (Vec<Value>, Vec<Value>) {
    let mut sim = Simulation::new(SimConfig {
        seed: 11,
        schedule: Schedule::Standard,
        warmup_minutes: 5,
        calls_per_site_hour: 30.0,
        ..SimConfig::default()
    });
    let mut lines = sim.inventory(sim.start_ms());
    let mut records = Vec::new();
    while !sim.calls_done() {
        let m = sim.step();
        lines.extend(m.telemetry);
        records.extend(m.calls.into_iter().map(|c| c.record));
    }
    (lines, records)
}

#[test]
fn records_and_lines_validate_against_the_real_schemas() {
    let (lines, records) = run();
    let dir = tempfile::tempdir().expect("dir");
    // One peer-to-peer call and one meeting, each with video and without.
    let mut picked: BTreeMap<(String, bool), &Value> = BTreeMap::new();
    for r in &records {
        let video = r["modalities"].as_array().is_some_and(|m| m.len() > 1);
        picked
            .entry((r["type"].as_str().unwrap_or_default().to_string(), video))
            .or_insert(r);
    }
    assert_eq!(
        picked.len(),
        4,
        "both kinds of call, with and without video"
    );
    for (i, record) in picked.values().enumerate() {
        let file = dir.path().join(format!("record{i}.json"));
        std::fs::write(&file, serde_json::to_vec_pretty(record).expect("json")).expect("write");
        let output = Command::new("python3")
            .arg(repo().join("tests/tools/graph_tools/validate.py"))
            .arg("callRecord")
            .arg(&file)
            .output()
            .expect("python3 runs");
        assert!(
            output.status.success(),
            "a simulated record does not validate:\n{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
    // The first line of each type and subtype (events by kind).
    let mut by_type: BTreeMap<String, &Value> = BTreeMap::new();
    for l in &lines {
        let key = format!("{}/{}", l["type"], l["kind"]);
        by_type.entry(key).or_insert(l);
    }
    for t in [
        "site",
        "subnet",
        "access_point",
        "switch",
        "gateway",
        "wan_link",
        "ap",
        "ap_radio",
        "wireless_client",
        "client_binding",
        "switch_port",
        "wan_path",
        "event",
    ] {
        assert!(
            by_type.keys().any(|k| k.starts_with(&format!("\"{t}\"/"))),
            "no {t} line"
        );
    }
    let file = dir.path().join("lines.ndjson");
    let text: Vec<String> = by_type.values().map(|v| v.to_string()).collect();
    std::fs::write(&file, text.join("\n")).expect("write");
    let script = r#"
import json, sys
from jsonschema import Draft202012Validator
v = Draft202012Validator(json.load(open(sys.argv[1])))
bad = [(l, [e.message for e in v.iter_errors(json.loads(l))]) for l in open(sys.argv[2]) if l.strip()]
bad = [b for b in bad if b[1]]
print(json.dumps(bad))
sys.exit(1 if bad else 0)
"#;
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(repo().join("schemas/telemetry.schema.json"))
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "lines the schema refuses: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
