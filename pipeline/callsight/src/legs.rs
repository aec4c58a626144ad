//! `callsight legs FILE.json`: the call legs a saved Graph call record normalises to, as JSON —
//! the engineer's way to see what callsight understood from a record.

use callsight_core::Config;
use callsight_graph::model::{CallRecord, SessionPage};
use callsight_graph::normalize::{Lookups, Tenant, legs};
use callsight_graph::privacy::TenantKey;
use callsight_inventory::Inventory;
use callsight_telemetry::{Record, ndjson};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The command's arguments.
#[derive(Debug, Clone)]
pub struct Options {
    /// The record.
    pub file: PathBuf,
    /// Further session pages.
    pub pages: Vec<PathBuf>,
    /// Organization.
    pub org: String,
    /// Tenant.
    pub tenant: String,
    /// NDJSON inventory.
    pub inventory: Option<PathBuf>,
    /// Tenant key, hex.
    pub key_hex: Option<String>,
    /// Seal identities.
    pub keep_identity: bool,
}

fn fail(message: String) -> ExitCode {
    eprintln!("callsight: {message}");
    ExitCode::from(2)
}

/// Runs the command: 0 with the legs on stdout, 2 when an input cannot be used.
pub fn run(config: &Config, options: &Options) -> ExitCode {
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let mut record: CallRecord = match read(&options.file).and_then(|b| {
        serde_json::from_slice(&b)
            .map_err(|e| format!("{}: not a call record: {e}", options.file.display()))
    }) {
        Ok(record) => record,
        Err(e) => return fail(e),
    };
    for page in &options.pages {
        match read(page).and_then(|b| {
            serde_json::from_slice::<SessionPage>(&b)
                .map_err(|e| format!("{}: not a page of sessions: {e}", page.display()))
        }) {
            Ok(page) => record.sessions.extend(page.value),
            Err(e) => return fail(e),
        }
    }
    let mut inventory = Inventory::new();
    if let Some(path) = &options.inventory {
        let body = match read(path) {
            Ok(body) => body,
            Err(e) => return fail(e),
        };
        let batch = ndjson::Parser::new().parse(&body);
        for rejected in &batch.rejected {
            eprintln!(
                "callsight: {} line {}: {}",
                path.display(),
                rejected.index,
                rejected.error
            );
        }
        for record in batch.records {
            if let Record::Inventory(r) = record {
                inventory.apply(r);
            }
        }
    }
    let key = match &options.key_hex {
        Some(hex_key) => match hex::decode(hex_key.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
        {
            Some(secret) => TenantKey::from_secret("cli", secret),
            None => return fail("--key-hex takes 64 hex digits".into()),
        },
        None => {
            eprintln!(
                "callsight: pseudonyms use a random key for this run (give --key-hex to fix them)"
            );
            match TenantKey::generate("cli") {
                Ok(key) => key,
                Err(e) => return fail(e.to_string()),
            }
        }
    };
    let fetched_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let result = legs(
        &record,
        Tenant {
            org_id: &options.org,
            tenant_id: &options.tenant,
            key: &key,
            keep_identity: options.keep_identity,
        },
        Lookups {
            inventory: &inventory,
            classification: &config.classification,
        },
        fetched_at,
    );
    match result {
        Ok(legs) => {
            let text = serde_json::to_string_pretty(&legs).unwrap_or_default() + "\n";
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("{}: {e}", options.file.display())),
    }
}
