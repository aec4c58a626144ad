//! Golden scenarios: one file per cause of the taxonomy, plus mixed cases, each with the
//! verdict it must produce (`scenarios/*.json`).

use callsight_rca::scenario::Scenario;
use callsight_rca::{ClassificationConfig, RcaConfig, Settings, evaluate};
use std::path::PathBuf;

fn scenarios() -> Vec<(String, Scenario)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut out: Vec<(String, Scenario)> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read");
            let name = p.file_stem().expect("name").to_string_lossy().to_string();
            let scenario =
                Scenario::parse(&text).unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
            (name, scenario)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn every_scenario_gets_its_expected_verdict() {
    let classification = ClassificationConfig::default();
    let rca = RcaConfig::default();
    let settings = Settings {
        classification: &classification,
        rca: &rca,
    };
    let mut failures = Vec::new();
    for (name, scenario) in scenarios() {
        let (leg, view, tracker) = scenario.build();
        let evaluation = evaluate(&leg, &view, &tracker, settings);
        let mismatches = scenario.mismatches(&evaluation.verdict);
        if !mismatches.is_empty() {
            failures.push(format!(
                "{name}: {}\n    summary: {}\n    attribution: {:?}",
                mismatches.join("; "),
                evaluation.verdict.summary,
                evaluation
                    .verdict
                    .attribution
                    .iter()
                    .map(|a| (a.cause.code(), a.share))
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_cause_of_the_taxonomy_has_a_scenario() {
    let covered: Vec<_> = scenarios()
        .into_iter()
        .filter_map(|(_, s)| s.expect.map(|e| e.primary_cause))
        .collect();
    for cause in callsight_model::types::CauseCode::ALL {
        if cause == callsight_model::types::CauseCode::UnknownOther {
            continue; // what old readers read newer causes as; never produced
        }
        assert!(covered.contains(&cause), "no scenario expects {cause}");
    }
}

/// `cargo test -p callsight-rca --test golden show -- --ignored --nocapture` prints every
/// scenario's verdict.
#[test]
#[ignore = "prints every verdict; run by hand"]
fn show() {
    let classification = ClassificationConfig::default();
    let rca = RcaConfig::default();
    let settings = Settings {
        classification: &classification,
        rca: &rca,
    };
    for (name, scenario) in scenarios() {
        let (leg, view, tracker) = scenario.build();
        let verdict = evaluate(&leg, &view, &tracker, settings).verdict;
        println!("=== {name}\n{}", callsight_rca::explain::render(&verdict));
    }
}
