//! The Graph client against the Graph simulator: tokens and Entra errors, paging, throttling,
//! outages, records not ready yet, subscriptions with the validation handshake, notifications,
//! the administrator's sign-in; and every JSON body the simulator serves validates against the
//! real v1.0 schema (Graph's own CSDL, through `tests/tools/graph_tools/validate.py`).

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::post;
use callsight_graph_client::api::NewSubscription;
use callsight_graph_client::delegated::Delegated;
use callsight_graph_client::{Graph, GraphError, RetryPolicy, Tokens};
use callsight_graphsim::state::{Admin, Faults, TenantSpec};
use callsight_graphsim::{GraphSim, SimConfig};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TENANT: &str = "3d5a9b1e-7c42-4f0b-9e6a-2b8d41c7f0e9";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sample(name: &str) -> Value {
    let bytes = std::fs::read(repo().join("pipeline/graph/tests/data").join(name)).expect("sample");
    serde_json::from_slice(&bytes).expect("json")
}

/// The two-page meeting as one record with its three sessions.
fn meeting() -> Value {
    let mut record = sample("02a_group_meeting_page1.json");
    let page = sample("02b_group_meeting_sessions_page2.json");
    let mut sessions = record["sessions"].as_array().cloned().unwrap_or_default();
    sessions.extend(page["value"].as_array().cloned().unwrap_or_default());
    record["sessions"] = Value::Array(sessions);
    if let Some(map) = record.as_object_mut() {
        map.remove("sessions@odata.nextLink");
        map.remove("@odata.context");
    }
    record
}

async fn sim(page_size: usize) -> GraphSim {
    let sim = GraphSim::start(SimConfig {
        page_size,
        delivery_retry_for: Duration::from_secs(20),
        ..SimConfig::default()
    })
    .await
    .expect("graphsim starts");
    sim.add_tenant(TenantSpec {
        tenant_id: TENANT.into(),
        display_name: "Contoso".into(),
        admin: Admin {
            display_name: "Network Admin".into(),
            mail: None,
            user_principal_name: "netadmin@contoso.example".into(),
        },
        consented: true,
    });
    sim
}

fn client(sim: &GraphSim, secret: &str) -> Graph {
    let http = reqwest::Client::new();
    let tokens = Arc::new(Tokens::new(
        http.clone(),
        &sim.login_url(),
        &sim.client_id(),
        secret,
    ));
    Graph::new(
        http,
        &sim.graph_url(),
        tokens,
        60,
        RetryPolicy {
            attempts: 6,
            base: Duration::from_millis(10),
            max: Duration::from_secs(2),
        },
    )
}

/// Runs Graph's schema validator on a JSON body.
fn validate(kind: &str, body: &Value) {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join(format!("{kind}.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(body).expect("json")).expect("write");
    let output = std::process::Command::new("python3")
        .arg(repo().join("tests/tools/graph_tools/validate.py"))
        .arg(kind)
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{kind} does not validate against the Graph v1.0 schema:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        serde_json::to_string_pretty(body).unwrap_or_default()
    );
}

#[tokio::test]
async fn tokens_and_entra_errors() {
    let sim = sim(60).await;
    let http = reqwest::Client::new();
    let good = Tokens::new(
        http.clone(),
        &sim.login_url(),
        &sim.client_id(),
        &sim.client_secret(),
    );
    assert!(
        good.token(TENANT)
            .await
            .expect("a token")
            .starts_with("sim-")
    );
    let cached = good.token(TENANT).await.expect("cached");
    assert_eq!(
        cached,
        good.token(TENANT).await.expect("cached"),
        "tokens are cached"
    );
    assert_eq!(sim.stats().tokens_issued, 1);

    let bad = Tokens::new(http.clone(), &sim.login_url(), &sim.client_id(), "wrong");
    let err = bad.token(TENANT).await.unwrap_err();
    assert_eq!(
        (err.status, err.codes.clone()),
        (401, vec![7000215]),
        "{err}"
    );
    let err = good.token("common").await.unwrap_err();
    assert_eq!(err.codes, vec![9001023]);
    let err = good
        .token("00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(err.codes, vec![90002]);
}

#[tokio::test]
async fn records_are_fetched_across_pages_through_throttling_and_outages() {
    let sim = sim(2).await;
    let (id, version) = sim.complete_call(TENANT, meeting()).expect("stored");
    assert_eq!(version, 3);
    let graph = client(&sim, &sim.client_secret());
    let record = graph.call_record(TENANT, &id).await.expect("fetched");
    assert_eq!(record.sessions.len(), 3, "two pages of sessions joined");
    assert_eq!(record.version, Some(3));
    // An id that is not a GUID never reaches Graph: it would be a path in the app's name.
    let requests = sim.stats().graph_requests;
    let err = graph
        .call_record(TENANT, "../../organization")
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::Invalid(_)), "{err}");
    assert_eq!(sim.stats().graph_requests, requests);
    // A whole answer that does not parse: retrying gets the same, so it is not "unavailable".
    sim.set_faults(Faults {
        malformed_next: 1,
        ..Faults::default()
    });
    let err = graph.call_record(TENANT, &id).await.unwrap_err();
    assert!(matches!(err, GraphError::Invalid(_)), "{err}");
    assert_eq!(err.kind(), "invalid");
    graph
        .call_record(TENANT, &id)
        .await
        .expect("the next answer parses");

    sim.set_faults(Faults {
        throttle_next: 3,
        retry_after_seconds: 0.05,
        unavailable_next: 2,
        ..Faults::default()
    });
    let record = graph
        .call_record(TENANT, &id)
        .await
        .expect("fetched after waiting");
    assert_eq!(record.sessions.len(), 3);
    let stats = sim.stats();
    assert_eq!((stats.throttled, stats.unavailable), (3, 2));

    sim.set_faults(Faults {
        throttle_next: 100,
        retry_after_seconds: 0.01,
        ..Faults::default()
    });
    let err = graph.call_record(TENANT, &id).await.unwrap_err();
    assert!(
        matches!(
            err,
            GraphError::Unavailable {
                status: 429,
                attempts: 6
            }
        ),
        "{err}"
    );
    sim.set_faults(Faults::default());

    // Tokens revoked: one 401, a new token, success.
    sim.revoke_tokens();
    assert!(graph.call_record(TENANT, &id).await.is_ok());
}

#[tokio::test]
async fn a_record_not_ready_yet_is_not_found_until_it_is() {
    let sim = sim(60).await;
    sim.set_faults(Faults {
        not_ready_gets: 2,
        ..Faults::default()
    });
    let (id, _) = sim
        .complete_call(TENANT, sample("01_p2p_audio_wifi_poor_jitter.json"))
        .expect("stored");
    let graph = client(&sim, &sim.client_secret());
    assert_eq!(
        graph.call_record(TENANT, &id).await.unwrap_err(),
        GraphError::NotFound
    );
    assert_eq!(
        graph.call_record(TENANT, &id).await.unwrap_err(),
        GraphError::NotFound
    );
    assert!(graph.call_record(TENANT, &id).await.is_ok());
    assert_eq!(
        graph
            .call_record(TENANT, "00000000-0000-4000-8000-000000000000")
            .await
            .unwrap_err(),
        GraphError::NotFound
    );
}

#[tokio::test]
async fn the_list_filters_on_start_time() {
    let sim = sim(60).await;
    sim.complete_call(TENANT, sample("01_p2p_audio_wifi_poor_jitter.json"))
        .expect("stored");
    sim.complete_call(TENANT, meeting()).expect("stored");
    let graph = client(&sim, &sim.client_secret());
    // 01 starts 2025-03-11T14:02Z, the meeting 2025-03-12T16:01Z.
    let listed = graph
        .list_call_records(TENANT, "2025-03-11T00:00:00Z", "2025-03-12T00:00:00Z")
        .await
        .expect("listed");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, "2f1a7c3e-8b4d-4e6a-9c21-5d7e8f9a0b1c");
}

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Value>>>);

/// A notification endpoint: echoes validation tokens, records notifications.
async fn receiver() -> (String, Received) {
    let received = Received::default();
    async fn handle(
        State(received): State<Received>,
        Query(query): Query<HashMap<String, String>>,
        body: String,
    ) -> (axum::http::StatusCode, String) {
        if let Some(token) = query.get("validationToken") {
            return (axum::http::StatusCode::OK, token.clone());
        }
        if let Ok(value) = serde_json::from_str(&body) {
            received.0.lock().expect("lock").push(value);
        }
        (axum::http::StatusCode::ACCEPTED, String::new())
    }
    let app = Router::new()
        .route("/notify", post(handle))
        .route("/lifecycle", post(handle))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

async fn wait_for(received: &Received, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let got = received.0.lock().expect("lock").clone();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} deliveries within 10 s");
}

fn expiry(minutes: i64) -> String {
    jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_mins(minutes))
        .expect("time")
        .to_string()
}

#[tokio::test]
async fn subscriptions_validate_their_endpoint_and_deliver_notifications() {
    let sim = sim(60).await;
    let graph = client(&sim, &sim.client_secret());
    let (url, received) = receiver().await;
    let new = NewSubscription {
        change_type: "created,updated".into(),
        resource: "/communications/callRecords".into(),
        notification_url: format!("{url}/notify?tenant=contoso"),
        lifecycle_notification_url: format!("{url}/lifecycle"),
        expiration_date_time: expiry(4230),
        client_state: "state-1".into(),
        latest_supported_tls_version: "v1_2".into(),
    };
    let sub = graph
        .create_subscription(TENANT, &new)
        .await
        .expect("created");
    let err = graph.create_subscription(TENANT, &new).await.unwrap_err();
    assert!(
        matches!(err, GraphError::Refused { status: 409, .. }),
        "{err}"
    );
    let too_long = NewSubscription {
        expiration_date_time: expiry(5000),
        ..new.clone()
    };
    graph
        .delete_subscription(TENANT, &sub.id)
        .await
        .expect("deleted");
    assert!(matches!(
        graph.create_subscription(TENANT, &too_long).await,
        Err(GraphError::Refused { status: 400, .. })
    ));
    let unreachable = NewSubscription {
        notification_url: "http://127.0.0.1:9/notify".into(),
        ..new.clone()
    };
    assert!(matches!(
        graph.create_subscription(TENANT, &unreachable).await,
        Err(GraphError::Refused { status: 400, .. })
    ));

    let sub = graph
        .create_subscription(TENANT, &new)
        .await
        .expect("created");
    let renewed = graph
        .renew_subscription(TENANT, &sub.id, &expiry(3000))
        .await
        .expect("renewed");
    assert_eq!(renewed.id, sub.id);
    graph
        .reauthorize_subscription(TENANT, &sub.id)
        .await
        .expect("reauthorized");

    let (id, _) = sim
        .complete_call(TENANT, sample("01_p2p_audio_wifi_poor_jitter.json"))
        .expect("stored");
    sim.update_call(TENANT, sample("01_p2p_audio_wifi_poor_jitter.json"))
        .expect("updated");
    let deliveries = wait_for(&received, 1).await;
    let notifications: Vec<Value> = deliveries
        .iter()
        .flat_map(|d| d["value"].as_array().cloned().unwrap_or_default())
        .collect();
    assert!(
        notifications
            .iter()
            .any(|n| n["changeType"] == "created" && n["resourceData"]["id"] == id)
    );
    for delivery in &deliveries {
        validate("notifications", delivery);
        assert_eq!(delivery["value"][0]["clientState"], "state-1");
    }
    sim.lifecycle(&sub.id, "reauthorizationRequired")
        .expect("sent");
    let all = wait_for(&received, deliveries.len() + 1).await;
    let lifecycle = all.last().expect("one");
    assert_eq!(
        lifecycle["value"][0]["lifecycleEvent"],
        "reauthorizationRequired"
    );
    validate("notifications", lifecycle);
}

#[tokio::test]
async fn served_bodies_validate_against_the_graph_schema() {
    let sim = sim(2).await;
    let (id, _) = sim.complete_call(TENANT, meeting()).expect("stored");
    let http = reqwest::Client::new();
    let tokens = Tokens::new(
        http.clone(),
        &sim.login_url(),
        &sim.client_id(),
        &sim.client_secret(),
    );
    let token = tokens.token(TENANT).await.expect("token");
    let get = |url: String| {
        let (http, token) = (http.clone(), token.clone());
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("answers")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let record = get(format!(
        "{}/communications/callRecords/{id}?$expand=sessions($expand=segments)",
        sim.graph_url()
    ))
    .await;
    validate("callRecord", &record);
    let next = record["sessions@odata.nextLink"]
        .as_str()
        .expect("a next page")
        .to_string();
    let page = get(next).await;
    validate("sessions", &page);
    assert_eq!(page["value"].as_array().expect("sessions").len(), 1);

    let (url, _received) = receiver().await;
    let created = http
        .post(format!("{}/subscriptions", sim.graph_url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "changeType": "created,updated",
            "resource": "/communications/callRecords",
            "notificationUrl": format!("{url}/notify"),
            "lifecycleNotificationUrl": format!("{url}/lifecycle"),
            "expirationDateTime": expiry(60),
            "clientState": "s",
            "latestSupportedTlsVersion": "v1_2",
        }))
        .send()
        .await
        .expect("answers");
    assert_eq!(created.status(), 201);
    validate(
        "subscription",
        &created.json::<Value>().await.expect("json"),
    );
}

#[tokio::test]
async fn the_administrator_signs_in_and_the_tenant_comes_from_the_directory() {
    let sim = sim(60).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let delegated = Delegated::new(
        http.clone(),
        &sim.login_url(),
        &sim.graph_url(),
        &sim.client_id(),
        &sim.client_secret(),
    );
    let redirect = "http://callsight.test/teams/link/callback";
    let url = delegated.authorize_url(redirect, "signed-state");
    let answer = http.get(&url).send().await.expect("answers");
    assert_eq!(answer.status(), 302);
    let location = answer.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(location.starts_with(redirect));
    let query = url_query(&location);
    assert_eq!(query["state"], "signed-state");
    let token = delegated
        .exchange_code(&query["code"], redirect)
        .await
        .expect("token");
    let me = delegated.me(&token).await.expect("me");
    assert_eq!(me.display_name.as_deref(), Some("Network Admin"));
    assert_eq!(me.mail, None);
    assert_eq!(
        me.user_principal_name.as_deref(),
        Some("netadmin@contoso.example")
    );
    assert_eq!(delegated.tenant_id(&token).await.expect("tenant"), TENANT);
    // A code works once.
    assert!(
        delegated
            .exchange_code(&query["code"], redirect)
            .await
            .is_err()
    );

    sim.set_faults(Faults {
        deny_next_consent: true,
        ..Faults::default()
    });
    let answer = http.get(&url).send().await.expect("answers");
    let location = answer.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let query = url_query(&location);
    assert_eq!(query["error"], "consent_required");
    assert_eq!(
        query["admin_consent"], "True",
        "the error callback still says admin_consent=True"
    );
}

fn url_query(location: &str) -> HashMap<String, String> {
    reqwest::Url::parse(location)
        .expect("an absolute redirect")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
