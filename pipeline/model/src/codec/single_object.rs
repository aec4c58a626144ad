//! Avro single-object encoding: `C3 01`, the writer schema's 8-byte CRC-64-AVRO fingerprint
//! (little-endian), then the datum.

use super::datum::{current_schema, decode_compiled, encode_compiled_into};
use super::{CodecError, Record};
use crate::catalog::{Catalog, Fingerprint};

/// The two marker bytes that open a single-object encoded record.
pub const MARKER: [u8; 2] = [0xC3, 0x01];
/// Marker plus fingerprint.
pub const HEADER_LEN: usize = 10;

/// Encodes `value` under the current schema of `T`, with the single-object header.
pub fn encode<T: Record>(value: &T) -> Result<Vec<u8>, CodecError> {
    let entry = current_schema::<T>()?;
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&MARKER);
    out.extend_from_slice(&entry.fingerprint.0);
    encode_compiled_into(&entry.schema, T::FULL_NAME, value, &mut out)?;
    Ok(out)
}

/// Splits a single-object record into the writer fingerprint and the datum.
pub fn split(bytes: &[u8]) -> Result<(Fingerprint, &[u8]), CodecError> {
    if bytes.len() < HEADER_LEN {
        return Err(CodecError::Truncated(
            "a single-object record needs at least 10 bytes",
        ));
    }
    if bytes[..2] != MARKER {
        return Err(CodecError::UnknownFraming(super::describe_start(bytes)));
    }
    let mut fp = [0u8; 8];
    fp.copy_from_slice(&bytes[2..HEADER_LEN]);
    Ok((Fingerprint(fp), &bytes[HEADER_LEN..]))
}

/// Decodes a single-object record into `T`, looking the writer schema up by fingerprint among
/// the current and released schemas and resolving it into the current one.
pub fn decode<T: Record>(bytes: &[u8]) -> Result<T, CodecError> {
    let (fingerprint, datum) = split(bytes)?;
    let writer = Catalog::global()
        .by_fingerprint(&fingerprint)
        .ok_or(CodecError::UnknownFingerprint(fingerprint))?;
    decode_compiled::<T>(&writer.schema, datum)
}
