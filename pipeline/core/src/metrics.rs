//! Prometheus metrics: one explicit registry per process, shared by every component, and
//! helpers that register a family or fail with its name.
//!
//! Names follow `callsight_<subsystem>_<what>_<unit>`: counters end in `_total`, durations are
//! `_seconds` histograms.
//!
//! A label value is either a member of a set fixed in code (topic, partition number, endpoint,
//! outcome, reason, error code, HTTP status, cause code, entity kind, state) or an identifier of
//! the deployment's own inventory: an org id, a site id, and, only in
//! `callsight_processor_scoped_poor_legs_total{entity}`, a piece of network infrastructure (AP
//! or radio, switch or port, gateway or WAN link, possibly holding the device's MAC, or an ISP's
//! name). The code bounds the first kind and the inventory the second. Never a value per call,
//! leg, participant, user, client device (a client's MAC or IP), Entra tenant, subscription or
//! request. Series keyed by a partition or an org are removed when the partition is revoked or
//! the link ends. Crates count through their `events` modules, where each event also logs.

use prometheus::core::Collector;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// A family that could not be registered (a duplicate name: a bug).
#[derive(Debug, thiserror::Error)]
#[error("metric {name}")]
pub struct MetricError {
    /// Metric name.
    pub name: String,
    /// Why.
    #[source]
    pub source: prometheus::Error,
}

/// A registered family: what `/metrics` declares for it.
struct Declared {
    name: String,
    help: String,
    kind: &'static str,
}

/// The process's registry. Cheap to clone (the registry is reference-counted).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    declared: Arc<Mutex<Vec<Declared>>>,
    sets: Arc<Mutex<HashMap<TypeId, Box<dyn Any + Send>>>>,
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
            declared: Arc::default(),
            sets: Arc::default(),
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

    /// The process's one instance of a set of families (`T`), registered by `register` the
    /// first time it is asked for; roles that share a set in one process share its counters.
    pub fn shared<T: Clone + Send + 'static>(
        &self,
        register: impl FnOnce(&Metrics) -> Result<T, MetricError>,
    ) -> Result<T, MetricError> {
        let mut sets = self
            .sets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(set) = sets
            .get(&TypeId::of::<T>())
            .and_then(|s| s.downcast_ref::<T>())
        {
            return Ok(set.clone());
        }
        let set = register(self)?;
        sets.insert(TypeId::of::<T>(), Box::new(set.clone()));
        Ok(set)
    }

    /// The underlying registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn register<C: Collector + Clone + 'static>(
        &self,
        name: &str,
        help: &str,
        kind: &'static str,
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
        self.declared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(Declared {
                name: name.to_string(),
                help: help.to_string(),
                kind,
            });
        Ok(collector)
    }

    /// Names of every registered family, including those with no samples yet.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .declared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .map(|d| d.name.clone())
            .collect();
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
        self.register(
            name,
            help,
            "counter",
            IntCounterVec::new(Opts::new(name, help), labels),
        )
    }

    /// Registers a counter without labels; `name` must end in `_total`.
    pub fn counter(&self, name: &str, help: &str) -> Result<IntCounter, MetricError> {
        debug_assert!(name.ends_with("_total"), "{name}: counters end in _total");
        self.register(
            name,
            help,
            "counter",
            IntCounter::with_opts(Opts::new(name, help)),
        )
    }

    /// Registers a gauge family.
    pub fn gauge_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<IntGaugeVec, MetricError> {
        self.register(
            name,
            help,
            "gauge",
            IntGaugeVec::new(Opts::new(name, help), labels),
        )
    }

    /// Registers a gauge.
    pub fn gauge(&self, name: &str, help: &str) -> Result<IntGauge, MetricError> {
        self.register(
            name,
            help,
            "gauge",
            IntGauge::with_opts(Opts::new(name, help)),
        )
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
            help,
            "histogram",
            HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels),
        )
    }

    /// Registers a histogram without labels; `name` must end in a unit such as `_seconds`.
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        buckets: Vec<f64>,
    ) -> Result<Histogram, MetricError> {
        self.register(
            name,
            help,
            "histogram",
            Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets)),
        )
    }

    /// Everything registered, in the Prometheus text format. A family whose labels are not
    /// known in advance (an error code, an HTTP status) has no series until its first sample;
    /// it is still declared (`# HELP`, `# TYPE`), so every family callsight has is visible from
    /// the start.
    pub fn render(&self) -> String {
        let families = self.registry.gather();
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&families, &mut out) {
            tracing::warn!(error = %e, "cannot render metrics");
        }
        let mut text = String::from_utf8(out).unwrap_or_default();
        let present: std::collections::HashSet<&str> = families.iter().map(|f| f.name()).collect();
        let declared = self
            .declared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for d in declared
            .iter()
            .filter(|d| !present.contains(d.name.as_str()))
        {
            let help = d.help.replace('\\', "\\\\").replace('\n', "\\n");
            text.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n",
                name = d.name,
                kind = d.kind
            ));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct Set(IntCounterVec);

    #[test]
    fn a_shared_set_is_registered_once_and_shared() {
        let metrics = Metrics::new();
        let register = |m: &Metrics| {
            m.counter_vec("callsight_test_things_total", "Things.", &["kind"])
                .map(Set)
        };
        let a = metrics.shared(register).expect("registers");
        let b = metrics.shared(register).expect("shares");
        a.0.with_label_values(&["x"]).inc();
        assert_eq!(b.0.with_label_values(&["x"]).get(), 1);
        assert!(
            metrics
                .counter_vec("callsight_test_things_total", "Again.", &["kind"])
                .is_err()
        );
    }

    #[test]
    fn a_family_without_series_is_declared_and_gets_its_series_once_used() {
        let metrics = Metrics::new();
        let errors = metrics
            .counter_vec("callsight_test_errors_total", "Errors by code.", &["code"])
            .expect("registers");
        let text = metrics.render();
        assert!(
            text.contains(
                "# HELP callsight_test_errors_total Errors by code.\n# TYPE callsight_test_errors_total counter\n"
            ),
            "{text}"
        );
        assert!(!text.contains("callsight_test_errors_total{"), "{text}");
        errors.with_label_values(&["e1"]).inc();
        let text = metrics.render();
        assert_eq!(
            text.matches("# TYPE callsight_test_errors_total ").count(),
            1,
            "{text}"
        );
        assert!(
            text.contains("callsight_test_errors_total{code=\"e1\"} 1"),
            "{text}"
        );
    }
}
