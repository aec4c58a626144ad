//! Defects an independent scenario set found, each reproduced with data of its own through one
//! partition: the windows on RocksDB, the view the processor builds from them, the engine. Mist
//! data goes through the same normalisers as the webhook endpoint and the poller, starting from
//! Mist's own published examples where one exists.

use callsight_inventory::Inventory;
use callsight_model::types::*;
use callsight_processor::partition::{Record, Settings};
use callsight_rca::RcaConfig;
use callsight_rca::config::WanCapacity;
use callsight_telemetry::mist::webhook;
use callsight_telemetry::{Record as Normalized, TimeWindow};
use callsight_testkit::records::*;
use callsight_testkit::samples::{ORG, SITE};
use callsight_testkit::vendor;
use callsight_testkit::world::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// The latest verdict of every leg after `telemetry` (in time order), then `legs`, went through
/// one partition of the reference site's inventory.
fn verdicts(telemetry: Vec<NetworkSample>, legs: &[CallLeg]) -> BTreeMap<String, RootCauseVerdict> {
    verdicts_with(telemetry, legs, &inventory(), &settings())
}

/// [`verdicts`] with another inventory and other settings.
fn verdicts_with(
    mut telemetry: Vec<NetworkSample>,
    legs: &[CallLeg],
    inventory: &Inventory,
    settings: &Settings,
) -> BTreeMap<String, RootCauseVerdict> {
    telemetry.sort_by_key(|s| s.time);
    let mut records: Vec<Record> = telemetry_records(&telemetry);
    let offset = records.len() as i64;
    records.extend(leg_records(legs).into_iter().map(|r| match r {
        Record::Leg { leg, offset: o } => Record::Leg {
            leg,
            offset: offset + o,
        },
        other => other,
    }));
    latest(&run_partition(records, &[64], inventory, settings))
}

/// The samples a Mist webhook body normalises to, filed under the reference org.
fn mist_webhook(body: &Value) -> Vec<NetworkSample> {
    let bytes = serde_json::to_vec(body).expect("json");
    let delivery = webhook::Delivery {
        org: Some(ORG),
        window: TimeWindow::ANY,
    };
    let batch = webhook::parse(&bytes, &delivery).expect("parses");
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    batch
        .records
        .into_iter()
        .filter_map(|r| match r {
            Normalized::Sample(s) => Some(s),
            Normalized::Inventory(_) => None,
        })
        .collect()
}

/// Mist's nac-accounting example for `client` and `ip` on the reference site at `time`, of
/// `kind` (`NAC_ACCOUNTING_START`, `_UPDATE`, `_STOP`).
fn nac_accounting(client: &str, ip: &str, time: i64, kind: &str) -> Value {
    let mut body = vendor::example_json("mist/nac-accounting-1.json");
    let event = &mut body["events"][0];
    event["org_id"] = ORG.into();
    event["site_id"] = SITE.into();
    event["mac"] = client.into();
    event["client_ip"] = ip.into();
    event["ap"] = AP.into();
    event["bssid"] = BSSID_5.into();
    event["timestamp"] = (time as f64 / 1000.0).into();
    event["type"] = kind.into();
    body
}

#[test]
fn a_nac_accounting_stop_releases_the_ip_it_names() {
    let (start, _) = call_window();
    let mut telemetry = telemetry(10);
    // Mist's example is a STOP: the session of that client, and its IP, ended.
    assert_eq!(
        vendor::example_json("mist/nac-accounting-1.json")["events"][0]["type"],
        "NAC_ACCOUNTING_STOP"
    );
    // The sample caller had .77 from an hour before the call until half an hour before it;
    // the other client got .78 and kept it.
    for (client, ip, time, kind) in [
        (
            CLIENT,
            "10.20.10.77",
            start - 60 * MINUTE,
            "NAC_ACCOUNTING_START",
        ),
        (
            CLIENT,
            "10.20.10.77",
            start - 45 * MINUTE,
            "NAC_ACCOUNTING_UPDATE",
        ),
        (
            CLIENT,
            "10.20.10.77",
            start - 30 * MINUTE,
            "NAC_ACCOUNTING_STOP",
        ),
        (
            OTHER,
            "10.20.10.78",
            start - 60 * MINUTE,
            "NAC_ACCOUNTING_START",
        ),
    ] {
        telemetry.extend(mist_webhook(&nac_accounting(client, ip, time, kind)));
    }
    let by_ip = |name: &str, ip: &str| {
        let mut leg = sample_leg_as(name, 0);
        leg.network.mac_address = None;
        leg.network.ip_address = Some(ip.into());
        leg
    };
    let legs = [
        by_ip("released", "10.20.10.77"),
        by_ip("held", "10.20.10.78"),
    ];
    let verdicts = verdicts(telemetry, &legs);
    let held = &verdicts[&legs[1].leg_id];
    assert!(held.completeness.client, "a held IP finds its client");
    let released = &verdicts[&legs[0].leg_id];
    assert!(
        !released.completeness.client,
        "an IP released before the call is nobody's: {:?}",
        released.completeness
    );
}

/// The reference world's telemetry without its radio fault, and without its WAN samples.
fn calm_telemetry(after: i64) -> Vec<NetworkSample> {
    let mut out = telemetry(after);
    out.retain(|s| !matches!(s.body, SampleBody::WanPath(_)));
    for s in &mut out {
        if let SampleBody::ApRadio(r) = &mut s.body {
            r.util_all_ratio = Some(0.30);
            r.num_clients = Some(12);
        }
    }
    out
}

/// The samples of one Mist normaliser batch.
fn samples_of(batch: callsight_telemetry::Batch) -> Vec<NetworkSample> {
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    batch
        .records
        .into_iter()
        .filter_map(|r| match r {
            Normalized::Sample(s) => Some(s),
            Normalized::Inventory(_) => None,
        })
        .collect()
}

/// Every minute of the reference world, what the Mist poller reads of the site's WAN link
/// `ge-0/0/7`: its row in the port search (Mist's example row, made the gateway's WAN port, with
/// `speed` Mbit/s and `rx_bps` from `traffic(t)`), and its overlay path to a hub (Mist's VPN
/// peer example, healthy), both polled at `t`.
fn mist_wan(speed: i64, traffic: impl Fn(i64) -> i64) -> Vec<NetworkSample> {
    use callsight_telemetry::mist::stats::{GatewayPorts, Scope, StatsNormalizer};
    let (start, end) = call_window();
    let mut normalizer = StatsNormalizer::new();
    let gateways = GatewayPorts {
        macs: [GATEWAY.to_string()].into(),
        wan: [(GATEWAY.to_string(), "ge-0/0/7".to_string())].into(),
        ..Default::default()
    };
    let mut port = vendor::example_json("mist/stats-ports-search-1.json")["results"][0].clone();
    port["mac"] = GATEWAY.into();
    port["port_id"] = "ge-0/0/7".into();
    port["port_usage"] = "wan".into();
    port["speed"] = speed.into();
    port["latency"] = 18.into();
    port["jitter"] = 2.into();
    let mut peer = vendor::example_json("mist/stats-vpn-peers-search-1.json")["results"][1].clone();
    peer["mac"] = GATEWAY.into();
    peer["port_id"] = "ge-0/0/7".into();
    peer["site_id"] = SITE.into();
    peer["latency"] = 20.into();
    peer["loss"] = 0.into();
    let mut out = Vec::new();
    let mut t = start - 180 * MINUTE;
    while t <= end + 10 * MINUTE {
        let scope = Scope {
            org_id: ORG,
            site_id: SITE,
            poll_ms: t,
        };
        port["rx_bps"] = traffic(t).into();
        port["tx_bps"] = (traffic(t) / 4).into();
        out.extend(samples_of(normalizer.switch_ports(
            &scope,
            std::slice::from_ref(&port),
            &BTreeMap::new(),
            &gateways,
        )));
        peer["last_seen"] = (t as f64 / 1000.0).into();
        out.extend(samples_of(normalizer.vpn_peers(
            ORG,
            t,
            std::slice::from_ref(&peer),
        )));
        t += MINUTE;
    }
    out
}

#[test]
fn a_vpn_path_does_not_hide_its_link_s_utilisation() {
    let (start, end) = call_window();
    // A 50 Mbit/s link, full during the call.
    let busy = |t: i64| {
        if t >= start - 5 * MINUTE && t <= end {
            49_000_000
        } else {
            12_000_000
        }
    };
    let mut telemetry = calm_telemetry(10);
    let wan = mist_wan(50, busy);
    // The underlay row and the overlay path share gateway, port, time, sequence and source.
    let underlay = wan
        .iter()
        .find(|s| matches!(&s.body, SampleBody::WanPath(w) if w.peer_mac.is_none()))
        .expect("underlay");
    assert!(wan.iter().any(|s| s.time == underlay.time
        && s.sequence == underlay.sequence
        && matches!(&s.body, SampleBody::WanPath(w) if w.peer_mac.is_some())));
    telemetry.extend(wan);
    let leg = sample_leg_as("saturated", 0);
    let verdicts = verdicts(telemetry, std::slice::from_ref(&leg));
    let verdict = &verdicts[&leg.leg_id];
    assert_eq!(
        verdict.primary_cause,
        CauseCode::WanBandwidthSaturation,
        "{}",
        verdict.summary
    );
}

/// The reference inventory as Mist gives it: its WAN link has no contracted capacity.
fn mist_inventory() -> Inventory {
    let mut inventory = Inventory::new();
    for mut r in callsight_testkit::samples::inventory_records() {
        if let InventoryBody::WanLink(w) = &mut r.body {
            w.capacity_down_bps = None;
            w.capacity_up_bps = None;
        }
        inventory.apply(r);
    }
    inventory
}

#[test]
fn a_mist_link_s_capacity_is_its_negotiated_speed_unless_one_is_configured() {
    let (start, end) = call_window();
    let busy = |t: i64| {
        if t >= start - 5 * MINUTE && t <= end {
            49_000_000
        } else {
            12_000_000
        }
    };
    let leg = sample_leg_as("capacity", 0);
    let run = |speed: i64, settings: &Settings| {
        let mut telemetry = calm_telemetry(10);
        telemetry.extend(mist_wan(speed, busy));
        verdicts_with(
            telemetry,
            std::slice::from_ref(&leg),
            &mist_inventory(),
            settings,
        )
        .remove(&leg.leg_id)
        .expect("a verdict")
    };
    let utilisation = |v: &RootCauseVerdict| {
        v.evidence
            .iter()
            .find(|e| e.metric == "wan_utilization_p90")
            .cloned()
    };

    // A 50 Mbit/s interface, full: Mist's negotiated speed is the only capacity there is.
    let verdict = run(50, &settings());
    assert_eq!(
        verdict.primary_cause,
        CauseCode::WanBandwidthSaturation,
        "{}",
        verdict.summary
    );
    let evidence = utilisation(&verdict).expect("utilisation evidence");
    assert!(
        evidence
            .basis
            .as_deref()
            .is_some_and(|b| b.contains("negotiated speed")),
        "{evidence:?}"
    );
    assert!(
        verdict.summary.contains("negotiated speed"),
        "{}",
        verdict.summary
    );

    // A gigabit interface on a 50/10 Mbit/s contract: the speed says 5 %, the contract is full.
    let verdict = run(1000, &settings());
    assert_ne!(
        verdict.primary_cause,
        CauseCode::WanBandwidthSaturation,
        "{}",
        verdict.summary
    );
    let configured = RcaConfig {
        wan_capacity: [(
            format!("{GATEWAY}/ge-0/0/7"),
            WanCapacity {
                down_bps: 50_000_000,
                up_bps: 10_000_000,
            },
        )]
        .into(),
        ..RcaConfig::default()
    };
    let verdict = run(1000, &settings_with(&configured));
    assert_eq!(
        verdict.primary_cause,
        CauseCode::WanBandwidthSaturation,
        "{}",
        verdict.summary
    );
    let evidence = utilisation(&verdict).expect("utilisation evidence");
    assert!(
        evidence
            .basis
            .as_deref()
            .is_some_and(|b| b.contains("configured capacity")),
        "{evidence:?}"
    );
}

#[test]
fn a_bad_leg_with_no_telemetry_at_all_is_insufficient_data_not_a_clean_network() {
    // A branch whose Mist org was never connected: no inventory and no telemetry of it, so its
    // legs are on no known site; the call's audio was poor.
    let mut leg = sample_leg_as("dark-site", 0);
    leg.site_id = None;
    leg.network.ip_address = Some("10.99.0.12".into());
    leg.network.mac_address = None;
    leg.network.bssid = None;
    // Nor does Teams say anything of that network's own quality.
    leg.network.received_quality_event_ratio = None;
    leg.network.sent_quality_event_ratio = None;
    leg.network.delay_event_ratio = None;
    let verdicts = verdicts(calm_telemetry(10), std::slice::from_ref(&leg));
    let verdict = &verdicts[&leg.leg_id];
    assert_eq!(verdict.quality, LegQuality::Poor);
    assert_eq!(
        verdict.primary_cause,
        CauseCode::UnknownInsufficientData,
        "{}",
        verdict.summary
    );
    assert!(verdict.confidence < 0.5, "{}", verdict.confidence);
    assert!(
        !verdict.summary.contains("no anomaly"),
        "a claim about telemetry nobody saw: {}",
        verdict.summary
    );
    assert!(
        verdict.summary.contains("no known site"),
        "it names what is missing: {}",
        verdict.summary
    );
}

#[test]
fn a_duplex_mismatch_or_speed_drop_explains_the_port_errors_it_causes() {
    let (start, end) = call_window();
    for (speed, full_duplex) in [(100, Some(false)), (100, Some(true)), (1000, Some(false))] {
        let mut telemetry = calm_telemetry(10);
        // The AP's switch port renegotiated during the call, and errors followed.
        for s in &mut telemetry {
            if let SampleBody::SwitchPort(p) = &mut s.body
                && p.port_id == "ge-0/0/1"
                && s.time >= start - 5 * MINUTE
                && s.time <= end
            {
                p.speed_mbps = Some(speed);
                p.full_duplex = full_duplex;
                p.rx_errors_per_s = Some(40.0);
                p.tx_errors_per_s = Some(25.0);
                p.rx_bps = Some(20_000_000);
                p.tx_bps = Some(30_000_000);
            }
        }
        let leg = sample_leg_as(&format!("duplex-{speed}-{full_duplex:?}"), 0);
        let verdicts = verdicts(telemetry, std::slice::from_ref(&leg));
        let verdict = &verdicts[&leg.leg_id];
        assert_eq!(
            verdict.primary_cause,
            CauseCode::WiredSpeedDuplex,
            "{speed} Mbit/s, full duplex {full_duplex:?}: {}",
            verdict.summary
        );
        assert!(
            verdict
                .evidence
                .iter()
                .any(|e| e.metric == "port_errors_per_s_p90"),
            "the errors stay in the evidence, explained"
        );
    }
}

#[test]
fn the_relay_is_not_blamed_for_a_round_trip_through_a_poor_far_side() {
    // Peer to peer through Microsoft's relay; the other participant, at home, says its own
    // network degraded what it sent. This participant's network is clean.
    let mut leg = sample_leg_as("relayed", 0);
    leg.counterpart = CounterpartKind::Participant;
    leg.network.relay_ip = Some("52.113.64.10".into());
    leg.network.transport = TransportProtocol::Udp;
    for s in &mut leg.streams {
        s.avg_round_trip_ms = Some(640.0);
    }
    leg.other_legs = vec![OtherLegSummary {
        leg_id: "call-relayed/p-far/0".into(),
        participant_id: "p-far".into(),
        site_id: None,
        connection_type: ConnectionType::Wifi,
        transport: TransportProtocol::Udp,
        relayed: true,
        worst_sent_loss_rate: Some(0.09),
        worst_sent_jitter_ms: Some(41.0),
        worst_received_loss_rate: Some(0.01),
        worst_received_jitter_ms: Some(6.0),
        worst_round_trip_ms: Some(640.0),
        sent_quality_event_ratio: Some(0.15),
        received_quality_event_ratio: Some(0.6),
        poor_streams: 2,
    }];
    let verdicts = verdicts(calm_telemetry(10), std::slice::from_ref(&leg));
    let verdict = &verdicts[&leg.leg_id];
    assert_ne!(
        verdict.primary_cause,
        CauseCode::ServiceMediaRelay,
        "{}",
        verdict.summary
    );
    assert_eq!(
        verdict.primary_cause,
        CauseCode::RemoteOtherParticipant,
        "{}",
        verdict.summary
    );
    assert_eq!(verdict.guilty_participant_id.as_deref(), Some("p-far"));
}

#[test]
fn a_wired_attachment_outlives_the_windows() {
    use callsight_telemetry::mist::stats::{Scope, StatsNormalizer};
    let (start, end) = call_window();
    let desk = "a4c3f0851b01";
    // Mist's own wired client example, moved to a desk on the reference switch's ge-0/0/5, last
    // listed by the poller at 7:40 (the poller then stopped; a webhook-only org reports an
    // attachment only once).
    let mut search = vendor::mist_openapi_example("WiredClientsSearchExample");
    let row = &mut search["results"][0];
    row["mac"] = desk.into();
    row["device_mac"] = serde_json::json!([SWITCH]);
    row["port_id"] = serde_json::json!(["ge-0/0/5"]);
    row["site_id"] = SITE.into();
    let rows = search["results"].as_array().expect("results").clone();
    let mut telemetry = calm_telemetry(10);
    telemetry.extend(samples_of(StatsNormalizer::new().wired_clients(
        &Scope {
            org_id: ORG,
            site_id: SITE,
            poll_ms: start - 170 * MINUTE,
        },
        &rows,
    )));
    // The desk's port: errors during the call.
    let mut t = start - 180 * MINUTE;
    let mut sequence = 10_000;
    while t <= end + 10 * MINUTE {
        let mut port = healthy_port(SWITCH, "ge-0/0/5");
        if t >= start - 5 * MINUTE && t <= end {
            port.rx_errors_per_s = Some(60.0);
        }
        sequence += 1;
        telemetry.push(NetworkSample {
            org_id: ORG.into(),
            site_id: SITE.into(),
            time: t,
            source: "mist".into(),
            sequence,
            body: SampleBody::SwitchPort(port),
        });
        t += MINUTE;
    }
    let mut leg = sample_leg_as("desk", 0);
    leg.network.connection_type = ConnectionType::Wired;
    leg.network.mac_address = Some(desk.into());
    leg.network.ip_address = None;
    leg.network.bssid = None;
    leg.network.wifi_band = WifiBand::Unknown;
    // The windows keep two hours: the attachment, reported almost three hours before the call,
    // has left them.
    let processor = callsight_processor::ProcessorConfig {
        retention: std::time::Duration::from_secs(2 * 3600),
        allowed_lateness: std::time::Duration::from_secs(120),
        settle_margin: std::time::Duration::from_secs(60),
        max_event_lead: std::time::Duration::MAX,
        ..Default::default()
    };
    let settings = Settings::new(
        &processor,
        &callsight_rca::ClassificationConfig::default(),
        &RcaConfig::default(),
    );
    let verdicts = verdicts_with(
        telemetry,
        std::slice::from_ref(&leg),
        &inventory(),
        &settings,
    );
    let verdict = &verdicts[&leg.leg_id];
    assert_eq!(
        verdict.primary_cause,
        CauseCode::WiredPortErrors,
        "{}",
        verdict.summary
    );
    assert!(
        verdict
            .evidence
            .iter()
            .any(|e| e.entity_id == format!("{SWITCH}/ge-0/0/5")),
        "{:?}",
        verdict.evidence
    );
    assert!(verdict.completeness.client && verdict.completeness.wired);
}

#[test]
fn a_laptop_always_on_2_4_ghz_is_not_blamed_for_the_band_when_its_ap_goes_silent() {
    let (start, end) = call_window();
    let during = |t: i64| t >= start - 5 * MINUTE && t <= end + 5 * MINUTE;
    // An old adapter: the sample caller is on the AP's 2.4 GHz radio all day.
    let mut always = calm_telemetry(10);
    for s in &mut always {
        if let SampleBody::WirelessClient(c) = &mut s.body {
            c.band = WifiBand::Band2_4Ghz;
            c.bssid = Some("5c5b35f2d201".into());
        }
    }
    // Its AP stops reporting around the call: nothing of it or its clients.
    always.retain(|s| {
        !(during(s.time)
            && matches!(
                s.body,
                SampleBody::WirelessClient(_) | SampleBody::Ap(_) | SampleBody::ApRadio(_)
            ))
    });
    let mut leg = sample_leg_as("old-adapter", 0);
    leg.network.wifi_band = WifiBand::Band2_4Ghz;
    leg.network.bssid = Some("5c5b35f2d201".into());
    let verdict = verdicts(always, std::slice::from_ref(&leg))
        .remove(&leg.leg_id)
        .expect("a verdict");
    assert_ne!(
        verdict.primary_cause,
        CauseCode::WirelessBand2_4Ghz,
        "{}",
        verdict.summary
    );
    assert_eq!(
        verdict.primary_cause,
        CauseCode::UnknownInsufficientData,
        "{}",
        verdict.summary
    );

    // A laptop usually on 5 GHz that fell back to 2.4 GHz during the call is.
    let mut moved = calm_telemetry(10);
    for s in &mut moved {
        if let SampleBody::WirelessClient(c) = &mut s.body
            && c.client_mac == CLIENT
            && during(s.time)
        {
            c.band = WifiBand::Band2_4Ghz;
        }
    }
    let leg = sample_leg_as("fell-back", 0);
    let verdict = verdicts(moved, std::slice::from_ref(&leg))
        .remove(&leg.leg_id)
        .expect("a verdict");
    assert_eq!(
        verdict.primary_cause,
        CauseCode::WirelessBand2_4Ghz,
        "{}",
        verdict.summary
    );
}
