//! Plain Avro datums: a value under a schema, without framing; decoding resolves the writer's
//! schema into the reader's current one (the crate's single-object reader does not).

use super::{CodecError, Record};
use crate::catalog::{Catalog, SchemaEntry};
use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::writer::datum::GenericDatumWriter;
use serde::Serialize;

/// The current schema of `T`.
pub fn current_schema<T: Record>() -> Result<&'static SchemaEntry, CodecError> {
    Catalog::global()
        .current(T::FULL_NAME)
        .map(|e| e.as_ref())
        .ok_or_else(|| CodecError::Encode {
            type_name: T::FULL_NAME,
            reason: "no schema with this name is compiled in".to_string(),
        })
}

/// Appends `value` encoded under `schema` to `out`.
pub fn encode_datum_into<T: Serialize>(
    schema: &Schema,
    type_name: &'static str,
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let encode = |e: apache_avro::Error| CodecError::Encode {
        type_name,
        reason: super::error::describe(&e),
    };
    let writer = GenericDatumWriter::builder(schema)
        .build()
        .map_err(encode)?;
    writer.write_ser(out, value).map_err(encode)?;
    Ok(())
}

/// Decodes a datum written under `writer` into `T`, resolving into `T`'s current schema when
/// the writer's differs. Trailing bytes are an error.
pub fn decode_datum<T: Record>(writer: &Schema, datum: &[u8]) -> Result<T, CodecError> {
    let decode = |reason: String| CodecError::Decode {
        type_name: T::FULL_NAME,
        reason,
    };
    let reader = current_schema::<T>()?;
    let found = writer
        .name()
        .map(|n| n.fullname(None))
        .unwrap_or_else(|| "an unnamed schema".to_string());
    if found != T::FULL_NAME {
        return Err(CodecError::WrongType {
            expected: T::FULL_NAME.to_string(),
            found,
        });
    }
    let builder = GenericDatumReader::builder(writer);
    let datum_reader = if *writer == reader.schema {
        builder.build()
    } else {
        builder.reader_schema(&reader.schema).build()
    }
    .map_err(|e| decode(super::error::describe(&e)))?;
    let mut cursor = datum;
    let value = datum_reader
        .read_value(&mut cursor)
        .map_err(|e| decode(super::error::describe(&e)))?;
    if !cursor.is_empty() {
        return Err(decode(format!(
            "{} bytes left over after the record",
            cursor.len()
        )));
    }
    apache_avro::from_value::<T>(&value).map_err(|e| decode(super::error::describe(&e)))
}
