//! Properties of the engine: shares are non-negative and sum to 1; irrelevant evidence, sample
//! order and duplicate deliveries never change the verdict's cause; good streams never get a
//! network cause.

use callsight_model::types::{
    ApRadioSample, CauseCode, EvidenceGroup, FeedbackRating, NetworkSample, SampleBody,
    SwitchPortSample, WanPathSample, WifiBand, WirelessClientSample,
};
use callsight_rca::attribution::{GroupStrength, shares};
use callsight_rca::scenario::Scenario;
use callsight_rca::{ClassificationConfig, RcaConfig, Settings, evaluate};
use proptest::prelude::*;
use std::path::PathBuf;
use std::sync::LazyLock;

static SCENARIOS: LazyLock<Vec<(String, Scenario)>> = LazyLock::new(|| {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut out: Vec<(String, Scenario)> = std::fs::read_dir(dir)
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read");
            (
                p.file_stem().expect("name").to_string_lossy().to_string(),
                Scenario::parse(&text).expect("parses"),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
});

fn settings() -> (ClassificationConfig, RcaConfig) {
    (ClassificationConfig::default(), RcaConfig::default())
}

/// splitmix64, for shuffles driven by a proptest seed.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        items.swap(i, (z % (i as u64 + 1)) as usize);
    }
}

/// An observation of an entity that is on nobody's path in the scenarios, as bad as it gets.
fn irrelevant(kind: u8, time: i64, n: u8) -> NetworkSample {
    let mac = format!("deadbeef00{n:02x}");
    let body = match kind % 4 {
        0 => SampleBody::WirelessClient(WirelessClientSample {
            client_mac: mac.clone(),
            ap_mac: mac,
            band: WifiBand::Band2_4Ghz,
            rssi_dbm: Some(-92.0),
            snr_db: Some(2.0),
            ..Default::default()
        }),
        1 => SampleBody::ApRadio(ApRadioSample {
            ap_mac: mac,
            band: WifiBand::Band5Ghz,
            util_all_ratio: Some(0.99),
            util_non_wifi_ratio: Some(0.9),
            num_clients: Some(200),
            ..Default::default()
        }),
        2 => SampleBody::SwitchPort(SwitchPortSample {
            switch_mac: mac,
            port_id: "ge-9/9/9".into(),
            up: false,
            rx_errors_per_s: Some(500.0),
            full_duplex: Some(false),
            ..Default::default()
        }),
        _ => SampleBody::WanPath(WanPathSample {
            gateway_mac: mac,
            wan_port_id: "ge-0/0/0".into(),
            up: true,
            latency_ms: Some(900.0),
            loss_ratio: Some(0.5),
            jitter_ms: Some(300.0),
            ..Default::default()
        }),
    };
    NetworkSample {
        org_id: "org-scenario".into(),
        site_id: "site-hq".into(),
        time,
        source: "noise".into(),
        sequence: i64::from(n),
        body,
    }
}

fn scenario_index() -> impl Strategy<Value = usize> {
    0..SCENARIOS.len()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn shares_are_non_negative_and_sum_to_one(strengths in prop::collection::vec(0.01f64..=1.0, 1..=6)) {
        let groups: Vec<GroupStrength> = strengths
            .iter()
            .enumerate()
            .map(|(i, s)| GroupStrength {
                group: [EvidenceGroup::Client, EvidenceGroup::Wireless, EvidenceGroup::Wired,
                        EvidenceGroup::Wan, EvidenceGroup::Remote, EvidenceGroup::Service][i],
                cause: CauseCode::UnknownOther,
                strength: *s,
            })
            .collect();
        let (shares, explained) = shares(&groups);
        prop_assert!(shares.iter().all(|s| *s >= 0.0));
        prop_assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        prop_assert!(explained > 0.0 && explained <= 1.0);
    }

    #[test]
    fn sample_order_and_duplicates_do_not_change_the_verdict(index in scenario_index(), seed in any::<u64>(), dup in any::<bool>()) {
        let (name, scenario) = &SCENARIOS[index];
        let (c, r) = settings();
        let s = Settings { classification: &c, rca: &r };
        let (leg, view, tracker) = scenario.build();
        let expected = evaluate(&leg, &view, &tracker, s).verdict;
        let mut shuffled = view.clone();
        if dup {
            let copy = shuffled.samples.clone();
            shuffled.samples.extend(copy);
        }
        shuffle(&mut shuffled.samples, seed);
        let verdict = evaluate(&leg, &shuffled, &tracker, s).verdict;
        prop_assert_eq!(verdict, expected, "{}", name);
    }

    #[test]
    fn irrelevant_evidence_does_not_change_the_primary_cause(
        index in scenario_index(),
        noise in prop::collection::vec((any::<u8>(), 0i64..20, any::<u8>()), 1..20),
    ) {
        let (name, scenario) = &SCENARIOS[index];
        let (c, r) = settings();
        let s = Settings { classification: &c, rca: &r };
        let (leg, view, tracker) = scenario.build();
        let expected = evaluate(&leg, &view, &tracker, s).verdict;
        let mut noisy = view.clone();
        for (kind, minute, n) in noise {
            noisy.samples.push(irrelevant(kind, leg.leg_start + minute * 60_000, n));
        }
        let verdict = evaluate(&leg, &noisy, &tracker, s).verdict;
        prop_assert_eq!(verdict.primary_cause, expected.primary_cause, "{}", name);
        prop_assert_eq!(verdict.attribution, expected.attribution, "{}", name);
    }

    #[test]
    fn good_streams_never_get_a_network_cause(index in scenario_index(), poor_rating in any::<bool>()) {
        let (name, scenario) = &SCENARIOS[index];
        let (c, r) = settings();
        let s = Settings { classification: &c, rca: &r };
        let (mut leg, view, tracker) = scenario.build();
        for stream in &mut leg.streams {
            stream.avg_jitter_ms = Some(4.0);
            stream.avg_packet_loss_rate = Some(0.001);
            stream.avg_round_trip_ms = Some(40.0);
            stream.packet_utilization = Some(30_000);
        }
        if leg.streams.is_empty() {
            return Ok(());
        }
        leg.feedback = poor_rating.then(|| callsight_model::types::Feedback {
            rating: FeedbackRating::Poor,
            tokens: Vec::new(),
        });
        let verdict = evaluate(&leg, &view, &tracker, s).verdict;
        let allowed = matches!(
            verdict.primary_cause,
            CauseCode::UnknownNoNetworkAnomaly
                | CauseCode::UnknownInsufficientData
                | CauseCode::ClientCpuInsufficient
                | CauseCode::ClientAudioDevice
        );
        prop_assert!(allowed, "{}: {}", name, verdict.primary_cause);
        prop_assert!((verdict.attribution.iter().map(|a| a.share).sum::<f64>() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn every_scenario_verdict_has_shares_summing_to_one() {
    let (c, r) = settings();
    let s = Settings {
        classification: &c,
        rca: &r,
    };
    for (name, scenario) in SCENARIOS.iter() {
        let (leg, view, tracker) = scenario.build();
        let verdict = evaluate(&leg, &view, &tracker, s).verdict;
        let total: f64 = verdict.attribution.iter().map(|a| a.share).sum();
        assert!((total - 1.0).abs() < 1e-5, "{name}: {total}");
        assert!(verdict.attribution.iter().all(|a| a.share >= 0.0), "{name}");
        assert!((0.0..=1.0).contains(&verdict.confidence), "{name}");
    }
}
