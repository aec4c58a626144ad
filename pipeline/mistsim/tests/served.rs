//! What mistsim serves, fed with a simulated network: every body validates against Mist's
//! published OpenAPI specification (API 2509.1.1), requests need the token, searches page, the
//! rate limit answers 429, and webhooks arrive signed and parse as callsight parses Mist's.

use callsight_mistsim::{Faults, MistSim, MistSimConfig};
use callsight_sim::{SimConfig, Simulation};
use callsight_telemetry::TimeWindow;
use callsight_telemetry::mist::{signature, webhook};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Validates `body` against the 200 answer of `GET path` in Mist's OpenAPI specification.
fn validate(path: &str, body: &Value) {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("body.json");
    std::fs::write(&file, serde_json::to_vec_pretty(body).expect("json")).expect("write");
    let spec = callsight_testkit::vendor::reference_dir().join("mist_openapi/mist.openapi.json");
    let output = std::process::Command::new("python3")
        .arg(repo().join("tests/tools/mist_tools/validate.py"))
        .arg(&spec)
        .arg(path)
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "GET {path} does not validate against Mist's OpenAPI:\n{}{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        serde_json::to_string_pretty(body)
            .unwrap_or_default()
            .chars()
            .take(3000)
            .collect::<String>()
    );
}

/// Deliveries received: each body with its signature header.
type Received = Arc<Mutex<Vec<(Vec<u8>, String)>>>;

/// A webhook receiver on loopback.
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/telemetry/mist/{org}",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let keep = keep.clone();
                async move {
                    let signature = headers
                        .get("x-mist-signature-v2")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    keep.lock().expect("lock").push((body.to_vec(), signature));
                    axum::http::StatusCode::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

#[tokio::test]
async fn served_bodies_validate_against_mist_s_openapi_and_webhooks_arrive_signed() {
    let (hooks, received) = receiver().await;
    let mut sim = Simulation::new(SimConfig {
        seed: 3,
        ..SimConfig::default()
    });
    let config = MistSimConfig {
        org_id: sim.world().org_id.clone(),
        webhook_url: Some(format!("{hooks}/telemetry/mist/{}", sim.world().org_id)),
        ..MistSimConfig::default()
    };
    let mist = MistSim::start(config.clone()).await.expect("starts");
    mist.apply(&sim.inventory(sim.start_ms()))
        .await
        .expect("inventory");
    // Half an hour: joins, roams, wired attachments and every statistic.
    for _ in 0..31 {
        let minute = sim.step();
        mist.apply(&minute.telemetry).await.expect("a minute");
    }
    let http = reqwest::Client::new();
    let get = |path: String, token: &str| {
        let request = http
            .get(format!("{}{path}", mist.url()))
            .header("Authorization", format!("Token {token}"));
        async move {
            let response = request.send().await.expect("answers");
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let org = config.org_id.clone();
    let token = config.api_token.clone();
    let (status, sites) = get(format!("/api/v1/orgs/{org}/sites"), &token).await;
    assert_eq!(status, 200);
    validate("/api/v1/orgs/{org_id}/sites", &sites);
    let site = sites[0]["id"].as_str().expect("a site").to_string();
    for (path, spec_path) in [
        (
            format!("/api/v1/orgs/{org}/networks"),
            "/api/v1/orgs/{org_id}/networks",
        ),
        (
            format!("/api/v1/orgs/{org}/stats/vpn_peers/search"),
            "/api/v1/orgs/{org_id}/stats/vpn_peers/search",
        ),
        (
            format!("/api/v1/sites/{site}/setting/derived"),
            "/api/v1/sites/{site_id}/setting/derived",
        ),
        (
            format!("/api/v1/sites/{site}/stats/clients"),
            "/api/v1/sites/{site_id}/stats/clients",
        ),
        (
            format!("/api/v1/sites/{site}/stats/devices?type=ap"),
            "/api/v1/sites/{site_id}/stats/devices",
        ),
        (
            format!("/api/v1/sites/{site}/stats/devices?type=switch"),
            "/api/v1/sites/{site_id}/stats/devices",
        ),
        (
            format!("/api/v1/sites/{site}/stats/devices?type=gateway"),
            "/api/v1/sites/{site_id}/stats/devices",
        ),
        (
            format!("/api/v1/sites/{site}/stats/ports/search?limit=1000"),
            "/api/v1/sites/{site_id}/stats/ports/search",
        ),
        (
            format!("/api/v1/sites/{site}/wired_clients/search?limit=1000"),
            "/api/v1/sites/{site_id}/wired_clients/search",
        ),
    ] {
        let (status, body) = get(path.clone(), &token).await;
        assert_eq!(status, 200, "{path}: {body}");
        let empty = body.as_array().is_some_and(Vec::is_empty)
            || body["results"].as_array().is_some_and(Vec::is_empty);
        assert!(
            !empty || path.contains("vpn_peers") || path.contains("networks"),
            "{path} serves nothing"
        );
        validate(spec_path, &body);
    }

    // The port search pages: every row once, following `next`.
    let (_, all) = get(
        format!("/api/v1/sites/{site}/stats/ports/search?limit=1000"),
        &token,
    )
    .await;
    let mut paged = Vec::new();
    let mut next = Some(format!("/api/v1/sites/{site}/stats/ports/search?limit=7"));
    while let Some(path) = next {
        let (status, page) = get(path, &token).await;
        assert_eq!(status, 200);
        paged.extend(page["results"].as_array().cloned().unwrap_or_default());
        next = page["next"].as_str().map(str::to_string);
    }
    assert_eq!(Some(&paged), all["results"].as_array());
    assert!(
        paged
            .iter()
            .any(|r| r["type"] == "gateway" && r.get("latency").is_some())
    );

    // Token auth and the rate limit.
    let (status, _) = get(format!("/api/v1/orgs/{org}/sites"), "wrong").await;
    assert_eq!(status, 401);
    mist.set_faults(Faults { throttle_next: 1 });
    let (status, _) = get(format!("/api/v1/orgs/{org}/sites"), &token).await;
    assert_eq!(status, 429);
    let (status, _) = get(format!("/api/v1/orgs/{org}/sites"), &token).await;
    assert_eq!(status, 200);

    // Webhooks: signed with the secret, and every event parses as callsight parses Mist's.
    let received = received.lock().expect("lock").clone();
    let mut topics = std::collections::BTreeSet::new();
    for (body, signed) in &received {
        signature::verify(
            config.webhook_secret.as_bytes(),
            body,
            Some(signed),
            None,
            false,
        )
        .expect("signed with the secret");
        let parsed = webhook::parse(
            body,
            &webhook::Delivery {
                org: Some(&org),
                window: TimeWindow::ANY,
            },
        )
        .expect("parses");
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        assert!(!parsed.records.is_empty());
        let value: Value = serde_json::from_slice(body).expect("json");
        topics.insert(value["topic"].as_str().unwrap_or_default().to_string());
    }
    for topic in ["client-join", "client-info", "nac-accounting"] {
        assert!(topics.contains(topic), "no {topic} in {topics:?}");
    }
    let stats = mist.stats();
    assert_eq!(stats.version, 32);
    assert!(stats.deliveries as usize == received.len() && stats.events > 0);
}
