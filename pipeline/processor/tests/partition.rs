//! One partition's processing on RocksDB in a temporary directory: verdicts do not depend on how
//! legs and telemetry interleave, nor on replaying any suffix of the input after a restart;
//! revisions replace; overdue legs are evaluated partial, then complete; late and expired
//! telemetry is counted.

use callsight_model::types::{CallLeg, CauseCode, RootCauseVerdict};
use callsight_processor::partition::{Committed, Output, Partition, Record};
use callsight_testkit::records::*;
use callsight_testkit::world::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Runs `records` through a fresh partition in batches of the given sizes.
fn run(records: Vec<Record>, batches: &[usize]) -> Vec<Output> {
    run_partition(records, batches, &inventory(), &settings())
}

/// Merges the two streams, each in its own order, by the choices given.
fn interleave(telemetry: Vec<Record>, legs: Vec<Record>, choices: &[bool]) -> Vec<Record> {
    let (mut t, mut l) = (
        telemetry.into_iter().peekable(),
        legs.into_iter().peekable(),
    );
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let take_leg = choices
            .get(i % choices.len().max(1))
            .copied()
            .unwrap_or(false);
        i += 1;
        match (t.peek().is_some(), l.peek().is_some()) {
            (false, false) => break,
            (true, false) => out.extend(t.next()),
            (false, true) => out.extend(l.next()),
            (true, true) => {
                if take_leg {
                    out.extend(l.next());
                } else {
                    // Telemetry comes in runs, as it does from a network.
                    for _ in 0..37 {
                        if let Some(r) = t.next() {
                            out.push(r);
                        }
                    }
                }
            }
        }
    }
    out
}

fn reference() -> BTreeMap<String, RootCauseVerdict> {
    let records: Vec<Record> = telemetry_records(&telemetry(30))
        .into_iter()
        .chain(leg_records(&legs()))
        .collect();
    latest(&run(records, &[500]))
}

/// The reference legs and thirty more, whose ends are not in offset order; their scope counts
/// differ with the order of evaluation.
fn all_legs() -> Vec<CallLeg> {
    let mut all = legs();
    all.extend(many_legs(30));
    all
}

/// Every record applied one at a time, telemetry first.
fn reference_all() -> BTreeMap<String, RootCauseVerdict> {
    let records: Vec<Record> = telemetry_records(&telemetry(30))
        .into_iter()
        .chain(leg_records(&all_legs()))
        .collect();
    latest(&run(records, &[1]))
}

#[test]
fn the_reference_run_finds_the_fault_for_every_leg_on_the_radio() {
    let verdicts = reference();
    assert_eq!(verdicts.len(), 5, "{:?}", verdicts.keys());
    for id in ["call-1/p-1/0", "call-2/p-2/0", "call-3/p-3/0"] {
        let v = &verdicts[id];
        assert_eq!(
            v.primary_cause,
            CauseCode::WirelessChannelUtilization,
            "{id}: {}",
            v.summary
        );
        assert!(!v.completeness.partial);
    }
    // The revision replaced the first version.
    assert_eq!(
        verdicts["call-1/p-1/0"].record_version,
        legs()[0].record_version + 1
    );
    // Before the fault, nothing to blame on the network.
    assert_ne!(
        verdicts["call-4/p-4/0"].primary_cause,
        CauseCode::WirelessChannelUtilization
    );
    // The evidence is judged against the radio's own history.
    let evidence = verdicts["call-1/p-1/0"]
        .evidence
        .iter()
        .find(|e| e.metric == "util_all_ratio_p90")
        .expect("utilization evidence");
    assert_eq!(evidence.baseline, Some(0.30));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn verdicts_do_not_depend_on_interleaving_or_batching(
        choices in proptest::collection::vec(any::<bool>(), 1..40),
        batches in proptest::collection::vec(1usize..400, 1..6),
    ) {
        let records = interleave(
            telemetry_records(&telemetry(30)),
            leg_records(&all_legs()),
            &choices,
        );
        prop_assert_eq!(latest(&run(records, &batches)), reference_all());
    }

    #[test]
    fn replaying_any_suffix_after_a_restart_changes_no_verdict(
        choices in proptest::collection::vec(any::<bool>(), 1..40),
        cut in 0.0f64..1.0,
        back in 0.0f64..1.0,
    ) {
        let records = interleave(
            telemetry_records(&telemetry(30)),
            leg_records(&all_legs()),
            &choices,
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = settings();
        let inventory = inventory();
        let crash_at = (records.len() as f64 * cut) as usize;
        let replay_from = (crash_at as f64 * back) as usize;
        let mut outputs = Vec::new();
        {
            let store = store(&dir);
            let mut partition = Partition::open(&store, 0).expect("opens");
            for chunk in records[..crash_at].chunks(250) {
                let (out, _) = partition
                    .apply(&store, &inventory, &settings, chunk, 0, None)
                    .expect("applies");
                outputs.extend(out.into_iter().map(|o| o.output));
            }
        }
        // Restarted on the same state: a suffix of what it had is delivered again, then the rest.
        let store = store(&dir);
        let mut partition = Partition::open(&store, 0).expect("reopens");
        for chunk in records[replay_from..].chunks(250) {
            let (out, _) = partition
                .apply(&store, &inventory, &settings, chunk, 0, None)
                .expect("applies");
            outputs.extend(out.into_iter().map(|o| o.output));
        }
        prop_assert_eq!(latest(&outputs), reference_all());
    }
}

#[test]
fn a_restore_replay_publishes_only_what_was_not_published() {
    let records: Vec<Record> = telemetry_records(&telemetry(30))
        .into_iter()
        .chain(leg_records(&legs()))
        .collect();
    let total_legs = legs().len() as i64;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(&dir);
    let settings = settings();
    let inventory = inventory();
    let mut partition = Partition::open(&store, 0).expect("opens");
    // Everything was committed before: replaying it publishes nothing.
    let committed = Committed {
        legs: total_legs,
        telemetry: records.len() as i64,
    };
    let mut counts = callsight_processor::partition::Counts::default();
    for chunk in records.chunks(300) {
        let (out, c) = partition
            .apply(&store, &inventory, &settings, chunk, 0, Some(committed))
            .expect("applies");
        assert!(out.is_empty(), "{out:?}");
        counts += c;
    }
    assert!(counts.suppressed >= 5, "{counts:?}");
    assert!(partition.unsent(&store).expect("outbox").is_empty());
}

#[test]
fn an_overdue_leg_is_evaluated_partial_then_complete() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(&dir);
    let settings = settings();
    let inventory = inventory();
    let mut partition = Partition::open(&store, 0).expect("opens");
    // Telemetry up to the middle of the call only: the leg waits.
    let (start, _) = call_window();
    let early: Vec<_> = telemetry(30)
        .into_iter()
        .filter(|s| s.time < start + 5 * MINUTE)
        .collect();
    let n = early.len();
    let mut records = telemetry_records(&early);
    records.extend(leg_records(&legs()[..1]));
    let (out, counts) = partition
        .apply(&store, &inventory, &settings, &records, 1_000, None)
        .expect("applies");
    assert!(out.is_empty());
    assert_eq!(counts.legs, 1);
    // Not overdue yet; then overdue.
    let (out, _) = partition
        .tick(
            &store,
            &inventory,
            &settings,
            1_000 + settings.max_wait_ms - 1,
        )
        .expect("ticks");
    assert!(out.is_empty());
    let (out, counts) = partition
        .tick(&store, &inventory, &settings, 1_000 + settings.max_wait_ms)
        .expect("ticks");
    assert_eq!(counts.partial, 1);
    let partial = latest(&out.into_iter().map(|o| o.output).collect::<Vec<_>>());
    assert!(partial["call-1/p-1/0"].completeness.partial);
    // Once: the next tick does not evaluate it again.
    let (out, _) = partition
        .tick(&store, &inventory, &settings, 10 * settings.max_wait_ms)
        .expect("ticks");
    assert!(out.is_empty());
    // The rest of the telemetry completes it.
    let rest: Vec<_> = telemetry(30).into_iter().skip(n).collect();
    let records: Vec<Record> = telemetry_records(&rest)
        .into_iter()
        .map(|r| match r {
            Record::Sample {
                sample,
                bytes,
                offset,
            } => Record::Sample {
                sample,
                bytes,
                offset: offset + n as i64,
            },
            other => other,
        })
        .collect();
    let (out, _) = partition
        .apply(&store, &inventory, &settings, &records, 2_000, None)
        .expect("applies");
    let complete = latest(&out.into_iter().map(|o| o.output).collect::<Vec<_>>());
    let verdict = &complete["call-1/p-1/0"];
    assert!(!verdict.completeness.partial);
    assert_eq!(verdict.primary_cause, CauseCode::WirelessChannelUtilization);
    assert_eq!(
        verdict.verdict_id, partial["call-1/p-1/0"].verdict_id,
        "the same leg and version: it replaces the partial one"
    );
}

#[test]
fn late_and_expired_telemetry_is_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(&dir);
    let settings = settings();
    let inventory = inventory();
    let mut partition = Partition::open(&store, 0).expect("opens");
    let samples = telemetry(30);
    let newest = samples.last().expect("samples").clone();
    let (_, counts) = partition
        .apply(
            &store,
            &inventory,
            &settings,
            &telemetry_records(&samples),
            0,
            None,
        )
        .expect("applies");
    assert_eq!(counts.late_applied, 0);
    let mut late = newest.clone();
    late.time -= 10 * MINUTE;
    late.sequence += 1_000_000;
    let mut expired = newest;
    expired.time -= settings.retention_ms + settings.lateness_ms + MINUTE;
    expired.sequence += 2_000_000;
    let (_, counts) = partition
        .apply(
            &store,
            &inventory,
            &settings,
            &telemetry_records(&[late, expired]),
            0,
            None,
        )
        .expect("applies");
    assert_eq!((counts.late_applied, counts.late_dropped), (1, 1));
}

/// Event times at the ends of the range (a hostile sender's `time`) neither panic nor wrap: the
/// partition stays usable for the records after them.
#[test]
fn extreme_event_times_do_not_overflow() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(&dir);
    let settings = settings();
    let inventory = inventory();
    let mut partition = Partition::open(&store, 0).expect("opens");
    let samples = telemetry(3);
    for time in [i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1] {
        let mut extreme = samples[0].clone();
        extreme.time = time;
        partition
            .apply(
                &store,
                &inventory,
                &settings,
                &telemetry_records(&[extreme]),
                0,
                None,
            )
            .expect("applies");
        let watermark = partition.watermark(&settings).expect("a watermark");
        assert!(
            watermark <= time.max(samples[0].time),
            "{watermark} after {time}"
        );
    }
}

/// One observation stamped far ahead of the wall clock moves the watermark only to wall clock
/// plus `max_event_lead` (counted as clamped): the on-time observations after it are applied,
/// not dropped as expired.
#[test]
fn a_far_future_time_does_not_make_later_records_late() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(&dir);
    let mut settings = settings();
    settings.max_lead_ms = 10 * MINUTE;
    let inventory = inventory();
    let mut partition = Partition::open(&store, 0).expect("opens");
    let samples = telemetry(30);
    let now = samples.iter().map(|s| s.time).max().expect("samples");
    let mut hostile = samples[0].clone();
    hostile.time = i64::MAX;
    hostile.sequence += 1_000_000;
    let (_, counts) = partition
        .apply(
            &store,
            &inventory,
            &settings,
            &telemetry_records(&[hostile]),
            now,
            None,
        )
        .expect("applies");
    assert_eq!(counts.clamped, 1);
    assert_eq!(
        partition.watermark(&settings),
        Some(now + 10 * MINUTE - settings.lateness_ms)
    );
    let (_, counts) = partition
        .apply(
            &store,
            &inventory,
            &settings,
            &telemetry_records(&samples),
            now,
            None,
        )
        .expect("applies");
    assert_eq!((counts.late_dropped, counts.clamped), (0, 0), "{counts:?}");
    assert_eq!(
        counts.samples + counts.late_applied,
        samples.len() as u64,
        "{counts:?}"
    );
}

/// Two orgs on one partition reusing the same client MACs and private IPs: the second org's
/// legs find none of the first org's telemetry (by MAC, by IP, by BSSID), and the first org's
/// verdicts are those it gets alone.
#[test]
fn two_orgs_with_the_same_macs_and_ips_never_share_evidence() {
    let other_org = |leg: &CallLeg| {
        let mut leg = leg.clone();
        leg.org_id = "another-org".into();
        leg.leg_id = format!("another-{}", leg.leg_id);
        leg.call_id = format!("another-{}", leg.call_id);
        leg
    };
    let theirs: Vec<CallLeg> = legs().iter().map(other_org).collect();
    let mut both = legs();
    both.extend(theirs);
    let records: Vec<Record> = telemetry_records(&telemetry(30))
        .into_iter()
        .chain(leg_records(&both))
        .collect();
    let verdicts = latest(&run(records, &[500]));
    let (others, ours): (BTreeMap<_, _>, BTreeMap<_, _>) = verdicts
        .into_iter()
        .partition(|(_, v)| v.org_id == "another-org");
    assert_eq!(ours, reference(), "the first org's verdicts are its own");
    assert!(!others.is_empty());
    for v in others.values() {
        assert!(
            !v.completeness.client && !v.completeness.wireless,
            "{}: found another org's telemetry: {:?}",
            v.leg_id,
            v.completeness
        );
    }
}

#[test]
fn a_wired_attachment_is_forgotten_after_its_retention_without_a_report() {
    use callsight_model::types::{BindingKind, ClientBinding, NetworkSample, SampleBody};
    const DAY: i64 = 86_400_000;
    let (start, _) = call_window();
    let sample = |time: i64, sequence: i64, body: SampleBody| NetworkSample {
        org_id: "org".into(),
        site_id: "site".into(),
        time,
        source: "test".into(),
        sequence,
        body,
    };
    let attach = sample(
        start,
        0,
        SampleBody::ClientBinding(ClientBinding {
            client_mac: "a4c3f0851b01".into(),
            kind: BindingKind::WiredAttach,
            switch_mac: Some(SWITCH.into()),
            port_id: Some("ge-0/0/5".into()),
            ..Default::default()
        }),
    );
    // Telemetry of others moves the watermark on: one day, then a month and a day.
    let later = |days: i64| {
        sample(
            start + days * DAY,
            days,
            SampleBody::SwitchPort(healthy_port(SWITCH, "ge-0/0/1")),
        )
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let store = callsight_testkit::records::store(&dir);
    let inventory = inventory();
    let settings = settings();
    let mut partition = Partition::open(&store, 0).expect("opens");
    let kept = |store: &callsight_state::Store| {
        callsight_processor::attachment::read(store, 0, "org", "a4c3f0851b01")
            .expect("reads")
            .is_some()
    };
    for (samples, expected) in [(vec![attach, later(1)], true), (vec![later(31)], false)] {
        partition
            .apply(
                &store,
                &inventory,
                &settings,
                &telemetry_records(&samples),
                0,
                None,
            )
            .expect("applies");
        assert_eq!(kept(&store), expected);
    }
}
