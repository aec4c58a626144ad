//! Codec throughput: single-object encode and decode of the two busiest record types, and a
//! decode that resolves an older writer schema into the current one.

use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use callsight_model::catalog::Catalog;
use callsight_model::codec::single_object;
use callsight_model::samples;
use callsight_model::types::{CallLeg, DeadLetter, NetworkSample};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn codec(c: &mut Criterion) {
    let leg = samples::call_leg();
    let leg_bytes = single_object::encode(&leg).expect("encodes");
    let sample = samples::network_samples().remove(3);
    let sample_bytes = single_object::encode(&sample).expect("encodes");

    let mut group = c.benchmark_group("single_object");
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("encode CallLeg ({} bytes)", leg_bytes.len()), |b| {
        b.iter(|| single_object::encode(black_box(&leg)).expect("encodes"))
    });
    group.bench_function(format!("decode CallLeg ({} bytes)", leg_bytes.len()), |b| {
        b.iter(|| single_object::decode::<CallLeg>(black_box(&leg_bytes)).expect("decodes"))
    });
    group.bench_function(
        format!("encode NetworkSample ({} bytes)", sample_bytes.len()),
        |b| b.iter(|| single_object::encode(black_box(&sample)).expect("encodes")),
    );
    group.bench_function(
        format!("decode NetworkSample ({} bytes)", sample_bytes.len()),
        |b| {
            b.iter(|| {
                single_object::decode::<NetworkSample>(black_box(&sample_bytes)).expect("decodes")
            })
        },
    );

    // A DeadLetter written with release v1 resolves into the current schema.
    let v1 = Catalog::global()
        .history("callsight.DeadLetter")
        .into_iter()
        .find(|e| e.release == "v1")
        .expect("v1");
    let mut letter = samples::dead_letter();
    letter.headers.clear();
    let mut value = apache_avro::to_value(&letter).expect("to value");
    if let Value::Record(fields) = &mut value {
        fields.retain(|(name, _)| name != "headers");
    }
    let mut old = vec![0xC3, 0x01];
    old.extend_from_slice(&v1.fingerprint.0);
    old.extend(
        GenericDatumWriter::builder(&v1.schema)
            .build()
            .expect("writer")
            .write_value_to_vec(value.resolve(&v1.schema).expect("fits v1"))
            .expect("encodes"),
    );
    let current = single_object::encode(&letter).expect("encodes");
    group.bench_function("decode DeadLetter, current writer", |b| {
        b.iter(|| single_object::decode::<DeadLetter>(black_box(&current)).expect("decodes"))
    });
    group.bench_function("decode DeadLetter, v1 writer resolved", |b| {
        b.iter(|| single_object::decode::<DeadLetter>(black_box(&old)).expect("decodes"))
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
