//! The admin server: liveness, readiness, metrics.

use callsight_core::admin;
use callsight_core::config::Secret;
use callsight_core::metrics::Metrics;
use callsight_core::readiness::Readiness;
use callsight_core::serve::{self, HttpConfig};
use callsight_core::shutdown::Shutdown;
use tokio::net::TcpListener;

#[tokio::test]
async fn serves_liveness_readiness_and_metrics() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let metrics = Metrics::new();
    let readiness = Readiness::new();
    readiness.register("broker", "connecting");
    let shutdown = Shutdown::new();
    serve::spawn(
        &shutdown,
        listener,
        admin::router(metrics.clone(), readiness.clone(), Secret("op".into())),
        "admin",
        &HttpConfig::default(),
    );
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://{addr}{path}");

    let live = http.get(url("/livez")).send().await.expect("livez");
    assert_eq!(live.status(), 200);

    let not_ready = http.get(url("/readyz")).send().await.expect("readyz");
    assert_eq!(not_ready.status(), 503);
    assert!(
        not_ready
            .text()
            .await
            .expect("body")
            .contains("broker: not ready")
    );

    readiness.set("broker", true, "127.0.0.1:9092");
    let ready = http.get(url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 200);
    // The details (the broker's address) only with the admin token.
    assert_eq!(ready.text().await.expect("body"), "broker: ready\n");
    for wrong in ["", "Bearer po", "op"] {
        let answer = http
            .get(url("/readyz"))
            .header("Authorization", wrong)
            .send()
            .await
            .expect("readyz");
        assert!(!answer.text().await.expect("body").contains("9092"));
    }
    let detailed = http
        .get(url("/readyz"))
        .bearer_auth("op")
        .send()
        .await
        .expect("readyz");
    assert_eq!(
        detailed.text().await.expect("body"),
        "broker: ready (127.0.0.1:9092)\n"
    );

    let counter = metrics
        .counter_vec("callsight_test_events_total", "Test events.", &["kind"])
        .expect("registers");
    counter.with_label_values(&["a"]).inc();
    let body = http
        .get(url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    assert!(body.contains("callsight_build_info{version="), "{body}");
    assert!(
        body.contains("callsight_test_events_total{kind=\"a\"} 1"),
        "{body}"
    );

    shutdown.token.cancel();
    shutdown.tracker.close();
    tokio::time::timeout(std::time::Duration::from_secs(10), shutdown.tracker.wait())
        .await
        .expect("the server drains");
}

#[test]
fn a_duplicate_metric_is_an_error_naming_it() {
    let metrics = Metrics::new();
    metrics.gauge("callsight_dup", "First.").expect("first");
    let err = metrics.gauge("callsight_dup", "Second.").unwrap_err();
    assert!(err.to_string().contains("callsight_dup"));
}
