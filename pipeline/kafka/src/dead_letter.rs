//! Dead letters: a record that cannot be processed is kept, raw, with the reason, in the
//! dead-letter topic of the topic it came from, under its original key.

use crate::consumer::ConsumedRecord;
use crate::metrics::KafkaMetrics;
use crate::producer::{ProduceError, Producer};
use callsight_core::codec::Codec;
use callsight_model::CodecError;
use callsight_model::types::{DeadLetter, RecordHeader};
use std::sync::Arc;

/// Writes dead letters.
#[derive(Clone)]
pub struct DeadLetters {
    producer: Producer,
    codec: Arc<Codec>,
    suffix: String,
    metrics: Arc<KafkaMetrics>,
}

/// A dead letter could not be written; the input must not be committed.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// Encoding the dead letter failed.
    #[error("encoding a dead letter")]
    Encode(#[from] CodecError),
    /// Producing it failed.
    #[error(transparent)]
    Produce(#[from] ProduceError),
}

impl DeadLetters {
    /// Dead letters go to `<topic><suffix>`.
    pub fn new(
        producer: Producer,
        codec: Arc<Codec>,
        suffix: &str,
        metrics: Arc<KafkaMetrics>,
    ) -> Self {
        DeadLetters {
            producer,
            codec,
            suffix: suffix.to_string(),
            metrics,
        }
    }

    /// Keeps a consumed record that failed at `stage` with `error` (`kind` from a closed set).
    pub async fn send(
        &self,
        record: &ConsumedRecord,
        stage: &str,
        kind: &str,
        error: &str,
        now_ms: i64,
    ) -> Result<(), DeadLetterError> {
        let letter = DeadLetter {
            source_topic: record.topic.clone(),
            partition: Some(record.partition),
            offset: Some(record.offset),
            key: record.key.clone(),
            payload: record.payload.clone().unwrap_or_default(),
            headers: record
                .headers
                .iter()
                .map(|(key, value)| RecordHeader {
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect(),
            error_kind: kind.to_string(),
            error: error.to_string(),
            stage: stage.to_string(),
            failed_at: now_ms,
        };
        let topic = format!("{}{}", record.topic, self.suffix);
        self.keep(&topic, letter, record.key.as_deref()).await
    }

    /// Writes `letter` to `topic` under `key` (its original key), counting it under the
    /// letter's source and kind, and logs it: at WARN its place and kind only, since the error
    /// text may quote the rejected value (a device name, an e-mail, an IP); the text is logged at
    /// DEBUG and kept in the dead letter.
    pub async fn keep(
        &self,
        topic: &str,
        letter: DeadLetter,
        key: Option<&[u8]>,
    ) -> Result<(), DeadLetterError> {
        self.write(topic, &letter, key).await?;
        tracing::warn!(
            source = %letter.source_topic,
            partition = letter.partition,
            offset = letter.offset,
            kind = %letter.error_kind,
            stage = %letter.stage,
            "record sent to the dead-letter topic"
        );
        Ok(())
    }

    /// Writes many letters to `topic`, counting each, without logging: a caller keeps a
    /// request's letters (in slices) and logs them once with [`DeadLetters::log_kept`], so that a
    /// request of many bad lines writes one line to the log. Each letter's text is logged at
    /// DEBUG only, as in [`DeadLetters::keep`].
    pub async fn write_all(
        &self,
        topic: &str,
        letters: &[DeadLetter],
    ) -> Result<(), DeadLetterError> {
        futures::future::try_join_all(letters.iter().map(|l| self.write(topic, l, None))).await?;
        Ok(())
    }

    /// The one WARN line for `letters` records of `source` kept in a dead-letter topic.
    pub fn log_kept(source: &str, letters: usize) {
        if letters > 0 {
            tracing::warn!(source, letters, "records sent to the dead-letter topic");
        }
    }

    async fn write(
        &self,
        topic: &str,
        letter: &DeadLetter,
        key: Option<&[u8]>,
    ) -> Result<(), DeadLetterError> {
        let result = async {
            let bytes = self.codec.encode(topic, letter).await?;
            self.producer
                .send(topic, key.unwrap_or_default(), &bytes, &[])
                .await?;
            Ok::<(), DeadLetterError>(())
        }
        .await;
        match &result {
            Ok(()) => {
                self.metrics
                    .dead_letters
                    .with_label_values(&[&letter.source_topic, &letter.error_kind])
                    .inc();
                tracing::debug!(
                    source = %letter.source_topic,
                    offset = letter.offset,
                    error = %letter.error,
                    "dead letter written"
                );
            }
            Err(e) => {
                self.metrics
                    .dead_letter_failures
                    .with_label_values(&[&letter.source_topic])
                    .inc();
                tracing::error!(source = %letter.source_topic, error = %callsight_core::error::Report(e), "cannot write a dead letter");
            }
        }
        result
    }

    /// Keeps a record that did not decode.
    pub async fn undecodable(
        &self,
        record: &ConsumedRecord,
        stage: &str,
        error: &CodecError,
        now_ms: i64,
    ) -> Result<(), DeadLetterError> {
        self.send(record, stage, error.kind(), &error.to_string(), now_ms)
            .await
    }
}
