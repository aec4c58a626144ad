//! The simulator through a whole callsight: the accuracy benchmark on a small seed gives a
//! complete, well-formed report. No score or speed is asserted: this checks that the machinery
//! (simulation, ingest, graphsim, fetch, process, scoring) is sound.

use callsight_e2e::test_config;
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accuracy_benchmark_reports_every_cause_it_injected() {
    let dir = tempfile::tempdir().expect("dir");
    let run = callsight_lab::bench::accuracy(
        test_config(),
        &callsight_lab::bench::AccuracyOptions {
            seed: 3,
            faults: 5,
            speed: 1200.0,
            calls_per_site_hour: 30.0,
            out: Some(dir.path().to_path_buf()),
            telemetry: callsight_lab::simdrive::TelemetryPath::Mist,
            world: callsight_lab::bench::accuracy::World::Campus,
        },
    )
    .await
    .expect("the benchmark runs");
    let report = &run.report;
    assert!(!run.labels.is_empty());
    assert_eq!(report.legs_labelled, run.labels.len());
    assert_eq!(
        report.legs_scored + report.legs_ambiguous,
        report.legs_labelled
    );
    assert_eq!(report.legs_without_verdict, 0, "{report}");
    assert!(report.legs_scored > 0, "{report}");
    // Every cause the truth holds has a row whose counts add up, and the confusion matrix
    // accounts for every scored leg.
    let truth: BTreeSet<&str> = run
        .labels
        .iter()
        .filter(|l| !l.ambiguous)
        .map(|l| l.cause.as_str())
        .collect();
    assert!(truth.len() >= 5, "five faults and the good legs: {truth:?}");
    for cause in &truth {
        let row = report
            .classes
            .iter()
            .find(|c| c.class == *cause)
            .unwrap_or_else(|| panic!("no row for {cause}"));
        assert_eq!(row.true_positives + row.false_negatives, row.support);
        for x in [row.precision, row.recall, row.f1] {
            assert!((0.0..=1.0).contains(&x));
        }
    }
    let in_matrix: usize = report.confusion.values().flat_map(|r| r.values()).sum();
    assert_eq!(in_matrix, report.legs_scored);
    assert!((0.0..=1.0).contains(&report.macro_f1));
    assert!(report.scope_scored > 0 && report.guilty_scored > 0);
    let text = report.to_string();
    for part in [
        "| cause | support | precision | recall | F1 |",
        "macro-F1",
        "confusion",
    ] {
        assert!(text.contains(part), "{part} missing from\n{text}");
    }
    assert!(run.setup.contains("seed 3"));
    // The files: one truth line per leg, the verdicts, the report as JSON.
    let truth_lines = std::fs::read_to_string(dir.path().join("truth.ndjson")).expect("truth");
    assert_eq!(truth_lines.lines().count(), run.labels.len());
    let verdicts = std::fs::read_to_string(dir.path().join("verdicts.ndjson")).expect("verdicts");
    assert!(verdicts.lines().count() >= report.legs_scored);
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("report.json")).expect("report.json"),
    )
    .expect("JSON");
    assert_eq!(json["report"]["legs_scored"], report.legs_scored);
}

/// `callsight replay` of `recordings`, its verdicts written to `out`.
async fn replay(recordings: &std::path::Path, out: &std::path::Path) -> callsight::replay::Summary {
    callsight::replay::replay(
        test_config(),
        &callsight::replay::Options {
            dir: recordings.to_path_buf(),
            out: out.to_path_buf(),
            org: None,
            tenant: "00000000-0000-4000-8000-00000000c0de".into(),
            quiet: std::time::Duration::from_secs(30),
            key_hex: None,
        },
    )
    .await
    .expect("the replay runs")
}

/// A recorded incident replayed: every call record's legs get a verdict in the output file, the
/// Mist webhook body among the recordings is accepted, a record that does not normalise is
/// skipped and counted, and the injected faults' causes are there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_writes_a_verdict_for_every_leg_of_the_recordings() {
    let dir = tempfile::tempdir().expect("dir");
    let recordings = dir.path().join("recordings");
    let mut sim = callsight_sim::Simulation::new(callsight_sim::SimConfig {
        seed: 4,
        fault_limit: 3,
        warmup_minutes: 60,
        tail_minutes: 5,
        calls_per_site_hour: 20.0,
        ..callsight_sim::SimConfig::default()
    });
    let faults = sim.faults().to_vec();
    let labels = callsight_lab::sim::record(&mut sim, &recordings).expect("recorded");
    std::fs::copy(
        callsight_e2e::repo_root()
            .join("pipeline/telemetry/tests/data/mist/webhook_device_events.json"),
        recordings.join("webhook_device_events.json"),
    )
    .expect("copy");
    // A record that does not normalise (no id) is skipped and counted, as the fetcher would keep
    // it as a dead letter; the rest of the replay goes on.
    std::fs::write(
        recordings.join("broken.json"),
        r#"{"endDateTime": "2026-01-01T00:00:00Z", "sessions": []}"#,
    )
    .expect("write");
    let out = dir.path().join("verdicts.ndjson");
    let summary = replay(&recordings, &out).await;
    assert_eq!(summary.rejected, 0, "{summary:?}");
    let calls = std::fs::read_dir(&recordings)
        .expect("dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("call-"))
        })
        .count();
    assert_eq!(summary.calls as usize, calls + 1);
    assert_eq!(summary.unusable_calls, 1, "{summary:?}");
    assert_eq!(summary.legs, labels.len(), "{summary:?}");
    assert_eq!(summary.verdicts, labels.len(), "{summary:?}");
    let written: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .expect("verdicts")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(written.len(), labels.len());
    let causes: BTreeSet<&str> = written
        .iter()
        .filter_map(|v| v["primary_cause"].as_str())
        .collect();
    for f in &faults {
        assert!(
            causes.contains(f.kind.cause()),
            "{:?} not found in {causes:?}",
            f.kind
        );
    }
}

/// A Mist customer's recordings replayed: every poll of the simulated Mist org as the poller
/// records it, the webhook bodies, the call records. Each leg gets a verdict, and the faults are
/// found from the recorded polls (a weak signal, which only the polled client statistics show).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_mist_org_replays_to_the_faults_it_recorded() {
    let dir = tempfile::tempdir().expect("dir");
    let recordings = dir.path().join("recordings");
    let mut sim = callsight_sim::Simulation::new(callsight_sim::SimConfig {
        seed: 4,
        fault_limit: 5,
        warmup_minutes: 60,
        tail_minutes: 5,
        calls_per_site_hour: 20.0,
        ..callsight_sim::SimConfig::default()
    });
    let faults = sim.faults().to_vec();
    let labels = callsight_lab::sim::record_mist(&mut sim, &recordings)
        .await
        .expect("recorded");
    let polls = std::fs::read_dir(&recordings)
        .expect("dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("mist-poll-"))
        })
        .count();
    assert!(polls > 60, "a poll per simulated minute: {polls}");
    let out = dir.path().join("verdicts.ndjson");
    let summary = replay(&recordings, &out).await;
    assert_eq!(summary.mist_polls as usize, polls, "{summary:?}");
    assert_eq!(summary.rejected, 0, "{summary:?}");
    assert_eq!(summary.legs, labels.len(), "{summary:?}");
    assert_eq!(summary.verdicts, labels.len(), "{summary:?}");
    let written: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .expect("verdicts")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let causes: BTreeSet<&str> = written
        .iter()
        .filter_map(|v| v["primary_cause"].as_str())
        .collect();
    assert!(
        faults
            .iter()
            .any(|f| f.kind == callsight_sim::FaultKind::WeakSignal),
        "the first five faults include a weak signal"
    );
    for f in &faults {
        assert!(
            causes.contains(f.kind.cause()),
            "{:?} not found in {causes:?}",
            f.kind
        );
    }
}
