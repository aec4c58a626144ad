//! The configured codec: writes records in the configured framing and reads either framing.
//! Single-object records need nothing but the schemas compiled in; Confluent-framed ones need
//! the Schema Registry, whose answers are cached.

use crate::config::{Problem, Problems, Secret};
use crate::schema_registry::{RegistryClient, RegistryError};
use apache_avro::Schema;
use callsight_model::codec::datum::{current_schema, decode_datum, encode_compiled_into};
use callsight_model::codec::{self, CodecError, Framing, Record, confluent, single_object};
use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A record could not be encoded for its topic (with the Confluent framing, a Schema Registry
/// that does not answer; otherwise a bug).
#[derive(Debug, thiserror::Error)]
#[error("encoding a record for {topic}")]
pub struct EncodeError {
    /// The topic.
    pub topic: String,
    /// Why.
    #[source]
    pub source: CodecError,
}

/// Wire framing of the records callsight writes. Readers accept both framings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FramingConfig {
    /// Avro single-object encoding: self-describing, no registry needed.
    #[default]
    SingleObject,
    /// Confluent wire format with schema ids from a Schema Registry.
    Confluent,
}

/// How records are framed on the wire (`[codec]`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CodecConfig {
    /// Framing of written records.
    pub framing: FramingConfig,
    /// Schema Registry base URL; required for the Confluent framing, and used to read
    /// Confluent-framed records written by others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_registry_url: Option<String>,
    /// Schema Registry basic-auth user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_registry_username: Option<String>,
    /// Schema Registry basic-auth password.
    pub schema_registry_password: Secret,
}

impl CodecConfig {
    /// What is wrong with the section at `prefix`.
    pub fn problems(&self, prefix: &str) -> Vec<Problem> {
        let mut p = Problems::new(prefix);
        if self.framing == FramingConfig::Confluent && self.schema_registry_url.is_none() {
            p.bad(
                "schema_registry_url",
                "is required when codec.framing is confluent",
            );
        }
        if let Some(url) = &self.schema_registry_url {
            p.check_url("schema_registry_url", url);
        }
        p.into_vec()
    }

    /// Hides the secrets, for printing.
    pub fn redact(&mut self) {
        self.schema_registry_password.redact();
    }
}

/// Encodes and decodes records as configured.
#[derive(Debug)]
pub struct Codec {
    framing: FramingConfig,
    registry: Option<RegistryClient>,
    /// Schema id of each subject's current schema.
    ids: DashMap<String, u32>,
    /// Writer schemas by id.
    schemas: DashMap<u32, Arc<Schema>>,
}

impl Codec {
    /// A codec for `config`.
    pub fn new(config: &CodecConfig) -> Result<Self, CodecError> {
        let registry = match &config.schema_registry_url {
            Some(url) => Some(
                RegistryClient::new(
                    url,
                    config.schema_registry_username.clone(),
                    config.schema_registry_password.clone(),
                )
                .map_err(|e| CodecError::Registry(e.to_string()))?,
            ),
            None => None,
        };
        Ok(Codec {
            framing: config.framing,
            registry,
            ids: DashMap::new(),
            schemas: DashMap::new(),
        })
    }

    /// The single-object codec, with no registry.
    pub fn single_object() -> Self {
        Codec {
            framing: FramingConfig::SingleObject,
            registry: None,
            ids: DashMap::new(),
            schemas: DashMap::new(),
        }
    }

    /// Like [`Codec::encode`], its error naming the topic: what a producer of `topic` reports.
    pub async fn encode_for<T: Record>(
        &self,
        topic: &str,
        value: &T,
    ) -> Result<Vec<u8>, EncodeError> {
        self.encode(topic, value)
            .await
            .map_err(|source| EncodeError {
                topic: topic.to_string(),
                source,
            })
    }

    /// Encodes a value of `topic` in the configured framing. With the Confluent framing the
    /// schema is registered under `<topic>-value` the first time.
    pub async fn encode<T: Record>(&self, topic: &str, value: &T) -> Result<Vec<u8>, CodecError> {
        match self.framing {
            FramingConfig::SingleObject => single_object::encode(value),
            FramingConfig::Confluent => {
                let id = self.subject_id::<T>(topic).await?;
                let schema = current_schema::<T>()?;
                let mut out = Vec::with_capacity(256);
                out.push(confluent::MAGIC);
                out.extend_from_slice(&id.to_be_bytes());
                encode_compiled_into(&schema.schema, T::FULL_NAME, value, &mut out)?;
                Ok(out)
            }
        }
    }

    /// Decodes a record in either framing into `T`, resolving its writer schema into the current
    /// one.
    pub async fn decode<T: Record>(&self, bytes: &[u8]) -> Result<T, CodecError> {
        self.prepare(bytes).await?;
        self.decode_prepared(bytes)
    }

    /// Fetches from the Schema Registry (once) the writer schema a Confluent-framed record
    /// names, so that [`Codec::decode_prepared`] decodes it without waiting; single-object
    /// records need nothing. Fails as decoding would for a record of neither framing.
    pub async fn prepare(&self, bytes: &[u8]) -> Result<(), CodecError> {
        if let Framing::Confluent = codec::detect(bytes)? {
            let (id, _) = confluent::split(bytes)?;
            self.schema_by_id(id).await?;
        }
        Ok(())
    }

    /// Decodes a record [`Codec::prepare`] was given (or a single-object one) without waiting,
    /// so on any thread: a Confluent-framed record whose writer schema was not fetched yet is
    /// an error.
    pub fn decode_prepared<T: Record>(&self, bytes: &[u8]) -> Result<T, CodecError> {
        match codec::detect(bytes)? {
            Framing::SingleObject => single_object::decode(bytes),
            Framing::Confluent => {
                let (id, datum) = confluent::split(bytes)?;
                let writer = self
                    .schemas
                    .get(&id)
                    .map(|s| s.clone())
                    .ok_or(CodecError::UnknownSchemaId(id))?;
                decode_datum(&writer, datum)
            }
        }
    }

    async fn subject_id<T: Record>(&self, topic: &str) -> Result<u32, CodecError> {
        let subject = format!("{topic}-value");
        if let Some(id) = self.ids.get(&subject) {
            return Ok(*id);
        }
        let registry = self.registry()?;
        let schema = current_schema::<T>()?;
        let id = registry
            .register(&subject, &schema.json)
            .await
            .map_err(|e| CodecError::Registry(e.to_string()))?;
        self.ids.insert(subject, id);
        self.schemas.insert(id, Arc::new(schema.schema.clone()));
        Ok(id)
    }

    async fn schema_by_id(&self, id: u32) -> Result<Arc<Schema>, CodecError> {
        if let Some(schema) = self.schemas.get(&id) {
            return Ok(schema.clone());
        }
        let json = self.registry()?.schema(id).await.map_err(|e| match e {
            RegistryError::NotFound(id) => CodecError::UnknownSchemaId(id),
            other => CodecError::Registry(other.to_string()),
        })?;
        let schema =
            Arc::new(Schema::parse_str(&json).map_err(|e| {
                CodecError::Registry(format!("schema id {id} does not parse: {e}"))
            })?);
        self.schemas.insert(id, schema.clone());
        Ok(schema)
    }

    fn registry(&self) -> Result<&RegistryClient, CodecError> {
        self.registry.as_ref().ok_or_else(|| {
            CodecError::Registry(
                "a Confluent-framed record needs codec.schema_registry_url, which is not set"
                    .to_string(),
            )
        })
    }
}
