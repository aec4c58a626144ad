//! Scope: how far a cause reaches. Legs are counted per entity (AP radio, AP, switch port,
//! switch, WAN link, site, ISP) over a sliding window of event time; an entity is the scope of a
//! verdict when its rate of calls with the same cause is significantly above its own baseline
//! (a one-sided binomial test), with minimum-sample guards. Alerts are raised and cleared with
//! hysteresis, once per state change.
//!
//! The tracker is a function of the set of legs observed (re-observing a leg replaces it), and
//! of nothing else: no clock, no arrival order. Legs with a position in their input stream
//! count, for a leg with a position, only when they came before it.

use crate::config::RcaConfig;
use crate::evidence::scope_levels;
use crate::stats::binomial_tail;
use callsight_model::types::{AlertState, CauseCode, EntityKind, Scope, ScopeAlert};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One leg as scope counts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegObservation {
    /// Leg id.
    pub leg_id: String,
    /// Organization.
    pub org_id: String,
    /// Site.
    pub site_id: Option<String>,
    /// Leg end, epoch ms (the time the leg counts at).
    pub end: i64,
    /// The leg was poor with a cause attributed (not `unknown.*`).
    pub bad: bool,
    /// Its primary cause.
    pub cause: CauseCode,
    /// Every entity the leg's media crossed.
    pub entities: Vec<(EntityKind, String)>,
    /// Position of the leg in its input stream (its partition offset). When the leg being
    /// scoped has one, only legs observed with an earlier position count for it, so that a
    /// verdict does not depend on how legs and telemetry interleaved; `None` counts always.
    #[serde(default)]
    pub sequence: Option<i64>,
}

/// An entity of one org: two orgs' legs never count for each other's scope or alerts, even
/// where their entity ids coincide.
type EntityKey = (String, EntityKind, String);
type AlertKey = (String, EntityKind, String, CauseCode);

fn entity_key(org: &str, (kind, id): &(EntityKind, String)) -> EntityKey {
    (org.to_string(), *kind, id.clone())
}

#[derive(Debug, Clone, PartialEq)]
struct Raised {
    alert_id: String,
    raised_at: i64,
}

/// Per-partition scope state.
#[derive(Debug, Clone, Default)]
pub struct ScopeTracker {
    legs: BTreeMap<String, LegObservation>,
    by_entity: BTreeMap<EntityKey, BTreeSet<String>>,
    raised: BTreeMap<AlertKey, Raised>,
    touched: BTreeSet<AlertKey>,
}

/// Counts of one entity in one window.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Counts {
    total: u32,
    affected: u32,
    baseline: f64,
    p_value: f64,
}

impl ScopeTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Legs tracked.
    pub fn len(&self) -> usize {
        self.legs.len()
    }

    /// No legs tracked.
    pub fn is_empty(&self) -> bool {
        self.legs.is_empty()
    }

    /// Adds a leg, replacing an earlier observation of the same leg.
    pub fn observe(&mut self, leg: LegObservation) {
        self.forget(&leg.leg_id);
        for entity in &leg.entities {
            self.by_entity
                .entry(entity_key(&leg.org_id, entity))
                .or_default()
                .insert(leg.leg_id.clone());
            if leg.bad {
                self.touched
                    .insert((leg.org_id.clone(), entity.0, entity.1.clone(), leg.cause));
            }
        }
        self.legs.insert(leg.leg_id.clone(), leg);
    }

    fn forget(&mut self, leg_id: &str) {
        if let Some(old) = self.legs.remove(leg_id) {
            for entity in &old.entities {
                let key = entity_key(&old.org_id, entity);
                if let Some(set) = self.by_entity.get_mut(&key) {
                    set.remove(leg_id);
                    if set.is_empty() {
                        self.by_entity.remove(&key);
                    }
                }
            }
        }
    }

    /// Drops legs that ended before `before` (event time).
    pub fn expire(&mut self, before: i64) {
        let old: Vec<String> = self
            .legs
            .values()
            .filter(|l| l.end < before)
            .map(|l| l.leg_id.clone())
            .collect();
        for id in old {
            self.forget(&id);
        }
    }

    fn counts(
        &self,
        entity: &EntityKey,
        cause: CauseCode,
        window_end: i64,
        extra: Option<&LegObservation>,
        config: &RcaConfig,
    ) -> Counts {
        let window_start = window_end - config.scope_window_seconds * 1000;
        let (mut total, mut affected, mut before_total, mut before_affected) =
            (0u32, 0u32, 0u32, 0u32);
        let skip = extra.map(|l| l.leg_id.as_str());
        let before = extra.and_then(|l| l.sequence);
        let legs = self
            .by_entity
            .get(entity)
            .into_iter()
            .flatten()
            .filter(|id| Some(id.as_str()) != skip)
            .filter_map(|id| self.legs.get(id))
            .filter(|l| match (before, l.sequence) {
                (Some(limit), Some(position)) => position < limit,
                _ => true,
            })
            .chain(extra);
        for leg in legs {
            let same = leg.bad && leg.cause == cause;
            if leg.end > window_end {
                continue;
            }
            if leg.end >= window_start {
                total += 1;
                affected += u32::from(same);
            } else {
                before_total += 1;
                before_affected += u32::from(same);
            }
        }
        // The entity's own history, shrunk towards the default rate until it has enough calls.
        let prior = f64::from(config.baseline_min_calls.max(1));
        let baseline = (f64::from(before_affected) + config.default_poor_ratio * prior)
            / (f64::from(before_total) + prior);
        Counts {
            total,
            affected,
            baseline,
            p_value: binomial_tail(affected, total, baseline),
        }
    }

    fn significant(counts: &Counts, alpha: f64, min_affected: u32, config: &RcaConfig) -> bool {
        counts.total >= config.scope_min_calls
            && counts.affected >= min_affected
            && counts.p_value < alpha
    }

    /// The scope of a leg's cause: the smallest entity on its path whose rate of calls with this
    /// cause is significantly above its baseline, counting the leg itself; when none is, the
    /// smallest entity with its counts. `None` for causes without a network scope.
    pub fn scope_for(&self, leg: &LegObservation, config: &RcaConfig) -> Option<Scope> {
        let levels = scope_levels(leg.cause);
        let window_start = leg.end - config.scope_window_seconds * 1000;
        let mut first = None;
        for kind in levels {
            // Among several entities of one kind (two WAN links), the most significant one.
            let best = leg
                .entities
                .iter()
                .filter(|(k, _)| k == kind)
                .map(|e| {
                    let key = entity_key(&leg.org_id, e);
                    (e, self.counts(&key, leg.cause, leg.end, Some(leg), config))
                })
                .min_by(|(ea, a), (eb, b)| a.p_value.total_cmp(&b.p_value).then(ea.1.cmp(&eb.1)));
            let Some((entity, counts)) = best else {
                continue;
            };
            let scope = Scope {
                kind: *kind,
                entity_id: entity.1.clone(),
                calls_affected: counts.affected as i32,
                calls_total: counts.total as i32,
                baseline_poor_ratio: Some(counts.baseline),
                window_start,
                window_end: leg.end,
            };
            if Self::significant(
                &counts,
                config.scope_alpha,
                config.scope_min_affected,
                config,
            ) {
                return Some(scope);
            }
            first.get_or_insert(scope);
        }
        first
    }

    /// Raises and clears alerts as of event time `at`, for the entities touched since the last
    /// call and those with a raised alert. An alert is raised when `alert_min_affected` calls
    /// share a cause at significance `alert_alpha`, and cleared once that is no longer
    /// significant at `scope_alpha`: no flapping in between, and each change is reported once.
    pub fn update_alerts(&mut self, at: i64, config: &RcaConfig) -> Vec<ScopeAlert> {
        let mut keys: BTreeSet<AlertKey> = std::mem::take(&mut self.touched);
        keys.extend(self.raised.keys().cloned());
        let mut out = Vec::new();
        for key in keys {
            let (org, kind, id, cause) = &key;
            if scope_levels(*cause).is_empty() || *kind == EntityKind::Client {
                continue;
            }
            let entity = (org.clone(), *kind, id.clone());
            let counts = self.counts(&entity, *cause, at, None, config);
            let raised = self.raised.get(&key).cloned();
            let state = match raised {
                None if Self::significant(
                    &counts,
                    config.alert_alpha,
                    config.alert_min_affected,
                    config,
                ) =>
                {
                    let raised = Raised {
                        // The org's: two orgs' alerts on entities of one id never share an id.
                        alert_id: format!("{org}|{}:{id}/{}@{at}", kind.symbol(), cause.code()),
                        raised_at: at,
                    };
                    self.raised.insert(key.clone(), raised.clone());
                    Some((AlertState::Raised, raised))
                }
                Some(raised)
                    if !Self::significant(
                        &counts,
                        config.scope_alpha,
                        config.scope_min_affected,
                        config,
                    ) =>
                {
                    self.raised.remove(&key);
                    Some((AlertState::Cleared, raised))
                }
                _ => None,
            };
            let Some((state, raised)) = state else {
                continue;
            };
            out.push(self.alert(&entity, *cause, state, &raised, &counts, at, config));
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn alert(
        &self,
        entity: &EntityKey,
        cause: CauseCode,
        state: AlertState,
        raised: &Raised,
        counts: &Counts,
        at: i64,
        config: &RcaConfig,
    ) -> ScopeAlert {
        let window_start = at - config.scope_window_seconds * 1000;
        let mut affected: Vec<&LegObservation> = self
            .by_entity
            .get(entity)
            .into_iter()
            .flatten()
            .filter_map(|id| self.legs.get(id))
            .filter(|l| l.bad && l.cause == cause && l.end >= window_start && l.end <= at)
            .collect();
        affected.sort_by(|a, b| b.end.cmp(&a.end).then(a.leg_id.cmp(&b.leg_id)));
        let latest = affected.first().copied().or_else(|| {
            self.by_entity
                .get(entity)
                .into_iter()
                .flatten()
                .filter_map(|id| self.legs.get(id))
                .max_by(|a, b| a.end.cmp(&b.end).then(b.leg_id.cmp(&a.leg_id)))
        });
        let poor_ratio = if counts.total == 0 {
            0.0
        } else {
            f64::from(counts.affected) / f64::from(counts.total)
        };
        let (org, kind, id) = entity;
        let label = kind.symbol().replace('_', " ");
        let summary = match state {
            AlertState::Raised => format!(
                "{} of {} calls through {label} {} in the last {} min: {} (usual {:.0} %)",
                counts.affected,
                counts.total,
                id,
                config.scope_window_seconds / 60,
                cause.code(),
                counts.baseline * 100.0
            ),
            AlertState::Cleared => format!(
                "cleared: {} of {} calls through {label} {} in the last {} min with {}",
                counts.affected,
                counts.total,
                id,
                config.scope_window_seconds / 60,
                cause.code()
            ),
        };
        ScopeAlert {
            alert_id: raised.alert_id.clone(),
            org_id: org.clone(),
            site_id: latest.and_then(|l| l.site_id.clone()),
            state,
            cause,
            scope: Scope {
                kind: *kind,
                entity_id: id.clone(),
                calls_affected: counts.affected as i32,
                calls_total: counts.total as i32,
                baseline_poor_ratio: Some(counts.baseline),
                window_start,
                window_end: at,
            },
            poor_ratio,
            raised_at: raised.raised_at,
            updated_at: at,
            sample_leg_ids: affected.iter().take(5).map(|l| l.leg_id.clone()).collect(),
            summary,
        }
    }
}
