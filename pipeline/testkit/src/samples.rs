//! One realistic, fully populated record of every top-level type, for tests and examples. They
//! describe the reference site HQ-Zurich: a Wi-Fi caller with a poor received audio stream.

use callsight_model::types::*;
use std::collections::BTreeMap;

/// The reference site's org.
pub const ORG: &str = "0c8e2d7a-5f31-4b62-9d84-1a2b3c4d5e6f";
/// The reference site, HQ-Zurich.
pub const SITE: &str = "3f9c1e2a-7b4d-4c8e-9a01-5d6e7f809a1b";
/// The org's Teams tenant.
pub const TENANT: &str = "3d5a9b1e-7c42-4f0b-9e6a-2b8d41c7f0e9";
/// The sample call.
pub const CALL: &str = "2f1a7c3e-8b4d-4e6a-9c21-5d7e8f9a0b1c";
/// When the sample call starts: 2025-03-11T14:02:11Z.
pub const START: i64 = 1_741_701_731_000;
/// When it ends: 2025-03-11T14:19:47Z.
pub const END: i64 = 1_741_702_787_000;

/// A change notification for the sample call.
pub fn graph_notification() -> GraphNotification {
    GraphNotification {
        org_id: ORG.into(),
        tenant_id: TENANT.into(),
        subscription_id: "7f105c7d-2dc5-4530-97cd-4e7ae6534c07".into(),
        origin: NotificationOrigin::Webhook,
        change_type: Some(GraphChangeType::Updated),
        lifecycle_event: None,
        call_id: Some(CALL.into()),
        resource: Some(format!("communications/callRecords/{CALL}")),
        subscription_expires_at: Some(1_741_945_800_000),
        received_at: END + 55 * 60_000,
    }
}

fn audio_stream(direction: StreamDirection, jitter: f64, loss: f64) -> MediaStream {
    MediaStream {
        stream_id: Some("1504545584".into()),
        media_label: "main-audio".into(),
        media_kind: MediaKind::Audio,
        direction,
        start: Some(START),
        end: Some(END),
        audio_codec: Some("satin".into()),
        video_codec: None,
        avg_jitter_ms: Some(jitter),
        max_jitter_ms: Some(jitter * 3.9),
        avg_audio_network_jitter_ms: Some(jitter * 0.8),
        max_audio_network_jitter_ms: Some(jitter * 2.5),
        avg_round_trip_ms: Some(42.0),
        max_round_trip_ms: Some(131.0),
        avg_packet_loss_rate: Some(loss),
        max_packet_loss_rate: Some(loss * 4.0),
        avg_concealed_ratio: Some(0.081),
        max_concealed_ratio: Some(0.25),
        avg_audio_degradation: Some(1.16),
        avg_bandwidth_estimate_bps: Some(2_980_000),
        packet_utilization: Some(52_806),
        fec_used: Some(true),
        media_bypassed: Some(false),
        avg_video_frame_rate: None,
        avg_received_frame_rate: None,
        avg_video_frame_loss_pct: None,
        avg_video_packet_loss_rate: None,
        post_fec_packet_loss_rate: None,
        low_frame_rate_ratio: None,
        low_video_processing_ratio: None,
        avg_freeze_ms: None,
        rms_freeze_ms: None,
    }
}

/// The Wi-Fi caller's leg: its received audio has 47 ms jitter and 2.8 % loss.
pub fn call_leg() -> CallLeg {
    let mut video = audio_stream(StreamDirection::Received, 12.0, 0.004);
    video.media_label = "main-video".into();
    video.media_kind = MediaKind::Video;
    video.audio_codec = None;
    video.video_codec = Some("h264".into());
    video.avg_video_frame_rate = Some(24.5);
    video.avg_received_frame_rate = Some(24.1);
    video.avg_video_frame_loss_pct = Some(3.5);
    video.avg_video_packet_loss_rate = Some(0.01);
    video.post_fec_packet_loss_rate = Some(0.002);
    video.low_frame_rate_ratio = Some(0.02);
    video.low_video_processing_ratio = Some(0.0);
    video.avg_freeze_ms = Some(120.0);
    video.rms_freeze_ms = Some(180.0);
    CallLeg {
        leg_id: format!("{CALL}/p-8c1f0e5a/0"),
        org_id: ORG.into(),
        site_id: Some(SITE.into()),
        tenant_id: TENANT.into(),
        call_id: CALL.into(),
        record_version: 2,
        call_type: CallType::PeerToPeer,
        call_start: START,
        call_end: END,
        leg_start: START,
        leg_end: END,
        participant_id: "p-8c1f0e5a".into(),
        sealed_identity: Some(SealedIdentity {
            key_id: "tenant-key-1".into(),
            nonce: vec![7; 12],
            ciphertext: vec![0xAB; 48],
        }),
        counterpart: CounterpartKind::Participant,
        endpoint: EndpointInfo {
            platform: Some("windows".into()),
            product_family: Some("teams".into()),
            application_version: Some("25010112800".into()),
            cpu_name: Some("Intel(R) Core(TM) i7-1185G7 @ 3.00GHz".into()),
            cpu_cores: Some(8),
            cpu_mhz: Some(2995),
            device_pseudonym: Some("d-41aa09c2".into()),
        },
        network: NetworkInfo {
            connection_type: ConnectionType::Wifi,
            transport: TransportProtocol::Udp,
            ip_address: Some("10.20.10.21".into()),
            subnet: Some("10.20.10.0".into()),
            mac_address: Some("a4c3f0851a2b".into()),
            reflexive_ip: Some("203.0.113.10".into()),
            relay_ip: Some("52.114.188.40".into()),
            relay_port: Some(3478),
            port: Some(50_012),
            link_speed_bps: Some(866_700_000),
            dns_suffix: Some("corp.example".into()),
            bssid: Some("5c5b35f2d221".into()),
            wifi_band: WifiBand::Band5Ghz,
            wifi_channel: Some(44),
            wifi_radio_type: Some("wifi80211ac".into()),
            wifi_signal_pct: Some(71),
            battery_pct: Some(64),
            wifi_driver: Some("Intel(R) Wi-Fi 6 AX201 22.160.0.4".into()),
            delay_event_ratio: Some(0.01),
            bandwidth_low_event_ratio: Some(0.0),
            received_quality_event_ratio: Some(0.34),
            sent_quality_event_ratio: Some(0.02),
            trace_route: vec![TraceRouteHop {
                hop_count: 1,
                ip_address: Some("10.20.10.1".into()),
                round_trip_ms: Some(2.0),
            }],
        },
        device: DeviceInfo {
            capture_device: Some("headset".into()),
            render_device: Some("headset".into()),
            capture_not_functioning_ratio: Some(0.0),
            render_not_functioning_ratio: Some(0.0),
            cpu_insufficient_ratio: Some(0.0),
            device_clipping_ratio: Some(0.001),
            device_glitch_ratio: Some(0.004),
            low_speech_level_ratio: Some(0.0),
            low_speech_to_noise_ratio: Some(0.01),
            render_mute_ratio: Some(0.0),
            render_zero_volume_ratio: Some(0.0),
            mic_glitch_rate: Some(23.0),
            speaker_glitch_rate: Some(14.0),
            howling_event_count: Some(0),
            received_signal_level: Some(-10),
            received_noise_level: Some(-68),
            sent_signal_level: Some(-12),
            sent_noise_level: Some(-71),
        },
        streams: vec![
            audio_stream(StreamDirection::Sent, 6.0, 0.001),
            audio_stream(StreamDirection::Received, 47.0, 0.028),
            video,
        ],
        feedback: Some(Feedback {
            rating: FeedbackRating::Poor,
            tokens: vec!["DistortedSpeech".into(), "Interruptions".into()],
        }),
        failure: Some(CallFailure {
            stage: "midcall".into(),
            reason: Some("none".into()),
        }),
        is_test: false,
        other_legs: vec![OtherLegSummary {
            leg_id: format!("{CALL}/p-3e77d2b1/1"),
            participant_id: "p-3e77d2b1".into(),
            site_id: Some(SITE.into()),
            connection_type: ConnectionType::Wired,
            transport: TransportProtocol::Udp,
            relayed: false,
            worst_sent_loss_rate: Some(0.001),
            worst_sent_jitter_ms: Some(4.0),
            worst_received_loss_rate: Some(0.002),
            worst_received_jitter_ms: Some(6.0),
            worst_round_trip_ms: Some(40.0),
            sent_quality_event_ratio: Some(0.0),
            received_quality_event_ratio: Some(0.01),
            poor_streams: 0,
        }],
        fetched_at: END + 61 * 60_000,
    }
}

/// One observation of every kind the telemetry union carries.
pub fn network_samples() -> Vec<NetworkSample> {
    let at = |time: i64, sequence: i64, body: SampleBody| NetworkSample {
        org_id: ORG.into(),
        site_id: SITE.into(),
        time,
        source: "mist".into(),
        sequence,
        body,
    };
    let mut attributes = BTreeMap::new();
    attributes.insert("fixed_version".to_string(), "0.14.29543".to_string());
    vec![
        at(
            START + 60_000,
            0,
            SampleBody::WirelessClient(WirelessClientSample {
                client_mac: "3c22fb9e7d41".into(),
                random_mac: false,
                client_ip: Some("10.20.10.45".into()),
                ap_mac: "5c5b35a1c020".into(),
                bssid: Some("5c5b35f2d201".into()),
                band: WifiBand::Band2_4Ghz,
                channel: Some(6),
                ssid: Some("Corp-WiFi".into()),
                rssi_dbm: Some(-78.0),
                snr_db: Some(14.0),
                tx_rate_mbps: Some(26.0),
                rx_rate_mbps: Some(19.5),
                tx_bps: Some(412_000),
                rx_bps: Some(96_000),
                tx_retries_per_s: Some(31.5),
                rx_retries_per_s: Some(12.0),
            }),
        ),
        at(
            START - 120_000,
            0,
            SampleBody::ClientBinding(ClientBinding {
                client_mac: "a4c3f0851a2b".into(),
                random_mac: false,
                kind: BindingKind::Roam,
                client_ip: Some("10.20.10.21".into()),
                ap_mac: Some("5c5b35a1c010".into()),
                bssid: Some("5c5b35f1c121".into()),
                band: WifiBand::Band5Ghz,
                next_ap_mac: Some("5c5b35a1c020".into()),
                switch_mac: None,
                port_id: None,
                vlan: Some(10),
                rssi_dbm: Some(-67.0),
                session_seconds: Some(16_709.39),
            }),
        ),
        at(
            START + 120_000,
            0,
            SampleBody::Ap(ApSample {
                ap_mac: "5c5b35a1c020".into(),
                uptime_s: Some(176.0),
                cpu_util_ratio: Some(0.31),
                num_clients: Some(23),
                power_constrained: Some(false),
            }),
        ),
        at(
            START + 120_000,
            1,
            SampleBody::ApRadio(ApRadioSample {
                ap_mac: "5c5b35a1c020".into(),
                radio_mac: Some("5c5b35f2d200".into()),
                band: WifiBand::Band2_4Ghz,
                channel: Some(6),
                bandwidth_mhz: Some(20),
                tx_power_dbm: Some(12.0),
                noise_floor_dbm: Some(-88.0),
                num_clients: Some(9),
                util_all_ratio: Some(0.71),
                util_tx_ratio: Some(0.08),
                util_rx_in_bss_ratio: Some(0.11),
                util_rx_other_bss_ratio: Some(0.06),
                util_non_wifi_ratio: Some(0.44),
                util_undecodable_wifi_ratio: Some(0.01),
                util_unknown_wifi_ratio: Some(0.01),
            }),
        ),
        at(
            START + 180_000,
            0,
            SampleBody::SwitchPort(SwitchPortSample {
                switch_mac: "0c8126c7a100".into(),
                port_id: "ge-0/0/1".into(),
                up: true,
                speed_mbps: Some(100),
                full_duplex: Some(false),
                rx_bps: Some(38_000_000),
                tx_bps: Some(91_000_000),
                rx_errors_per_s: Some(11.2),
                tx_errors_per_s: Some(0.0),
                rx_drops_per_s: Some(0.4),
                tx_drops_per_s: Some(3.1),
                rx_pkts_per_s: Some(5_200.0),
                tx_pkts_per_s: Some(9_800.0),
                last_flapped_at: Some(START + 170_000),
                neighbor_mac: Some("5c5b35a1c020".into()),
                poe_power_w: Some(13.4),
                interval_s: Some(300.0),
            }),
        ),
        at(
            START + 180_000,
            1,
            SampleBody::WanPath(WanPathSample {
                gateway_mac: "4c96147e2b00".into(),
                wan_port_id: "ge-0/0/7".into(),
                wan_name: Some("wan_dsl".into()),
                peer_mac: Some("4c96147ec0d0".into()),
                peer_port_id: Some("ge-0/0/0".into()),
                peer_site_id: Some("9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a".into()),
                path_type: Some("ipsec".into()),
                up: true,
                active: Some(true),
                latency_ms: Some(38.0),
                jitter_ms: Some(60.0),
                loss_ratio: Some(0.04),
                mos: Some(3.1),
                rx_bps: Some(18_000_000),
                tx_bps: Some(4_000_000),
                capacity_down_bps: Some(50_000_000),
                capacity_up_bps: Some(10_000_000),
            }),
        ),
        at(
            START + 300_000,
            0,
            SampleBody::Event(NetworkEvent {
                kind: NetworkEventKind::ApRestart,
                vendor_type: "AP_RESTARTED".into(),
                entity_kind: EntityKind::Ap,
                entity_id: "5c5b35a1c020".into(),
                reason: Some("power_cycle".into()),
                attributes,
            }),
        ),
    ]
}

/// One record of every entity kind the inventory union carries.
pub fn inventory_records() -> Vec<InventoryRecord> {
    let at = |entity_id: &str, body: InventoryBody| InventoryRecord {
        org_id: ORG.into(),
        site_id: SITE.into(),
        entity_id: entity_id.into(),
        updated_at: START - 3_600_000,
        source: "mist".into(),
        body,
    };
    let uplink = LldpNeighbor {
        chassis_mac: Some("0c8126c7a100".into()),
        system_name: Some("HQ-ACC-SW1".into()),
        port_id: Some("ge-0/0/1".into()),
    };
    vec![
        at(
            &format!("site:{SITE}"),
            InventoryBody::Site(SiteInfo {
                name: "HQ-Zurich".into(),
                timezone: Some("Europe/Zurich".into()),
                country_code: Some("CH".into()),
            }),
        ),
        at(
            "ap:5c5b35a1c020",
            InventoryBody::AccessPoint(AccessPointInfo {
                ap_mac: "5c5b35a1c020".into(),
                name: Some("AP-1F-West".into()),
                model: Some("AP45".into()),
                radios: vec![
                    RadioInfo {
                        band: WifiBand::Band2_4Ghz,
                        radio_mac: "5c5b35f2d200".into(),
                        bssids: vec!["5c5b35f2d201".into()],
                    },
                    RadioInfo {
                        band: WifiBand::Band5Ghz,
                        radio_mac: "5c5b35f2d220".into(),
                        bssids: vec!["5c5b35f2d221".into()],
                    },
                ],
                uplink: Some(uplink.clone()),
            }),
        ),
        at(
            "switch:0c8126c7a100",
            InventoryBody::Switch(SwitchInfo {
                switch_mac: "0c8126c7a100".into(),
                name: Some("HQ-ACC-SW1".into()),
                model: Some("EX2300-C-12P".into()),
                ports: vec![
                    PortInfo {
                        port_id: "ge-0/0/1".into(),
                        speed_mbps: Some(1000),
                        uplink: false,
                        neighbor: Some(LldpNeighbor {
                            chassis_mac: Some("5c5b35a1c020".into()),
                            system_name: Some("AP-1F-West".into()),
                            port_id: Some("eth0".into()),
                        }),
                    },
                    PortInfo {
                        port_id: "ge-0/0/11".into(),
                        speed_mbps: Some(1000),
                        uplink: true,
                        neighbor: Some(LldpNeighbor {
                            chassis_mac: Some("4c96147e2b00".into()),
                            system_name: Some("HQ-GW1".into()),
                            port_id: Some("ge-0/0/2".into()),
                        }),
                    },
                ],
            }),
        ),
        at(
            "gateway:4c96147e2b00",
            InventoryBody::Gateway(GatewayInfo {
                gateway_mac: "4c96147e2b00".into(),
                name: Some("HQ-GW1".into()),
                model: Some("SRX320".into()),
            }),
        ),
        at(
            "subnet:10.20.10.0/24",
            InventoryBody::Subnet(SubnetInfo {
                cidr: "10.20.10.0/24".into(),
                vlan_id: Some(10),
                name: Some("corp".into()),
            }),
        ),
        at(
            "wan:4c96147e2b00/ge-0/0/7",
            InventoryBody::WanLink(WanLinkInfo {
                gateway_mac: "4c96147e2b00".into(),
                port_id: "ge-0/0/7".into(),
                wan_name: Some("wan_dsl".into()),
                isp: Some("Example DSL AG".into()),
                public_ip: Some("198.51.100.22".into()),
                capacity_down_bps: Some(50_000_000),
                capacity_up_bps: Some(10_000_000),
            }),
        ),
    ]
}

/// The sample organization's link to its tenant.
pub fn tenant_link() -> TenantLink {
    TenantLink {
        org_id: ORG.into(),
        tenant_id: TENANT.into(),
        state: LinkState::Linked,
        linked_by_name: Some("Network Admin".into()),
        linked_by_email: Some("netadmin@contoso.example".into()),
        linked_at: START - 86_400_000,
        updated_at: START - 3_600_000,
        static_config: false,
        keep_identity: true,
        key_id: Some("tenant-key-1".into()),
        wrapped_keys: vec![WrappedTenantKey {
            key_id: "tenant-key-1".into(),
            nonce: "00112233445566778899aabb".into(),
            ciphertext: "ab".repeat(48),
            created_at: START - 86_400_000,
        }],
        subscription_id: Some("7f105c7d-2dc5-4530-97cd-4e7ae6534c07".into()),
        subscription_expires_at: Some(1_741_945_800_000),
    }
}

/// A request to link the sample organization, as the consent callback writes it.
pub fn control_message() -> ControlMessage {
    ControlMessage {
        kind: ControlKind::Link,
        org_id: ORG.into(),
        request_id: "5b1f0c7e-8d3a-4c1e-9a55-0c2b6e7d9f10".into(),
        link: Some(TenantLink {
            key_id: None,
            wrapped_keys: Vec::new(),
            subscription_id: None,
            subscription_expires_at: None,
            ..tenant_link()
        }),
        notification: None,
        requested_at: START - 86_400_000,
    }
}

fn scope() -> Scope {
    Scope {
        kind: EntityKind::ApRadio,
        entity_id: "5c5b35f2d200".into(),
        calls_affected: 4,
        calls_total: 6,
        baseline_poor_ratio: Some(0.05),
        window_start: START - 1_800_000,
        window_end: END,
    }
}

/// A verdict for the sample leg: interference on the AP's 2.4 GHz radio.
pub fn root_cause_verdict() -> RootCauseVerdict {
    RootCauseVerdict {
        verdict_id: format!("{CALL}/p-8c1f0e5a/0@2"),
        org_id: ORG.into(),
        site_id: Some(SITE.into()),
        tenant_id: TENANT.into(),
        call_id: CALL.into(),
        leg_id: format!("{CALL}/p-8c1f0e5a/0"),
        record_version: 2,
        participant_id: "p-8c1f0e5a".into(),
        leg_start: START,
        leg_end: END,
        quality: LegQuality::Poor,
        streams: vec![StreamVerdict {
            stream_id: Some("1504545584".into()),
            media_kind: MediaKind::Audio,
            direction: StreamDirection::Received,
            quality: StreamQuality::Poor,
            rule_set: "cqd_current".into(),
            reasons: vec![ClassificationReason {
                metric: "avg_jitter_ms".into(),
                value: 47.0,
                threshold: 30.0,
                poor: true,
            }],
        }],
        rating: FeedbackRating::Poor,
        poor_feedback: true,
        primary_cause: CauseCode::WirelessInterference,
        fault_location: FaultLocation::LocalDownlink,
        guilty_participant_id: Some("p-8c1f0e5a".into()),
        confidence: 0.82,
        attribution: vec![
            AttributionShare {
                group: EvidenceGroup::Wireless,
                cause: CauseCode::WirelessInterference,
                share: 0.78,
            },
            AttributionShare {
                group: EvidenceGroup::Wired,
                cause: CauseCode::WiredPortErrors,
                share: 0.22,
            },
        ],
        evidence: vec![Evidence {
            group: EvidenceGroup::Wireless,
            cause: CauseCode::WirelessInterference,
            entity_kind: EntityKind::ApRadio,
            entity_id: "5c5b35f2d200".into(),
            metric: "util_non_wifi_ratio".into(),
            unit: "ratio".into(),
            value: 0.44,
            threshold: Some(0.2),
            baseline: Some(0.06),
            window_start: START,
            window_end: END,
            score: 0.9,
            basis: Some("the radio's airtime".into()),
        }],
        scope: Some(scope()),
        completeness: DataCompleteness {
            partial: false,
            client: true,
            wireless: true,
            wired: true,
            wan: false,
            missing: vec!["no WAN samples in the call window".into()],
        },
        summary: "Received audio poor (jitter 47 ms): non-Wi-Fi interference on AP-1F-West 2.4 GHz"
            .into(),
    }
}

/// An alert for the shared interference.
pub fn scope_alert() -> ScopeAlert {
    ScopeAlert {
        alert_id: "ap_radio:5c5b35f2d200/wireless_interference@1741700000000".into(),
        org_id: ORG.into(),
        site_id: Some(SITE.into()),
        state: AlertState::Raised,
        cause: CauseCode::WirelessInterference,
        scope: scope(),
        poor_ratio: 0.67,
        raised_at: END,
        updated_at: END,
        sample_leg_ids: vec![format!("{CALL}/p-8c1f0e5a/0")],
        summary: "4 of 6 calls on AP-1F-West 2.4 GHz hurt by non-Wi-Fi interference".into(),
    }
}

/// A dead letter for garbage that arrived on net.telemetry.
pub fn dead_letter() -> DeadLetter {
    DeadLetter {
        source_topic: "net.telemetry".into(),
        partition: Some(3),
        offset: Some(1_234),
        key: Some(callsight_model::keys::site_key(ORG, SITE).into_bytes()),
        payload: vec![0xDE, 0xAD, 0xBE, 0xEF],
        headers: vec![RecordHeader {
            key: "traceparent".into(),
            value: Some(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_vec()),
        }],
        error_kind: "unknown_framing".into(),
        error: "unknown framing: the record starts with DE AD BE EF".into(),
        stage: "process".into(),
        failed_at: END,
    }
}

/// A dead letter as release v1 of the schemas wrote it (before headers were kept): the record a
/// v1 writer meant, with no headers, and its single-object bytes under the v1 fingerprint.
pub fn dead_letter_written_with_v1() -> (DeadLetter, Vec<u8>) {
    use apache_avro::types::Value;
    use apache_avro::writer::datum::GenericDatumWriter;
    let v1 = callsight_model::catalog::Catalog::global()
        .history("callsight.DeadLetter")
        .into_iter()
        .find(|e| e.release == "v1")
        .expect("schemas/compat/v1 has DeadLetter");
    let mut letter = dead_letter();
    letter.headers.clear();
    let mut value = apache_avro::to_value(&letter).expect("a sample converts to a value");
    if let Value::Record(fields) = &mut value {
        fields.retain(|(name, _)| name != "headers");
    }
    let value = value.resolve(&v1.schema).expect("the sample fits v1");
    let mut bytes = vec![0xC3, 0x01];
    bytes.extend_from_slice(&v1.fingerprint.0);
    bytes.extend(
        GenericDatumWriter::builder(&v1.schema)
            .build()
            .expect("v1 writer")
            .write_value_to_vec(value)
            .expect("encodes under v1"),
    );
    (letter, bytes)
}
