//! A client of the Confluent Schema Registry REST API: register a schema under a subject, fetch
//! a schema by id.

use crate::config::Secret;
use serde::Deserialize;
use std::time::Duration;

/// What the registry calls an error, or a failure to reach it.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry does not know the id.
    #[error("schema id {0} is not in the registry")]
    NotFound(u32),
    /// HTTP failed or the registry answered something else than expected.
    #[error("{0}")]
    Failed(String),
}

/// Schema Registry client.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    http: reqwest::Client,
    base: String,
    auth: Option<(String, Secret)>,
}

#[derive(Deserialize)]
struct IdResponse {
    id: u32,
}

#[derive(Deserialize)]
struct SchemaResponse {
    schema: String,
}

impl RegistryClient {
    /// A client of the registry at `base_url`, with optional basic auth.
    pub fn new(
        base_url: &str,
        username: Option<String>,
        password: Secret,
    ) -> Result<Self, RegistryError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| RegistryError::Failed(format!("HTTP client: {e}")))?;
        Ok(RegistryClient {
            http,
            base: base_url.trim_end_matches('/').to_string(),
            auth: username.map(|u| (u, password)),
        })
    }

    fn with_auth(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.auth {
            Some((user, password)) => request.basic_auth(user, Some(password.expose())),
            None => request,
        }
    }

    /// Registers `schema` (Avro JSON) under `subject`, returning its id (the existing id when the
    /// registry already has it).
    pub async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let url = format!("{}/subjects/{subject}/versions", self.base);
        let response = self
            .with_auth(self.http.post(&url))
            .header("Content-Type", "application/vnd.schemaregistry.v1+json")
            .json(&serde_json::json!({ "schema": schema, "schemaType": "AVRO" }))
            .send()
            .await
            .map_err(|e| RegistryError::Failed(format!("POST {url}: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(RegistryError::Failed(format!(
                "POST {url}: {status}: {body}"
            )));
        }
        let parsed: IdResponse = response
            .json()
            .await
            .map_err(|e| RegistryError::Failed(format!("POST {url}: unexpected answer: {e}")))?;
        Ok(parsed.id)
    }

    /// The schema (Avro JSON) with this id.
    pub async fn schema(&self, id: u32) -> Result<String, RegistryError> {
        let url = format!("{}/schemas/ids/{id}", self.base);
        let response = self
            .with_auth(self.http.get(&url))
            .send()
            .await
            .map_err(|e| RegistryError::Failed(format!("GET {url}: {e}")))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(RegistryError::NotFound(id));
        }
        if !status.is_success() {
            return Err(RegistryError::Failed(format!("GET {url}: {status}")));
        }
        let parsed: SchemaResponse = response
            .json()
            .await
            .map_err(|e| RegistryError::Failed(format!("GET {url}: unexpected answer: {e}")))?;
        Ok(parsed.schema)
    }
}
