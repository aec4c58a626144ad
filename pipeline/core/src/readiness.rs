//! Readiness: a process is ready when every dependency it registered says so (broker reachable,
//! topics present, state restored, ...).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The named conditions of a process's readiness; cheap to clone and share.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    conditions: Arc<Mutex<BTreeMap<&'static str, Condition>>>,
}

#[derive(Debug, Clone)]
struct Condition {
    ready: bool,
    detail: String,
}

impl Readiness {
    /// An empty set of conditions (ready).
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a condition, not yet ready.
    pub fn register(&self, name: &'static str, detail: impl Into<String>) {
        self.set(name, false, detail);
    }

    /// Marks a condition ready or not, with a detail shown by `/readyz`.
    pub fn set(&self, name: &'static str, ready: bool, detail: impl Into<String>) {
        let mut conditions = self
            .conditions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        conditions.insert(
            name,
            Condition {
                ready,
                detail: detail.into(),
            },
        );
    }

    /// Whether every condition is ready, and one line per condition.
    pub fn report(&self) -> (bool, Vec<ReportLine>) {
        let conditions = self
            .conditions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let ready = conditions.values().all(|c| c.ready);
        let lines = conditions
            .iter()
            .map(|(name, c)| {
                let summary = format!("{name}: {}", if c.ready { "ready" } else { "not ready" });
                ReportLine {
                    detailed: format!("{summary} ({})", c.detail),
                    summary,
                }
            })
            .collect();
        (ready, lines)
    }
}

/// One condition of a readiness report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLine {
    /// `name: ready` or `name: not ready`: what anyone may see.
    pub summary: String,
    /// The summary with its detail (addresses, errors): for the operator.
    pub detailed: String,
}
