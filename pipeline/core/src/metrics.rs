//! Prometheus metrics: one explicit registry per process, shared by every component, and
//! helpers that register a family or fail with its name.
//!
//! Names follow `callsight_<subsystem>_<what>_<unit>`: counters end in `_total`, durations are
//! `_seconds` histograms, and labels only take values from closed sets (topic, partition,
//! error kind), never ids, users or addresses.

use prometheus::core::Collector;
use std::sync::{Arc, Mutex};

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// A family that could not be registered (a duplicate name: a bug).
#[derive(Debug, thiserror::Error)]
#[error("metric {name}: {source}")]
pub struct MetricError {
    /// Metric name.
    pub name: String,
    /// Why.
    #[source]
    pub source: prometheus::Error,
}

/// The process's registry. Cheap to clone (the registry is reference-counted).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    names: Arc<Mutex<Vec<String>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// A fresh registry holding `callsight_build_info`.
    pub fn new() -> Self {
        let metrics = Metrics {
            registry: Registry::new(),
            names: Arc::default(),
        };
        if let Ok(info) = metrics.gauge_vec(
            "callsight_build_info",
            "Always 1; the labels say which callsight is running.",
            &["version"],
        ) {
            info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        }
        metrics
    }

    /// The underlying registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn register<C: Collector + Clone + 'static>(
        &self,
        name: &str,
        collector: Result<C, prometheus::Error>,
    ) -> Result<C, MetricError> {
        let err = |source| MetricError {
            name: name.to_string(),
            source,
        };
        let collector = collector.map_err(err)?;
        self.registry
            .register(Box::new(collector.clone()))
            .map_err(err)?;
        self.names
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(name.to_string());
        Ok(collector)
    }

    /// Names of every registered family, including those with no samples yet (which
    /// `/metrics` does not show until a first label set is used).
    pub fn names(&self) -> Vec<String> {
        let mut names = self
            .names
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        names.sort();
        names
    }

    /// Registers a counter family; `name` must end in `_total`.
    pub fn counter_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<IntCounterVec, MetricError> {
        debug_assert!(name.ends_with("_total"), "{name}: counters end in _total");
        self.register(name, IntCounterVec::new(Opts::new(name, help), labels))
    }

    /// Registers a gauge family.
    pub fn gauge_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<IntGaugeVec, MetricError> {
        self.register(name, IntGaugeVec::new(Opts::new(name, help), labels))
    }

    /// Registers a gauge.
    pub fn gauge(&self, name: &str, help: &str) -> Result<IntGauge, MetricError> {
        self.register(name, IntGauge::with_opts(Opts::new(name, help)))
    }

    /// Registers a histogram family; `name` must end in a unit such as `_seconds`.
    pub fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: Vec<f64>,
    ) -> Result<HistogramVec, MetricError> {
        self.register(
            name,
            HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels),
        )
    }

    /// Everything registered, in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "cannot render metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
