//! Metrics of the Teams connector, registered once per process and shared by its roles.
//!
//! Labels follow the rule in `callsight_core::metrics`: closed sets, and `org` (an organization
//! id, never a person or a tenant) on the subscription expiry gauge. What counts the fetcher's
//! families is in [`crate::fetch::events`].

use callsight_core::metrics::{MetricError, Metrics};
use prometheus::{HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec};

/// Outcomes of a change or lifecycle notification delivered to the webhook.
pub const NOTIFICATION_OUTCOMES: [&str; 6] = [
    "accepted",
    "lifecycle",
    "bad_client_state",
    "unknown_subscription",
    "unknown_tenant",
    "malformed",
];

/// Outcomes of a notification the fetcher took.
pub const FETCH_OUTCOMES: [&str; 6] = [
    "published",
    "stale_version",
    "not_linked",
    "not_found",
    "failed",
    "undecodable",
];

/// Every family of the connector.
#[derive(Debug, Clone)]
pub struct TeamsMetrics {
    /// `callsight_graph_webhook_requests_total{endpoint, status}`: webhook requests answered
    /// (`notifications`, `lifecycle`, `validation`), by HTTP status.
    pub webhook_requests: IntCounterVec,
    /// `callsight_graph_webhook_seconds{endpoint}`: time to answer a webhook request, broker
    /// acknowledgement included.
    pub webhook_seconds: HistogramVec,
    /// `callsight_graph_notifications_total{outcome}`: notifications in deliveries, by outcome.
    pub notifications: IntCounterVec,
    /// `callsight_graph_responses_total{status}`: answers of Graph and Entra to callsight's
    /// requests, by HTTP status (`0`: no answer).
    pub graph_responses: IntCounterVec,
    /// `callsight_fetch_records_total{outcome}`: notifications the fetcher finished, by outcome.
    pub fetches: IntCounterVec,
    /// `callsight_fetch_retries_total{reason}`: fetch attempts repeated (`not_found`,
    /// `unavailable`, `broker`).
    pub fetch_retries: IntCounterVec,
    /// `callsight_fetch_legs_total{origin}`: call legs produced to `calls.legs`, by the origin
    /// of the notification (`webhook`, `backfill`, `replay`).
    pub legs: IntCounterVec,
    /// `callsight_fetch_in_flight`: notifications being fetched or waited on now.
    pub in_flight: IntGauge,
    /// `callsight_fetch_latency_seconds{origin}`: from the notification's arrival to its legs'
    /// acknowledgement.
    pub fetch_latency: HistogramVec,
    /// `callsight_subscription_manager_leader`: 1 while this process manages subscriptions.
    pub leader: IntGauge,
    /// `callsight_subscription_operations_total{operation, outcome}`: Graph subscription
    /// operations (`create`, `renew`, `reauthorize`, `delete`, `backfill`), `ok` or `error`.
    pub subscription_operations: IntCounterVec,
    /// `callsight_subscription_expiry_timestamp_seconds{org}`: when each linked org's
    /// subscription expires (Unix time).
    pub subscription_expiry: IntGaugeVec,
    /// `callsight_backfill_notifications_total`: notifications written by backfills.
    pub backfilled: IntCounter,
    /// `callsight_control_messages_total{kind, outcome}`: instructions the manager handled.
    pub control_messages: IntCounterVec,
    /// `callsight_teams_links{state}`: links by state, as this process's link table holds them.
    pub links: IntGaugeVec,
    /// `callsight_teams_link_requests_total{endpoint, status}`: requests to the `/teams/...`
    /// endpoints, by HTTP status.
    pub link_requests: IntCounterVec,
}

impl TeamsMetrics {
    /// The process's families, registered on first use.
    pub fn get(metrics: &Metrics) -> Result<Self, MetricError> {
        metrics.shared(Self::register)
    }

    fn register(metrics: &Metrics) -> Result<Self, MetricError> {
        let latency_buckets = vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ];
        let m = TeamsMetrics {
            webhook_requests: metrics.counter_vec(
                "callsight_graph_webhook_requests_total",
                "Graph webhook requests answered, by endpoint and HTTP status.",
                &["endpoint", "status"],
            )?,
            webhook_seconds: metrics.histogram_vec(
                "callsight_graph_webhook_seconds",
                "Time to answer a Graph webhook request, broker acknowledgement included.",
                &["endpoint"],
                latency_buckets,
            )?,
            notifications: metrics.counter_vec(
                "callsight_graph_notifications_total",
                "Graph notifications delivered to the webhook, by outcome.",
                &["outcome"],
            )?,
            graph_responses: metrics.counter_vec(
                "callsight_graph_responses_total",
                "Answers of Graph to callsight's requests, by HTTP status (0: no answer).",
                &["status"],
            )?,
            fetches: metrics.counter_vec(
                "callsight_fetch_records_total",
                "Notifications the fetcher finished, by outcome.",
                &["outcome"],
            )?,
            fetch_retries: metrics.counter_vec(
                "callsight_fetch_retries_total",
                "Fetch attempts repeated, by reason.",
                &["reason"],
            )?,
            legs: metrics.counter_vec(
                "callsight_fetch_legs_total",
                "Call legs produced, by the origin of their notification.",
                &["origin"],
            )?,
            in_flight: metrics.gauge(
                "callsight_fetch_in_flight",
                "Notifications being fetched or waited on now.",
            )?,
            fetch_latency: metrics.histogram_vec(
                "callsight_fetch_latency_seconds",
                "From a notification's arrival to the acknowledgement of its call legs.",
                &["origin"],
                vec![
                    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
                ],
            )?,
            leader: metrics.gauge(
                "callsight_subscription_manager_leader",
                "1 while this process manages tenant links and Graph subscriptions.",
            )?,
            subscription_operations: metrics.counter_vec(
                "callsight_subscription_operations_total",
                "Graph subscription operations, by operation and outcome.",
                &["operation", "outcome"],
            )?,
            subscription_expiry: metrics.gauge_vec(
                "callsight_subscription_expiry_timestamp_seconds",
                "When each linked organization's Graph subscription expires (Unix time).",
                &["org"],
            )?,
            backfilled: metrics.counter(
                "callsight_backfill_notifications_total",
                "Notifications written by backfills after missed notifications or a gap.",
            )?,
            control_messages: metrics.counter_vec(
                "callsight_control_messages_total",
                "Instructions the subscription manager handled, by kind and outcome.",
                &["kind", "outcome"],
            )?,
            links: metrics.gauge_vec(
                "callsight_teams_links",
                "Tenant links by state, as this process's link table holds them.",
                &["state"],
            )?,
            link_requests: metrics.counter_vec(
                "callsight_teams_link_requests_total",
                "Requests to the /teams endpoints, by endpoint and HTTP status.",
                &["endpoint", "status"],
            )?,
        };
        for outcome in NOTIFICATION_OUTCOMES {
            m.notifications.with_label_values(&[outcome]);
        }
        for outcome in FETCH_OUTCOMES {
            m.fetches.with_label_values(&[outcome]);
        }
        for reason in ["not_found", "unavailable", "broker"] {
            m.fetch_retries.with_label_values(&[reason]);
        }
        for operation in ["create", "renew", "reauthorize", "delete", "backfill"] {
            for outcome in ["ok", "error"] {
                m.subscription_operations
                    .with_label_values(&[operation, outcome]);
            }
        }
        for state in ["pending", "linked", "consent_revoked", "unlinked"] {
            m.links.with_label_values(&[state]);
        }
        Ok(m)
    }

    /// An observer that counts Graph's answers.
    pub fn graph_observer(&self) -> callsight_graph_client::api::Observer {
        let responses = self.graph_responses.clone();
        callsight_graph_client::api::Observer(std::sync::Arc::new(move |status: u16| {
            responses.with_label_values(&[&status.to_string()]).inc();
        }))
    }
}
