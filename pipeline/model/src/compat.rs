//! Schema compatibility: every current schema must be FULL_TRANSITIVE compatible with each of its
//! released versions (each can read what the other wrote).

use crate::catalog::Catalog;
use apache_avro::Schema;
use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};

/// One incompatibility between a current schema and a released version of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    /// Full name of the type.
    pub full_name: String,
    /// Release it is incompatible with.
    pub release: String,
    /// Which direction fails and why.
    pub problem: String,
}

/// Checks every current schema against every released version of it, in both directions.
pub fn full_transitive(catalog: &Catalog) -> Vec<Incompatibility> {
    let mut problems = Vec::new();
    for current in catalog.current_entries() {
        for old in catalog.history(&current.full_name) {
            let mut report = |direction: &str, result: Result<(), String>| {
                if let Err(problem) = result {
                    problems.push(Incompatibility {
                        full_name: current.full_name.clone(),
                        release: old.release.clone(),
                        problem: format!("{direction}: {problem}"),
                    });
                }
            };
            report(
                "the current schema cannot read data written with the release",
                fully_readable(&old.schema, &current.schema),
            );
            report(
                "the release cannot read data written with the current schema",
                fully_readable(&current.schema, &old.schema),
            );
        }
    }
    problems
}

/// The reader can read everything the writer can write. A partial match (an enum reader without
/// a default that lacks some of the writer's symbols) is not enough.
fn fully_readable(writer: &Schema, reader: &Schema) -> Result<(), String> {
    match SchemaCompatibility::can_read(writer, reader) {
        Ok(Compatibility::Full) => Ok(()),
        Ok(Compatibility::Partial) => Err(
            "only partly: an enum lacks some symbols of the writer and has no default".to_string(),
        ),
        Err(e) => Err(e.to_string()),
    }
}
