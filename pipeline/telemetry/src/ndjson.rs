//! The vendor-neutral telemetry format: newline-delimited JSON, one typed record per line.
//!
//! Every line is an object with `type`, `org_id`, `site_id` and `time` (epoch milliseconds, or an
//! RFC 3339 timestamp), optionally `source` (default `ndjson`) and `sequence` (default 0), and
//! the fields of the record it describes, with their units in their names:
//!
//! - observations for `net.telemetry`: `wireless_client`, `client_binding`, `ap`, `ap_radio`,
//!   `switch_port`, `wan_path`, `event`;
//! - inventory for `net.inventory`: `site`, `access_point`, `switch`, `gateway`, `subnet`,
//!   `wan_link` (`entity_id` optional, derived from the record when absent).
//!
//! MAC fields may use any usual spelling; they are normalised. A `switch_port` line may carry
//! cumulative counters (`rx_errors`, `tx_errors`, `rx_discards`, `tx_discards`, `rx_pkts`,
//! `tx_pkts`, as read from IF-MIB) instead of rates: they are turned into rates per second
//! between two lines of the same port. Unknown fields are an error, so that a unit mistake
//! (`rssi` for `rssi_dbm`) is reported rather than ignored. [`json_schema`] describes it all.

use crate::batch::{Batch, Record, Rejected};
use crate::bounds::{MAX_ITEM_BYTES, TimeWindow, check_id};
use crate::counters::Counters;
use callsight_model::lenient::parse_timestamp_ms;
use callsight_model::types::{
    AccessPointInfo, ApRadioSample, ApSample, ClientBinding, GatewayInfo, InventoryBody,
    InventoryRecord, NetworkEvent, NetworkSample, SampleBody, SiteInfo, SubnetInfo, SwitchInfo,
    SwitchPortSample, WanLinkInfo, WanPathSample, WirelessClientSample,
};
use callsight_model::{keys, mac};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// Default `source` of NDJSON lines.
pub const SOURCE: &str = "ndjson";

/// Cumulative IF-MIB-style counters a `switch_port` line may carry, and the rate each feeds.
const PORT_COUNTERS: [(&str, &str); 6] = [
    ("rx_errors", "rx_errors_per_s"),
    ("tx_errors", "tx_errors_per_s"),
    ("rx_discards", "rx_drops_per_s"),
    ("tx_discards", "tx_drops_per_s"),
    ("rx_pkts", "rx_pkts_per_s"),
    ("tx_pkts", "tx_pkts_per_s"),
];

/// Counters not updated for this long (event time) are forgotten: a port that came back after
/// that starts its rates afresh.
const COUNTER_HORIZON_MS: i64 = 3_600_000;

/// Parses NDJSON bodies; keeps counter state between bodies, bounded by forgetting counters
/// not updated within [`COUNTER_HORIZON_MS`] of the newest one.
#[derive(Debug, Default)]
pub struct Parser {
    counters: Counters,
    /// The newest counter time seen.
    newest_ms: i64,
    /// `newest_ms` when counters were last expired.
    expired_at_ms: i64,
}

impl Parser {
    /// A parser with no counter history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets counters not updated since `before_ms`.
    pub fn expire(&mut self, before_ms: i64) {
        self.counters.expire(before_ms);
    }

    /// Parses a body; every line on its own (line numbers from 1 in the rejects). A line whose
    /// time lies outside `window`, longer than [`MAX_ITEM_BYTES`], or with an id longer than
    /// [`MAX_ID_BYTES`](crate::bounds::MAX_ID_BYTES) is rejected before it touches any state.
    /// The same as [`Parser::finish`] of [`read`].
    pub fn parse(&mut self, body: &[u8], window: TimeWindow) -> Batch {
        self.finish(read(body, window))
    }

    /// Turns the cumulative counters of lines [`read`] before into rates, in line order, and
    /// gives the batch. Cheap next to reading: callers that parse bodies side by side read
    /// without the parser and take it only for this.
    pub fn finish(&mut self, lines: Lines) -> Batch {
        let Lines {
            mut records,
            rejected,
            ignored,
        } = lines;
        for (record, counters) in &mut records {
            let (Some(pending), Record::Sample(sample)) = (counters.take(), record) else {
                continue;
            };
            let SampleBody::SwitchPort(port) = &mut sample.body else {
                continue;
            };
            for (counter, value) in pending.values {
                self.newest_ms = self.newest_ms.max(sample.time);
                let rate = self
                    .counters
                    .rate(&pending.entity, counter, sample.time, value);
                let slot = match counter {
                    "rx_errors" => &mut port.rx_errors_per_s,
                    "tx_errors" => &mut port.tx_errors_per_s,
                    "rx_discards" => &mut port.rx_drops_per_s,
                    "tx_discards" => &mut port.tx_drops_per_s,
                    "rx_pkts" => &mut port.rx_pkts_per_s,
                    _ => &mut port.tx_pkts_per_s,
                };
                if slot.is_none() {
                    *slot = rate;
                }
            }
        }
        // Expire at most every tenth of the horizon, so the sweep costs little per body.
        if self.newest_ms - self.expired_at_ms >= COUNTER_HORIZON_MS / 10 {
            self.counters.expire(self.newest_ms - COUNTER_HORIZON_MS);
            self.expired_at_ms = self.newest_ms;
        }
        Batch {
            records: records.into_iter().map(|(r, _)| r).collect(),
            rejected,
            ignored,
        }
    }

    /// Counters tracked now.
    pub fn tracked_counters(&self) -> usize {
        self.counters.len()
    }

    fn line(line: &[u8], window: TimeWindow) -> Result<(Record, Option<Pending>), String> {
        if line.len() > MAX_ITEM_BYTES {
            return Err(format!(
                "the line is {} bytes long; at most {MAX_ITEM_BYTES} are accepted",
                line.len()
            ));
        }
        let value: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
        let Value::Object(mut fields) = value else {
            return Err("not a JSON object".into());
        };
        let kind = take_string(&mut fields, "type")?;
        let org_id = take_string(&mut fields, "org_id")?;
        let site_id = take_string(&mut fields, "site_id")?;
        let time = window.check(take_time(&mut fields)?)?;
        let source = match fields.remove("source") {
            None | Some(Value::Null) => SOURCE.to_string(),
            Some(Value::String(s)) if !s.is_empty() => check_id("source", &s)?.to_string(),
            Some(_) => return Err("source must be a non-empty string".into()),
        };
        let sequence = match fields.remove("sequence") {
            None | Some(Value::Null) => 0,
            Some(v) => v.as_i64().ok_or("sequence must be an integer")?,
        };
        normalize_macs(&mut fields)?;
        let sample = |body: SampleBody| {
            Record::Sample(NetworkSample {
                org_id: org_id.clone(),
                site_id: site_id.clone(),
                time,
                source: source.clone(),
                sequence,
                body,
            })
        };
        let record = match kind.as_str() {
            "wireless_client" => sample(SampleBody::WirelessClient(body::<WirelessClientSample>(
                fields,
            )?)),
            "client_binding" => sample(SampleBody::ClientBinding(body::<ClientBinding>(fields)?)),
            "ap" => sample(SampleBody::Ap(body::<ApSample>(fields)?)),
            "ap_radio" => sample(SampleBody::ApRadio(body::<ApRadioSample>(fields)?)),
            "switch_port" => {
                // Taken out before the port is read: they are not its fields.
                let values: Vec<(&'static str, f64)> = PORT_COUNTERS
                    .iter()
                    .filter_map(|(counter, _)| Some((*counter, fields.remove(*counter)?.as_f64()?)))
                    .collect();
                let port = body::<SwitchPortSample>(fields)?;
                let pending = (!values.is_empty()).then(|| Pending {
                    entity: format!("{org_id}/{}/{}", port.switch_mac, port.port_id),
                    values,
                });
                return Ok((sample(SampleBody::SwitchPort(port)), pending));
            }
            "wan_path" => sample(SampleBody::WanPath(body::<WanPathSample>(fields)?)),
            "event" => sample(SampleBody::Event(body::<NetworkEvent>(fields)?)),
            inventory => {
                let entity_id = match fields.remove("entity_id") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) if !s.is_empty() => Some(s),
                    Some(_) => return Err("entity_id must be a non-empty string".into()),
                };
                let (derived, body) = match inventory {
                    "site" => (
                        keys::inventory::site(&site_id),
                        InventoryBody::Site(body::<SiteInfo>(fields)?),
                    ),
                    "access_point" => {
                        let ap = body::<AccessPointInfo>(fields)?;
                        (
                            keys::inventory::ap(&ap.ap_mac),
                            InventoryBody::AccessPoint(ap),
                        )
                    }
                    "switch" => {
                        let s = body::<SwitchInfo>(fields)?;
                        (
                            keys::inventory::switch(&s.switch_mac),
                            InventoryBody::Switch(s),
                        )
                    }
                    "gateway" => {
                        let g = body::<GatewayInfo>(fields)?;
                        (
                            keys::inventory::gateway(&g.gateway_mac),
                            InventoryBody::Gateway(g),
                        )
                    }
                    "subnet" => {
                        let s = body::<SubnetInfo>(fields)?;
                        check_cidr(&s.cidr)?;
                        (
                            keys::inventory::subnet(&org_id, &site_id, &s.cidr),
                            InventoryBody::Subnet(s),
                        )
                    }
                    "wan_link" => {
                        let w = body::<WanLinkInfo>(fields)?;
                        (
                            keys::inventory::wan_link(&w.gateway_mac, &w.port_id),
                            InventoryBody::WanLink(w),
                        )
                    }
                    other => {
                        return Err(format!(
                            "unknown type {other:?} (one of: {})",
                            TYPES.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", ")
                        ));
                    }
                };
                Record::Inventory(InventoryRecord {
                    org_id,
                    site_id,
                    entity_id: entity_id.unwrap_or(derived),
                    updated_at: time,
                    source,
                    body,
                })
            }
        };
        Ok((record, None))
    }
}

/// A body's lines read without counter state: what [`Parser::finish`] completes.
#[derive(Debug, Default)]
pub struct Lines {
    records: Vec<(Record, Option<Pending>)>,
    rejected: Vec<Rejected>,
    ignored: usize,
}

/// A port's cumulative counters, waiting to become rates.
#[derive(Debug)]
struct Pending {
    entity: String,
    values: Vec<(&'static str, f64)>,
}

/// Reads a body's lines, each on its own (line numbers from 1 in the rejects), without the
/// counter state: bodies can be read side by side, and [`Parser::finish`] then turns their
/// counters into rates.
pub fn read(body: &[u8], window: TimeWindow) -> Lines {
    let mut lines = Lines::default();
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            continue;
        }
        match Parser::line(trimmed, window) {
            Ok(record) => lines.records.push(record),
            Err(error) => lines.rejected.push(Rejected::new(i + 1, error, trimmed)),
        }
    }
    lines
}

fn take_string(fields: &mut Map<String, Value>, key: &str) -> Result<String, String> {
    match fields.remove(key) {
        Some(Value::String(s)) if !s.is_empty() => check_id(key, &s).map(str::to_string),
        Some(_) => Err(format!("{key} must be a non-empty string")),
        None => Err(format!("no {key}")),
    }
}

fn take_time(fields: &mut Map<String, Value>) -> Result<i64, String> {
    match fields.remove("time") {
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| "time must be an integer of epoch milliseconds".to_string()),
        Some(Value::String(s)) => {
            parse_timestamp_ms(&s).ok_or_else(|| format!("time {s:?} is not an RFC 3339 timestamp"))
        }
        Some(_) => Err("time must be epoch milliseconds or an RFC 3339 timestamp".into()),
        None => Err("no time".into()),
    }
}

fn body<T: DeserializeOwned>(fields: Map<String, Value>) -> Result<T, String> {
    serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string())
}

fn check_cidr(cidr: &str) -> Result<(), String> {
    if !cidr.contains('/') {
        return Err(format!("cidr {cidr:?} has no prefix length"));
    }
    cidr.parse::<ipnet::IpNet>()
        .map(|_| ())
        .map_err(|_| format!("cidr {cidr:?} is not an IP address with a valid prefix length"))
}

/// Normalises every MAC-valued field (`*_mac`, `bssid`, `bssids`), at any depth.
fn normalize_macs(fields: &mut Map<String, Value>) -> Result<(), String> {
    for (key, value) in fields.iter_mut() {
        let is_mac = key.ends_with("_mac") || key == "bssid";
        match value {
            Value::String(raw) if is_mac => {
                *value = Value::String(
                    mac::normalize(raw)
                        .ok_or_else(|| format!("{key} {raw:?} is not a MAC address"))?,
                );
            }
            Value::Array(items) if key == "bssids" => {
                for item in items.iter_mut() {
                    if let Value::String(raw) = item {
                        *item = Value::String(
                            mac::normalize(raw)
                                .ok_or_else(|| format!("bssid {raw:?} is not a MAC address"))?,
                        );
                    }
                }
            }
            Value::Object(inner) => normalize_macs(inner)?,
            Value::Array(items) => {
                for item in items.iter_mut() {
                    if let Value::Object(inner) = item {
                        normalize_macs(inner)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Every line type and what it describes.
pub const TYPES: [(&str, &str); 13] = [
    (
        "wireless_client",
        "Per-interval radio statistics of one Wi-Fi client.",
    ),
    (
        "client_binding",
        "Where a client was attached, and with which IP, from this time on.",
    ),
    ("ap", "Per-interval health of one access point."),
    ("ap_radio", "Per-interval statistics of one AP radio."),
    (
        "switch_port",
        "Per-interval statistics of one switch or gateway port.",
    ),
    ("wan_path", "Per-interval quality of one WAN link or path."),
    ("event", "A discrete network event."),
    ("site", "A site (inventory)."),
    (
        "access_point",
        "An access point, its radios and uplink (inventory).",
    ),
    (
        "switch",
        "A switch and its ports with LLDP neighbours (inventory).",
    ),
    ("gateway", "A WAN edge gateway (inventory)."),
    ("subnet", "A subnet and VLAN of a site (inventory)."),
    (
        "wan_link",
        "A WAN link of a gateway, with its ISP (inventory).",
    ),
];

/// The JSON Schema (2020-12) of one NDJSON line, generated from the record types.
pub fn json_schema() -> Value {
    fn of<T: schemars::JsonSchema>() -> Value {
        serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null)
    }
    let bodies: Vec<Value> = vec![
        of::<WirelessClientSample>(),
        of::<ClientBinding>(),
        of::<ApSample>(),
        of::<ApRadioSample>(),
        of::<SwitchPortSample>(),
        of::<WanPathSample>(),
        of::<NetworkEvent>(),
        of::<SiteInfo>(),
        of::<AccessPointInfo>(),
        of::<SwitchInfo>(),
        of::<GatewayInfo>(),
        of::<SubnetInfo>(),
        of::<WanLinkInfo>(),
    ];
    let mut defs = Map::new();
    let mut variants = Vec::new();
    for ((kind, description), mut body) in TYPES.iter().zip(bodies) {
        if let Some(Value::Object(d)) = body.get_mut("$defs").map(Value::take) {
            defs.extend(d);
        }
        let mut properties = body
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut required: Vec<Value> = body
            .get("required")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        properties.insert("type".into(), json!({ "const": kind }));
        properties.insert(
            "org_id".into(),
            json!({ "type": "string", "minLength": 1, "description": "Organization." }),
        );
        properties.insert(
            "site_id".into(),
            json!({ "type": "string", "minLength": 1, "description": "Site." }),
        );
        properties.insert(
            "time".into(),
            json!({
                "description": "Event time: epoch milliseconds, or an RFC 3339 timestamp.",
                "oneOf": [ { "type": "integer" }, { "type": "string", "format": "date-time" } ]
            }),
        );
        properties.insert("source".into(), json!({ "type": "string", "minLength": 1, "description": "Producer of the record (default ndjson)." }));
        properties.insert("sequence".into(), json!({ "type": "integer", "description": "Sequence number distinguishing records of one entity at one time (default 0)." }));
        if *kind == "switch_port" {
            for (counter, rate) in PORT_COUNTERS {
                properties.insert(
                    counter.into(),
                    json!({ "type": "integer", "minimum": 0, "description": format!("Cumulative counter (IF-MIB style); turned into {rate} when that is absent.") }),
                );
            }
        }
        if TYPES.iter().position(|(t, _)| t == kind).unwrap_or(0) >= 7 {
            properties.insert("entity_id".into(), json!({ "type": "string", "minLength": 1, "description": "Inventory key; derived from the record when absent." }));
        }
        for key in ["type", "org_id", "site_id", "time"] {
            required.push(Value::String(key.into()));
        }
        variants.push(json!({
            "title": kind,
            "description": description,
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        }));
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://callsight.invalid/schemas/telemetry.schema.json",
        "title": "callsight vendor-neutral telemetry line",
        "description": "One line of the NDJSON body of POST /telemetry.",
        "oneOf": variants,
        "$defs": defs,
    })
}

/// The NDJSON line of a record (without the newline): the inverse of parsing, for exporters
/// written in Rust, the simulator and tests.
pub fn to_line(record: &Record) -> String {
    let (kind, envelope, body) = match record {
        Record::Sample(s) => {
            let (kind, body) = match &s.body {
                SampleBody::WirelessClient(b) => ("wireless_client", serde_json::to_value(b)),
                SampleBody::ClientBinding(b) => ("client_binding", serde_json::to_value(b)),
                SampleBody::Ap(b) => ("ap", serde_json::to_value(b)),
                SampleBody::ApRadio(b) => ("ap_radio", serde_json::to_value(b)),
                SampleBody::SwitchPort(b) => ("switch_port", serde_json::to_value(b)),
                SampleBody::WanPath(b) => ("wan_path", serde_json::to_value(b)),
                SampleBody::Event(b) => ("event", serde_json::to_value(b)),
            };
            let envelope = json!({
                "org_id": s.org_id, "site_id": s.site_id, "time": s.time,
                "source": s.source, "sequence": s.sequence,
            });
            (kind, envelope, body)
        }
        Record::Inventory(i) => {
            let (kind, body) = match &i.body {
                InventoryBody::Site(b) => ("site", serde_json::to_value(b)),
                InventoryBody::AccessPoint(b) => ("access_point", serde_json::to_value(b)),
                InventoryBody::Switch(b) => ("switch", serde_json::to_value(b)),
                InventoryBody::Gateway(b) => ("gateway", serde_json::to_value(b)),
                InventoryBody::Subnet(b) => ("subnet", serde_json::to_value(b)),
                InventoryBody::WanLink(b) => ("wan_link", serde_json::to_value(b)),
            };
            let envelope = json!({
                "org_id": i.org_id, "site_id": i.site_id, "time": i.updated_at,
                "source": i.source, "entity_id": i.entity_id,
            });
            (kind, envelope, body)
        }
    };
    let mut fields = match body {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    // Absent beats null: smaller lines, the same record.
    fields.retain(|_, v| !v.is_null());
    fields.insert("type".into(), Value::String(kind.into()));
    if let Value::Object(envelope) = envelope {
        fields.extend(envelope);
    }
    Value::Object(fields).to_string()
}
