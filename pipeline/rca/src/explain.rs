//! A verdict written out for a person tuning thresholds: the summary, the stream
//! classification, the attribution and the evidence, one fact per line.

use callsight_model::types::RootCauseVerdict;
use std::fmt::Write as _;

/// The verdict as text.
pub fn render(verdict: &RootCauseVerdict) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", verdict.summary);
    let _ = writeln!(
        out,
        "\ncause      {}   confidence {:.2}   fault {:?}   guilty {}",
        verdict.primary_cause,
        verdict.confidence,
        verdict.fault_location,
        verdict.guilty_participant_id.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        out,
        "quality    {:?}   rating {:?}{}",
        verdict.quality,
        verdict.rating,
        if verdict.poor_feedback {
            " (poor feedback)"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "\nstreams");
    for s in &verdict.streams {
        let reasons: Vec<String> = s
            .reasons
            .iter()
            .map(|r| {
                format!(
                    "{} {} {} {}",
                    r.metric,
                    r.value,
                    if r.poor { "crosses" } else { "within" },
                    r.threshold
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "  {:?} {:?}: {:?} [{}]",
            s.direction,
            s.media_kind,
            s.quality,
            reasons.join(", ")
        );
    }
    let _ = writeln!(out, "\nattribution");
    for a in &verdict.attribution {
        let _ = writeln!(
            out,
            "  {:>5.1} %  {:?}  {}",
            a.share * 100.0,
            a.group,
            a.cause
        );
    }
    let _ = writeln!(out, "\nevidence");
    for e in &verdict.evidence {
        let _ = writeln!(
            out,
            "  {:.2}  {}  {:?} {}  {} = {} {} (threshold {}{})",
            e.score,
            e.cause,
            e.entity_kind,
            e.entity_id,
            e.metric,
            e.value,
            e.unit,
            e.threshold.map_or("-".into(), |t| t.to_string()),
            e.baseline.map_or(String::new(), |b| format!(", usual {b}"))
        );
    }
    if let Some(scope) = &verdict.scope {
        let _ = writeln!(
            out,
            "\nscope      {:?} {}: {} of {} calls (usual rate {:.1} %)",
            scope.kind,
            scope.entity_id,
            scope.calls_affected,
            scope.calls_total,
            scope.baseline_poor_ratio.unwrap_or(0.0) * 100.0
        );
    }
    let c = &verdict.completeness;
    let _ = writeln!(
        out,
        "\ndata       client {}  wireless {}  wired {}  wan {}{}",
        c.client,
        c.wireless,
        c.wired,
        c.wan,
        if c.partial { "  (partial)" } else { "" }
    );
    for m in &c.missing {
        let _ = writeln!(out, "  missing: {m}");
    }
    out
}
