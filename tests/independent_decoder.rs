//! An independent Avro implementation (Python fastavro, installed by the test command) reads
//! the bytes callsight writes, using nothing but the `.avsc` files in `schemas/`.

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value as Avro;
use callsight_e2e::repo_root;
use callsight_model::catalog::Catalog;
use callsight_model::codec::{Record, single_object};
use callsight_testkit::samples;
use serde_json::Value as Json;
use std::process::Command;

/// The record as the Python side renders it: unions as their branch, timestamps as epoch ms,
/// bytes as hex.
fn plain(value: &Avro) -> Json {
    match value {
        Avro::Null => Json::Null,
        Avro::Boolean(b) => Json::Bool(*b),
        Avro::Int(i) => Json::from(*i),
        Avro::Long(i) | Avro::TimestampMillis(i) => Json::from(*i),
        Avro::Double(d) => Json::from(*d),
        Avro::String(s) | Avro::Enum(_, s) => Json::from(s.clone()),
        Avro::Bytes(b) => Json::from(b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
        Avro::Union(_, inner) => plain(inner),
        Avro::Array(items) => Json::Array(items.iter().map(plain).collect()),
        Avro::Map(map) => Json::Object(map.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
        Avro::Record(fields) => {
            Json::Object(fields.iter().map(|(k, v)| (k.clone(), plain(v))).collect())
        }
        other => panic!("no rendering for {other:?}"),
    }
}

/// JSON equality where numbers compare by value (Python writes 47.0 where Rust has 47).
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn write<T: Record>(dir: &std::path::Path, n: usize, value: &T) -> (String, Json) {
    let bytes = single_object::encode(value).expect("encodes");
    let file = format!("{}__{n}.bin", T::FULL_NAME);
    std::fs::write(dir.join(&file), &bytes).expect("write");
    let schema = &Catalog::global()
        .current(T::FULL_NAME)
        .expect("schema")
        .schema;
    let value = GenericDatumReader::builder(schema)
        .build()
        .expect("reader")
        .read_value(&mut &bytes[10..])
        .expect("decodes");
    (file, plain(&value))
}

#[test]
fn fastavro_reads_every_record_type_from_the_avsc_files_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut expected = Vec::new();
    expected.push(write(dir.path(), 0, &samples::graph_notification()));
    expected.push(write(dir.path(), 0, &samples::call_leg()));
    for (n, sample) in samples::network_samples().iter().enumerate() {
        expected.push(write(dir.path(), n, sample));
    }
    for (n, record) in samples::inventory_records().iter().enumerate() {
        expected.push(write(dir.path(), n, record));
    }
    expected.push(write(dir.path(), 0, &samples::tenant_link()));
    expected.push(write(dir.path(), 0, &samples::root_cause_verdict()));
    expected.push(write(dir.path(), 0, &samples::scope_alert()));
    expected.push(write(dir.path(), 0, &samples::dead_letter()));
    expected.push(write(dir.path(), 0, &samples::control_message()));

    let root = repo_root();
    let output = Command::new("python3")
        .arg(root.join("tests/python/independent_decode.py"))
        .arg(root.join("schemas"))
        .arg(dir.path())
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "the fastavro decoder failed (the test command installs fastavro with pip): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let decoded: Json = serde_json::from_slice(&output.stdout).expect("JSON");
    for (file, want) in &expected {
        let got = &decoded[file];
        assert!(
            same(got, want),
            "{file}: fastavro read\n{got:#}\nbut callsight wrote\n{want:#}"
        );
    }
    assert_eq!(decoded.as_object().expect("object").len(), expected.len());
}
