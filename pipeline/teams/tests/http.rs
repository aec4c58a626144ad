//! The webhook and linking endpoints over HTTP, on the embedded broker: the validation
//! handshake, each refusal with its status and counter, durability before the 202, 503 while the
//! broker is down, the body limit, and the callback's error-first rule.

use callsight_core::config::Secret;
use callsight_graph::privacy::MasterKey;
use callsight_kafka::config::KafkaConfig;
use callsight_kafka::consumer;
use callsight_model::types::{GraphChangeType, GraphNotification, TenantLink};
use callsight_teams::WebhookLimits;
use callsight_teams::config::{GraphConfig, PrivacyConfig};
use callsight_testkit::kafka::{self, metric};
use callsight_testkit::samples;
use serde_json::{Value, json};
use std::time::Duration;

const MASTER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn change(link: &TenantLink, client_state: &str, subscription: &str) -> Value {
    json!({
        "subscriptionId": subscription,
        "clientState": client_state,
        "changeType": "updated",
        "resource": "communications/callRecords/2f1a7c3e-8b4d-4e6a-9c21-5d7e8f9a0b1c",
        "subscriptionExpirationDateTime": "2026-12-01T10:00:00.0000000Z",
        "tenantId": link.tenant_id,
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.callrecord",
            "@odata.id": "communications/callRecords/2f1a7c3e-8b4d-4e6a-9c21-5d7e8f9a0b1c",
            "id": "2f1a7c3e-8b4d-4e6a-9c21-5d7e8f9a0b1c"
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_and_the_callback_answer_as_documented() {
    let kafka_config = KafkaConfig {
        statistics_interval: Duration::ZERO,
        delivery_timeout: Duration::from_secs(30),
        ..kafka::kafka_config()
    };
    let graph = GraphConfig {
        webhook_deadline: Duration::from_millis(800),
        admin_token: Secret("op".into()),
        ..GraphConfig::default()
    };
    let privacy = PrivacyConfig {
        master_key: Secret(MASTER.into()),
        ..PrivacyConfig::default()
    };
    let services = kafka::services(&kafka_config, &kafka::topics(2)).await;
    let topics = &services.topics;

    // A linked tenant, as the manager would have written it.
    let link = samples::tenant_link();
    let subscription = link.subscription_id.clone().expect("subscription");
    let producer = services.producer().expect("producer");
    let codec = &services.codec;
    let bytes = codec
        .encode(&topics.links.name, &link)
        .await
        .expect("encodes");
    producer
        .send(&topics.links.name, link.org_id.as_bytes(), &bytes, &[])
        .await
        .expect("delivered");

    let limits = WebhookLimits {
        max_body_bytes: 4096,
        max_in_flight: 100_000,
        overload_wait: Duration::from_secs(2),
        parse_threads: 0,
    };
    let routes =
        callsight_teams::webhook_routes(&services, &graph, &privacy, limits, "http://127.0.0.1")
            .await
            .expect("routes");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    callsight_core::serve::spawn(
        &services.shutdown,
        listener,
        routes,
        "webhook",
        &callsight_core::serve::HttpConfig::default(),
    );
    let http = reqwest::Client::new();
    let notifications = format!("{base}/graph/notifications");
    let state = MasterKey::from_hex(MASTER)
        .expect("key")
        .client_state(&link.tenant_id);

    // The handshake: the decoded token, as plain text, on both URLs.
    for path in ["notifications", "lifecycle"] {
        let answer = http
            .post(format!(
                "{base}/graph/{path}?validationToken=Validation%3A%20Testing%20%3Cb%3Ereachability%3C%2Fb%3E"
            ))
            .header("content-type", "text/plain; charset=utf-8")
            .send()
            .await
            .expect("answers");
        assert_eq!(answer.status(), 200);
        assert!(
            answer.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with("text/plain")
        );
        assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
        assert_eq!(
            answer.text().await.expect("body"),
            "Validation: Testing <b>reachability</b>"
        );
    }

    // Until the link table has loaded, the tenant is unknown (403); then the delivery is taken.
    let good = json!({ "value": [change(&link, &state, &subscription)] }).to_string();
    let mut accepted = None;
    for _ in 0..100 {
        let answer = http
            .post(&notifications)
            .body(good.clone())
            .send()
            .await
            .expect("answers");
        if answer.status() == 202 {
            accepted = Some(answer.json::<Value>().await.expect("JSON"));
            break;
        }
        assert_eq!(answer.status(), 403);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        accepted.expect("accepted once the links loaded")["accepted"],
        1
    );
    let (handle, mut events) = consumer::start(
        &services.kafka,
        &services.bootstrap,
        "http-test",
        &[&topics.notifications.name],
        services.kafka_metrics.clone(),
    )
    .expect("consumer");
    let r = kafka::next_record(&mut events, Duration::from_secs(60)).await;
    assert_eq!(
        r.key.as_deref(),
        Some(format!("{}|2f1a7c3e-8b4d-4e6a-9c21-5d7e8f9a0b1c", link.tenant_id).as_bytes())
    );
    let notification = codec
        .decode::<GraphNotification>(&r.payload.expect("payload"))
        .await
        .expect("decodes");
    assert_eq!(notification.org_id, link.org_id);
    assert_eq!(notification.change_type, Some(GraphChangeType::Updated));
    drop(handle);

    // Refusals: a wrong clientState and an unknown subscription, next to a valid one.
    let mixed = json!({ "value": [
        change(&link, &"0".repeat(64), &subscription),
        change(&link, &state, "00000000-0000-0000-0000-000000000000"),
        change(&link, &state, &subscription),
    ]});
    let answer = http
        .post(&notifications)
        .body(mixed.to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), 403);
    let body: Value = answer.json().await.expect("JSON");
    assert_eq!(body["accepted"], 1);
    // Both are one reason to the sender (no link enumeration); the metric tells them apart.
    assert_eq!(body["refused"], 2);
    assert_eq!(body["refused_by_reason"], json!({"not_verified": 2}));
    assert_eq!(
        body["examples"][0],
        json!({"index": 0, "reason": "not_verified"})
    );
    assert_eq!(
        body["examples"][1],
        json!({"index": 1, "reason": "not_verified"})
    );
    assert_eq!(
        metric(
            &services.metrics,
            "callsight_graph_notifications_total",
            &["outcome=\"bad_client_state\""]
        ),
        1.0
    );

    // Refusals never make the answer grow with the delivery: counts and a few examples.
    let zeros = |n: usize| format!("{{\"value\": [{}]}}", vec!["0"; n].join(","));
    let answer = http
        .post(&notifications)
        .body(zeros(1000))
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), 403);
    let text = answer.text().await.expect("body");
    assert!(text.len() < 500, "{} bytes: {text}", text.len());
    let body: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(body["refused_by_reason"], json!({"malformed": 1000}));
    assert_eq!(body["examples"].as_array().map(Vec::len), Some(5));
    // More notifications than a delivery may hold: refused whole, unchecked.
    let answer = http
        .post(&notifications)
        .body(zeros(1001))
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), 400);
    assert!(
        answer.json::<Value>().await.expect("JSON")["error"]
            .as_str()
            .expect("reason")
            .contains("more than 1000 notifications")
    );

    // Not a notification collection; too large.
    let answer = http
        .post(&notifications)
        .body("{\"value\": 1")
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), 400);
    assert!(
        answer.json::<Value>().await.expect("JSON")["error"]
            .as_str()
            .expect("reason")
            .contains("not a notification collection")
    );
    let answer = http
        .post(&notifications)
        .body(vec![b' '; 5000])
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), 413);

    // The callback: an error wins even though admin_consent=True; a forged state is refused.
    let answer = http
        .get(format!(
            "{base}/teams/callback?admin_consent=True&tenant={}&error=consent_required&error_description=AADSTS65004&state=x",
            link.tenant_id
        ))
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), 400);
    assert_eq!(
        answer.json::<Value>().await.expect("JSON")["error"],
        "consent_required"
    );
    // Anyone's text in `error` is not passed on: a newline in it would forge a log line.
    let answer = http
        .get(format!(
            "{base}/teams/callback?error=access_denied%0AINFO%20forged%20line&state=x"
        ))
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), 400);
    assert_eq!(
        answer.json::<Value>().await.expect("JSON")["error"],
        "unrecognised"
    );
    let answer = http
        .get(format!("{base}/teams/callback?code=abc&state=00.00"))
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), 400);
    let answer = http
        .get(format!("{base}/teams/links"))
        .bearer_auth("wrong")
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), 401);

    // The broker is down: nothing can be made durable, so Graph is told to deliver again.
    let broker = services.cluster().embedded().expect("embedded");
    broker.set_up(false).expect("down");
    let started = std::time::Instant::now();
    let answer = http
        .post(&notifications)
        .body(good.clone())
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), 503);
    assert!(answer.headers().contains_key("retry-after"));
    // By the webhook's deadline, not after the producer's 30 s delivery timeout (a loose bound:
    // this checks which limit answered, not speed).
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "answered at the webhook deadline"
    );
    broker.set_up(true).expect("up");
    services.shutdown.token.cancel();
}
