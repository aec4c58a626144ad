//! The Confluent framing against an in-process fake Schema Registry speaking its REST API.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use callsight_core::codec::Codec;
use callsight_core::codec::{CodecConfig, FramingConfig};
use callsight_model::codec::{CodecError, single_object};
use callsight_model::types::{CallLeg, RootCauseVerdict};
use callsight_testkit::samples;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Registry {
    /// (subject, schema) by id - 1.
    schemas: Vec<(String, String)>,
}

type Shared = Arc<Mutex<Registry>>;

async fn register(
    State(state): State<Shared>,
    Path(subject): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    let schema = body["schema"]
        .as_str()
        .ok_or(StatusCode::UNPROCESSABLE_ENTITY)?
        .to_string();
    apache_avro::Schema::parse_str(&schema).map_err(|_| StatusCode::UNPROCESSABLE_ENTITY)?;
    let mut registry = state.lock().expect("lock");
    let id = match registry.schemas.iter().position(|(_, s)| *s == schema) {
        Some(i) => i + 1,
        None => {
            registry.schemas.push((subject, schema));
            registry.schemas.len()
        }
    };
    Ok(Json(json!({ "id": id })))
}

async fn by_id(
    State(state): State<Shared>,
    Path(id): Path<usize>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let registry = state.lock().expect("lock");
    match id.checked_sub(1).and_then(|i| registry.schemas.get(i)) {
        Some((_, schema)) => Ok(Json(json!({ "schema": schema }))),
        None => Err((
            StatusCode::NOT_FOUND,
            Json(json!({"error_code": 40403, "message": "Schema not found"})),
        )),
    }
}

async fn fake_registry() -> (String, Shared) {
    let state: Shared = Arc::default();
    let app = Router::new()
        .route("/subjects/{subject}/versions", post(register))
        .route("/schemas/ids/{id}", get(by_id))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, state)
}

fn confluent(url: &str) -> CodecConfig {
    CodecConfig {
        framing: FramingConfig::Confluent,
        schema_registry_url: Some(url.to_string()),
        ..CodecConfig::default()
    }
}

#[tokio::test]
async fn confluent_framing_registers_and_round_trips() {
    let (url, state) = fake_registry().await;
    let codec = Codec::new(&confluent(&url)).expect("codec");
    let leg = samples::call_leg();
    let bytes = codec.encode("calls.legs", &leg).await.expect("encodes");
    assert_eq!(bytes[0], 0, "Confluent magic byte");
    assert_eq!(
        u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]),
        1
    );
    assert_eq!(state.lock().expect("lock").schemas[0].0, "calls.legs-value");

    // A second codec (another process) knows nothing yet and fetches the schema by id.
    let reader = Codec::new(&confluent(&url)).expect("codec");
    let decoded: CallLeg = reader.decode(&bytes).await.expect("decodes");
    assert_eq!(decoded, leg);

    // Readers also accept single-object records, whatever they write.
    let single = single_object::encode(&leg).expect("encodes");
    let decoded: CallLeg = reader.decode(&single).await.expect("decodes");
    assert_eq!(decoded, leg);

    // The same schema registered again keeps its id.
    let again = codec.encode("calls.legs", &leg).await.expect("encodes");
    assert_eq!(&again[..5], &bytes[..5]);
}

#[tokio::test]
async fn an_unknown_schema_id_is_a_typed_error() {
    let (url, _) = fake_registry().await;
    let codec = Codec::new(&confluent(&url)).expect("codec");
    let err = codec
        .decode::<RootCauseVerdict>(&[0, 0, 0, 0, 99, 1, 2, 3])
        .await
        .unwrap_err();
    assert!(matches!(err, CodecError::UnknownSchemaId(99)), "{err}");
}

#[tokio::test]
async fn a_confluent_record_without_a_registry_is_a_registry_error() {
    let codec = Codec::single_object();
    let err = codec
        .decode::<RootCauseVerdict>(&[0, 0, 0, 0, 1, 2])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "registry");
    assert!(err.to_string().contains("schema_registry_url"), "{err}");
}

#[tokio::test]
async fn a_registry_that_is_down_is_a_registry_error() {
    let codec = Codec::new(&confluent("http://127.0.0.1:9")).expect("codec");
    let err = codec
        .encode("calls.legs", &samples::call_leg())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "registry");
}
