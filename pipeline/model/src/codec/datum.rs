//! Plain Avro datums: a value under a schema, without framing; decoding resolves the writer's
//! schema into the reader's current one (the crate's single-object reader does not).

use super::{CodecError, Record};
use crate::catalog::{Catalog, SchemaEntry};
use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::writer::datum::GenericDatumWriter;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

/// Readers and writers of the compiled-in schemas, built once: building one resolves the
/// schemas' names (and comparing a writer with the reader schema walks both), which costs more
/// than encoding or decoding a small record. Keyed by the schemas' addresses, which the
/// catalog keeps for the life of the process.
type Cache<V> = OnceLock<RwLock<HashMap<(usize, usize), Arc<V>>>>;
static READERS: Cache<Reader<'static>> = OnceLock::new();
static WRITERS: Cache<GenericDatumWriter<'static>> = OnceLock::new();

fn address(schema: &Schema) -> usize {
    std::ptr::from_ref(schema) as usize
}

fn cached<V>(
    cache: &'static Cache<V>,
    key: (usize, usize),
    build: impl FnOnce() -> Result<V, CodecError>,
) -> Result<Arc<V>, CodecError> {
    let map = cache.get_or_init(Default::default);
    if let Some(held) = map
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&key)
    {
        return Ok(held.clone());
    }
    let built = Arc::new(build()?);
    map.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(key, built.clone());
    Ok(built)
}

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

/// Turns an apache-avro error into the codec's encode error for `type_name`.
fn encode_error(type_name: &'static str) -> impl Fn(apache_avro::Error) -> CodecError + Copy {
    move |e| CodecError::Encode {
        type_name,
        reason: super::error::describe(&e),
    }
}

/// Appends `value` encoded under `schema` to `out`.
pub fn encode_datum_into<T: Serialize>(
    schema: &Schema,
    type_name: &'static str,
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let encode = encode_error(type_name);
    let writer = GenericDatumWriter::builder(schema)
        .build()
        .map_err(encode)?;
    writer.write_ser(out, value).map_err(encode)?;
    Ok(())
}

/// [`encode_datum_into`] under a compiled-in schema, with its writer built once.
pub fn encode_compiled_into<T: Serialize>(
    schema: &'static Schema,
    type_name: &'static str,
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let encode = encode_error(type_name);
    let writer = cached(&WRITERS, (address(schema), 0), || {
        GenericDatumWriter::builder(schema).build().map_err(encode)
    })?;
    writer.write_ser(out, value).map_err(encode)?;
    Ok(())
}

/// Decodes a datum written under `writer` into `T`, resolving into `T`'s current schema when
/// the writer's differs. Trailing bytes are an error.
pub fn decode_datum<T: Record>(writer: &Schema, datum: &[u8]) -> Result<T, CodecError> {
    check_name::<T>(writer)?;
    let reader = current_schema::<T>()?;
    datum_reader::<T>(writer, &reader.schema)?.read(datum)
}

/// [`decode_datum`] for a compiled-in writer schema (the single-object path), with its datum
/// reader built once.
pub fn decode_compiled<T: Record>(writer: &'static Schema, datum: &[u8]) -> Result<T, CodecError> {
    let reader = &current_schema::<T>()?.schema;
    // The pair identifies `T`: its name is checked once, when its reader is built.
    let datum_reader = cached(&READERS, (address(writer), address(reader)), || {
        check_name::<T>(writer)?;
        datum_reader::<T>(writer, reader)
    })?;
    datum_reader.read(datum)
}

fn decode_error<T: Record>(reason: String) -> CodecError {
    CodecError::Decode {
        type_name: T::FULL_NAME,
        reason,
    }
}

fn check_name<T: Record>(writer: &Schema) -> Result<(), CodecError> {
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
    Ok(())
}

/// A datum reader, and whether it resolves the writer's schema into another.
struct Reader<'s> {
    datum: GenericDatumReader<'s>,
    resolves: bool,
}

fn datum_reader<'s, T: Record>(
    writer: &'s Schema,
    reader: &'s Schema,
) -> Result<Reader<'s>, CodecError> {
    let builder = GenericDatumReader::builder(writer);
    let resolves = !(std::ptr::eq(writer, reader) || writer == reader);
    let datum = if resolves {
        builder.reader_schema(reader).build()
    } else {
        builder.build()
    }
    .map_err(|e| decode_error::<T>(super::error::describe(&e)))?;
    Ok(Reader { datum, resolves })
}

impl Reader<'_> {
    /// Reads one datum into `T`: straight into `T` when written under its own schema, through
    /// an Avro value resolved into it otherwise.
    fn read<T: Record>(&self, datum: &[u8]) -> Result<T, CodecError> {
        let describe = |e: apache_avro::Error| decode_error::<T>(super::error::describe(&e));
        let mut cursor = datum;
        let value = if self.resolves {
            let value = self.datum.read_value(&mut cursor).map_err(describe)?;
            apache_avro::from_value::<T>(&value).map_err(describe)?
        } else {
            self.datum.read_deser::<T>(&mut cursor).map_err(describe)?
        };
        if !cursor.is_empty() {
            return Err(decode_error::<T>(format!(
                "{} bytes left over after the record",
                cursor.len()
            )));
        }
        Ok(value)
    }
}
