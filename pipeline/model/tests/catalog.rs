//! The schema files: they load, are named after their type, are documented, and are compatible
//! with every released version.

use callsight_model::catalog::{Catalog, CatalogError};
use callsight_model::codec::RECORD_TYPES;
use callsight_model::compat;
use serde_json::Value;

fn schema_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

#[test]
fn the_compiled_catalog_loads_and_has_every_record_type() {
    let catalog = Catalog::global();
    for name in RECORD_TYPES {
        assert!(catalog.current(name).is_some(), "{name} has no schema");
    }
}

#[test]
fn every_type_and_field_is_documented() {
    let mut undocumented = Vec::new();
    for entry in std::fs::read_dir(schema_dir()).expect("schemas/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "avsc") {
            continue;
        }
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
        let name = json["name"].as_str().unwrap_or("?").to_string();
        if json["doc"].as_str().is_none_or(str::is_empty) {
            undocumented.push(name.clone());
        }
        for field in json["fields"].as_array().into_iter().flatten() {
            if field["doc"].as_str().is_none_or(str::is_empty) {
                undocumented.push(format!("{name}.{}", field["name"]));
            }
        }
    }
    assert!(undocumented.is_empty(), "undocumented: {undocumented:?}");
}

#[test]
fn current_schemas_are_full_transitive_compatible_with_every_release() {
    let problems = compat::full_transitive(Catalog::global());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_record_type_once_released_stays_in_every_later_release() {
    let catalog = Catalog::global();
    let releases: Vec<&str> = catalog.releases().collect();
    assert!(!releases.is_empty(), "schemas/compat/ has no release");
    for name in RECORD_TYPES {
        let kept = catalog.history(name).len();
        let since = releases
            .iter()
            .position(|release| {
                catalog
                    .history(name)
                    .iter()
                    .any(|entry| entry.release == *release)
            })
            .unwrap_or(releases.len());
        assert_eq!(
            kept,
            releases.len() - since,
            "{name} is missing from a release after {}",
            releases[since.min(releases.len() - 1)]
        );
    }
}

const ENUM_V1: &str =
    r#"{"type":"enum","name":"Colour","namespace":"t","symbols":["red","green"],"default":"red"}"#;
const REC_V1: &str = r#"{"type":"record","name":"Paint","namespace":"t","doc":"d","fields":[{"name":"colour","type":"Colour","doc":"d"}]}"#;

#[test]
fn an_incompatible_change_is_caught() {
    // Dropping an enum symbol and adding a field without a default break FULL compatibility.
    let enum_v2 = r#"{"type":"enum","name":"Colour","namespace":"t","symbols":["red"]}"#;
    let rec_v2 = r#"{"type":"record","name":"Paint","namespace":"t","doc":"d","fields":[{"name":"colour","type":"Colour","doc":"d"},{"name":"gloss","type":"int","doc":"d"}]}"#;
    let catalog = Catalog::load(
        &[("t.Colour", enum_v2), ("t.Paint", rec_v2)],
        &[("v1", &[("t.Colour", ENUM_V1), ("t.Paint", REC_V1)])],
    )
    .expect("loads");
    let problems = compat::full_transitive(&catalog);
    assert!(
        problems.iter().any(|p| p.full_name == "t.Paint"),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.full_name == "t.Colour"),
        "{problems:#?}"
    );
}

#[test]
fn a_compatible_change_passes() {
    let rec_v2 = r#"{"type":"record","name":"Paint","namespace":"t","doc":"d","fields":[{"name":"colour","type":"Colour","doc":"d"},{"name":"gloss","type":["null","int"],"default":null,"doc":"d"}]}"#;
    let catalog = Catalog::load(
        &[("t.Colour", ENUM_V1), ("t.Paint", rec_v2)],
        &[("v1", &[("t.Colour", ENUM_V1), ("t.Paint", REC_V1)])],
    )
    .expect("loads");
    assert!(compat::full_transitive(&catalog).is_empty());
}

#[test]
fn broken_sets_are_rejected_with_the_file_named() {
    let err: CatalogError =
        Catalog::load(&[("t.Paint", REC_V1)], &[]).expect_err("Colour is missing");
    assert!(err.to_string().contains("t.Colour"), "{err}");
    let err = Catalog::load(&[("t.Wrong", ENUM_V1)], &[]).expect_err("misnamed file");
    assert!(err.to_string().contains("name the file"), "{err}");
}

#[test]
fn inlined_schemas_are_self_contained_and_reuse_names() {
    let entry = Catalog::global()
        .current("callsight.CallLeg")
        .expect("CallLeg");
    // WifiBand is used twice in CallLeg (network info and nowhere else) and ConnectionType twice
    // (network info, other-leg summary): defined once, then referred to by full name.
    assert_eq!(
        entry
            .json
            .matches("\"name\":\"callsight.ConnectionType\"")
            .count(),
        1
    );
    assert!(entry.json.contains("\"type\":\"callsight.ConnectionType\""));
    apache_avro::Schema::parse_str(&entry.json).expect("parses on its own");
}

#[test]
fn fingerprints_follow_the_specification_for_logical_types() {
    // Test vectors computed with Java's SchemaNormalization and Python's fastavro: a primitive
    // with a logical type is canonicalised to the bare primitive.
    let with_logical = apache_avro::Schema::parse_str(
        r#"{"type":"record","name":"t.R","fields":[{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}}]}"#,
    )
    .expect("parses");
    let plain = apache_avro::Schema::parse_str(
        r#"{"type":"record","name":"t.R","fields":[{"name":"at","type":"long"}]}"#,
    )
    .expect("parses");
    assert_eq!(
        callsight_model::catalog::parsing_canonical_form(&with_logical),
        r#"{"name":"t.R","type":"record","fields":[{"name":"at","type":"long"}]}"#
    );
    assert_eq!(
        callsight_model::catalog::fingerprint(&with_logical),
        callsight_model::catalog::fingerprint(&plain)
    );
    // The specification's own example: the fingerprint of "int" is 0x7275d51a3f395c8f.
    let int = apache_avro::Schema::parse_str(r#""int""#).expect("parses");
    assert_eq!(
        u64::from_le_bytes(callsight_model::catalog::fingerprint(&int).0),
        0x7275_d51a_3f39_5c8f
    );
}
