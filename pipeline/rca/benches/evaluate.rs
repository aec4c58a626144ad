//! Evaluation cost: one leg with its view, from the golden scenarios.

use callsight_rca::scenario::Scenario;
use callsight_rca::{ClassificationConfig, RcaConfig, Settings, evaluate};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn load(name: &str) -> Scenario {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.json"));
    Scenario::parse(&std::fs::read_to_string(path).expect("read")).expect("parses")
}

fn bench(c: &mut Criterion) {
    let classification = ClassificationConfig::default();
    let rca = RcaConfig::default();
    let settings = Settings {
        classification: &classification,
        rca: &rca,
    };
    for name in ["mixed_two_causes", "scope_ap_radio", "wired_port_errors"] {
        let (leg, view, tracker) = load(name).build();
        c.bench_function(
            &format!("evaluate {name} ({} samples)", view.samples.len()),
            |b| b.iter(|| evaluate(black_box(&leg), black_box(&view), &tracker, settings)),
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
