//! `callsight legs FILE.json`: the call legs a saved Graph call record normalises to, as JSON —
//! the engineer's way to see what callsight understood from a record.

use crate::config::Config;
use callsight_graph::model::{CallRecord, SessionPage};
use callsight_graph::normalize::{Lookups, Tenant, legs};
use callsight_graph::privacy::TenantKey;
use callsight_graph::shape::{self, Shape};
use callsight_inventory::Inventory;
use callsight_telemetry::{Record, TimeWindow, ndjson};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The command's arguments (`callsight legs --help`).
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The call record (`GET /communications/callRecords/{id}?$expand=sessions($expand=segments)`).
    pub file: PathBuf,
    /// Further pages of sessions (bodies of `sessions@odata.nextLink`), in order.
    #[arg(long = "page")]
    pub pages: Vec<PathBuf>,
    /// Organization the tenant is linked to.
    #[arg(long, default_value = "org")]
    pub org: String,
    /// Tenant id.
    #[arg(long, default_value = "tenant")]
    pub tenant: String,
    /// Inventory to resolve sites with (NDJSON inventory lines, see docs/telemetry.md).
    #[arg(long)]
    pub inventory: Option<PathBuf>,
    /// Tenant key as 64 hex digits, for pseudonyms that match another run; a random key
    /// otherwise.
    #[arg(long)]
    pub key_hex: Option<String>,
    /// Seal the clear identity into the legs, as for a tenant that opted in.
    #[arg(long)]
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
    let json = |path: &PathBuf| {
        read(path).and_then(|b| {
            serde_json::from_slice::<serde_json::Value>(&b)
                .map_err(|e| format!("{}: not JSON: {e}", path.display()))
        })
    };
    let body = match json(&options.file) {
        Ok(body) => body,
        Err(e) => return fail(e),
    };
    let shape = shape::of(&body);
    if shape != Shape::CallRecord {
        let what_to_pass = match shape {
            Shape::SessionPage => {
                "pass the call record itself (GET /communications/callRecords/{id}?$expand=\
                 sessions($expand=segments)) as FILE, and this page after it with --page"
            }
            Shape::CallRecordList => {
                "pass one call record: save one of its items, or fetch it with \
                 GET /communications/callRecords/{id}?$expand=sessions($expand=segments)"
            }
            _ => {
                "pass a call record as Graph returns it \
                 (GET /communications/callRecords/{id}?$expand=sessions($expand=segments))"
            }
        };
        return fail(format!(
            "{} is {}: {what_to_pass}",
            options.file.display(),
            shape.words()
        ));
    }
    let mut record: CallRecord = match serde_json::from_value(body) {
        Ok(record) => record,
        Err(e) => {
            return fail(format!(
                "{}: not a call record: {e}",
                options.file.display()
            ));
        }
    };
    let mut next_link = record.sessions_next_link.clone();
    for page in &options.pages {
        let body = match json(page) {
            Ok(body) => body,
            Err(e) => return fail(e),
        };
        let shape = shape::of(&body);
        if shape != Shape::SessionPage {
            return fail(format!(
                "{} is {}, not a page of sessions: --page takes the bodies of the record's \
                 sessions@odata.nextLink, in order",
                page.display(),
                shape.words()
            ));
        }
        match serde_json::from_value::<SessionPage>(body) {
            Ok(page) => {
                record.sessions.extend(page.value);
                next_link = page.next_link;
            }
            Err(e) => return fail(format!("{}: not a page of sessions: {e}", page.display())),
        }
    }
    if let Some(link) = next_link {
        eprintln!(
            "callsight: warning: the record has more sessions than were given ({link}): fetch \
             that page and pass it with --page, or these legs miss its sessions"
        );
    }
    let mut inventory = Inventory::new();
    if let Some(path) = &options.inventory {
        let body = match read(path) {
            Ok(body) => body,
            Err(e) => return fail(e),
        };
        let batch = ndjson::Parser::new().parse(&body, TimeWindow::ANY);
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
    let key = match tenant_key(options.key_hex.as_deref()) {
        Ok(key) => key,
        Err(e) => return fail(e),
    };
    let fetched_at = callsight_model::clock::now_ms();
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
        Err(e) => fail(format!(
            "{}: {}",
            options.file.display(),
            callsight_core::error::Report(&e)
        )),
    }
}

/// The tenant key pseudonyms are made with: from `--key-hex` (64 hex digits), so that they
/// match another run's, else a random one for this run (said on stderr).
pub fn tenant_key(key_hex: Option<&str>) -> Result<TenantKey, String> {
    match key_hex {
        Some(hex_key) => hex::decode(hex_key.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(|secret| TenantKey::from_secret("cli", secret))
            .ok_or_else(|| "--key-hex takes 64 hex digits".to_string()),
        None => {
            eprintln!(
                "callsight: pseudonyms use a random key for this run (give --key-hex to fix them)"
            );
            TenantKey::generate("cli").map_err(|e| e.to_string())
        }
    }
}
