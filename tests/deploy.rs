//! The deployment artefacts against callsight itself:
//! - the Helm chart, linted, rendered and validated against Kubernetes' schemas by
//!   `tests/python/chart.py` (Helm's own Go SDK through PyPI `helm-python-sdk`, PyPI
//!   `kubernetes-validate` in strict mode), gives every workload a configuration callsight accepts,
//!   ports and paths that match it, and the topics callsight expects;
//! - the Dockerfile builds the binary the chart runs, as the user and with the ports the chart uses,
//!   on a base that has every library the binary links;
//! - the Prometheus rules pass `promtool test rules`;
//! - the dashboards are what their generator writes, and they and the rules use only metrics that a
//!   running callsight exports.

use callsight::Config;
use callsight_e2e::{repo_root, test_config};
use clap::CommandFactory;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

/// The chart script's summary (it fails the test itself when the chart does not lint, render,
/// validate or refuse bad values).
fn chart() -> &'static Value {
    static CHART: OnceLock<Value> = OnceLock::new();
    CHART.get_or_init(|| {
        let dir = tempfile::tempdir().expect("dir");
        let out = dir.path().join("chart.json");
        let output = Command::new("python3")
            .arg(repo_root().join("tests/python/chart.py"))
            .arg(repo_root().join("helm/callsight"))
            .arg(&out)
            .output()
            .expect(
                "python3 runs (the test command installs helm-python-sdk and kubernetes-validate)",
            );
        assert!(
            output.status.success(),
            "the chart check failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&std::fs::read(&out).expect("summary")).expect("JSON")
    })
}

/// A stand-in for each Secret the chart references: valid for the key it fills.
fn secret_value(env: &str) -> String {
    if env.ends_with("MASTER_KEY") {
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff".into()
    } else {
        format!("secret-for-{}", env.to_lowercase())
    }
}

/// Loads the configuration a workload of the chart would run with: its ConfigMap's file and its
/// environment (Secrets filled with stand-ins, the pod name for field references).
fn workload_config(workload: &Value) -> Config {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("callsight.toml");
    std::fs::write(&file, workload["config"].as_str().expect("config")).expect("write");
    let mut env: Vec<(String, String)> = Vec::new();
    for e in workload["env"].as_array().expect("env") {
        let name = e["name"].as_str().expect("name").to_string();
        let value = if let Some(v) = e["value"].as_str() {
            v.to_string()
        } else if e.get("secret").is_some() {
            secret_value(&name)
        } else {
            "callsight-processor-0".to_string()
        };
        env.push((name, value));
    }
    let mounts = &workload["mounts"];
    let config_path = env
        .iter()
        .find(|(k, _)| k == "CALLSIGHT_CONFIG")
        .map(|(_, v)| v.clone())
        .expect("CALLSIGHT_CONFIG");
    assert_eq!(
        Path::new(&config_path).parent(),
        mounts["config"].as_str().map(Path::new),
        "{}: the configuration file is not in the mounted ConfigMap",
        workload["name"]
    );
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Config::load_with_env(Some(&file), &pairs).unwrap_or_else(|e| {
        panic!(
            "{}: callsight refuses the chart's configuration: {e}\n{}",
            workload["name"], workload["config"]
        )
    })
}

fn cases() -> impl Iterator<Item = (&'static String, &'static Value)> {
    chart()["cases"].as_object().expect("cases").iter()
}

#[test]
fn every_workload_of_the_chart_runs_a_configuration_callsight_accepts() {
    let subcommands: BTreeSet<String> = callsight::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for (case, summary) in cases() {
        let values = &summary["values"];
        let management = values["topics"]["management"].as_str().expect("management");
        let workloads = summary["workloads"].as_array().expect("workloads");
        assert!(workloads.len() >= 3, "{case}: {workloads:?}");
        for w in workloads {
            let name = w["name"].as_str().expect("name");
            let config = workload_config(w);
            let args: Vec<&str> = w["args"]
                .as_array()
                .expect("args")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert!(
                subcommands.contains(args[0]),
                "{case}: {name} runs `callsight {}`, which does not exist",
                args[0]
            );
            let ports = &w["ports"];
            if w["kind"] != "Job" {
                assert_eq!(
                    ports["admin"].as_u64(),
                    Some(u64::from(config.admin.listen.port())),
                    "{case}: {name}: the admin port is not where callsight serves /metrics and probes"
                );
            }
            if let Some(http) = ports["http"].as_u64() {
                assert_eq!(
                    http,
                    u64::from(config.ingest.listen.port()),
                    "{case}: {name}"
                );
            }
            if args[0] == "process" {
                assert_eq!(
                    Some(config.processor.state_dir.as_path()),
                    w["mounts"]["state"].as_str().map(Path::new),
                    "{case}: the processor's RocksDB is not on its volume"
                );
                assert_eq!(
                    config.processor.transactional_id.is_some(),
                    values["processor"]["transactions"] == true,
                    "{case}"
                );
            }
            // Exactly one thing creates topics; the Job always does when it exists.
            let creates = if w["kind"] == "Job" {
                true
            } else {
                management == "roles"
            };
            assert_eq!(config.kafka.create_topics, creates, "{case}: {name}");
            // Only the dedicated poller polls Mist: it alone runs the mist-poll role.
            assert_eq!(
                args[0] == "mist-poll",
                name.ends_with("-mist-poller"),
                "{case}: {name}"
            );
            assert_eq!(
                config.kafka.brokers,
                values["kafka"]["brokers"].as_str().expect("brokers")
            );
            assert_eq!(
                config.topics.legs.partitions, config.topics.telemetry.partitions,
                "{case}: co-partitioned topics"
            );
            assert!(
                config
                    .topics
                    .telemetry
                    .retention
                    .expect("telemetry retention")
                    >= config.processor.retention,
                "{case}: net.telemetry keeps less than the processor's retention"
            );
            // Secrets by reference arrive where callsight reads them (the topic Job gets only
            // Kafka's, checked by the chart script).
            let is_job = w["kind"] == "Job";
            for (org, _) in values["secrets"]["mistWebhookSecrets"]
                .as_object()
                .expect("map")
                .iter()
                .filter(|_| !is_job)
            {
                let settings = config.ingest.mist.orgs.get(org).unwrap_or_else(|| {
                    panic!("{case}: {name}: Mist org {org} missing from the configuration")
                });
                assert!(!settings.webhook_secret.is_empty(), "{case}: {org}");
            }
            // extraEnv reaches keys the chart does not render.
            for e in values["extraEnv"].as_array().expect("extraEnv") {
                let (name, value) = (e["name"].as_str(), e["value"].as_str());
                if let (Some("CALLSIGHT__RCA__THRESHOLDS__RSSI_DBM_P10"), Some(v)) = (name, value) {
                    assert_eq!(
                        config.rca.thresholds.get("rssi_dbm_p10").copied(),
                        v.parse::<f64>().ok(),
                        "{case}: {name:?}"
                    );
                }
            }
            if values["secrets"]["masterKey"].get("name").is_some() && !is_job {
                assert!(!config.privacy.master_key.is_empty(), "{case}: {name}");
            }
            if let Some(password) = values["kafka"]["secretProperties"].get("sasl.password") {
                assert!(password.is_object());
                assert_eq!(
                    config
                        .kafka
                        .librdkafka_properties()
                        .get("sasl.password")
                        .map(String::as_str),
                    Some(secret_value("CALLSIGHT__KAFKA__PROPERTIES__SASL_PASSWORD").as_str()),
                    "{case}: {name}"
                );
            }
        }
    }
}

#[test]
fn strimzi_topics_are_exactly_the_topics_callsight_checks() {
    let (case, summary) = cases()
        .find(|(_, s)| s["values"]["topics"]["management"] == "strimzi")
        .expect("a Strimzi value set in helm/callsight/ci");
    let processor = summary["workloads"]
        .as_array()
        .expect("workloads")
        .iter()
        .find(|w| w["args"][0] == "process")
        .expect("processor");
    let config = workload_config(processor);
    let expected: BTreeSet<(String, i64, bool, Option<i64>)> =
        callsight_kafka::topics::specs(&config.topics)
            .into_iter()
            .map(|s| {
                (
                    s.name,
                    i64::from(s.partitions),
                    s.compacted,
                    s.retention
                        .filter(|_| !s.compacted)
                        .map(|r| r.as_millis() as i64),
                )
            })
            .collect();
    let rendered: BTreeSet<(String, i64, bool, Option<i64>)> = summary["kafka_topics"]
        .as_array()
        .expect("topics")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().expect("name").to_string(),
                t["partitions"].as_i64().expect("partitions"),
                t["compacted"].as_bool().expect("compacted"),
                t["retention_ms"].as_i64(),
            )
        })
        .collect();
    assert_eq!(rendered, expected, "{case}");
}

/// Debian packages of the libraries a Rust binary of this workspace links, and whether the slim
/// base image has them already.
const LIBRARIES: [(&str, &str, bool); 9] = [
    ("libc.so.6", "libc6", true),
    ("libm.so.6", "libc6", true),
    ("ld-linux-x86-64.so.2", "libc6", true),
    ("linux-vdso.so.1", "kernel", true),
    ("libgcc_s.so.1", "libgcc-s1", true),
    ("libstdc++.so.6", "libstdc++6", true),
    ("libz.so.1", "zlib1g", true),
    ("libssl.so.3", "libssl3", false),
    ("libcrypto.so.3", "libssl3", false),
];

/// What the image's binary is built from: the product's normal dependencies, never the lab, the
/// simulators, the test kit or test-only crates.
#[test]
fn the_product_binary_carries_no_simulator_and_no_test_fixture() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let tree = |edges: &str| {
        let output = Command::new(&cargo)
            .args(["tree", "--locked", "-p", "callsight", "-e", edges])
            .args(["--prefix", "none"])
            .current_dir(repo_root())
            .output()
            .expect("cargo tree runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    let normal = tree("normal");
    let crates: BTreeSet<&str> = normal
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(crates.contains("callsight-processor"), "{normal}");
    for banned in [
        "callsight-lab",
        "callsight-sim",
        "callsight-graphsim",
        "callsight-testkit",
        "tempfile",
        "proptest",
        "criterion",
    ] {
        assert!(
            !crates.contains(banned),
            "the product depends on {banned}:\n{normal}"
        );
    }
    let features = tree("normal,features");
    assert!(
        !features.contains("feature \"samples\""),
        "a samples feature in the product:\n{features}"
    );
}

#[test]
fn the_dockerfile_builds_the_binary_the_chart_runs() {
    let text = std::fs::read_to_string(repo_root().join("deploy/Dockerfile")).expect("Dockerfile");
    let lines: Vec<String> = text
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let stages: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("FROM "))
        .collect();
    assert!(stages.len() >= 2, "a multi-stage build: {stages:?}");
    let runtime = &lines[*stages.last().expect("stage")..];
    let build = &lines[stages[0]..*stages.last().expect("stage")];
    let arg = |name: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(&format!("ARG {name}=")))
            .unwrap_or_else(|| panic!("ARG {name}"))
            .to_string()
    };
    // The pinned toolchain, and one Debian release for building and running (glibc).
    let toolchain = std::fs::read_to_string(repo_root().join("rust-toolchain.toml")).expect("toml");
    assert!(
        toolchain.contains(&format!("channel = \"{}\"", arg("RUST_VERSION"))),
        "the image's Rust is not rust-toolchain.toml's"
    );
    assert!(build[0].contains("${RUST_VERSION}-${DEBIAN_RELEASE}"));
    assert!(runtime[0].contains("debian:${DEBIAN_RELEASE}-slim"));
    // It builds the callsight binary, locked, in release, and runs it.
    assert!(
        build.iter().any(
            |l| l.contains("cargo build --release --locked -p callsight")
                && l.contains("--bin callsight")
        ),
        "{build:?}"
    );
    assert!(
        runtime
            .iter()
            .any(|l| l.starts_with("COPY --from=build") && l.ends_with("/usr/local/bin/callsight"))
    );
    assert!(runtime.contains(&r#"ENTRYPOINT ["/usr/local/bin/callsight"]"#.to_string()));
    // As the chart's non-root user, with the chart's ports.
    let values = &chart()["cases"]["default"]["values"];
    let user = runtime
        .iter()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER");
    let uid: u64 = user
        .split(':')
        .next()
        .expect("uid")
        .parse()
        .expect("numeric");
    assert_ne!(uid, 0, "runs as root");
    assert_eq!(
        Some(uid),
        values["podSecurityContext"]["runAsUser"].as_u64()
    );
    let exposed: BTreeSet<u64> = runtime
        .iter()
        .filter_map(|l| l.strip_prefix("EXPOSE "))
        .flat_map(|ports| ports.split_whitespace().map(|p| p.parse().expect("port")))
        .collect();
    let chart_ports: BTreeSet<u64> = [
        values["ingestRole"]["port"].as_u64().expect("port"),
        values["admin"]["port"].as_u64().expect("port"),
    ]
    .into();
    assert_eq!(exposed, chart_ports);
    let defaults = Config::default();
    assert_eq!(
        chart_ports,
        [
            u64::from(defaults.ingest.listen.port()),
            u64::from(defaults.admin.listen.port())
        ]
        .into(),
        "the image's ports are not callsight's defaults"
    );
    // Every library this workspace's binaries link is in the runtime image: in the slim base, or
    // installed by the runtime stage.
    let installed = runtime
        .iter()
        .filter(|l| l.contains("apt-get install"))
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let ldd = Command::new("ldd")
        .arg(std::env::current_exe().expect("exe"))
        .output()
        .expect("ldd runs");
    let known: HashMap<&str, (&str, bool)> = LIBRARIES
        .iter()
        .map(|(lib, pkg, base)| (*lib, (*pkg, *base)))
        .collect();
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        let lib = line.split_whitespace().next().expect("library");
        let lib = lib.rsplit('/').next().expect("name");
        let (package, in_base) = known.get(lib).unwrap_or_else(|| {
            panic!("{lib} is linked: which Debian package gives it in the image?")
        });
        assert!(
            *in_base || installed.split_whitespace().any(|w| w == *package),
            "{lib} comes from {package}, which the runtime stage does not install"
        );
    }
}

fn run_ok(command: &mut Command, what: &str) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what} does not run: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{what} failed:\n{text}");
    text
}

#[test]
fn the_alert_rules_pass_promtool_and_their_unit_tests() {
    let dir = repo_root().join("deploy/prometheus");
    run_ok(
        Command::new("promtool")
            .args(["check", "rules", "callsight.rules.yml"])
            .current_dir(&dir),
        "promtool check rules (scripts/dev test puts promtool from Debian's prometheus package on PATH)",
    );
    let out = run_ok(
        Command::new("promtool")
            .args(["test", "rules", "tests/callsight.rules.test.yml"])
            .current_dir(&dir),
        "promtool test rules",
    );
    assert!(out.contains("SUCCESS"), "{out}");
    // Every alert has a runbook section, and every runbook section an alert.
    let rules = std::fs::read_to_string(dir.join("callsight.rules.yml")).expect("rules");
    let runbooks = std::fs::read_to_string(repo_root().join("docs/runbooks.md")).expect("runbooks");
    let alerts: BTreeSet<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    let sections: BTreeSet<&str> = runbooks
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .collect();
    assert_eq!(alerts, sections, "alerts and runbook sections differ");
    let urls = rules.matches("runbook_url: ").count();
    assert_eq!(urls, alerts.len(), "an alert without runbook_url");
    for alert in &alerts {
        assert!(
            rules.contains(&format!("runbooks.md#{}", alert.to_lowercase())),
            "{alert}'s runbook_url does not point at its section"
        );
    }
    // Every alert is exercised by the unit tests.
    let tests = std::fs::read_to_string(dir.join("tests/callsight.rules.test.yml")).expect("tests");
    for alert in &alerts {
        assert!(
            tests.contains(&format!("alertname: {alert}")),
            "{alert} has no promtool test"
        );
    }
}

#[test]
fn the_dashboards_are_what_their_generator_writes() {
    run_ok(
        Command::new("python3")
            .arg(repo_root().join("deploy/grafana/generate.py"))
            .arg("--check"),
        "deploy/grafana/generate.py --check",
    );
}

/// `callsight_...` names in a text (PromQL in JSON or YAML); recording rules (`callsight:...`)
/// are not metrics callsight exports.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("callsight_") {
        let start = i + at;
        let boundary = start == 0 || {
            let c = bytes[start - 1];
            !(c.is_ascii_alphanumeric() || c == b'_' || c == b':')
        };
        let end = start
            + text[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(text.len() - start);
        if boundary {
            names.insert(text[start..end].to_string());
        }
        i = end;
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_and_alert_rules_use_only_metrics_a_running_callsight_exports() {
    // A short simulation through a whole callsight (every role in one process), then its
    // /metrics as Prometheus would scrape it.
    let run = callsight_lab::bench::accuracy(
        test_config(),
        &callsight_lab::bench::AccuracyOptions {
            seed: 3,
            faults: 3,
            speed: 1500.0,
            calls_per_site_hour: 30.0,
            out: None,
            telemetry: callsight_lab::simdrive::TelemetryPath::Mist,
            world: callsight_lab::bench::accuracy::World::Campus,
        },
    )
    .await
    .expect("the simulation runs");
    let exported: BTreeSet<String> = run
        .metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    assert!(exported.len() > 20, "{}", run.metrics);
    let mut files = Vec::new();
    for dir in ["deploy/grafana", "deploy/prometheus"] {
        for entry in std::fs::read_dir(repo_root().join(dir)).expect("dir") {
            let path = entry.expect("entry").path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("json" | "yml")
            ) {
                files.push(path);
            }
        }
    }
    assert!(files.len() >= 3, "{files:?}");
    let mut missing = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        let names = metric_names(&text);
        assert!(!names.is_empty(), "{} uses no metric", file.display());
        for name in names {
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| exported.contains(*f)))
                .unwrap_or(&name);
            if !exported.contains(family) {
                missing.push(format!("{}: {name}", file.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not exported by a running callsight:\n{}\n\nexported: {exported:?}",
        missing.join("\n")
    );
}
