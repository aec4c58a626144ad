//! `callsight-lab demo` as a newcomer runs it (faster): its report names every injected fault with
//! what callsight found on the legs behind it.

use std::process::Command;

#[test]
fn the_demo_reports_what_it_found_behind_every_fault() {
    let output = Command::new(env!("CARGO_BIN_EXE_callsight-lab"))
        .args(["demo", "--speed", "900"])
        .env("CALLSIGHT__ADMIN__LISTEN", "127.0.0.1:0")
        .env("CALLSIGHT__INGEST__LISTEN", "127.0.0.1:0")
        .output()
        .expect("callsight-lab demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = &stdout[stdout.find("faults injected").expect("the report")..];
    let faults: Vec<&str> = report
        .lines()
        .filter(|l| l.contains(" expected "))
        .collect();
    assert_eq!(
        faults.len(),
        callsight_sim::fault::DEMO_KINDS.len(),
        "{report}"
    );
    for line in faults {
        // "found on N of M legs": every fault had legs behind it, and verdicts were found.
        let tail = &line[line.find("found on ").expect("found on") + 9..];
        let numbers: Vec<usize> = tail
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        assert_eq!(numbers.len(), 2, "{line}");
        assert!(numbers[1] > 0 && numbers[0] > 0, "{line}");
    }
    assert!(stdout.contains("metrics  http://"), "{stdout}");
}
