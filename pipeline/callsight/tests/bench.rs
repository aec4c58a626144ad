//! `callsight bench ...` runs each end-to-end benchmark and prints its figures with its setup.
//! Tiny sizes on a debug build: these check that the benchmarks work, not how fast anything is.

use std::process::Command;

fn bench(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_callsight"))
        .arg("bench")
        .args(args)
        .env("CALLSIGHT__ADMIN__LISTEN", "127.0.0.1:0")
        .output()
        .expect("callsight runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "bench {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn state_applies_a_small_campus_and_reports_rate_memory_and_disk() {
    let out = bench(&["state", "500", "5"]);
    for part in [
        "state: 500 clients, 5 minutes",
        "samples applied",
        "samples/s",
        "RocksDB disk",
    ] {
        assert!(out.contains(part), "{part} missing from\n{out}");
    }
}

#[test]
fn kafka_reports_throughput_leg_latency_and_restore() {
    let out = bench(&["kafka", "200", "5", "5"]);
    for part in [
        "kafka: 200 clients, 5 minutes",
        "from Kafka through the state",
        "leg to verdict",
        "restore",
    ] {
        assert!(out.contains(part), "{part} missing from\n{out}");
    }
}

#[test]
fn ingest_and_graph_report_requests_per_second() {
    let out = bench(&["ingest", "1", "4", "ndjson"]);
    assert!(
        out.contains("ingest load, 1 s per phase, 4 concurrent senders"),
        "{out}"
    );
    assert!(out.contains("records/s"), "{out}");
    let out = bench(&["graph", "1", "4", "20"]);
    assert!(out.contains("fetcher, 20 records"), "{out}");
}
