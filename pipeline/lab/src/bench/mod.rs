//! `callsight-lab bench ...`: end-to-end benchmarks, each printing its figures and its exact setup
//! (BENCHMARKS.md keeps the latest with their commands). Run them from a release build:
//! `cargo run --release -p callsight-lab -- bench ...`.

pub mod accuracy;
pub mod graph;
pub mod ingest;
mod load;
pub mod processor;

pub use accuracy::{AccuracyOptions, AccuracyRun, accuracy};

use callsight::Config;
use callsight_core::Process;
use callsight_core::metrics::Metrics;
use callsight_kafka::Services;
use std::time::Duration;

/// The `q` quantile (0..1) of sorted durations; zero when there are none.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

/// The sum of a metric's series whose labels include every one of `labels` (`key="value"`),
/// as the process's `/metrics` renders them.
fn metric(metrics: &Metrics, name: &str, labels: &[&str]) -> f64 {
    metrics
        .render()
        .lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|x| l.contains(x)))
        .filter(|l| l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A benchmark process on the embedded broker with the topics of `config`.
async fn embedded(config: &Config) -> Services {
    Services::connect(
        Process::default(),
        &config.kafka,
        &config.topics,
        &config.codec,
    )
    .await
    .expect("the embedded broker starts with the topics")
}
