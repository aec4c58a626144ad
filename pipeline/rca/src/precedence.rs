//! Causes that explain other causes' symptoms, in one place. A port that renegotiated at a
//! lower speed or half duplex produces errors and fills up; a link that went down and failed
//! over loses and delays packets; an AP that restarted makes its clients roam; a participant whose
//! own network degraded the media makes the round trip through the relay look slow. Where the
//! explaining cause is itself anomalous, the symptom's evidence stays in the verdict (it is what
//! was seen) but takes no part in the attribution, so the explaining cause is the one named.

use callsight_model::types::{CauseCode, Evidence};

/// Each cause with the causes whose symptoms it explains.
pub const EXPLAINS: &[(CauseCode, &[CauseCode])] = &[
    (
        CauseCode::WiredSpeedDuplex,
        &[CauseCode::WiredPortErrors, CauseCode::WiredPortCongestion],
    ),
    (CauseCode::WiredLinkFlap, &[CauseCode::WiredPortErrors]),
    (
        CauseCode::WanLinkDownFailover,
        &[
            CauseCode::WanLoss,
            CauseCode::WanLatency,
            CauseCode::WanJitter,
        ],
    ),
    (CauseCode::WirelessApRestart, &[CauseCode::WirelessRoaming]),
    (
        CauseCode::RemoteOtherParticipant,
        &[CauseCode::ServiceMediaRelay],
    ),
];

/// Whether `explainer` explains `cause`'s symptoms.
pub fn explains(explainer: CauseCode, cause: CauseCode) -> bool {
    EXPLAINS
        .iter()
        .any(|(e, explained)| *e == explainer && explained.contains(&cause))
}

/// The evidence that takes part in attribution: all of `evidence` but that of causes explained
/// by a cause whose own evidence reaches `min_strength`.
pub fn unexplained(evidence: &[Evidence], min_strength: f64) -> Vec<Evidence> {
    let present: Vec<CauseCode> = evidence
        .iter()
        .filter(|e| e.score >= min_strength)
        .map(|e| e.cause)
        .collect();
    evidence
        .iter()
        .filter(|e| !present.iter().any(|p| explains(*p, e.cause)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(cause: CauseCode, score: f64) -> Evidence {
        Evidence {
            group: cause.group(),
            cause,
            entity_kind: Default::default(),
            entity_id: "x".into(),
            metric: "m".into(),
            unit: "u".into(),
            value: 1.0,
            threshold: None,
            baseline: None,
            window_start: 0,
            window_end: 0,
            score,
            basis: None,
        }
    }

    #[test]
    fn an_explained_symptom_takes_no_part_unless_its_explanation_is_weak() {
        let errors = evidence(CauseCode::WiredPortErrors, 1.0);
        let duplex = evidence(CauseCode::WiredSpeedDuplex, 0.6);
        let kept = unexplained(&[errors.clone(), duplex.clone()], 0.3);
        assert_eq!(kept, vec![duplex]);
        let weak = evidence(CauseCode::WiredSpeedDuplex, 0.1);
        assert_eq!(unexplained(&[errors.clone(), weak.clone()], 0.3).len(), 2);
    }

    #[test]
    fn nothing_explains_itself_and_no_two_causes_explain_each_other() {
        for (explainer, explained) in EXPLAINS {
            assert!(!explained.contains(explainer), "{explainer:?}");
            for cause in *explained {
                assert!(!explains(*cause, *explainer), "{cause:?} and {explainer:?}");
            }
        }
    }
}
