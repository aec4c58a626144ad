//! The ingest roles' events: each one writes its log line and counts itself in one place, so the
//! logs and the metrics cannot drift apart. Label values come from closed sets only.

use crate::metrics::IngestMetrics;
use crate::sink::SinkError;
use callsight_core::error::Report;
use callsight_core::throttle::Throttle;
use std::time::Duration;

/// Where records came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /telemetry/mist/{org}`.
    MistWebhook,
    /// `POST /telemetry`.
    Ndjson,
    /// The Mist statistics poller.
    MistPoller,
}

impl Endpoint {
    /// The `endpoint` label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Endpoint::MistWebhook => "mist_webhook",
            Endpoint::Ndjson => "ndjson",
            Endpoint::MistPoller => "mist_poller",
        }
    }

    /// Every endpoint, for initialising label sets.
    pub const ALL: [Endpoint; 3] = [
        Endpoint::MistWebhook,
        Endpoint::Ndjson,
        Endpoint::MistPoller,
    ];
}

/// Why a Mist delivery was refused for its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureRefusal {
    /// No signature header.
    Missing,
    /// Only the legacy signature, which the org does not allow.
    LegacyNotAllowed,
    /// The header is not a signature.
    Malformed,
    /// The signature does not match the body.
    Mismatch,
    /// The org has no webhook secret.
    NoSecret,
}

impl SignatureRefusal {
    /// The `reason` label.
    pub const fn as_str(self) -> &'static str {
        match self {
            SignatureRefusal::Missing => "missing",
            SignatureRefusal::LegacyNotAllowed => "legacy_not_allowed",
            SignatureRefusal::Malformed => "malformed",
            SignatureRefusal::Mismatch => "mismatch",
            SignatureRefusal::NoSecret => "no_secret",
        }
    }

    /// Every reason, for initialising label sets.
    pub const ALL: [SignatureRefusal; 5] = [
        SignatureRefusal::Missing,
        SignatureRefusal::Mismatch,
        SignatureRefusal::Malformed,
        SignatureRefusal::LegacyNotAllowed,
        SignatureRefusal::NoSecret,
    ];
}

impl IngestMetrics {
    /// A request was answered (`status`), after `elapsed`.
    pub fn request_answered(&self, endpoint: Endpoint, status: u16, elapsed: Duration) {
        self.requests
            .with_label_values(&[endpoint.as_str(), &status.to_string()])
            .inc();
        self.request_seconds
            .with_label_values(&[endpoint.as_str()])
            .observe(elapsed.as_secs_f64());
        tracing::debug!(
            endpoint = endpoint.as_str(),
            status,
            seconds = elapsed.as_secs_f64(),
            "ingest request answered"
        );
    }

    /// A body over `ingest.max_body_bytes` was refused (413) before any handler read it.
    pub fn body_too_large(&self, endpoint: Endpoint) {
        self.requests
            .with_label_values(&[endpoint.as_str(), "413"])
            .inc();
        tracing::info!(
            endpoint = endpoint.as_str(),
            "a body over ingest.max_body_bytes was refused"
        );
    }

    /// A Mist delivery was refused for its signature.
    pub fn signature_refused(&self, reason: SignatureRefusal) {
        self.signature_failures
            .with_label_values(&[reason.as_str()])
            .inc();
        // Anyone can cause this line: at most one per 10 s, with the number left out.
        static LOG: Throttle = Throttle::new(Duration::from_secs(10));
        if let Some(left_out) = LOG.admit() {
            tracing::warn!(
                reason = reason.as_str(),
                left_out,
                "Mist delivery refused for its signature"
            );
        }
    }

    /// A delivery's records were taken: `accepted` produced, `rejected` kept as dead letters,
    /// `ignored` (events callsight does not read) dropped by design.
    pub fn records_taken(
        &self,
        endpoint: Endpoint,
        accepted: usize,
        rejected: usize,
        ignored: usize,
    ) {
        let e = endpoint.as_str();
        self.records
            .with_label_values(&[e, "accepted"])
            .inc_by(accepted as u64);
        self.records
            .with_label_values(&[e, "rejected"])
            .inc_by(rejected as u64);
        self.records
            .with_label_values(&[e, "ignored"])
            .inc_by(ignored as u64);
        tracing::debug!(endpoint = e, accepted, rejected, ignored, "records taken");
    }

    /// Records could not be handed to Kafka: turned away as overloaded, or the broker did not
    /// acknowledge (the sender is told to retry).
    pub fn not_produced(&self, endpoint: Endpoint, error: &SinkError) {
        match error {
            SinkError::Overloaded => {
                self.overload.with_label_values(&[endpoint.as_str()]).inc();
                tracing::debug!(
                    endpoint = endpoint.as_str(),
                    "too many records in flight; the sender is told to retry"
                );
            }
            other => tracing::warn!(
                endpoint = endpoint.as_str(),
                error = %Report(other),
                "cannot hand the records to Kafka"
            ),
        }
    }

    /// Polled records of `org` could not be handed to Kafka; the next poll brings them again.
    pub fn poll_not_produced(&self, org: &str, error: &SinkError) {
        tracing::warn!(
            org,
            error = %Report(error),
            "cannot produce polled records; the next poll brings them again"
        );
    }

    /// A request to the Mist API ended (`ok` or `error`).
    pub fn mist_request(&self, ok: bool) {
        self.polls
            .with_label_values(&[if ok { "ok" } else { "error" }])
            .inc();
    }
}
