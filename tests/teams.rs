//! The Teams connector end to end, on the embedded broker: graphsim plays Graph and Entra,
//! `callsight run` plays every role.
//!
//! A tenant is linked through the OAuth flow; the subscription is created (and graphsim
//! validates the webhook); calls completed in graphsim are notified, fetched and appear on
//! `calls.legs` with pseudonymised identities; a new version replaces the old; lifecycle events
//! are acted on; unlinking deletes the subscription and destroys the keys. Under a 429 storm,
//! 503s, records that are not ready yet and a broker outage, every call still reaches
//! `calls.legs`, once per version.

use callsight::Config;
use callsight::run::{self, Running};
use callsight_core::codec::Codec;
use callsight_core::shutdown::Shutdown;
use callsight_e2e::{eventually, repo_root, test_config};
use callsight_graphsim::state::{Admin, Faults, TenantSpec};
use callsight_graphsim::{GraphSim, SimConfig};
use callsight_kafka::consumer::{self, ConsumerEvent, ConsumerHandle};
use callsight_model::types::CallLeg;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Everything logged at info and above by the processes in this test binary.
static LOGS: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures the logs (once per test binary), as an operator's log pipeline would see them.
fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    LOGS.get_or_init(|| {
        let buffer: Arc<Mutex<Vec<u8>>> = Arc::default();
        let writer = Capture(buffer.clone());
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        buffer
    })
    .clone()
}

const TENANT: &str = "5e3ce6c0-2b1f-4285-8d4b-75ee78787346";
const ORG: &str = "9777c1a0-6ef6-11e6-8bbf-02e208b2d34f";
const OPERATOR: &str = "operator-token-for-tests";
const MASTER: &str = "5f1e3a9c7b2d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f";

fn sample_record() -> Value {
    let path = repo_root().join("pipeline/graph/tests/data/01_p2p_audio_wifi_poor_jitter.json");
    serde_json::from_slice(&std::fs::read(path).expect("sample")).expect("JSON")
}

/// The sample call as a new call `n`, started a few minutes ago.
fn call(n: usize) -> Value {
    let mut record = sample_record();
    record["id"] = Value::String(format!("2f1a7c3e-8b4d-4e6a-9c21-{n:012}"));
    record.as_object_mut().expect("object").remove("version");
    let start = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(10);
    let end = start + jiff::SignedDuration::from_mins(5);
    record["startDateTime"] = Value::String(start.to_string());
    record["endDateTime"] = Value::String(end.to_string());
    record
}

fn admin() -> Admin {
    Admin {
        display_name: "Network Admin".into(),
        mail: None,
        user_principal_name: "netadmin@contoso.example".into(),
    }
}

async fn graphsim() -> GraphSim {
    GraphSim::start(SimConfig {
        page_size: 1,
        delivery_max_backoff: Duration::from_secs(2),
        ..SimConfig::default()
    })
    .await
    .expect("graphsim")
}

fn config(sim: &GraphSim) -> Config {
    let mut config = test_config();
    config.graph.base_url = sim.graph_url();
    config.graph.login_url = sim.login_url();
    config.graph.client_id = sim.client_id();
    config.graph.client_secret = callsight_core::config::Secret(sim.client_secret());
    config.graph.admin_token = callsight_core::config::Secret(OPERATOR.into());
    config.graph.manage_interval = Duration::from_millis(300);
    config.graph.fetch_retry_base = Duration::from_millis(50);
    config.graph.page_size = 1;
    config.privacy.master_key = callsight_core::config::Secret(MASTER.into());
    config.validate().expect("valid");
    config
}

/// A leg with the bytes it arrived as.
type Seen = Vec<(CallLeg, Vec<u8>)>;

/// Every leg on `calls.legs`, as it arrives.
struct Legs {
    seen: Arc<Mutex<Seen>>,
    _handle: ConsumerHandle,
}

impl Legs {
    fn follow(config: &Config, running: &Running) -> Legs {
        let metrics = callsight_testkit::kafka::kafka_metrics();
        let (handle, mut events) = consumer::start(
            &config.kafka,
            &running.bootstrap,
            "e2e-legs",
            &[&config.topics.legs.name],
            metrics,
        )
        .expect("consumer");
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let sink = seen.clone();
        tokio::spawn(async move {
            let codec = Codec::single_object();
            while let Some(event) = events.recv().await {
                if let ConsumerEvent::Record(record) = event {
                    let bytes = record.payload.expect("payload");
                    let leg: CallLeg = codec.decode(&bytes).await.expect("a call leg");
                    sink.lock().expect("lock").push((leg, bytes));
                }
            }
        });
        Legs {
            seen,
            _handle: handle,
        }
    }

    fn all(&self) -> Vec<(CallLeg, Vec<u8>)> {
        self.seen.lock().expect("lock").clone()
    }

    /// Legs of `call` at `version`, once at least `n` arrived.
    async fn of(&self, call: &str, version: i64, n: usize) -> Vec<(CallLeg, Vec<u8>)> {
        eventually(
            Duration::from_secs(60),
            &format!("legs of {call} v{version}"),
            || {
                let found: Vec<_> = self
                    .all()
                    .into_iter()
                    .filter(|(l, _)| l.call_id == call && l.record_version == version)
                    .collect();
                async move { (found.len() >= n).then_some(found) }
            },
        )
        .await
    }
}

async fn links(http: &reqwest::Client, ingest: &str) -> Value {
    http.get(format!("{ingest}/teams/links"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .expect("links")
        .json()
        .await
        .expect("JSON")
}

fn metric(running: &Running, line_start: &str) -> f64 {
    running
        .metrics
        .render()
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tenant_is_linked_subscribed_fetched_updated_and_unlinked() {
    let logs = capture_logs();
    let sim = graphsim().await;
    sim.add_tenant(TenantSpec {
        tenant_id: TENANT.into(),
        display_name: "Contoso".into(),
        admin: admin(),
        consented: false,
    });
    let config = config(&sim);
    let shutdown = Shutdown::new();
    let running = run::start(&config, run::Roles::ALL, &shutdown)
        .await
        .expect("starts");
    let legs = Legs::follow(&config, &running);
    let ingest = format!("http://{}", running.ingest_addr.expect("ingest"));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    // Linking: operator token, then Entra's sign-in with admin consent, then the callback.
    let refused = http
        .get(format!("{ingest}/teams/link?org={ORG}"))
        .send()
        .await
        .expect("answers");
    assert_eq!(refused.status(), 401);
    let start = http
        .get(format!("{ingest}/teams/link?org={ORG}&keep_identity=true"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .expect("answers");
    assert_eq!(start.status(), 302);
    let to_entra = start.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(to_entra.starts_with(&sim.login_url()), "{to_entra}");
    let from_entra = http.get(&to_entra).send().await.expect("sign-in");
    assert_eq!(from_entra.status(), 302);
    let back = from_entra.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(
        back.starts_with(&format!("{ingest}/teams/callback?")),
        "{back}"
    );
    // A made-up code with the same state is refused by Entra, and does not use the state up.
    let (before_code, after_code) = back.split_once("code=").expect("a code");
    let rest = after_code.split_once('&').map_or("", |(_, rest)| rest);
    let made_up = format!("{before_code}code=made-up&{rest}");
    let refused = http.get(&made_up).send().await.expect("callback");
    assert_eq!(refused.status(), 502);
    let done = http.get(&back).send().await.expect("callback");
    assert_eq!(done.status(), 200);
    let body: Value = done.json().await.expect("JSON");
    assert_eq!(body["tenant_id"], TENANT);
    assert_eq!(body["state"], "linked");
    assert_eq!(body["linked_by"]["name"], "Network Admin");
    assert_eq!(
        body["linked_by"]["email"], "netadmin@contoso.example",
        "mail is null: the user principal name stands in"
    );
    // The same callback again is a replay.
    assert_eq!(http.get(&back).send().await.expect("again").status(), 400);

    // The manager subscribes; graphsim validated the webhook before answering.
    let subscription = eventually(Duration::from_secs(30), "a subscription", || {
        let (http, ingest) = (http.clone(), ingest.clone());
        async move {
            let links = links(&http, &ingest).await;
            links["links"][0]["subscription_id"]
                .as_str()
                .map(str::to_string)
        }
    })
    .await;
    assert_eq!(sim.subscriptions().len(), 1);
    assert_eq!(sim.subscriptions()[0].0, subscription);
    assert!(
        sim.stats().validations >= 2,
        "notification and lifecycle URLs validated"
    );

    // A completed call is notified, fetched (two pages of sessions) and split into legs.
    let (id, version) = sim.complete_call(TENANT, call(1)).expect("call");
    let first = legs.of(&id, version, 2).await;
    for (leg, bytes) in &first {
        assert_eq!(leg.org_id, ORG);
        assert_eq!(leg.tenant_id, TENANT);
        let text = String::from_utf8_lossy(bytes).to_lowercase();
        for secret in [
            "priya",
            "raman",
            "marcus",
            "mlee-dt07",
            "praman-lt14",
            "@contoso.com",
        ] {
            assert!(!text.contains(secret), "{secret} reached Kafka in clear");
        }
        assert!(
            leg.participant_id.starts_with("p-"),
            "{}",
            leg.participant_id
        );
        assert!(
            leg.sealed_identity.is_some(),
            "the link opted in: the identity is sealed"
        );
    }
    // A new version replaces it.
    let (_, v2) = sim.update_call(TENANT, call(1)).expect("update");
    assert_eq!(v2, version + 1);
    let second = legs.of(&id, v2, 2).await;
    let ids = |legs: &[(CallLeg, Vec<u8>)]| {
        let mut ids: Vec<String> = legs.iter().map(|(l, _)| l.leg_id.clone()).collect();
        ids.sort();
        ids
    };
    assert_eq!(
        ids(&first),
        ids(&second),
        "the same legs, keyed alike, replace the old ones"
    );

    // Lifecycle: reauthorization renews; a removed subscription is created again, with a
    // backfill that finds the call again (its version is not published twice).
    sim.lifecycle(&subscription, "reauthorizationRequired")
        .expect("event");
    eventually(Duration::from_secs(30), "a renewal", || async {
        (metric(
            &running,
            "callsight_subscription_operations_total{operation=\"renew\",outcome=\"ok\"}",
        ) >= 1.0)
            .then_some(())
    })
    .await;
    sim.lifecycle(&subscription, "subscriptionRemoved")
        .expect("event");
    let recreated = eventually(Duration::from_secs(30), "a new subscription", || {
        let (http, ingest, old) = (http.clone(), ingest.clone(), subscription.clone());
        async move {
            let links = links(&http, &ingest).await;
            links["links"][0]["subscription_id"]
                .as_str()
                .filter(|s| *s != old)
                .map(str::to_string)
        }
    })
    .await;
    eventually(Duration::from_secs(30), "a backfill", || async {
        (metric(&running, "callsight_backfill_notifications_total") >= 1.0).then_some(())
    })
    .await;
    eventually(
        Duration::from_secs(30),
        "the backfilled version skipped",
        || async {
            (metric(
                &running,
                "callsight_fetch_records_total{outcome=\"stale_version\"}",
            ) >= 1.0)
                .then_some(())
        },
    )
    .await;
    assert_eq!(
        legs.of(&id, v2, 2).await.len(),
        2,
        "the version is published once"
    );

    // Key rotation changes pseudonyms for new records.
    let rotated = http
        .post(format!("{ingest}/teams/link/{ORG}/rotate-key"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .expect("rotate");
    assert_eq!(rotated.status(), 200);
    let (id3, v3) = sim.complete_call(TENANT, call(3)).expect("call");
    let third = legs.of(&id3, v3, 2).await;
    let pseudonyms = |legs: &[(CallLeg, Vec<u8>)]| {
        let mut p: Vec<String> = legs.iter().map(|(l, _)| l.participant_id.clone()).collect();
        p.sort();
        p
    };
    assert_ne!(
        pseudonyms(&first),
        pseudonyms(&third),
        "a new key, new pseudonyms"
    );

    // Unlinking deletes the subscription and destroys the keys.
    let unlinked = http
        .delete(format!("{ingest}/teams/link/{ORG}"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .expect("unlink");
    assert_eq!(unlinked.status(), 200);
    let body: Value = unlinked.json().await.expect("JSON");
    assert_eq!(body["state"], "unlinked");
    assert_eq!(body["keys"], 0);
    assert!(body["key_id"].is_null());
    assert!(sim.subscriptions().iter().all(|(s, _, _)| *s != recreated));
    assert!(sim.subscriptions().is_empty());

    // No personal data in metrics, nor in logs at info and above.
    let rendered = running.metrics.render().to_lowercase();
    let logged = String::from_utf8_lossy(&logs.lock().expect("lock")).to_lowercase();
    assert!(logged.contains("tenant linked"), "the logs were captured");
    for secret in [
        "priya",
        "raman",
        "marcus",
        "mlee-dt07",
        "praman-lt14",
        "@contoso.com",
        "netadmin",
        "network admin",
    ] {
        assert!(!rendered.contains(secret), "{secret} in metrics");
        assert!(!logged.contains(secret), "{secret} in the logs");
    }
    shutdown.drain(Duration::from_secs(20)).await;
}

/// graphsim with the tenant, and every role with the tenant declared in configuration (no OAuth
/// linking), subscribed.
async fn static_tenant() -> (GraphSim, Shutdown, Running, Legs) {
    let sim = graphsim().await;
    sim.add_tenant(TenantSpec {
        tenant_id: TENANT.into(),
        display_name: "Contoso".into(),
        admin: admin(),
        consented: true,
    });
    let mut config = config(&sim);
    config.graph.tenants.insert(
        TENANT.into(),
        callsight_teams::config::StaticTenantConfig {
            org_id: ORG.into(),
            ..Default::default()
        },
    );
    config.validate().expect("valid");
    let shutdown = Shutdown::new();
    let running = run::start(&config, run::Roles::ALL, &shutdown)
        .await
        .expect("starts");
    let legs = Legs::follow(&config, &running);
    eventually(Duration::from_secs(30), "a subscription", || async {
        (!sim.subscriptions().is_empty()).then_some(())
    })
    .await;
    (sim, shutdown, running, legs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_is_lost_under_throttling_outages_and_a_broker_outage() {
    capture_logs();
    let (sim, shutdown, running, legs) = static_tenant().await;

    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    sim.set_faults(Faults {
        throttle_next: 25,
        retry_after_seconds: 0.05,
        unavailable_next: 6,
        not_ready_gets: 2,
        ..Faults::default()
    });
    for n in 0..12 {
        let (id, v) = sim.complete_call(TENANT, call(100 + n)).expect("call");
        expected.insert(id, v);
    }
    // A broker outage while calls complete: Graph's deliveries are answered 503 (or time out)
    // and retried; nothing is acknowledged that is not durable.
    running
        .services()
        .cluster()
        .embedded()
        .expect("embedded")
        .set_up(false)
        .expect("down");
    for n in 0..8 {
        let (id, v) = sim.complete_call(TENANT, call(200 + n)).expect("call");
        expected.insert(id, v);
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    running
        .services()
        .cluster()
        .embedded()
        .expect("embedded")
        .set_up(true)
        .expect("up");
    // New versions of some of them.
    for (id, v) in expected.iter_mut().take(5) {
        let mut record = call(0);
        record["id"] = Value::String(id.clone());
        let (_, next) = sim.update_call(TENANT, record).expect("update");
        *v = next;
    }

    let all = eventually(
        Duration::from_secs(180),
        "every call's latest version on calls.legs",
        || {
            let seen = legs.all();
            let expected = expected.clone();
            async move {
                expected
                    .iter()
                    .all(|(id, v)| {
                        seen.iter()
                            .filter(|(l, _)| l.call_id == *id && l.record_version == *v)
                            .count()
                            >= 2
                    })
                    .then_some(seen)
            }
        },
    )
    .await;
    // Once per version: no (leg, version) twice.
    let mut counts: BTreeMap<(String, i64), usize> = BTreeMap::new();
    for (leg, _) in &all {
        *counts
            .entry((leg.leg_id.clone(), leg.record_version))
            .or_default() += 1;
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "published twice: {repeated:?}");
    let stats = sim.stats();
    assert_eq!(stats.notifications_dropped, 0);
    assert!(stats.throttled >= 25, "{stats:?}");
    assert!(stats.unavailable >= 6, "{stats:?}");
    // Five records got their second version before a first fetch: only the first versions of
    // the other fifteen waited to be produced.
    assert!(stats.not_ready >= 2 * 15, "{stats:?}");
    assert!(
        stats.deliveries > stats.deliveries_acknowledged,
        "deliveries during the outage were refused and delivered again: {stats:?}"
    );
    assert_eq!(
        metric(
            &running,
            "callsight_fetch_records_total{outcome=\"not_found\"}"
        ),
        0.0,
        "records not ready yet were waited for"
    );
    shutdown.drain(Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_call_record_graph_answers_malformed_is_a_dead_letter_not_retried_forever() {
    let (sim, shutdown, running, legs) = static_tenant().await;
    sim.set_faults(Faults {
        malformed_next: 1,
        ..Faults::default()
    });
    let (broken, _) = sim.complete_call(TENANT, call(300)).expect("call");
    eventually(
        Duration::from_secs(60),
        "the malformed record dead-lettered",
        || {
            let failed = metric(
                &running,
                "callsight_fetch_records_total{outcome=\"failed\"}",
            );
            async move { (failed >= 1.0).then_some(()) }
        },
    )
    .await;
    // The fetcher goes on: the next call's legs arrive.
    let (next, _) = sim.complete_call(TENANT, call(301)).expect("call");
    eventually(Duration::from_secs(60), "the next call's legs", || {
        let seen = legs.all();
        let next = next.clone();
        async move { seen.iter().any(|(l, _)| l.call_id == next).then_some(()) }
    })
    .await;
    assert!(!legs.all().iter().any(|(l, _)| l.call_id == broken));
    shutdown.drain(Duration::from_secs(20)).await;
}
