//! Processor metric families; what counts them is in [`crate::events`]. Labels follow the rule
//! in `callsight_core::metrics`: `org`, `site` and, for infrastructure only, `entity` are the
//! deployment's own inventory.

use callsight_core::metrics::{MetricError, Metrics};
use callsight_model::types::{EntityKind, LegQuality, RootCauseVerdict};
use prometheus::{Histogram, IntCounter, IntCounterVec, IntGaugeVec};

/// Every family of the processor.
#[derive(Debug, Clone)]
pub struct ProcessorMetrics {
    /// `callsight_processor_records_total{topic, outcome}`: records taken, by outcome (`applied`,
    /// `late` (applied, older than the watermark), `expired` (older than retention, dropped),
    /// `clamped` (applied, stamped beyond wall clock plus `max_event_lead`, which bounds the
    /// watermark instead), `stale` (a leg version not newer than one seen), `undecodable`, and
    /// `unappliable` (legs: evaluating it panicked): both dead-lettered).
    pub records: IntCounterVec,
    /// `callsight_processor_verdicts_total{completeness}`: verdicts published, `complete` or
    /// `partial`.
    pub verdicts: IntCounterVec,
    /// `callsight_processor_legs_total{org, site, quality}`: legs given a complete verdict, by
    /// quality (`good`, `poor`, `unclassified`). A revised leg counts again.
    pub legs: IntCounterVec,
    /// `callsight_processor_poor_legs_total{org, site, cause, scope}`: poor legs by primary
    /// cause and scope level (`none` when the cause was confined to the call).
    pub poor_legs: IntCounterVec,
    /// `callsight_processor_scoped_poor_legs_total{org, site, scope, entity}`: poor legs whose
    /// scope is a piece of infrastructure (AP radio, AP, switch port, switch, gateway, WAN link
    /// or path, ISP), by that entity: the network's worst places.
    pub scoped_poor_legs: IntCounterVec,
    /// `callsight_processor_alerts_total`: scope alerts published.
    pub alerts: IntCounter,
    /// `callsight_processor_replayed_outputs_total`: outputs not published again while
    /// restoring, because they were published before.
    pub replayed: IntCounter,
    /// `callsight_processor_verdict_latency_seconds`: from taking a batch of records to the
    /// acknowledgement of the verdicts it caused.
    pub verdict_latency: Histogram,
    /// `callsight_processor_batch_seconds`: applying a batch to the state and evaluating.
    pub batch_seconds: Histogram,
    /// `callsight_processor_watermark_timestamp_seconds{partition}`: each owned partition's
    /// watermark (Unix time).
    pub watermark: IntGaugeVec,
    /// `callsight_processor_partitions{state}`: owned partitions, `restoring` or `live`.
    pub partitions: IntGaugeVec,
    /// `callsight_processor_restore_seconds`: from a partition's assignment to the end of its
    /// restore.
    pub restore_seconds: Histogram,
    /// `callsight_processor_restore_records_total`: records replayed while restoring.
    pub restore_records: IntCounter,
    /// `callsight_processor_state_bytes{kind}`: RocksDB `memory` (memtables and block cache) and
    /// `disk` (windows' SST files).
    pub state_bytes: IntGaugeVec,
    /// `callsight_processor_transactions_total{outcome}`: Kafka transactions (with
    /// `processor.transactional_id`): `committed`, `aborted` (retried in a new one), `failed`
    /// (fatal: the processor stops).
    pub transactions: IntCounterVec,
}

impl ProcessorMetrics {
    /// Registers the families.
    pub fn register(metrics: &Metrics) -> Result<Self, MetricError> {
        let m = ProcessorMetrics {
            records: metrics.counter_vec(
                "callsight_processor_records_total",
                "Records the processor took, by topic and outcome.",
                &["topic", "outcome"],
            )?,
            verdicts: metrics.counter_vec(
                "callsight_processor_verdicts_total",
                "Verdicts published, by completeness of their windows.",
                &["completeness"],
            )?,
            legs: metrics.counter_vec(
                "callsight_processor_legs_total",
                "Legs given a complete verdict, by organization, site and quality.",
                &["org", "site", "quality"],
            )?,
            poor_legs: metrics.counter_vec(
                "callsight_processor_poor_legs_total",
                "Poor legs by organization, site, primary cause and scope level.",
                &["org", "site", "cause", "scope"],
            )?,
            scoped_poor_legs: metrics.counter_vec(
                "callsight_processor_scoped_poor_legs_total",
                "Poor legs whose scope is an infrastructure entity, by that entity.",
                &["org", "site", "scope", "entity"],
            )?,
            alerts: metrics.counter(
                "callsight_processor_alerts_total",
                "Scope alerts published (raised or cleared).",
            )?,
            replayed: metrics.counter(
                "callsight_processor_replayed_outputs_total",
                "Outputs not published again while restoring, because they had been.",
            )?,
            verdict_latency: metrics.histogram(
                "callsight_processor_verdict_latency_seconds",
                "From taking a batch of records to the acknowledgement of the verdicts it caused.",
                vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ],
            )?,
            batch_seconds: metrics.histogram(
                "callsight_processor_batch_seconds",
                "Applying a batch of records to the state, and evaluating what it released.",
                vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                ],
            )?,
            watermark: metrics.gauge_vec(
                "callsight_processor_watermark_timestamp_seconds",
                "Each owned partition's event-time watermark (Unix time).",
                &["partition"],
            )?,
            partitions: metrics.gauge_vec(
                "callsight_processor_partitions",
                "Partitions this process owns, restoring or live.",
                &["state"],
            )?,
            restore_seconds: metrics.histogram(
                "callsight_processor_restore_seconds",
                "From a partition's assignment to the end of its restore.",
                vec![0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0],
            )?,
            restore_records: metrics.counter(
                "callsight_processor_restore_records_total",
                "Records replayed while restoring partitions.",
            )?,
            state_bytes: metrics.gauge_vec(
                "callsight_processor_state_bytes",
                "RocksDB memory (memtables and block cache) and disk (windows).",
                &["kind"],
            )?,
            transactions: metrics.counter_vec(
                "callsight_processor_transactions_total",
                "Kafka transactions of the processor, by outcome.",
                &["outcome"],
            )?,
        };
        for o in ["committed", "aborted", "failed"] {
            m.transactions.with_label_values(&[o]);
        }
        for topic in ["telemetry", "legs"] {
            for outcome in [
                "applied",
                "late",
                "expired",
                "clamped",
                "stale",
                "undecodable",
                "unappliable",
            ] {
                m.records.with_label_values(&[topic, outcome]);
            }
        }
        for c in ["complete", "partial"] {
            m.verdicts.with_label_values(&[c]);
        }
        for s in ["restoring", "live"] {
            m.partitions.with_label_values(&[s]);
        }
        Ok(m)
    }
}

impl ProcessorMetrics {
    /// Counts a published verdict: its completeness, and, when complete, its leg's quality,
    /// cause and scope.
    pub fn count_verdict(&self, verdict: &RootCauseVerdict) {
        if verdict.completeness.partial {
            self.verdicts.with_label_values(&["partial"]).inc();
            return;
        }
        self.verdicts.with_label_values(&["complete"]).inc();
        let org = verdict.org_id.as_str();
        let site = verdict.site_id.as_deref().unwrap_or("unknown");
        let quality = match verdict.quality {
            LegQuality::Good => "good",
            LegQuality::Poor => "poor",
            LegQuality::Unclassified => "unclassified",
        };
        self.legs.with_label_values(&[org, site, quality]).inc();
        if verdict.quality != LegQuality::Poor {
            return;
        }
        let scope = verdict.scope.as_ref();
        let level = scope.map_or("none", |s| s.kind.symbol());
        self.poor_legs
            .with_label_values(&[org, site, verdict.primary_cause.code(), level])
            .inc();
        if let Some(s) = scope.filter(|s| is_infrastructure(s.kind)) {
            self.scoped_poor_legs
                .with_label_values(&[org, site, level, &s.entity_id])
                .inc();
        }
    }
}

/// Entities that are network equipment or links rather than people, devices or places: the only
/// entity ids callsight puts in a metric label (bounded by the inventory, never personal).
fn is_infrastructure(kind: EntityKind) -> bool {
    matches!(
        kind,
        EntityKind::ApRadio
            | EntityKind::Ap
            | EntityKind::SwitchPort
            | EntityKind::Switch
            | EntityKind::Gateway
            | EntityKind::WanLink
            | EntityKind::WanPath
            | EntityKind::Isp
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use callsight_model::types::Scope;
    use callsight_testkit::samples;

    fn value(metrics: &Metrics, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let text = metrics.render();
        text.lines()
            .filter(|l| l.starts_with(&format!("{family}{{")))
            .find(|l| {
                labels
                    .iter()
                    .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
            })
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    }

    #[test]
    fn a_poor_complete_verdict_counts_its_site_cause_scope_and_infrastructure_entity() {
        let metrics = Metrics::new();
        let m = ProcessorMetrics::register(&metrics).expect("registers");
        let verdict = samples::root_cause_verdict();
        let scope = verdict.scope.clone().expect("the sample has a scope");
        m.count_verdict(&verdict);
        let site = verdict.site_id.clone().expect("site");
        let org = verdict.org_id.as_str();
        let at_site = [("org", org), ("site", site.as_str())];
        let legs = [at_site.as_slice(), &[("quality", "poor")]].concat();
        assert_eq!(
            value(&metrics, "callsight_processor_legs_total", &legs),
            Some(1.0)
        );
        let level = scope.kind.symbol();
        let poor = [
            at_site.as_slice(),
            &[("cause", "wireless.interference"), ("scope", level)],
        ]
        .concat();
        assert_eq!(
            value(&metrics, "callsight_processor_poor_legs_total", &poor),
            Some(1.0)
        );
        let entity = [at_site.as_slice(), &[("entity", scope.entity_id.as_str())]].concat();
        assert_eq!(
            value(
                &metrics,
                "callsight_processor_scoped_poor_legs_total",
                &entity
            ),
            Some(1.0)
        );
    }

    #[test]
    fn a_client_scope_never_becomes_a_label_and_partial_verdicts_count_only_as_partial() {
        let metrics = Metrics::new();
        let m = ProcessorMetrics::register(&metrics).expect("registers");
        let mut verdict = samples::root_cause_verdict();
        verdict.scope = Some(Scope {
            kind: EntityKind::Client,
            entity_id: "client-mac-aabbccddeeff".into(),
            ..verdict.scope.clone().expect("scope")
        });
        m.count_verdict(&verdict);
        let text = metrics.render();
        assert!(!text.contains("client-mac-aabbccddeeff"), "{text}");
        assert!(text.contains("scope=\"client\""), "{text}");

        let metrics = Metrics::new();
        let m = ProcessorMetrics::register(&metrics).expect("registers");
        verdict.completeness.partial = true;
        m.count_verdict(&verdict);
        assert_eq!(
            value(
                &metrics,
                "callsight_processor_verdicts_total",
                &[("completeness", "partial")]
            ),
            Some(1.0)
        );
        assert!(!metrics.render().contains("callsight_processor_legs_total{"));
    }
}
