//! The `callsight` command itself: configuration errors, printing, and a real SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn callsight() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_callsight"));
    // Only what a test sets reaches the process.
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

#[test]
fn config_print_shows_the_effective_configuration_with_secrets_redacted() {
    let output = callsight()
        .args(["config", "print"])
        .env("CALLSIGHT__KAFKA__BROKERS", "kafka-0:9092")
        .env("CALLSIGHT__KAFKA__PROPERTIES__SASL_PASSWORD", "hunter2")
        .env(
            "CALLSIGHT__CODEC__SCHEMA_REGISTRY_URL",
            "http://registry:8081",
        )
        .env("CALLSIGHT__CODEC__SCHEMA_REGISTRY_PASSWORD", "s3cr3t")
        .output()
        .expect("runs");
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).expect("utf-8");
    assert!(printed.contains("brokers = \"kafka-0:9092\""), "{printed}");
    assert!(printed.contains("[topics.legs]"), "{printed}");
    assert!(
        !printed.contains("hunter2") && !printed.contains("s3cr3t"),
        "{printed}"
    );
    assert!(printed.contains("<redacted>"), "{printed}");
}

#[test]
fn an_unknown_key_exits_2_and_names_it() {
    let output = callsight()
        .args(["config", "check"])
        .env("CALLSIGHT__TOPICS__LEGS__PARTITION", "12")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("topics.legs.partition"), "{stderr}");
}

/// With a Kafka cluster, the ingest role does not serve `POST /telemetry` to anyone unless told
/// to: it refuses to start, naming both ways out.
#[test]
fn ingest_without_a_token_refuses_to_start_on_a_cluster() {
    let output = callsight()
        .args(["ingest"])
        .env("CALLSIGHT__KAFKA__BROKERS", "127.0.0.1:1")
        .env("CALLSIGHT__ADMIN__LISTEN", "127.0.0.1:0")
        .env("CALLSIGHT__INGEST__LISTEN", "127.0.0.1:0")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ingest.telemetry_token")
            && stderr.contains("ingest.allow_unauthenticated"),
        "{stderr}"
    );
}

#[test]
fn an_invalid_value_exits_2_and_names_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("callsight.toml");
    std::fs::write(
        &file,
        "[topics.telemetry]\nname = \"net.telemetry\"\npartitions = 7\n",
    )
    .expect("write");
    let output = callsight()
        .args(["--config", file.to_str().expect("utf-8"), "config", "check"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("topics.legs.partitions"), "{stderr}");
    assert!(stderr.contains("co-partitioned"), "{stderr}");
}

#[test]
fn run_becomes_ready_and_exits_cleanly_on_sigterm() {
    // A free port for the admin server.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut child = callsight()
        .arg("run")
        .env("CALLSIGHT__ADMIN__LISTEN", format!("127.0.0.1:{port}"))
        .env("CALLSIGHT__INGEST__LISTEN", "127.0.0.1:0")
        .env("CALLSIGHT__SHUTDOWN__DRAIN_TIMEOUT", "10s")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let ready = runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(response) = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await
                && response.status() == 200
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    });
    assert!(ready, "not ready within 60 s");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "did not exit within 20 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(exit.success(), "exit {exit:?}: {stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
}

fn scenario(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../rca/scenarios")
        .join(format!("{name}.json"))
}

#[test]
fn explain_prints_the_verdict_of_a_scenario() {
    let output = callsight()
        .args([
            "explain",
            scenario("wired_port_errors").to_str().expect("utf-8"),
        ])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("wired.port_errors"), "{text}");
    assert!(text.contains("port_errors_per_s_p90"), "{text}");
}

#[test]
fn explain_uses_the_configured_thresholds_and_reports_a_missed_expectation() {
    let output = callsight()
        .args([
            "explain",
            scenario("wired_port_errors").to_str().expect("utf-8"),
        ])
        .env("CALLSIGHT__RCA__THRESHOLDS__PORT_ERRORS_PER_S_P90", "50")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("expected wired.port_errors"), "{stderr}");
}

#[test]
fn explain_reads_a_saved_leg_and_view_and_prints_json() {
    let text = std::fs::read_to_string(scenario("wan_jitter")).expect("read");
    let input = callsight_rca::scenario::Scenario::parse(&text).expect("parses");
    let (leg, view, _) = input.build();
    let saved = callsight_rca::scenario::Saved { leg, view };
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("saved.json");
    std::fs::write(&file, serde_json::to_string(&saved).expect("json")).expect("write");
    let output = callsight()
        .args(["explain", "--json", file.to_str().expect("utf-8")])
        .output()
        .expect("runs");
    assert!(output.status.success());
    let verdict: callsight_model::types::RootCauseVerdict =
        serde_json::from_slice(&output.stdout).expect("a verdict");
    assert_eq!(
        verdict.primary_cause,
        callsight_model::types::CauseCode::WanJitter
    );
}

#[test]
fn explain_rejects_a_file_that_is_neither_form() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("bad.json");
    std::fs::write(&file, r#"{"leg": 3}"#).expect("write");
    let output = callsight()
        .args(["explain", file.to_str().expect("utf-8")])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("neither"));
}

#[test]
fn legs_prints_what_a_saved_record_normalises_to() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../graph/tests/data");
    let dir = tempfile::tempdir().expect("dir");
    let inventory = dir.path().join("inventory.ndjson");
    std::fs::write(
        &inventory,
        r#"{"type":"subnet","org_id":"org-contoso","site_id":"site-hq","time":1,"cidr":"10.40.2.0/24"}"#,
    )
    .expect("write");
    let run = || {
        callsight()
            .arg("legs")
            .arg(data.join("01_p2p_audio_wifi_poor_jitter.json"))
            .args(["--org", "org-contoso", "--key-hex", &"cd".repeat(32)])
            .arg("--inventory")
            .arg(&inventory)
            .output()
            .expect("runs")
    };
    let output = run();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let legs: Vec<callsight_model::types::CallLeg> =
        serde_json::from_slice(&output.stdout).expect("legs");
    assert_eq!(legs.len(), 2);
    assert_eq!(legs[1].site_id.as_deref(), Some("site-hq"));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("Priya"));
    // The same key gives the same pseudonyms.
    let again: Vec<callsight_model::types::CallLeg> =
        serde_json::from_slice(&run().stdout).expect("legs");
    assert_eq!(again[0].participant_id, legs[0].participant_id);
}

#[test]
fn topics_checks_every_topic_of_a_cluster_and_names_a_mismatch() {
    let config = callsight::Config::default();
    let broker = callsight::broker::start(&config).expect("broker starts");
    let bootstrap = broker.bootstrap_servers().to_string();
    let topics = |extra: &[(&str, &str)]| {
        let mut command = callsight();
        command
            .arg("topics")
            .env("CALLSIGHT__KAFKA__BROKERS", &bootstrap)
            // The embedded broker has every topic already and answers no admin request.
            .env("CALLSIGHT__KAFKA__CREATE_TOPICS", "false");
        for (k, v) in extra {
            command.env(k, v);
        }
        command.output().expect("runs")
    };

    let output = topics(&[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for spec in callsight_kafka::topics::specs(&config.topics) {
        assert!(
            stdout.contains(&format!("{}\t{} partitions", spec.name, spec.partitions)),
            "{} missing from {stdout}",
            spec.name
        );
    }

    let output = topics(&[
        ("CALLSIGHT__TOPICS__LEGS__PARTITIONS", "24"),
        ("CALLSIGHT__TOPICS__TELEMETRY__PARTITIONS", "24"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("calls.legs"), "{stderr}");

    let output = callsight().arg("topics").output().expect("runs");
    assert_eq!(
        output.status.code(),
        Some(2),
        "no kafka.brokers: nothing to set up"
    );
}

#[test]
fn legs_says_what_a_wrong_file_is_and_warns_of_missing_session_pages() {
    let example = |name: &str| {
        callsight_testkit::vendor::reference_dir()
            .join("vendor_examples/graph")
            .join(name)
    };
    let legs = |file: &str, pages: &[&str]| {
        let mut command = callsight();
        command
            .arg("legs")
            .arg(example(file))
            .args(["--key-hex", &"cd".repeat(32)]);
        for page in pages {
            command.arg("--page").arg(example(page));
        }
        let output = command.output().expect("runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    // Microsoft's list-sessions example given as the record.
    let (code, stderr) = legs("14-v1.0-list-sessions-basic-current.json", &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("a page of a call record's sessions") && stderr.contains("--page"),
        "{stderr}"
    );
    // Microsoft's list-call-records example.
    let (code, stderr) = legs("19-v1.0-list-callrecords-current.json", &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("a list of call records"), "{stderr}");
    // A list of call records given as a page of sessions.
    let (code, stderr) = legs(
        "02-v1.0-get-expanded.json",
        &["19-v1.0-list-callrecords-current.json"],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not a page of sessions"), "{stderr}");
    // The record says more sessions follow: its legs, with a warning naming the link.
    let (code, stderr) = legs("02-v1.0-get-expanded.json", &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("more sessions") && stderr.contains("$skiptoken=abc"),
        "{stderr}"
    );
    // With the next page given, the warning follows that page's own link.
    let (code, stderr) = legs(
        "02-v1.0-get-expanded.json",
        &["04-v1.0-session-list-segments.json"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let page: serde_json::Value =
        callsight_testkit::vendor::example_json("graph/04-v1.0-session-list-segments.json");
    assert_eq!(
        stderr.contains("more sessions"),
        page.get("@odata.nextLink").is_some(),
        "{stderr}"
    );
}
