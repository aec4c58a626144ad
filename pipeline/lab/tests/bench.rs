//! `callsight-lab bench ...` runs each end-to-end benchmark and prints its figures with its setup.
//! Tiny sizes on a debug build: these check that the benchmarks work, not how fast anything is.

use std::process::Command;

fn bench(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_callsight-lab"))
        .arg("bench")
        .args(args)
        .env("CALLSIGHT__ADMIN__LISTEN", "127.0.0.1:0")
        .output()
        .expect("callsight-lab runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "bench {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs `callsight-lab bench ARGS` and checks that its report has every part.
fn reports(args: &[&str], parts: &[&str]) {
    let out = bench(args);
    for part in parts {
        assert!(out.contains(part), "{part} missing from\n{out}");
    }
}

#[test]
fn state_applies_a_small_campus_and_reports_rate_memory_and_disk() {
    reports(
        &["state", "500", "5"],
        &[
            "state: 500 clients, 5 minutes",
            "samples applied",
            "samples/s",
            "RocksDB disk",
        ],
    );
}

#[test]
fn kafka_reports_throughput_leg_latency_and_restore() {
    reports(
        &["kafka", "200", "5", "5"],
        &[
            "kafka: 200 clients, 5 minutes",
            "from Kafka through the state",
            "leg to verdict",
            "restore",
        ],
    );
}

#[test]
fn ingest_and_graph_report_requests_per_second() {
    reports(
        &["ingest", "1", "4", "ndjson"],
        &[
            "ingest load, 1 s per phase, 4 concurrent senders",
            "records/s",
        ],
    );
    reports(&["graph", "1", "4", "20"], &["fetcher, 20 records"]);
}
