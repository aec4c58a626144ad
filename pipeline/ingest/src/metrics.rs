//! Ingest metric families; what counts them is in [`crate::events`].

use crate::events::{Endpoint, SignatureRefusal};
use callsight_core::metrics::{MetricError, Metrics};
use prometheus::{HistogramVec, IntCounterVec, IntGauge};

/// Ingest metric families.
#[derive(Debug, Clone)]
pub struct IngestMetrics {
    /// `callsight_ingest_requests_total{endpoint, status}`: requests answered, by HTTP status.
    pub requests: IntCounterVec,
    /// `callsight_ingest_request_seconds{endpoint}`: time to answer, broker acknowledgement
    /// included.
    pub request_seconds: HistogramVec,
    /// `callsight_ingest_records_total{endpoint, outcome}`: events and lines by outcome
    /// (`accepted`, `rejected`, `ignored`).
    pub records: IntCounterVec,
    /// `callsight_ingest_signature_failures_total{reason}`: Mist deliveries refused for their
    /// signature.
    pub signature_failures: IntCounterVec,
    /// `callsight_ingest_overload_total{endpoint}`: requests turned away with 503 because too
    /// many records were in flight.
    pub overload: IntCounterVec,
    /// `callsight_ingest_in_flight_records`: records being produced now.
    pub in_flight: IntGauge,
    /// `callsight_mist_polls_total{outcome}`: Mist API requests by outcome (`ok`, `error`).
    pub polls: IntCounterVec,
}

impl IngestMetrics {
    /// Registers the families, initialising every known label set.
    pub fn register(metrics: &Metrics) -> Result<Self, MetricError> {
        let m = IngestMetrics {
            requests: metrics.counter_vec(
                "callsight_ingest_requests_total",
                "Ingest requests answered, by endpoint and HTTP status.",
                &["endpoint", "status"],
            )?,
            request_seconds: metrics.histogram_vec(
                "callsight_ingest_request_seconds",
                "Time to answer an ingest request, broker acknowledgement included.",
                &["endpoint"],
                vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
            )?,
            records: metrics.counter_vec(
                "callsight_ingest_records_total",
                "Telemetry events and lines by outcome: accepted, rejected (kept as dead letters), ignored.",
                &["endpoint", "outcome"],
            )?,
            signature_failures: metrics.counter_vec(
                "callsight_ingest_signature_failures_total",
                "Mist deliveries refused for their signature, by reason.",
                &["reason"],
            )?,
            overload: metrics.counter_vec(
                "callsight_ingest_overload_total",
                "Requests answered 503 because too many records were in flight.",
                &["endpoint"],
            )?,
            in_flight: metrics.gauge(
                "callsight_ingest_in_flight_records",
                "Records being produced now.",
            )?,
            polls: metrics.counter_vec(
                "callsight_mist_polls_total",
                "Mist API requests of the statistics poller, by outcome.",
                &["outcome"],
            )?,
        };
        for endpoint in Endpoint::ALL {
            for outcome in ["accepted", "rejected", "ignored"] {
                m.records.with_label_values(&[endpoint.as_str(), outcome]);
            }
            m.overload.with_label_values(&[endpoint.as_str()]);
        }
        for reason in SignatureRefusal::ALL {
            m.signature_failures.with_label_values(&[reason.as_str()]);
        }
        for outcome in ["ok", "error"] {
            m.polls.with_label_values(&[outcome]);
        }
        Ok(m)
    }
}
