//! What can go wrong turning bytes into records and back.

use crate::catalog::Fingerprint;

/// A record that cannot be framed, encoded or decoded. Every variant sends the record to the
/// dead-letter topic; [`CodecError::kind`] names the variant for metrics and the dead letter.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Neither the Avro single-object marker (`C3 01`) nor the Confluent magic byte (`0`).
    #[error(
        "unknown framing: the record starts with {0}, neither the Avro single-object marker C3 01 nor the Confluent magic byte 00"
    )]
    UnknownFraming(String),
    /// Fewer bytes than the framing needs.
    #[error("truncated record: {0}")]
    Truncated(&'static str),
    /// A single-object record whose writer schema this binary does not know.
    #[error(
        "unknown writer schema: fingerprint {0} is not among the schemas compiled into callsight"
    )]
    UnknownFingerprint(Fingerprint),
    /// A Confluent-framed record whose schema id the registry does not know.
    #[error("unknown schema id {0}")]
    UnknownSchemaId(u32),
    /// The writer schema is another type than the one expected on this topic.
    #[error("the record was written as {found}, but {expected} was expected")]
    WrongType {
        /// Type expected.
        expected: String,
        /// Type found.
        found: String,
    },
    /// The bytes do not decode under the writer schema, or do not resolve into the reader's.
    #[error("cannot decode as {type_name}: {reason}")]
    Decode {
        /// Type being decoded.
        type_name: &'static str,
        /// Why.
        reason: String,
    },
    /// The value does not fit its schema (a bug: the drift tests should catch it first).
    #[error("cannot encode {type_name}: {reason}")]
    Encode {
        /// Type being encoded.
        type_name: &'static str,
        /// Why.
        reason: String,
    },
    /// The Schema Registry failed or answered something unusable.
    #[error("schema registry: {0}")]
    Registry(String),
}

impl CodecError {
    /// A closed set of short names, used as a metric label and as the dead letter's `error_kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            CodecError::UnknownFraming(_) => "unknown_framing",
            CodecError::Truncated(_) => "truncated",
            CodecError::UnknownFingerprint(_) => "unknown_fingerprint",
            CodecError::UnknownSchemaId(_) => "unknown_schema_id",
            CodecError::WrongType { .. } => "wrong_type",
            CodecError::Decode { .. } => "decode",
            CodecError::Encode { .. } => "encode",
            CodecError::Registry(_) => "registry",
        }
    }

    /// Every value [`CodecError::kind`] can return, to initialise metrics.
    pub const KINDS: [&'static str; 8] = [
        "unknown_framing",
        "truncated",
        "unknown_fingerprint",
        "unknown_schema_id",
        "wrong_type",
        "decode",
        "encode",
        "registry",
    ];
}

/// A short description of an Avro error. Some of the crate's messages embed the whole record
/// schema; those are reduced to the record and field names, and anything else is capped, so that
/// dead letters and logs stay readable.
pub(crate) fn describe(error: &apache_avro::Error) -> String {
    use apache_avro::error::Details;
    const MAX: usize = 600;
    let text = match error.details() {
        Details::SerializeRecordFieldWithSchema {
            field_name,
            record_schema,
            error,
        } => format!(
            "field {field_name} of {}: {}",
            record_schema.name,
            strip_schema_dumps(error)
        ),
        Details::MissingDefaultForSkippedField { field_name, .. } => {
            format!("field {field_name} is skipped but its schema has no default")
        }
        _ => error.to_string(),
    };
    cap(text, MAX)
}

/// Nested serializer errors repeat "of record RecordSchema { ... }: "; keep what follows.
fn strip_schema_dumps(text: &str) -> String {
    text.rsplit_once("}: ")
        .map(|(_, tail)| tail.to_string())
        .unwrap_or_else(|| text.to_string())
}

fn cap(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str(" …");
    }
    text
}
