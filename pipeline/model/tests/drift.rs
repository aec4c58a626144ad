//! The Rust types and the `.avsc` files must describe the same records. For every top-level
//! type, values generated from the schema alone (every union branch, null and non-null, every
//! enum symbol, empty and full arrays) must decode into the Rust type and encode back to the same
//! value. A schema field the Rust type lacks fails the decode (`deny_unknown_fields`), a Rust
//! field the schema lacks fails the encode, and a type or nullability mismatch fails either.

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::schema::{Name, ResolvedSchema};
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use callsight_model::catalog::Catalog;
use callsight_model::codec::datum::{decode_datum, encode_datum_into};
use callsight_model::codec::{CodecError, Record};
use callsight_model::types::*;
use std::collections::HashMap;

/// splitmix64: a tiny deterministic generator, so every run checks the same values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// How to pick among alternatives: always the first, always the last, or at random.
#[derive(Clone, Copy)]
enum Pick {
    First,
    Last,
    Random,
}

struct Generator<'a> {
    names: &'a HashMap<Name, &'a Schema>,
    rng: Rng,
    pick: Pick,
}

impl Generator<'_> {
    fn choose(&mut self, n: usize) -> usize {
        match self.pick {
            Pick::First => 0,
            Pick::Last => n - 1,
            Pick::Random => self.rng.below(n),
        }
    }

    fn value(&mut self, schema: &Schema, depth: usize) -> Value {
        match schema {
            Schema::Null => Value::Null,
            Schema::Boolean => Value::Boolean(self.rng.next() & 1 == 1),
            Schema::Int => Value::Int(self.rng.next() as i32),
            Schema::Long => Value::Long(self.rng.next() as i64),
            Schema::TimestampMillis => Value::TimestampMillis(self.rng.next() as i64 >> 20),
            Schema::Double => Value::Double((self.rng.next() % 1_000_000) as f64 / 7.0),
            Schema::String => Value::String(format!("s{}", self.rng.next() % 1000)),
            Schema::Bytes => Value::Bytes((0..self.rng.below(5)).map(|i| i as u8).collect()),
            Schema::Array(array) => {
                let len = if depth > 3 { 0 } else { self.rng.below(3) };
                Value::Array(
                    (0..len)
                        .map(|_| self.value(&array.items, depth + 1))
                        .collect(),
                )
            }
            Schema::Map(map) => {
                let len = self.rng.below(3);
                Value::Map(
                    (0..len)
                        .map(|i| (format!("k{i}"), self.value(&map.types, depth + 1)))
                        .collect(),
                )
            }
            Schema::Union(union) => {
                let index = self.choose(union.variants().len());
                let inner = self.value(&union.variants()[index], depth + 1);
                Value::Union(index as u32, Box::new(inner))
            }
            Schema::Enum(e) => {
                let index = self.choose(e.symbols.len());
                Value::Enum(index as u32, e.symbols[index].clone())
            }
            Schema::Record(record) => Value::Record(
                record
                    .fields
                    .iter()
                    .map(|f| (f.name.clone(), self.value(&f.schema, depth + 1)))
                    .collect(),
            ),
            Schema::Ref { name } => {
                let schema = *self.names.get(name).expect("reference resolves");
                self.value(schema, depth)
            }
            other => panic!("the generator does not know {other:?}; extend it"),
        }
    }
}

fn check_type<T: Record + std::fmt::Debug>() {
    let entry = Catalog::global()
        .current(T::FULL_NAME)
        .unwrap_or_else(|| panic!("{} has no schema", T::FULL_NAME));
    let resolved = ResolvedSchema::try_from(&entry.schema).expect("schema resolves");
    let writer = GenericDatumWriter::builder(&entry.schema)
        .build()
        .expect("writer");
    for (pick, runs) in [(Pick::First, 1), (Pick::Last, 1), (Pick::Random, 300)] {
        for seed in 0..runs {
            let mut generator = Generator {
                names: resolved.get_names(),
                rng: Rng(seed),
                pick,
            };
            let value = generator.value(&entry.schema, 0);
            let bytes = writer
                .write_value_to_vec(value.clone())
                .expect("generated value fits");
            let decoded: T = decode_datum(&entry.schema, &bytes).unwrap_or_else(|e| {
                panic!(
                    "{}: schema-generated value does not decode into the Rust type: {e}\n{value:?}",
                    T::FULL_NAME
                )
            });
            let mut again = Vec::new();
            encode_datum_into(&entry.schema, T::FULL_NAME, &decoded, &mut again).unwrap_or_else(
                |e: CodecError| panic!("{}: the Rust value does not encode: {e}", T::FULL_NAME),
            );
            let round_trip = GenericDatumReader::builder(&entry.schema)
                .build()
                .expect("reader")
                .read_value(&mut again.as_slice())
                .expect("re-encoded bytes decode");
            assert_eq!(
                round_trip,
                value,
                "{}: round trip changed the value",
                T::FULL_NAME
            );
        }
    }
}

#[test]
fn graph_notification_matches_its_schema() {
    check_type::<GraphNotification>();
}

#[test]
fn call_leg_matches_its_schema() {
    check_type::<CallLeg>();
}

#[test]
fn network_sample_matches_its_schema() {
    check_type::<NetworkSample>();
}

#[test]
fn inventory_record_matches_its_schema() {
    check_type::<InventoryRecord>();
}

#[test]
fn tenant_link_matches_its_schema() {
    check_type::<TenantLink>();
}

#[test]
fn root_cause_verdict_matches_its_schema() {
    check_type::<RootCauseVerdict>();
}

#[test]
fn scope_alert_matches_its_schema() {
    check_type::<ScopeAlert>();
}

#[test]
fn dead_letter_matches_its_schema() {
    check_type::<DeadLetter>();
}

#[test]
fn control_message_matches_its_schema() {
    check_type::<ControlMessage>();
}

#[test]
fn every_record_type_is_checked() {
    // Adding a Record type without a drift test above should fail here.
    assert_eq!(callsight_model::codec::RECORD_TYPES.len(), 9);
}

#[test]
fn cause_codes_match_the_schema_symbols() {
    let entry = Catalog::global()
        .current("callsight.CauseCode")
        .expect("CauseCode");
    let Schema::Enum(e) = &entry.schema else {
        panic!("CauseCode is an enum")
    };
    let rust: Vec<String> = CauseCode::ALL
        .iter()
        .map(|c| {
            serde_json::to_value(c)
                .expect("serializes")
                .as_str()
                .expect("a string")
                .to_string()
        })
        .collect();
    assert_eq!(
        rust, e.symbols,
        "CauseCode::ALL must list the schema's symbols in order"
    );
    for cause in CauseCode::ALL {
        let (domain, _) = cause.code().split_once('.').expect("dotted");
        assert!(
            serde_json::to_value(cause)
                .expect("serializes")
                .as_str()
                .expect("str")
                .starts_with(domain),
            "{cause} symbol must start with its domain"
        );
    }
}
