//! The Confluent wire format: magic byte `0`, a 4-byte big-endian Schema Registry id, the datum.

use super::CodecError;

/// The Confluent magic byte.
pub const MAGIC: u8 = 0;
/// Magic byte plus schema id.
pub const HEADER_LEN: usize = 5;

/// Frames a datum with its schema id.
pub fn frame(schema_id: u32, datum: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + datum.len());
    out.push(MAGIC);
    out.extend_from_slice(&schema_id.to_be_bytes());
    out.extend_from_slice(datum);
    out
}

/// Splits a Confluent-framed record into schema id and datum.
pub fn split(bytes: &[u8]) -> Result<(u32, &[u8]), CodecError> {
    if bytes.len() < HEADER_LEN {
        return Err(CodecError::Truncated(
            "a Confluent-framed record needs at least 5 bytes",
        ));
    }
    if bytes[0] != MAGIC {
        return Err(CodecError::UnknownFraming(super::describe_start(bytes)));
    }
    let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    Ok((id, &bytes[HEADER_LEN..]))
}
