//! Codec throughput: single-object encode and decode of the two busiest record types, and a
//! decode that resolves an older writer schema into the current one.

use callsight_model::codec::single_object;
use callsight_model::types::{CallLeg, DeadLetter, NetworkSample};
use callsight_testkit::samples;
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
    let (letter, old) = samples::dead_letter_written_with_v1();
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
