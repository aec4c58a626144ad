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
