//! The fetch role's events: each one counts itself and writes its log line in one place, so the
//! logs and the metrics cannot drift apart.

use crate::fetch::fetcher::Outcome;
use crate::metrics::TeamsMetrics;
use callsight_core::error::Report;
use callsight_model::types::NotificationOrigin;
use std::time::Duration;

/// Why a fetch is tried again (the `reason` label).
#[derive(Debug)]
pub enum Retry<'a> {
    /// Graph answered 404: the record is not produced yet.
    NotFound,
    /// Graph or the way to it is unavailable.
    Unavailable(&'a (dyn std::error::Error + 'static)),
    /// The broker did not acknowledge a leg.
    Broker(&'a (dyn std::error::Error + 'static)),
}

/// The `origin` label of a notification.
pub fn origin_label(origin: NotificationOrigin) -> &'static str {
    match origin {
        NotificationOrigin::Webhook => "webhook",
        NotificationOrigin::Backfill => "backfill",
        NotificationOrigin::Replay => "replay",
    }
}

impl TeamsMetrics {
    /// A fetch (or a leg's production) is tried again after `wait`.
    pub fn fetch_retry(&self, retry: Retry<'_>, wait: Duration) {
        let (reason, error) = match &retry {
            Retry::NotFound => ("not_found", None),
            Retry::Unavailable(e) => ("unavailable", Some(*e)),
            Retry::Broker(e) => ("broker", Some(*e)),
        };
        self.fetch_retries.with_label_values(&[reason]).inc();
        match (retry, error) {
            (Retry::Unavailable(_), Some(e)) => tracing::warn!(
                error = %Report(e),
                wait_s = wait.as_secs_f64(),
                "Graph unavailable; the fetch waits"
            ),
            (Retry::Broker(_), Some(e)) => tracing::warn!(
                error = %Report(e),
                wait_s = wait.as_secs_f64(),
                "a call leg was not acknowledged; retrying"
            ),
            _ => tracing::debug!(
                wait_s = wait.as_secs_f64(),
                "Graph has no record yet; the fetch waits"
            ),
        }
    }

    /// A call's legs were acknowledged, `latency` after its notification arrived.
    pub fn legs_published(
        &self,
        origin: NotificationOrigin,
        legs: usize,
        latency: Duration,
        call: &str,
        version: i64,
    ) {
        let origin = origin_label(origin);
        self.legs.with_label_values(&[origin]).inc_by(legs as u64);
        self.fetch_latency
            .with_label_values(&[origin])
            .observe(latency.as_secs_f64());
        tracing::debug!(call = %call, version, legs, "call legs published");
    }

    /// The fetcher finished a notification (an interrupted one is taken again, not counted).
    pub fn fetch_finished(&self, outcome: Outcome) {
        if let Some(label) = outcome.label() {
            self.fetches.with_label_values(&[label]).inc();
        }
    }
}
