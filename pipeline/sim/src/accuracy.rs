//! Scores verdicts against the ground truth: per-cause precision, recall and F1, the confusion
//! matrix, macro-F1, and how often the scope and the guilty participant are right.

use crate::truth::{Label, LegRef, ScopeRef};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

/// What a verdict says about a leg, as far as scoring needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// callsight's leg id (`call/participant/session/side`).
    pub leg_id: String,
    /// The leg's participant pseudonym.
    pub participant_id: String,
    /// `poor`, `good` or `unclassified`.
    pub quality: String,
    /// Rated bad or poor by the user.
    pub poor_feedback: bool,
    /// The primary cause code.
    pub primary_cause: String,
    /// The participant blamed.
    pub guilty_participant_id: Option<String>,
    /// The scope entity.
    pub scope: Option<ScopeRef>,
}

/// The leg (session and side) of a callsight leg id (`call/participant/session/side`, with
/// `#n` after a side that repeats).
pub fn leg_ref(leg_id: &str) -> Option<LegRef> {
    let parts: Vec<&str> = leg_id.split('/').collect();
    if parts.len() < 4 {
        return None;
    }
    let side = parts[parts.len() - 1];
    let side = side.split('#').next().unwrap_or(side);
    Some(LegRef {
        session_id: parts[parts.len() - 2].to_string(),
        side: side.to_string(),
    })
}

/// The label a leg without a verdict counts as.
pub const NO_VERDICT: &str = "no_verdict";

impl Observed {
    /// The leg (session and side) from the leg id.
    pub fn leg(&self) -> Option<LegRef> {
        leg_ref(&self.leg_id)
    }

    /// The label the verdict amounts to: its cause when the leg was bad, else `good`.
    pub fn predicted(&self) -> &str {
        if self.quality == "poor" || self.poor_feedback {
            &self.primary_cause
        } else {
            "good"
        }
    }
}

/// Scores of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    /// Cause code (or `good`).
    pub class: String,
    /// Legs of this class in the truth.
    pub support: usize,
    /// Correctly named.
    pub true_positives: usize,
    /// Named but wrong.
    pub false_positives: usize,
    /// Missed.
    pub false_negatives: usize,
    /// tp / (tp + fp).
    pub precision: f64,
    /// tp / (tp + fn).
    pub recall: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
}

/// The accuracy report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Legs with a label.
    pub legs_labelled: usize,
    /// Legs left out because a fault touched their call only in part.
    pub legs_ambiguous: usize,
    /// Scored legs without a verdict (they count as a wrong answer, `no_verdict`).
    pub legs_without_verdict: usize,
    /// Legs scored (every labelled leg not left out).
    pub legs_scored: usize,
    /// Per class (every cause in the truth or the verdicts, and `good`).
    pub classes: Vec<ClassScore>,
    /// Mean F1 over the cause codes present in the truth (`good` excluded).
    pub macro_f1: f64,
    /// Share of scored legs whose label was right.
    pub accuracy: f64,
    /// (truth, predicted) → legs.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// Legs whose truth has a scope entity.
    pub scope_scored: usize,
    /// Share of them whose verdict's scope is one of those entities.
    pub scope_accuracy: f64,
    /// Legs whose truth names a participant to blame.
    pub guilty_scored: usize,
    /// Share of them whose verdict blames that participant.
    pub guilty_accuracy: f64,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Scores `verdicts` (the latest per leg) against `labels`.
pub fn score(labels: &[Label], verdicts: &[Observed]) -> Report {
    let by_leg: HashMap<LegRef, &Observed> = verdicts
        .iter()
        .filter_map(|v| v.leg().map(|l| (l, v)))
        .collect();
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let (mut ambiguous, mut without, mut scored, mut right) = (0, 0, 0, 0);
    let (mut scope_n, mut scope_ok, mut guilty_n, mut guilty_ok) = (0, 0, 0, 0);
    for label in labels {
        if label.ambiguous {
            ambiguous += 1;
            continue;
        }
        scored += 1;
        let Some(v) = by_leg.get(&label.leg()) else {
            without += 1;
            *confusion
                .entry(label.cause.clone())
                .or_default()
                .entry(NO_VERDICT.to_string())
                .or_default() += 1;
            if !label.scope.is_empty() {
                scope_n += 1;
            }
            if label.guilty.is_some() {
                guilty_n += 1;
            }
            continue;
        };
        let predicted = v.predicted().to_string();
        if predicted == label.cause {
            right += 1;
        }
        *confusion
            .entry(label.cause.clone())
            .or_default()
            .entry(predicted)
            .or_default() += 1;
        if !label.scope.is_empty() {
            scope_n += 1;
            if v.scope.as_ref().is_some_and(|s| label.scope.contains(s)) {
                scope_ok += 1;
            }
        }
        if let Some(g) = &label.guilty {
            guilty_n += 1;
            let expected = by_leg.get(g).map(|o| o.participant_id.as_str());
            if expected.is_some() && v.guilty_participant_id.as_deref() == expected {
                guilty_ok += 1;
            }
        }
    }
    let mut classes: BTreeSet<String> = confusion.keys().cloned().collect();
    for row in confusion.values() {
        classes.extend(row.keys().cloned());
    }
    // Not a class: a miss of the leg's true class.
    classes.remove(NO_VERDICT);
    let scores: Vec<ClassScore> = classes
        .iter()
        .map(|c| {
            let tp = confusion
                .get(c)
                .and_then(|r| r.get(c))
                .copied()
                .unwrap_or(0);
            let support: usize = confusion.get(c).map_or(0, |r| r.values().sum());
            let predicted: usize = confusion.values().filter_map(|r| r.get(c)).sum();
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, support);
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            ClassScore {
                class: c.clone(),
                support,
                true_positives: tp,
                false_positives: predicted - tp,
                false_negatives: support - tp,
                precision,
                recall,
                f1,
            }
        })
        .collect();
    let causes: Vec<&ClassScore> = scores
        .iter()
        .filter(|s| s.support > 0 && s.class != "good")
        .collect();
    let macro_f1 = if causes.is_empty() {
        0.0
    } else {
        causes.iter().map(|s| s.f1).sum::<f64>() / causes.len() as f64
    };
    Report {
        legs_labelled: labels.len(),
        legs_ambiguous: ambiguous,
        legs_without_verdict: without,
        legs_scored: scored,
        classes: scores,
        macro_f1,
        accuracy: ratio(right, scored),
        confusion,
        scope_scored: scope_n,
        scope_accuracy: ratio(scope_ok, scope_n),
        guilty_scored: guilty_n,
        guilty_accuracy: ratio(guilty_ok, guilty_n),
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "legs: {} labelled, {} scored ({} of them without a verdict, counted wrong), {} left out (a fault began or ended within two minutes of the call)",
            self.legs_labelled, self.legs_scored, self.legs_without_verdict, self.legs_ambiguous
        )?;
        writeln!(f)?;
        writeln!(f, "| cause | support | precision | recall | F1 |")?;
        writeln!(f, "|---|---:|---:|---:|---:|")?;
        for c in &self.classes {
            writeln!(
                f,
                "| {} | {} | {:.3} | {:.3} | {:.3} |",
                c.class, c.support, c.precision, c.recall, c.f1
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "macro-F1 over the causes in the truth: {:.3}; legs labelled right: {:.3}",
            self.macro_f1, self.accuracy
        )?;
        writeln!(
            f,
            "scope right: {:.3} of {} legs; guilty participant right: {:.3} of {} legs",
            self.scope_accuracy, self.scope_scored, self.guilty_accuracy, self.guilty_scored
        )?;
        writeln!(f)?;
        writeln!(f, "confusion (truth → verdict: legs), mistakes only:")?;
        let mut any = false;
        for (truth, row) in &self.confusion {
            for (predicted, n) in row {
                if truth != predicted {
                    any = true;
                    writeln!(f, "  {truth} → {predicted}: {n}")?;
                }
            }
        }
        if !any {
            writeln!(f, "  none")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(session: &str, cause: &str, guilty: Option<&str>) -> Label {
        Label {
            call_id: "c".into(),
            session_id: session.into(),
            side: "caller".into(),
            participant: 0,
            site_id: None,
            cause: cause.into(),
            fault: None,
            scope: vec![ScopeRef {
                kind: "ap_radio".into(),
                entity_id: "r1".into(),
            }],
            guilty: guilty.map(|g| LegRef {
                session_id: g.into(),
                side: "caller".into(),
            }),
            ambiguous: false,
        }
    }

    fn seen(
        session: &str,
        participant: &str,
        quality: &str,
        cause: &str,
        guilty: Option<&str>,
    ) -> Observed {
        Observed {
            leg_id: format!("c/{participant}/{session}/caller"),
            participant_id: participant.into(),
            quality: quality.into(),
            poor_feedback: false,
            primary_cause: cause.into(),
            guilty_participant_id: guilty.map(str::to_string),
            scope: Some(ScopeRef {
                kind: "ap_radio".into(),
                entity_id: "r1".into(),
            }),
        }
    }

    #[test]
    fn scores_follow_the_definitions() {
        let labels = vec![
            label("s1", "wan_loss", Some("s1")),
            label("s2", "wan_loss", Some("s2")),
            label("s3", "wireless_interference", Some("s3")),
            label("s4", "good", None),
        ];
        let verdicts = vec![
            seen("s1", "p1", "poor", "wan_loss", Some("p1")),
            seen("s2", "p2", "poor", "wan_jitter", Some("p2")),
            seen("s3", "p3", "poor", "wireless_interference", Some("p1")),
            seen("s4", "p4", "good", "unknown_no_network_anomaly", None),
        ];
        let r = score(&labels, &verdicts);
        assert_eq!(r.legs_scored, 4);
        let wan = r
            .classes
            .iter()
            .find(|c| c.class == "wan_loss")
            .expect("row");
        assert_eq!(
            (wan.true_positives, wan.false_negatives, wan.false_positives),
            (1, 1, 0)
        );
        assert!((wan.f1 - 2.0 / 3.0).abs() < 1e-9);
        // wan_loss 0.667 and wireless_interference 1.0; `good` and wan_jitter (no support) excluded.
        assert!((r.macro_f1 - (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-9);
        assert_eq!(r.confusion["wan_loss"]["wan_jitter"], 1);
        assert!((r.guilty_accuracy - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(r.scope_scored, 4);
        assert!(r.to_string().contains("wan_loss → wan_jitter: 1"));
    }

    #[test]
    fn a_leg_without_a_verdict_counts_as_a_miss() {
        let r = score(&[label("s1", "wan_loss", None)], &[]);
        assert_eq!((r.legs_scored, r.legs_without_verdict), (1, 1));
        assert_eq!(r.confusion["wan_loss"][NO_VERDICT], 1);
        assert_eq!(r.macro_f1, 0.0);
        assert_eq!(r.scope_accuracy, 0.0);
    }
}
