//! `callsight explain FILE`: evaluate one leg with the configured thresholds and print the
//! verdict, for engineers tuning thresholds on real or made-up cases.

use crate::config::Config;
use callsight_rca::scenario::Input;
use callsight_rca::{Settings, evaluate, explain};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Runs the command; 0 when the verdict was printed (and met the scenario's expectation),
/// 1 when it did not meet it, 2 when the file cannot be read.
pub fn run(config: &Config, file: &Path, json: bool) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("callsight: cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let input = match Input::parse(&text) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("callsight: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let (leg, view, scope) = input.build();
    let settings = Settings {
        classification: &config.classification,
        rca: &config.rca,
    };
    let verdict = evaluate(&leg, &view, &scope, settings).verdict;
    let rendered = if json {
        serde_json::to_string_pretty(&verdict).unwrap_or_default() + "\n"
    } else {
        explain::render(&verdict)
    };
    let _ = std::io::stdout().lock().write_all(rendered.as_bytes());
    let mismatches = input.mismatches(&verdict);
    if mismatches.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "callsight: the verdict differs from the scenario's expectation: {}",
            mismatches.join("; ")
        );
        ExitCode::FAILURE
    }
}
