//! Framing, encoding and decoding: samples round-trip, bad bytes give typed errors, never panics.

use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use callsight_model::catalog::Catalog;
use callsight_model::codec::{self, CodecError, Framing, Record, confluent, single_object};
use callsight_model::types::*;
use callsight_testkit::samples;
use proptest::prelude::*;

fn round_trip<T: Record + PartialEq + std::fmt::Debug>(value: &T) {
    let bytes = single_object::encode(value).expect("encodes");
    assert_eq!(&bytes[..2], &[0xC3, 0x01], "single-object marker");
    let entry = Catalog::global().current(T::FULL_NAME).expect("schema");
    assert_eq!(
        &bytes[2..10],
        &entry.fingerprint.0,
        "fingerprint of the current schema"
    );
    assert_eq!(
        codec::detect(&bytes).expect("framing"),
        Framing::SingleObject
    );
    let decoded: T = single_object::decode(&bytes).expect("decodes");
    assert_eq!(&decoded, value);
}

#[test]
fn every_sample_round_trips() {
    round_trip(&samples::graph_notification());
    round_trip(&samples::call_leg());
    for sample in samples::network_samples() {
        round_trip(&sample);
    }
    for record in samples::inventory_records() {
        round_trip(&record);
    }
    round_trip(&samples::tenant_link());
    round_trip(&samples::root_cause_verdict());
    round_trip(&samples::scope_alert());
    round_trip(&samples::dead_letter());
    round_trip(&samples::control_message());
}

#[test]
fn empty_and_short_input_is_truncated() {
    assert!(matches!(
        single_object::decode::<CallLeg>(&[]),
        Err(CodecError::Truncated(_))
    ));
    assert!(matches!(
        single_object::decode::<CallLeg>(&[0xC3, 0x01, 1, 2]),
        Err(CodecError::Truncated(_))
    ));
    assert!(matches!(codec::detect(&[]), Err(CodecError::Truncated(_))));
}

#[test]
fn foreign_bytes_are_unknown_framing() {
    let err = single_object::decode::<CallLeg>(br#"{"json": "is not avro"}"#).unwrap_err();
    assert_eq!(err.kind(), "unknown_framing");
    assert!(err.to_string().contains("7B 22 6A 73"), "{err}");
    assert_eq!(
        codec::detect(b"\x7b\x22").unwrap_err().kind(),
        "unknown_framing"
    );
}

#[test]
fn unknown_fingerprint_is_reported() {
    let mut bytes = single_object::encode(&samples::dead_letter()).expect("encodes");
    bytes[2..10].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    let err = single_object::decode::<DeadLetter>(&bytes).unwrap_err();
    assert!(matches!(err, CodecError::UnknownFingerprint(_)), "{err}");
    assert!(err.to_string().contains("0102030405060708"), "{err}");
}

#[test]
fn another_type_is_a_wrong_type_error() {
    let bytes = single_object::encode(&samples::scope_alert()).expect("encodes");
    let err = single_object::decode::<RootCauseVerdict>(&bytes).unwrap_err();
    match err {
        CodecError::WrongType { expected, found } => {
            assert_eq!(expected, "callsight.RootCauseVerdict");
            assert_eq!(found, "callsight.ScopeAlert");
        }
        other => panic!("expected WrongType, got {other}"),
    }
}

#[test]
fn corrupt_datum_and_trailing_bytes_are_decode_errors() {
    let mut bytes = single_object::encode(&samples::tenant_link()).expect("encodes");
    bytes.push(0);
    let err = single_object::decode::<TenantLink>(&bytes).unwrap_err();
    assert_eq!(err.kind(), "decode");
    assert!(err.to_string().contains("left over"), "{err}");

    let bytes = single_object::encode(&samples::tenant_link()).expect("encodes");
    let cut = &bytes[..bytes.len() - 5];
    assert_eq!(
        single_object::decode::<TenantLink>(cut).unwrap_err().kind(),
        "decode"
    );
}

#[test]
fn confluent_framing_round_trips() {
    let framed = confluent::frame(42, b"datum");
    assert_eq!(framed, b"\x00\x00\x00\x00\x2adatum");
    assert_eq!(codec::detect(&framed).expect("framing"), Framing::Confluent);
    let (id, datum) = confluent::split(&framed).expect("splits");
    assert_eq!((id, datum), (42, &b"datum"[..]));
    assert!(matches!(
        confluent::split(&[0, 0, 1]),
        Err(CodecError::Truncated(_))
    ));
}

/// A verdict written by a newer callsight with a cause this reader does not know decodes as
/// `unknown_other`: the CauseCode enum's default keeps old readers alive.
#[test]
fn a_new_cause_reads_as_unknown_other() {
    let current = Catalog::global()
        .current("callsight.RootCauseVerdict")
        .expect("schema");
    let newer_json = current.json.replacen(
        "\"unknown_no_network_anomaly\"",
        "\"unknown_no_network_anomaly\",\"wireless_cosmic_rays\"",
        1,
    );
    assert_ne!(newer_json, current.json);
    let newer = apache_avro::Schema::parse_str(&newer_json).expect("newer schema parses");
    let mut verdict = samples::root_cause_verdict();
    verdict.attribution.clear();
    verdict.evidence.clear();
    let mut value = apache_avro::to_value(&verdict).expect("to value");
    if let Value::Record(fields) = &mut value {
        for (name, field) in fields.iter_mut() {
            if name == "primary_cause" {
                *field = Value::Enum(27, "wireless_cosmic_rays".to_string());
            }
        }
    }
    let value = value.resolve(&newer).expect("fits the newer schema");
    let datum = GenericDatumWriter::builder(&newer)
        .build()
        .expect("writer")
        .write_value_to_vec(value)
        .expect("encodes");
    let decoded: RootCauseVerdict =
        codec::datum::decode_datum(&newer, &datum).expect("an old reader reads the newer verdict");
    assert_eq!(decoded.primary_cause, CauseCode::UnknownOther);
    assert_eq!(decoded.summary, verdict.summary);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever arrives, decoding returns (never panics).
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = single_object::decode::<CallLeg>(&bytes);
        let _ = single_object::decode::<NetworkSample>(&bytes);
    }

    /// A valid header followed by garbage gives an error or a value, never a panic.
    #[test]
    fn valid_header_then_garbage_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..512)) {
        for name in codec::RECORD_TYPES {
            let entry = Catalog::global().current(name).expect("schema");
            let mut bytes = vec![0xC3, 0x01];
            bytes.extend_from_slice(&entry.fingerprint.0);
            bytes.extend_from_slice(&tail);
            let _ = single_object::decode::<CallLeg>(&bytes);
            let _ = single_object::decode::<NetworkSample>(&bytes);
            let _ = single_object::decode::<InventoryRecord>(&bytes);
            let _ = single_object::decode::<RootCauseVerdict>(&bytes);
        }
    }
}

/// A dead letter written with release v1 of the schemas (before headers were kept) decodes into
/// the current type, with the new field at its default.
#[test]
fn a_record_written_with_release_v1_decodes_into_the_current_type() {
    let catalog = Catalog::global();
    let v1 = catalog
        .history("callsight.DeadLetter")
        .into_iter()
        .find(|e| e.release == "v1")
        .expect("v1 of DeadLetter");
    let current = catalog.current("callsight.DeadLetter").expect("current");
    assert_ne!(v1.fingerprint, current.fingerprint, "v1 and current differ");

    let (expected, bytes) = samples::dead_letter_written_with_v1();
    assert_eq!(
        &bytes[2..10],
        &v1.fingerprint.0,
        "written under the v1 fingerprint"
    );
    let decoded: DeadLetter = single_object::decode(&bytes).expect("v1 bytes decode");
    assert_eq!(decoded, expected);
}
