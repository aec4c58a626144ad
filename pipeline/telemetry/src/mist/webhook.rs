//! Mist webhook deliveries: `{"topic": ..., "events": [...]}`, one topic per delivery, each event
//! turned into samples on its own so that one bad event does not cost the others.
//!
//! Topics read: `client-sessions` and `client-join` (where a client is, roams), `client-info`
//! and `nac-accounting` (which IP a client has; STOP releases it), `device-events` and `device-updowns` (restarts,
//! port and WAN changes, channel changes) and `alarms`. Other topics (`ping`, `audits`,
//! location...) are acknowledged and counted as ignored. Topic spellings with `_` are accepted.

use super::events::event_kind;
use crate::band;
use crate::batch::{Batch, Record, Rejected};
use crate::bounds::{MAX_ITEM_BYTES, TimeWindow, check_id, json_within};
use callsight_model::lenient::{epoch_ms, number};
use callsight_model::types::{
    BindingKind, ClientBinding, EntityKind, NetworkEvent, NetworkEventKind, NetworkSample,
    SampleBody,
};
use callsight_model::{keys, mac};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `source` of the samples this module writes.
pub const SOURCE: &str = "mist";

/// A delivery that cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not JSON.
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    /// JSON, but not a webhook envelope.
    #[error("the body is not a Mist webhook envelope: {0}")]
    NotEnvelope(&'static str),
}

/// Who sent a delivery and when it arrived: what its events may say.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The org the URL names, authenticated by the delivery's signature: events that omit
    /// `org_id` are filed under it, and events naming another org are rejected. `None` (reading
    /// recordings) files each event under the org it names.
    pub org: Option<&'a str>,
    /// The event times accepted.
    pub window: TimeWindow,
}

/// Parses one delivery. Each event on its own: one that names another org than
/// [`Delivery::org`], lies outside [`Delivery::window`] or is larger than [`MAX_ITEM_BYTES`] is
/// rejected, and the others are kept.
pub fn parse(body: &[u8], delivery: &Delivery<'_>) -> Result<Batch, BodyError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| BodyError::NotJson(e.to_string()))?;
    let envelope = value
        .as_object()
        .ok_or(BodyError::NotEnvelope("not an object"))?;
    let topic = envelope
        .get("topic")
        .and_then(Value::as_str)
        .ok_or(BodyError::NotEnvelope("no topic"))?
        .replace('_', "-");
    // `single_event_per_message` may send one event object instead of an array.
    let events: Vec<&Value> = match envelope.get("events").or_else(|| envelope.get("event")) {
        Some(Value::Array(events)) => events.iter().collect(),
        Some(event @ Value::Object(_)) => vec![event],
        _ => return Err(BodyError::NotEnvelope("no events array")),
    };
    let mut batch = Batch::default();
    for (index, event) in events.into_iter().enumerate() {
        let result = match event.as_object() {
            None => Err("the event is not an object".to_string()),
            Some(_) if !json_within(event, MAX_ITEM_BYTES) => {
                Err(format!("the event is larger than {MAX_ITEM_BYTES} bytes"))
            }
            Some(event) => parse_event(&topic, event, delivery),
        };
        match result {
            Ok(Some(samples)) => batch
                .records
                .extend(samples.into_iter().map(Record::Sample)),
            Ok(None) => batch.ignored += 1,
            Err(error) => batch.rejected.push(Rejected::new(
                index,
                error,
                &serde_json::to_vec(event).unwrap_or_default(),
            )),
        }
    }
    Ok(batch)
}

type Event = Map<String, Value>;

fn text<'a>(event: &'a Event, key: &str) -> Option<&'a str> {
    event
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn required<'a>(event: &'a Event, key: &str) -> Result<&'a str, String> {
    text(event, key).ok_or_else(|| format!("no {key}"))
}

fn mac_field(event: &Event, key: &str) -> Result<String, String> {
    let raw = required(event, key)?;
    mac::normalize(raw).ok_or_else(|| format!("{key} {raw:?} is not a MAC address"))
}

fn opt_mac(event: &Event, key: &str) -> Option<String> {
    text(event, key).and_then(mac::normalize)
}

fn num(event: &Event, key: &str) -> Option<f64> {
    event.get(key).and_then(number)
}

/// Where and when an event happened.
struct Header {
    org_id: String,
    site_id: String,
    time: i64,
}

fn header(event: &Event, delivery: &Delivery<'_>, time_keys: &[&str]) -> Result<Header, String> {
    let org_id = match (text(event, "org_id"), delivery.org) {
        (Some(named), Some(url)) if named != url => {
            return Err("org_id names another org than the one the delivery is signed for".into());
        }
        (named, url) => check_id("org_id", named.or(url).ok_or("no org_id")?)?.to_string(),
    };
    let site_id = check_id("site_id", required(event, "site_id")?)?.to_string();
    let time = time_keys
        .iter()
        .find_map(|k| event.get(*k).and_then(epoch_ms))
        .ok_or_else(|| format!("no usable {}", time_keys.join(" or ")))?;
    let time = delivery.window.check(time)?;
    Ok(Header {
        org_id,
        site_id,
        time,
    })
}

fn sample(h: &Header, sequence: i64, body: SampleBody) -> NetworkSample {
    NetworkSample {
        org_id: h.org_id.clone(),
        site_id: h.site_id.clone(),
        time: h.time,
        source: SOURCE.into(),
        sequence,
        body,
    }
}

fn parse_event(
    topic: &str,
    event: &Event,
    delivery: &Delivery<'_>,
) -> Result<Option<Vec<NetworkSample>>, String> {
    match topic {
        "client-sessions" => client_sessions(event, delivery).map(Some),
        "client-join" => client_join(event, delivery).map(Some),
        "client-info" => client_ip(event, delivery, "ip").map(Some),
        "nac-accounting" => nac_accounting(event, delivery).map(Some),
        "device-events" | "device-updowns" => device_event(event, delivery).map(Some),
        "alarms" => alarm(event, delivery).map(Some),
        _ => Ok(None),
    }
}

fn random_mac(event: &Event, client: &str) -> bool {
    event
        .get("random_mac")
        .and_then(Value::as_bool)
        .unwrap_or_else(|| mac::is_randomized(client))
}

fn client_sessions(event: &Event, delivery: &Delivery<'_>) -> Result<Vec<NetworkSample>, String> {
    let h = header(
        event,
        delivery,
        &["disconnect_float", "disconnect", "timestamp"],
    )?;
    let client = mac_field(event, "mac")?;
    let next_ap = opt_mac(event, "next_ap");
    let roamed = num(event, "termination_reason") == Some(3.0) || next_ap.is_some();
    let binding = ClientBinding {
        random_mac: random_mac(event, &client),
        client_mac: client,
        kind: if roamed {
            BindingKind::Roam
        } else {
            BindingKind::Leave
        },
        ap_mac: opt_mac(event, "ap"),
        bssid: opt_mac(event, "bssid"),
        band: text(event, "band").map(band::parse).unwrap_or_default(),
        next_ap_mac: next_ap,
        rssi_dbm: num(event, "rssi"),
        session_seconds: num(event, "duration"),
        ..Default::default()
    };
    Ok(vec![sample(&h, 0, SampleBody::ClientBinding(binding))])
}

fn client_join(event: &Event, delivery: &Delivery<'_>) -> Result<Vec<NetworkSample>, String> {
    let h = header(event, delivery, &["connect_float", "connect", "timestamp"])?;
    let client = mac_field(event, "mac")?;
    let binding = ClientBinding {
        random_mac: random_mac(event, &client),
        client_mac: client,
        kind: BindingKind::Join,
        ap_mac: opt_mac(event, "ap"),
        bssid: opt_mac(event, "bssid"),
        band: text(event, "band").map(band::parse).unwrap_or_default(),
        rssi_dbm: num(event, "rssi"),
        ..Default::default()
    };
    Ok(vec![sample(&h, 0, SampleBody::ClientBinding(binding))])
}

/// nac-accounting: START and UPDATE bind the IP to the client; STOP ends the session and
/// releases the IP (a `leave` that names it: from then on the IP is nobody's until it is bound
/// again).
fn nac_accounting(event: &Event, delivery: &Delivery<'_>) -> Result<Vec<NetworkSample>, String> {
    let mut samples = client_ip(event, delivery, "client_ip")?;
    let stop = text(event, "type").is_some_and(|t| t.eq_ignore_ascii_case("NAC_ACCOUNTING_STOP"));
    if stop {
        for s in &mut samples {
            if let SampleBody::ClientBinding(b) = &mut s.body {
                b.kind = BindingKind::Leave;
            }
        }
    }
    Ok(samples)
}

/// client-info and nac-accounting: which IP a client has. The hostname is not kept (personal).
fn client_ip(
    event: &Event,
    delivery: &Delivery<'_>,
    ip_key: &str,
) -> Result<Vec<NetworkSample>, String> {
    let h = header(event, delivery, &["timestamp"])?;
    let client = mac_field(event, "mac")?;
    let ip = required(event, ip_key)?;
    ip.parse::<std::net::IpAddr>()
        .map_err(|_| format!("{ip_key} {ip:?} is not an IP address"))?;
    let port = match event.get("port_id") {
        Some(Value::Array(ports)) => ports.first().and_then(Value::as_str).map(str::to_string),
        Some(Value::String(p)) => Some(p.clone()),
        _ => None,
    };
    let wired = text(event, "client_type") == Some("wired");
    let binding = ClientBinding {
        random_mac: random_mac(event, &client),
        client_mac: client,
        kind: BindingKind::IpLearned,
        client_ip: Some(ip.to_string()),
        ap_mac: if wired { None } else { opt_mac(event, "ap") },
        bssid: opt_mac(event, "bssid"),
        switch_mac: if wired {
            opt_mac(event, "device_mac")
        } else {
            None
        },
        port_id: if wired {
            port.map(|p| p.trim_end_matches(".0").to_string())
        } else {
            None
        },
        vlan: num(event, "vlan").map(|v| v as i32),
        ..Default::default()
    };
    Ok(vec![sample(&h, 0, SampleBody::ClientBinding(binding))])
}

fn attributes(event: &Event, keys: &[&str]) -> BTreeMap<String, String> {
    keys.iter()
        .filter_map(|k| {
            let v = event.get(*k)?;
            let s = match v {
                Value::String(s) if !s.is_empty() => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some((k.to_string(), s))
        })
        .collect()
}

fn device_event(event: &Event, delivery: &Delivery<'_>) -> Result<Vec<NetworkSample>, String> {
    let h = header(event, delivery, &["timestamp"])?;
    let device = opt_mac(event, "mac")
        .or_else(|| opt_mac(event, "ap"))
        .ok_or("no device mac")?;
    let vendor_type = required(event, "type")?.to_string();
    let device_type = text(event, "device_type").unwrap_or("");
    let port = text(event, "port_id").map(str::to_string);
    let (kind, entity_kind) = event_kind(&vendor_type, device_type);
    // RRM actions that keep the channel are power or width changes, not channel changes.
    let kind = if kind == NetworkEventKind::RadioChannelChange
        && num(event, "channel").is_some()
        && num(event, "channel") == num(event, "pre_channel")
    {
        NetworkEventKind::Other
    } else {
        kind
    };
    let entity_id = match (&port, entity_kind) {
        (Some(port), EntityKind::SwitchPort) => keys::port_id(&device, port),
        (Some(port), EntityKind::WanLink) => keys::wan_link_id(&device, port),
        _ => device,
    };
    let body = NetworkEvent {
        kind,
        vendor_type,
        entity_kind,
        entity_id,
        reason: text(event, "reason").map(str::to_string),
        attributes: attributes(
            event,
            &[
                "port_id",
                "band",
                "channel",
                "pre_channel",
                "bandwidth",
                "power",
                "peer_mac",
                "vpn_name",
                "device_type",
            ],
        ),
    };
    Ok(vec![sample(&h, 0, SampleBody::Event(body))])
}

/// One event per entity an alarm names (APs, switches and ports, gateways), else one for the
/// site.
fn alarm(event: &Event, delivery: &Delivery<'_>) -> Result<Vec<NetworkSample>, String> {
    let h = header(event, delivery, &["timestamp", "last_seen"])?;
    let vendor_type = required(event, "type")?.to_string();
    let mut entities: Vec<(EntityKind, String)> = Vec::new();
    let macs = |key: &str| -> Vec<String> {
        event
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(mac::normalize)
            .collect()
    };
    entities.extend(macs("aps").into_iter().map(|m| (EntityKind::Ap, m)));
    entities.extend(
        macs("switches")
            .into_iter()
            .map(|m| (EntityKind::Switch, m)),
    );
    entities.extend(
        macs("gateways")
            .into_iter()
            .map(|m| (EntityKind::Gateway, m)),
    );
    for impacted in event
        .get("impacted_entities")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
    {
        let Some(m) = opt_mac(impacted, "entity_mac") else {
            continue;
        };
        match text(impacted, "port_id") {
            Some(port) => entities.push((EntityKind::SwitchPort, keys::port_id(&m, port))),
            None => entities.push((EntityKind::Switch, m)),
        }
    }
    entities.sort();
    entities.dedup();
    if entities.is_empty() {
        entities.push((EntityKind::Site, h.site_id.clone()));
    }
    let attrs = attributes(event, &["id", "severity", "group", "count", "status"]);
    Ok(entities
        .into_iter()
        .enumerate()
        .map(|(i, (entity_kind, entity_id))| {
            sample(
                &h,
                i as i64,
                SampleBody::Event(NetworkEvent {
                    kind: NetworkEventKind::Alarm,
                    vendor_type: vendor_type.clone(),
                    entity_kind,
                    entity_id,
                    reason: event
                        .get("reasons")
                        .and_then(Value::as_array)
                        .and_then(|r| r.first())
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    attributes: attrs.clone(),
                }),
            )
        })
        .collect())
}
