//! Embeds every Avro schema under `schemas/` (the current set) and `schemas/compat/<release>/`
//! (released sets) into the crate, so the binary can resolve any writer schema it ever wrote.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn avsc_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "avsc"))
        .collect();
    files.sort();
    files
}

/// The schemas as `include_str!` of paths under this package's own `CARGO_MANIFEST_DIR`, resolved
/// when the crate compiles: checkouts in other folders that share a target folder (and so this
/// build script's output) each embed their own files, and none depends on another still existing.
fn set_literal(root: &Path, files: &[PathBuf]) -> String {
    let mut out = String::from("&[\n");
    for file in files {
        let name = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("schema file names are UTF-8");
        let relative = file
            .strip_prefix(root)
            .expect("schema files are under the schemas folder")
            .to_str()
            .expect("schema paths are UTF-8");
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/../../schemas/{relative}\"))),"
        );
    }
    out.push(']');
    out
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("../../schemas")
        .canonicalize()
        .expect("the schemas folder exists");
    // Paths relative to the package: checkouts in other folders that share a target folder
    // (and so this build script's output) each watch their own schemas.
    println!("cargo:rerun-if-changed=../../schemas");
    let compat = root.join("compat");
    println!("cargo:rerun-if-changed=../../schemas/compat");

    let mut code = String::new();
    let _ = writeln!(
        code,
        "/// The current schemas: (full name, JSON).\npub static CURRENT: &[(&str, &str)] = {};",
        set_literal(&root, &avsc_files(&root))
    );
    let mut releases: Vec<PathBuf> = if compat.is_dir() {
        std::fs::read_dir(&compat)
            .expect("read schemas/compat")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect()
    } else {
        Vec::new()
    };
    releases.sort();
    code.push_str("/// Released schema sets, oldest first: (release, [(full name, JSON)]).\n");
    code.push_str("pub static RELEASES: &[(&str, &[(&str, &str)])] = &[\n");
    for release in &releases {
        let name = release
            .file_name()
            .and_then(|s| s.to_str())
            .expect("release folder names are UTF-8");
        println!("cargo:rerun-if-changed=../../schemas/compat/{name}");
        let _ = writeln!(
            code,
            "({name:?}, {}),",
            set_literal(&root, &avsc_files(release))
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("embedded.rs");
    std::fs::write(out, code).expect("write embedded schema table");
}
