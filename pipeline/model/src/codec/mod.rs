//! Turning records into bytes and back.
//!
//! - [`single_object`]: Avro single-object encoding, the default framing; writer schemas are
//!   found by fingerprint in the [`Catalog`](crate::catalog::Catalog).
//! - [`confluent`]: the Confluent wire format (the registry client lives in `callsight-core`).
//! - [`datum`]: plain datums, with explicit schema resolution into the current reader schema.
//! - [`record`]: the [`Record`] trait tying a Rust type to its named Avro type.

pub mod confluent;
pub mod datum;
pub(crate) mod error;
mod record;
pub mod single_object;

pub use error::CodecError;
pub use record::{RECORD_TYPES, Record};

/// How a record on the wire is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Avro single-object encoding (`C3 01` + fingerprint).
    SingleObject,
    /// Confluent wire format (`0` + schema id).
    Confluent,
}

/// Tells the framing of a record from its first bytes.
pub fn detect(bytes: &[u8]) -> Result<Framing, CodecError> {
    match bytes {
        [0xC3, 0x01, ..] => Ok(Framing::SingleObject),
        [confluent::MAGIC, ..] => Ok(Framing::Confluent),
        [] => Err(CodecError::Truncated("the record is empty")),
        _ => Err(CodecError::UnknownFraming(describe_start(bytes))),
    }
}

/// The first bytes of a record in hex, for error messages.
pub(crate) fn describe_start(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02X}")).collect();
    if shown.is_empty() {
        "nothing".to_string()
    } else {
        shown.join(" ")
    }
}
