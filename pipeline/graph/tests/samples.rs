//! The Graph samples normalise to the legs and stream classifications their README lists, with
//! identities pseudonymised.

use callsight_graph::model::{CallRecord, SessionPage};
use callsight_graph::normalize::{Lookups, Tenant, legs};
use callsight_graph::privacy::TenantKey;
use callsight_inventory::Inventory;
use callsight_model::types::{
    AccessPointInfo, CallLeg, CallType, ConnectionType, CounterpartKind, FeedbackRating,
    InventoryBody, InventoryRecord, MediaKind, RadioInfo, StreamDirection, StreamQuality,
    SubnetInfo, TransportProtocol, WifiBand,
};
use callsight_rca::ClassificationConfig;
use callsight_rca::classify::classify_stream;
use callsight_testkit::vendor;
use std::collections::BTreeSet;
use std::path::Path;

const ORG: &str = "org-contoso";
const TENANT: &str = "3d5a9b1e-7c42-4f0b-9e6a-2b8d41c7f0e9";

fn read(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .expect("sample")
}

fn inventory() -> Inventory {
    let mut inventory = Inventory::new();
    let record = |entity: &str, site: &str, body| InventoryRecord {
        org_id: ORG.into(),
        site_id: site.into(),
        entity_id: entity.into(),
        updated_at: 1,
        source: "test".into(),
        body,
    };
    // Priya's BSSID d420b05c7e31 is the second address of this radio.
    inventory.apply(record(
        "ap:d420b05c0001",
        "site-london",
        InventoryBody::AccessPoint(AccessPointInfo {
            ap_mac: "d420b05c0001".into(),
            radios: vec![RadioInfo {
                band: WifiBand::Band5Ghz,
                radio_mac: "d420b05c7e30".into(),
                bssids: vec![],
            }],
            ..Default::default()
        }),
    ));
    for (site, cidr) in [
        ("site-london", "10.61.0.0/16"),
        ("site-hq", "10.40.2.0/24"),
        ("site-hq", "10.20.30.0/24"),
        ("site-branch7", "10.72.8.0/24"),
    ] {
        inventory.apply(record(
            &format!("subnet:{site}/{cidr}"),
            site,
            InventoryBody::Subnet(SubnetInfo {
                cidr: cidr.into(),
                vlan_id: None,
                name: None,
            }),
        ));
    }
    inventory
}

fn normalize(record: &CallRecord, keep_identity: bool) -> Vec<CallLeg> {
    let key = TenantKey::from_secret("tenant/1", [7; 32]);
    let inventory = inventory();
    let classification = ClassificationConfig::default();
    legs(
        record,
        Tenant {
            org_id: ORG,
            tenant_id: TENANT,
            key: &key,
            keep_identity,
        },
        Lookups {
            inventory: &inventory,
            classification: &classification,
        },
        1_741_706_000_000,
    )
    .expect("normalises")
}

fn meeting() -> CallRecord {
    let mut record: CallRecord =
        serde_json::from_slice(&read("02a_group_meeting_page1.json")).expect("page 1");
    assert!(
        record.sessions_next_link.is_some(),
        "page 1 links to page 2"
    );
    let page: SessionPage =
        serde_json::from_slice(&read("02b_group_meeting_sessions_page2.json")).expect("page 2");
    assert!(page.next_link.is_none(), "page 2 is the last");
    record.sessions.extend(page.value);
    record
}

/// Quality of the leg's stream of `kind` in `direction`.
fn quality(leg: &CallLeg, kind: MediaKind, direction: StreamDirection) -> StreamQuality {
    let classification = ClassificationConfig::default();
    let stream = leg
        .streams
        .iter()
        .find(|s| s.media_kind == kind && s.direction == direction)
        .unwrap_or_else(|| panic!("{} has no {kind:?} {direction:?} stream", leg.leg_id));
    classify_stream(stream, &classification).quality
}

#[test]
fn the_wifi_peer_to_peer_call_gives_both_legs() {
    let record: CallRecord =
        serde_json::from_slice(&read("01_p2p_audio_wifi_poor_jitter.json")).expect("parses");
    let legs = normalize(&record, false);
    assert_eq!(legs.len(), 2);
    let (priya, marcus) = (&legs[0], &legs[1]);
    assert_eq!(priya.call_type, CallType::PeerToPeer);
    assert_eq!(priya.counterpart, CounterpartKind::Participant);
    assert_eq!(priya.record_version, 2);
    assert_eq!(priya.network.connection_type, ConnectionType::Wifi);
    assert_eq!(priya.network.bssid.as_deref(), Some("d420b05c7e31"));
    assert_eq!(priya.network.mac_address.as_deref(), Some("8cf8c53a912e"));
    assert_eq!(priya.network.wifi_band, WifiBand::Band5Ghz);
    assert_eq!(
        priya.site_id.as_deref(),
        Some("site-london"),
        "BSSID -> AP -> site"
    );
    assert_eq!(
        marcus.site_id.as_deref(),
        Some("site-hq"),
        "IP -> subnet -> site"
    );
    assert_eq!(marcus.network.connection_type, ConnectionType::Wired);
    // The stream received on Wi-Fi is poor (jitter 47 ms); what Priya sent is good.
    assert_eq!(
        quality(priya, MediaKind::Audio, StreamDirection::Received),
        StreamQuality::Poor
    );
    assert_eq!(
        quality(priya, MediaKind::Audio, StreamDirection::Sent),
        StreamQuality::Good
    );
    // The same stream is Marcus's sent one.
    assert_eq!(
        quality(marcus, MediaKind::Audio, StreamDirection::Sent),
        StreamQuality::Poor
    );
    let jitter = priya
        .streams
        .iter()
        .find(|s| s.direction == StreamDirection::Received)
        .and_then(|s| s.avg_jitter_ms);
    assert_eq!(jitter, Some(47.0));
    let feedback = priya.feedback.as_ref().expect("rated");
    assert_eq!(feedback.rating, FeedbackRating::Poor);
    assert!(!feedback.tokens.is_empty());
    // Each leg summarises the other.
    assert_eq!(priya.other_legs.len(), 1);
    assert_eq!(priya.other_legs[0].participant_id, marcus.participant_id);
    assert_eq!(priya.other_legs[0].poor_streams, 1);
}

#[test]
fn the_two_page_meeting_gives_one_leg_per_participant() {
    let legs = normalize(&meeting(), false);
    assert_eq!(
        legs.len(),
        3,
        "Dana, Luis and Sofia; the media server is not a leg"
    );
    assert!(
        legs.iter()
            .all(|l| l.counterpart == CounterpartKind::MediaServer)
    );
    assert!(legs.iter().all(|l| l.call_type == CallType::GroupCall));
    let by_connection = |c: ConnectionType| {
        legs.iter()
            .find(|l| l.network.connection_type == c)
            .expect("a leg")
    };

    let dana = by_connection(ConnectionType::Wired);
    assert_eq!(dana.site_id.as_deref(), Some("site-hq"));
    for s in &dana.streams {
        let q = classify_stream(s, &ClassificationConfig::default()).quality;
        assert_ne!(q, StreamQuality::Poor, "Dana's streams are good: {s:?}");
    }
    assert_eq!(
        quality(
            dana,
            MediaKind::VideoBasedScreenSharing,
            StreamDirection::Sent
        ),
        StreamQuality::Good
    );

    let luis = by_connection(ConnectionType::Wifi);
    assert_eq!(
        luis.network.mac_address, None,
        "the privacy placeholder is absent"
    );
    assert_eq!(luis.network.bssid.as_deref(), Some("5c5b350a7b12"));
    assert_eq!(luis.network.wifi_band, WifiBand::Band2_4Ghz);
    assert_eq!(luis.network.wifi_signal_pct, Some(28));
    assert_eq!(luis.site_id.as_deref(), Some("site-branch7"));
    assert_eq!(
        luis.feedback.as_ref().map(|f| f.rating),
        Some(FeedbackRating::Bad)
    );
    assert_eq!(
        quality(luis, MediaKind::Audio, StreamDirection::Sent),
        StreamQuality::Poor
    );
    assert_eq!(
        quality(luis, MediaKind::Audio, StreamDirection::Received),
        StreamQuality::Poor
    );
    // Frame loss 18 % decides before the 6.2 fps are looked at: good.
    assert_eq!(
        quality(luis, MediaKind::Video, StreamDirection::Received),
        StreamQuality::Good
    );
    assert_eq!(
        quality(
            luis,
            MediaKind::VideoBasedScreenSharing,
            StreamDirection::Received
        ),
        StreamQuality::Good
    );

    let sofia = by_connection(ConnectionType::Tunnel);
    assert_eq!(sofia.network.transport, TransportProtocol::Tcp);
    assert_eq!(sofia.network.relay_port, Some(443));
    assert_eq!(sofia.site_id, None, "a VPN pool address is on no site");
    assert_eq!(
        quality(sofia, MediaKind::Audio, StreamDirection::Sent),
        StreamQuality::Poor
    );
    assert_eq!(
        quality(sofia, MediaKind::Audio, StreamDirection::Received),
        StreamQuality::Poor
    );
    assert_eq!(sofia.other_legs.len(), 2);
}

#[test]
fn nothing_personal_reaches_a_leg_in_clear() {
    let mut records = vec![
        serde_json::from_slice::<CallRecord>(&read("01_p2p_audio_wifi_poor_jitter.json"))
            .expect("parses"),
    ];
    records.push(meeting());
    let personal = [
        "Priya",
        "Raman",
        "priya.raman",
        "Marcus",
        "marcus.lee",
        "Dana",
        "Whitfield",
        "Luis",
        "Ortega",
        "Sofia",
        "Petrov",
        "PRAMAN-LT14",
        "MLEE-DT07",
        "DWHIT-DT02",
        "Luiss-MacBook-Pro",
        "SPETROV-LT22",
        "6e2b9f41-0c7d-4a35-b8e2-93f1d04a7c56",
    ];
    for keep_identity in [false, true] {
        for record in &records {
            for leg in normalize(record, keep_identity) {
                let json = serde_json::to_string(&leg).expect("json");
                for word in personal {
                    assert!(!json.contains(word), "{word} in clear in {}", leg.leg_id);
                }
                assert!(leg.participant_id.starts_with("p-"));
                assert_eq!(leg.sealed_identity.is_some(), keep_identity);
            }
        }
    }
}

#[test]
fn sealed_identities_open_with_the_tenant_key_only() {
    let record: CallRecord =
        serde_json::from_slice(&read("01_p2p_audio_wifi_poor_jitter.json")).expect("parses");
    let legs = normalize(&record, true);
    let key = TenantKey::from_secret("tenant/1", [7; 32]);
    let sealed = legs[0].sealed_identity.as_ref().expect("sealed");
    let clear: serde_json::Value =
        serde_json::from_slice(&key.open(sealed).expect("opens")).expect("json");
    assert_eq!(clear["user_principal_name"], "priya.raman@contoso.com");
    assert_eq!(clear["device_name"], "PRAMAN-LT14");
    let destroyed = TenantKey::from_secret("tenant/1", [8; 32]);
    assert!(destroyed.open(sealed).is_err());
}

#[test]
fn pseudonyms_and_leg_ids_are_deterministic_across_versions() {
    let record: CallRecord =
        serde_json::from_slice(&read("01_p2p_audio_wifi_poor_jitter.json")).expect("parses");
    let first = normalize(&record, false);
    let mut newer = record.clone();
    newer.version = Some(3);
    let second = normalize(&newer, false);
    let ids = |legs: &[CallLeg]| legs.iter().map(|l| l.leg_id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(&first),
        ids(&second),
        "a new version replaces the same legs"
    );
    assert_eq!(second[0].record_version, 3);
}

#[test]
fn missing_values_stay_missing() {
    let legs = normalize(&meeting(), false);
    let dana = legs
        .iter()
        .find(|l| l.network.connection_type == ConnectionType::Wired)
        .expect("Dana");
    let audio = dana
        .streams
        .iter()
        .find(|s| s.media_kind == MediaKind::Audio)
        .expect("audio");
    assert_eq!(audio.avg_video_frame_rate, None);
    assert_eq!(audio.avg_freeze_ms, None);
    let bad: Result<CallRecord, _> = serde_json::from_str(
        r#"{"id":"x","version":"NaN","startDateTime":"2025-01-01T00:00:00Z","endDateTime":"2025-01-01T00:01:00Z","sessions":null}"#,
    );
    let bad = bad.expect("lenient");
    assert_eq!(bad.version, None);
    assert!(normalize(&bad, false).is_empty());
}

fn participants(legs: &[CallLeg]) -> BTreeSet<String> {
    legs.iter().map(|l| l.participant_id.clone()).collect()
}

#[test]
fn one_user_is_one_participant_whichever_identity_field_graph_filled() {
    // Microsoft's two examples of one call: v1.0 names Abbie Wilkins by `identity.user.id` only,
    // the current shape by `associatedIdentity` with her UPN as well.
    let parse = |name: &str| -> CallRecord {
        serde_json::from_slice(&vendor::example(name)).expect("Microsoft's example parses")
    };
    let basic = normalize(&parse("graph/02-v1.0-get-expanded.json"), false);
    let current = normalize(&parse("graph/12-v1.0-get-expanded-current.json"), false);
    assert_eq!(participants(&basic).len(), 2, "Abbie and Owen");
    assert_eq!(participants(&basic), participants(&current));

    // Within one record: a session that gives only her UPN is still Abbie, not "another leg".
    let mut mixed = parse("graph/12-v1.0-get-expanded-current.json");
    let mut second = mixed.sessions[0].clone();
    second.id = "second-session".into();
    if let Some(identity) = second
        .caller
        .as_mut()
        .and_then(|c| c.associated_identity.as_mut())
    {
        identity.id = None;
        identity.user_principal_name = Some("Abbie.Wilkins@contoso.com".into());
    }
    mixed.sessions.push(second);
    let legs = normalize(&mixed, false);
    assert!(legs.len() >= 3, "{} legs", legs.len());
    assert_eq!(participants(&legs), participants(&current));

    // A renamed UPN does not make her someone else.
    let mut renamed = parse("graph/12-v1.0-get-expanded-current.json");
    if let Some(identity) = renamed.sessions[0]
        .caller
        .as_mut()
        .and_then(|c| c.associated_identity.as_mut())
    {
        identity.user_principal_name = Some("abbie.wilkins-smith@contoso.com".into());
    }
    assert_eq!(
        participants(&normalize(&renamed, false)),
        participants(&current)
    );
}

#[test]
fn audio_device_names_leave_only_as_a_category() {
    let mut record: CallRecord =
        serde_json::from_slice(&read("01_p2p_audio_wifi_poor_jitter.json")).expect("parses");
    for media in record.sessions[0]
        .segments
        .iter_mut()
        .flat_map(|s| s.media.iter_mut())
    {
        for device in [media.caller_device.as_mut(), media.callee_device.as_mut()]
            .into_iter()
            .flatten()
        {
            device.capture_device_name = Some("Headset (Priya's AirPods Pro Hands-Free)".into());
            device.render_device_name = Some("Headphones (Jabra Evolve2 65)".into());
        }
    }
    for keep_identity in [false, true] {
        for leg in normalize(&record, keep_identity) {
            let json = serde_json::to_string(&leg).expect("json");
            for word in ["AirPods", "Priya", "Jabra"] {
                assert!(!json.contains(word), "{word} in clear in {}", leg.leg_id);
            }
            assert_eq!(leg.device.capture_device.as_deref(), Some("bluetooth"));
            assert_eq!(leg.device.render_device.as_deref(), Some("headset"));
        }
    }
    let key = TenantKey::from_secret("tenant/1", [7; 32]);
    let leg = &normalize(&record, true)[0];
    let clear: serde_json::Value = serde_json::from_slice(
        &key.open(leg.sealed_identity.as_ref().expect("sealed"))
            .expect("opens"),
    )
    .expect("json");
    assert_eq!(
        clear["capture_device"], "Headset (Priya's AirPods Pro Hands-Free)",
        "the name is kept for an opted-in tenant, sealed"
    );
}
