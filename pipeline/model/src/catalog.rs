//! The schemas compiled into the binary: the current set and every released set, each named
//! type made self-contained and indexed by its CRC-64-AVRO fingerprint.
//!
//! `schemas/` holds one named type per file (`<namespace>.<Name>.avsc`) and refers to other
//! types by name. A writer schema must stand alone (it is what the fingerprint is taken of and
//! what an independent reader resolves), so each type is inlined here: every named type it
//! uses is defined at its first use and referred to by full name afterwards.

use apache_avro::Schema;
use apache_avro::rabin::Rabin;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, LazyLock};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The name of the set in `schemas/` itself (as opposed to a release under `schemas/compat/`).
pub const CURRENT_RELEASE: &str = "current";

const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

/// A CRC-64-AVRO (Rabin) fingerprint of a schema's Parsing Canonical Form, in the
/// little-endian byte order of the single-object encoding header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 8]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A schema set that does not load: a broken file, an unknown reference, a parse error.
#[derive(Debug, thiserror::Error)]
#[error("schema set {release}: {name}: {problem}")]
pub struct CatalogError {
    /// Release the set belongs to (`current` or a folder under `schemas/compat/`).
    pub release: String,
    /// Full name of the type (or file) at fault.
    pub name: String,
    /// What is wrong.
    pub problem: String,
}

/// One self-contained schema of one release.
#[derive(Debug)]
pub struct SchemaEntry {
    /// Full name, e.g. `callsight.CallLeg`.
    pub full_name: String,
    /// `current` or the release folder name.
    pub release: String,
    /// The parsed, self-contained schema.
    pub schema: Schema,
    /// Its JSON, self-contained (what a Schema Registry is sent).
    pub json: String,
    /// Fingerprint of its canonical form.
    pub fingerprint: Fingerprint,
}

/// Every schema compiled into the binary.
#[derive(Debug)]
pub struct Catalog {
    current: HashMap<String, Arc<SchemaEntry>>,
    releases: Vec<(String, HashMap<String, Arc<SchemaEntry>>)>,
    by_fingerprint: HashMap<Fingerprint, Arc<SchemaEntry>>,
}

/// The largest single allocation the Avro decoder may make for one string, byte array or block.
/// A record claiming more (a corrupt length prefix) is a decode error, not a 512 MiB allocation.
pub const MAX_DECODE_ALLOCATION: usize = 16 * 1024 * 1024;

static GLOBAL: LazyLock<Catalog> = LazyLock::new(|| {
    apache_avro::util::max_allocation_bytes(MAX_DECODE_ALLOCATION);
    Catalog::load(embedded::CURRENT, embedded::RELEASES)
        .unwrap_or_else(|e| panic!("the schemas compiled into callsight do not load: {e}"))
});

impl Catalog {
    /// The catalog of the schemas compiled into this binary. The test suite proves they load,
    /// so this cannot fail in a released build.
    pub fn global() -> &'static Catalog {
        &GLOBAL
    }

    /// Builds a catalog from a current set and released sets of `(full name, JSON)` pairs.
    pub fn load(
        current: &[(&str, &str)],
        releases: &[(&str, &[(&str, &str)])],
    ) -> Result<Catalog, CatalogError> {
        let current = load_set(CURRENT_RELEASE, current)?;
        let mut by_fingerprint = HashMap::new();
        let mut loaded = Vec::new();
        for (release, files) in releases {
            let set = load_set(release, files)?;
            for entry in set.values() {
                by_fingerprint
                    .entry(entry.fingerprint)
                    .or_insert_with(|| entry.clone());
            }
            loaded.push((release.to_string(), set));
        }
        // The current set wins when a released schema is unchanged.
        for entry in current.values() {
            by_fingerprint.insert(entry.fingerprint, entry.clone());
        }
        Ok(Catalog {
            current,
            releases: loaded,
            by_fingerprint,
        })
    }

    /// The current schema of a named type.
    pub fn current(&self, full_name: &str) -> Option<&Arc<SchemaEntry>> {
        self.current.get(full_name)
    }

    /// The schema (current or released) with this fingerprint.
    pub fn by_fingerprint(&self, fingerprint: &Fingerprint) -> Option<&Arc<SchemaEntry>> {
        self.by_fingerprint.get(fingerprint)
    }

    /// Every released version of a named type, oldest first (the current one not included).
    pub fn history(&self, full_name: &str) -> Vec<&Arc<SchemaEntry>> {
        self.releases
            .iter()
            .filter_map(|(_, set)| set.get(full_name))
            .collect()
    }

    /// Names of the releases, oldest first.
    pub fn releases(&self) -> impl Iterator<Item = &str> {
        self.releases.iter().map(|(name, _)| name.as_str())
    }

    /// Every current schema, sorted by name.
    pub fn current_entries(&self) -> Vec<&Arc<SchemaEntry>> {
        let mut entries: Vec<_> = self.current.values().collect();
        entries.sort_by(|a, b| a.full_name.cmp(&b.full_name));
        entries
    }
}

fn load_set(
    release: &str,
    files: &[(&str, &str)],
) -> Result<HashMap<String, Arc<SchemaEntry>>, CatalogError> {
    let err = |name: &str, problem: String| CatalogError {
        release: release.to_string(),
        name: name.to_string(),
        problem,
    };
    let mut definitions = BTreeMap::new();
    for (file_name, text) in files {
        let json: Value =
            serde_json::from_str(text).map_err(|e| err(file_name, format!("not JSON: {e}")))?;
        let full = full_name_of(&json, "")
            .ok_or_else(|| err(file_name, "not a named type".to_string()))?;
        if full != *file_name {
            return Err(err(
                file_name,
                format!("the file defines {full}; name the file after the type it defines"),
            ));
        }
        definitions.insert(full, json);
    }
    let mut set = HashMap::new();
    for (full, json) in &definitions {
        let mut defined = HashSet::new();
        let inlined = inline(json, "", &definitions, &mut defined).map_err(|p| err(full, p))?;
        let text = inlined.to_string();
        let schema = Schema::parse_str(&text).map_err(|e| err(full, e.to_string()))?;
        let fingerprint = fingerprint(&schema);
        set.insert(
            full.clone(),
            Arc::new(SchemaEntry {
                full_name: full.clone(),
                release: release.to_string(),
                schema,
                json: text,
                fingerprint,
            }),
        );
    }
    Ok(set)
}

/// The Parsing Canonical Form of a schema, as the Avro specification defines it and as the
/// Java and Python implementations compute it.
///
/// apache-avro's `canonical_form()` keeps a primitive that carries a logical type as
/// `{"type":"long"}` where the specification's [PRIMITIVES] rule (and Java's
/// `SchemaNormalization`, and fastavro) give `"long"`. Fingerprints taken of the two forms
/// differ, so other implementations would not find our writer schemas; the form is corrected
/// here. In a canonical form such an object can only stand in a type position, so the textual
/// replacement is exact.
pub fn parsing_canonical_form(schema: &Schema) -> String {
    let mut form = schema.canonical_form();
    for primitive in PRIMITIVES {
        form = form.replace(
            &format!("{{\"type\":\"{primitive}\"}}"),
            &format!("\"{primitive}\""),
        );
    }
    form
}

/// The CRC-64-AVRO fingerprint of a schema's [`parsing_canonical_form`].
pub fn fingerprint(schema: &Schema) -> Fingerprint {
    use digest::Digest;
    let digest = Rabin::digest(parsing_canonical_form(schema).as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest);
    Fingerprint(bytes)
}

/// Full name of a named type definition (`record`, `enum`, `fixed`), given the enclosing namespace.
fn full_name_of(json: &Value, enclosing: &str) -> Option<String> {
    let obj = json.as_object()?;
    if !matches!(
        obj.get("type").and_then(Value::as_str),
        Some("record" | "error" | "enum" | "fixed")
    ) {
        return None;
    }
    let name = obj.get("name")?.as_str()?;
    Some(qualify(name, namespace_of(obj, enclosing)))
}

fn namespace_of<'a>(obj: &'a Map<String, Value>, enclosing: &'a str) -> &'a str {
    obj.get("namespace")
        .and_then(Value::as_str)
        .unwrap_or(enclosing)
}

fn qualify(name: &str, namespace: &str) -> String {
    if name.contains('.') || namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}.{name}")
    }
}

/// Returns `json` with every reference to a type of `definitions` replaced by its definition at
/// first use (and by its full name afterwards).
fn inline(
    json: &Value,
    namespace: &str,
    definitions: &BTreeMap<String, Value>,
    defined: &mut HashSet<String>,
) -> Result<Value, String> {
    match json {
        Value::String(name) if PRIMITIVES.contains(&name.as_str()) => Ok(json.clone()),
        Value::String(name) => {
            let full = qualify(name, namespace);
            if defined.contains(&full) {
                return Ok(Value::String(full));
            }
            let definition = definitions
                .get(&full)
                .ok_or_else(|| format!("refers to {full}, which no schema file defines"))?;
            inline(definition, namespace, definitions, defined)
        }
        Value::Array(branches) => branches
            .iter()
            .map(|b| inline(b, namespace, definitions, defined))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(obj) => {
            let mut out = obj.clone();
            match obj.get("type").and_then(Value::as_str) {
                Some("record" | "error") => {
                    let full = full_name_of(json, namespace).ok_or("record without a name")?;
                    if !defined.insert(full.clone()) {
                        return Ok(Value::String(full));
                    }
                    let inner_ns = namespace_of(obj, namespace).to_string();
                    out.insert("name".into(), Value::String(full.clone()));
                    out.remove("namespace");
                    let fields = obj
                        .get("fields")
                        .and_then(Value::as_array)
                        .ok_or_else(|| format!("{full} has no fields array"))?;
                    let mut new_fields = Vec::with_capacity(fields.len());
                    for field in fields {
                        let mut field = field
                            .as_object()
                            .cloned()
                            .ok_or_else(|| format!("{full} has a field that is not an object"))?;
                        let ty = field
                            .get("type")
                            .ok_or_else(|| format!("{full} has a field without a type"))?;
                        let ty = inline(ty, &inner_ns, definitions, defined)?;
                        field.insert("type".into(), ty);
                        new_fields.push(Value::Object(field));
                    }
                    out.insert("fields".into(), Value::Array(new_fields));
                }
                Some("enum" | "fixed") => {
                    let full = full_name_of(json, namespace).ok_or("enum without a name")?;
                    if !defined.insert(full.clone()) {
                        return Ok(Value::String(full));
                    }
                    out.insert("name".into(), Value::String(full));
                    out.remove("namespace");
                }
                Some("array") => {
                    let items = obj.get("items").ok_or("array without items")?;
                    out.insert(
                        "items".into(),
                        inline(items, namespace, definitions, defined)?,
                    );
                }
                Some("map") => {
                    let values = obj.get("values").ok_or("map without values")?;
                    out.insert(
                        "values".into(),
                        inline(values, namespace, definitions, defined)?,
                    );
                }
                _ => {}
            }
            Ok(Value::Object(out))
        }
        other => Err(format!("unexpected schema element {other}")),
    }
}
