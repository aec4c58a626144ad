//! Building a leg's state view from the windows: find the leg's client (by MAC, else by IP at
//! that time, else by BSSID), its path (AP and radio, the switch ports to the gateway through
//! LLDP, the site's WAN links), every observation of those entities around the leg, and their
//! usual values from the hours before it.

use crate::attachment::{self, Attachment};
use crate::ip_binding;
use callsight_inventory::Inventory;
use callsight_model::codec::single_object;
use callsight_model::keys;
use callsight_model::types::{
    BindingKind, CallLeg, ConnectionType, NetworkSample, SampleBody, WifiBand,
};
use callsight_rca::RcaConfig;
use callsight_rca::view::{MatchMethod, Path, PortRef, PortRole, StateView, WanRef};
use callsight_state::{StateError, Store, Window};
use std::collections::BTreeMap;

/// Time ranges of a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Observations older than this are expired (watermark − retention).
    pub expired_before: i64,
    /// Evidence margin around the leg, ms.
    pub margin_ms: i64,
    /// History read for baselines, before the leg, ms.
    pub baseline_history_ms: i64,
    /// Slices that history is cut into.
    pub baseline_slices: u32,
}

fn decode_all(rows: Vec<(callsight_state::WindowKey, Vec<u8>)>) -> Vec<NetworkSample> {
    rows.into_iter()
        .filter_map(|(_, bytes)| single_object::decode::<NetworkSample>(&bytes).ok())
        .collect()
}

struct Reader<'a> {
    store: &'a Store,
    partition: u32,
    /// The leg's org: only its windows are read.
    org: &'a str,
    from: i64,
    to: i64,
}

impl Reader<'_> {
    fn window(&self, window: Window, entity: &str) -> Result<Vec<NetworkSample>, StateError> {
        Ok(decode_all(self.store.window(
            self.partition,
            window,
            &keys::org_entity(self.org, entity),
            self.from,
            self.to,
        )?))
    }

    /// The MAC that had `ip` last in the span, from the IP binding window (whole buckets).
    fn mac_of_ip(&self, ip: &str) -> Result<Option<String>, StateError> {
        let from = ip_binding::first_whole_bucket(self.from);
        let entries = self
            .store
            .window(
                self.partition,
                Window::BindingByIp,
                &keys::org_entity(self.org, ip),
                from,
                self.to,
            )?
            .into_iter()
            .filter_map(|(key, value)| {
                Some(ip_binding::Entry {
                    time: key.time,
                    sequence: key.sequence,
                    mac: ip_binding::mac(&value)?,
                })
            });
        Ok(ip_binding::latest_mac(entries))
    }
}

/// The client's attachment as the latest binding at or before `at` shows it.
fn latest_binding(samples: &[NetworkSample], at: i64) -> Option<&NetworkSample> {
    samples
        .iter()
        .filter(|s| s.time <= at && matches!(s.body, SampleBody::ClientBinding(_)))
        .max_by(|a, b| (a.time, a.sequence).cmp(&(b.time, b.sequence)))
}

/// Builds the view of `leg` (partial and missing are set by the caller too).
pub fn build(
    store: &Store,
    partition: u32,
    leg: &CallLeg,
    inventory: &Inventory,
    rca: &RcaConfig,
    span: Span,
) -> Result<StateView, StateError> {
    let window_from = leg.leg_start - span.margin_ms;
    let window_to = leg.leg_end + span.margin_ms;
    let history_from =
        (leg.leg_start - span.margin_ms - span.baseline_history_ms).max(span.expired_before);
    let reader = Reader {
        store,
        partition,
        org: &leg.org_id,
        from: history_from.min(window_from).max(span.expired_before),
        to: window_to,
    };
    // Bindings can be far older than the call (an IP learned at 8:00, a call at 11:00).
    let bindings = Reader {
        from: span.expired_before,
        ..reader
    };
    let mut missing = Vec::new();
    let mut samples: Vec<NetworkSample> = Vec::new();
    let mut path = Path::default();
    let mut client_match = MatchMethod::None;
    let org = leg.org_id.as_str();

    // The client: by MAC, else by IP at that time.
    let mut client_mac: Option<String> = None;
    // A wired attachment kept past the windows, reported before the leg ended; read once per
    // MAC (the leg's, and the one its IP names when that is another).
    let mut kept_of: Option<(String, Option<Attachment>)> = None;
    let mut kept = |mac: &str| -> Result<Option<Attachment>, StateError> {
        if let Some((of, kept)) = &kept_of
            && of == mac
        {
            return Ok(kept.clone());
        }
        let kept = attachment::read(store, partition, org, mac)?
            .filter(|a| a.time <= window_to && a.port().is_some());
        kept_of = Some((mac.to_string(), kept.clone()));
        Ok(kept)
    };
    if let Some(mac) = leg.network.mac_address.as_deref().filter(|m| !m.is_empty()) {
        let wireless = reader.window(Window::ClientMac, mac)?;
        let attached = bindings.window(Window::Binding, mac)?;
        if !wireless.is_empty() || !attached.is_empty() || kept(mac)?.is_some() {
            client_mac = Some(mac.to_string());
            client_match = MatchMethod::Mac;
        }
    }
    if client_mac.is_none()
        && let Some(ip) = leg.network.ip_address.as_deref().filter(|i| !i.is_empty())
        && let Some(mac) = bindings.mac_of_ip(ip)?
    {
        client_mac = Some(mac);
        client_match = MatchMethod::Ip;
    }
    if let Some(mac) = &client_mac {
        path.client_mac = Some(mac.clone());
        samples.extend(reader.window(Window::ClientMac, mac)?);
        let attached = bindings.window(Window::Binding, mac)?;
        // The attachment when the leg started, and every change during it.
        let at_start = latest_binding(&attached, leg.leg_start).cloned();
        samples.extend(
            attached
                .into_iter()
                .filter(|s| s.time >= reader.from || Some(s) == at_start.as_ref()),
        );
        if let Some(binding) = at_start {
            samples.push(binding);
        }
    }

    // The AP: the one the client's samples name most during the leg, else its binding, else the
    // BSSID Teams reported.
    let mut ap_votes: BTreeMap<String, (usize, WifiBand)> = BTreeMap::new();
    let mut wired_port: Option<(String, String)> = None;
    for s in &samples {
        match &s.body {
            SampleBody::WirelessClient(c) if s.time >= window_from && s.time <= window_to => {
                let vote = ap_votes.entry(c.ap_mac.clone()).or_insert((0, c.band));
                vote.0 += 1;
            }
            _ => {}
        }
    }
    let binding = latest_binding(&samples, leg.leg_end);
    if ap_votes.is_empty()
        && let Some(SampleBody::ClientBinding(b)) = binding.map(|s| &s.body)
    {
        match (b.kind, &b.switch_mac, &b.port_id) {
            (BindingKind::Leave, _, _) => {}
            (BindingKind::WiredAttach | BindingKind::IpLearned, Some(switch), Some(port)) => {
                wired_port = Some((switch.clone(), port.clone()));
                path.attached_at = binding.map(|s| s.time);
            }
            _ => {
                if let Some(ap) = &b.ap_mac {
                    ap_votes.insert(ap.clone(), (1, b.band));
                }
            }
        }
    }
    // No binding in the windows: the attachment kept past them, if the client is wired.
    if ap_votes.is_empty()
        && binding.is_none()
        && let Some(mac) = &client_mac
        && let Some(attachment) = kept(mac)?
        && let Some((switch, port)) = attachment.port()
    {
        wired_port = Some((switch.to_string(), port.to_string()));
        path.attached_at = Some(attachment.time);
    }
    let bssid_radio = leg
        .network
        .bssid
        .as_deref()
        .and_then(|b| inventory.radio_of_bssid(org, b));
    if client_mac.is_none() && bssid_radio.is_some() {
        client_match = MatchMethod::Bssid;
    }
    let ap = ap_votes
        .iter()
        .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.0.cmp(a.0)))
        .map(|(ap, (_, band))| (ap.clone(), *band))
        .or_else(|| bssid_radio.map(|r| (r.ap_mac.clone(), r.band)));
    if let Some((ap_mac, band)) = ap {
        let band = if band == WifiBand::Unknown {
            leg.network.wifi_band
        } else {
            band
        };
        if let Some(radio) = bssid_radio.filter(|r| r.ap_mac == ap_mac) {
            path.radio_mac = Some(radio.radio_mac.clone());
            path.ap_name = radio.ap_name.clone();
        }
        path.ap_mac = Some(ap_mac.clone());
        path.band = band;
        samples.extend(reader.window(Window::Ap, &ap_mac)?);
        samples.extend(reader.window(Window::Radio, &keys::radio_id(&ap_mac, band))?);
        // The AP's switch port, from LLDP.
        if let Some(uplink) = inventory.ap_uplink(&ap_mac)
            && let (Some(switch), Some(port)) = (&uplink.chassis_mac, &uplink.port_id)
        {
            wired_port = Some((switch.clone(), port.clone()));
        }
    } else if matches!(leg.network.connection_type, ConnectionType::Wifi) {
        missing
            .push("the client's AP (no telemetry for its MAC or IP, and an unknown BSSID)".into());
    }

    // Switch ports: the access port, then the switch's uplinks.
    if let Some((switch, port)) = wired_port {
        path.ports.push(PortRef {
            switch_mac: switch.clone(),
            port_id: port,
            role: PortRole::Access,
        });
        for uplink in inventory.switch_uplinks(&switch) {
            path.ports.push(PortRef {
                switch_mac: switch.clone(),
                port_id: uplink,
                role: PortRole::Uplink,
            });
        }
    }
    for port in &path.ports {
        samples.extend(reader.window(
            Window::Port,
            &keys::port_id(&port.switch_mac, &port.port_id),
        )?);
    }

    // The site's WAN links and events.
    if let Some(site) = leg.site_id.as_deref() {
        for link in inventory.wan_links(org, site) {
            path.wan_links.push(WanRef {
                gateway_mac: link.gateway_mac.clone(),
                wan_port_id: link.port_id.clone(),
                isp: link.isp.clone(),
                capacity_down_bps: link.capacity_down_bps,
                capacity_up_bps: link.capacity_up_bps,
            });
            samples.extend(reader.window(
                Window::Wan,
                &keys::wan_link_id(&link.gateway_mac, &link.port_id),
            )?);
        }
        samples.extend(reader.window(Window::SiteEvents, &keys::site_key(org, site))?);
    }
    if client_mac.is_none() && leg.site_id.is_some() {
        missing.push("telemetry of the client (by MAC or by IP)".into());
    }

    let mut view = StateView {
        client_match,
        path,
        samples,
        baselines: Vec::new(),
        partial: false,
        missing,
    };
    let slices = baseline_slices(leg.leg_start - span.margin_ms, span);
    view.baselines = callsight_rca::evidence::baselines(leg, &view, rca, &slices);
    view.samples
        .retain(|s| s.time >= window_from && s.time <= window_to);
    view.samples
        .sort_by(|a, b| (a.time, a.sequence, &a.source).cmp(&(b.time, b.sequence, &b.source)));
    view.samples.dedup();
    Ok(view)
}

/// `slices` equal slices of the history before `end`, oldest first, none before the expiry.
fn baseline_slices(end: i64, span: Span) -> Vec<(i64, i64)> {
    let n = i64::from(span.baseline_slices.max(1));
    let width = span.baseline_history_ms / n;
    if width <= 0 {
        return Vec::new();
    }
    (0..n)
        .map(|i| {
            let start = end - (n - i) * width;
            (start, start + width - 1)
        })
        .filter(|(start, _)| *start >= span.expired_before)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use callsight_model::types::WirelessClientSample;
    use callsight_state::{Batch, StoreOptions, WindowKey};
    use callsight_testkit::samples;

    fn client(mac: &str, ip: &str, time: i64, sequence: i64) -> NetworkSample {
        NetworkSample {
            org_id: "org".into(),
            site_id: "site".into(),
            time,
            source: "mist".into(),
            sequence,
            body: SampleBody::WirelessClient(WirelessClientSample {
                client_mac: mac.into(),
                client_ip: Some(ip.into()),
                ..Default::default()
            }),
        }
    }

    /// A leg on `org`/`site` known only by the IP 10.0.0.9.
    fn ip_leg(start: i64, end: i64) -> CallLeg {
        let mut leg = samples::call_leg();
        leg.org_id = "org".into();
        leg.site_id = Some("site".into());
        leg.leg_start = start;
        leg.leg_end = end;
        leg.network.mac_address = None;
        leg.network.ip_address = Some("10.0.0.9".into());
        leg
    }

    /// A span with a minute of margin, no baselines, expired before `expired_before`.
    fn span(expired_before: i64) -> Span {
        Span {
            expired_before,
            margin_ms: 60_000,
            baseline_history_ms: 0,
            baseline_slices: 1,
        }
    }

    /// Writes `sample` to its windows as the processor does (remembering in `written`), or,
    /// with `whole`, as earlier versions did (the whole observation in the IP binding window too).
    fn put(
        batch: &mut Batch,
        written: &mut ip_binding::Written,
        sample: &NetworkSample,
        whole: bool,
    ) {
        let bytes = single_object::encode(sample).expect("encodes");
        if whole {
            for key in crate::index::keys(0, sample) {
                batch.put_window(&key, &bytes);
            }
        } else {
            crate::index::put(batch, 0, sample, &bytes, written);
        }
    }

    #[test]
    fn a_leg_with_only_an_ip_finds_the_client_that_had_it_last() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), &StoreOptions::default()).expect("opens");
        let minute = 60_000;
        let mut batch = Batch::new();
        let mut written = ip_binding::Written::default();
        // The IP was another client's (kept whole), then this one's, reporting every minute
        // (kept compact, the first report of each ten minutes only); a third client had it
        // after the call.
        put(
            &mut batch,
            &mut written,
            &client("aaaaaaaaaaaa", "10.0.0.9", 10 * minute, 1),
            true,
        );
        for m in 20..29 {
            put(
                &mut batch,
                &mut written,
                &client("bbbbbbbbbbbb", "10.0.0.9", m * minute, m),
                false,
            );
        }
        put(
            &mut batch,
            &mut written,
            &client("cccccccccccc", "10.0.0.9", 90 * minute, 90),
            false,
        );
        store.write(batch).expect("writes");
        let key = WindowKey {
            partition: 0,
            window: Window::BindingByIp,
            entity: keys::org_entity("org", "10.0.0.9").into(),
            time: 20 * minute,
            sequence: 20,
            source: ip_binding::key_source("bbbbbbbbbbbb", "mist").into(),
        };
        let entries = store
            .window(
                0,
                Window::BindingByIp,
                &keys::org_entity("org", "10.0.0.9"),
                0,
                30 * minute,
            )
            .expect("reads");
        assert_eq!(
            entries
                .iter()
                .map(|(k, v)| (k == &key, v.len()))
                .collect::<Vec<_>>(),
            vec![(false, entries[0].1.len()), (true, 13)],
            "the whole binding, then one compact binding (the MAC after a zero byte) for the \
             nine reports"
        );

        let mut leg = ip_leg(25 * minute, 30 * minute);
        let span = span(0);
        let (inventory, rca) = (Inventory::default(), RcaConfig::default());
        let view_of =
            |leg: &CallLeg| build(&store, 0, leg, &inventory, &rca, span).expect("a view");
        let view = view_of(&leg);
        assert_eq!(view.client_match, MatchMethod::Ip);
        assert_eq!(view.path.client_mac.as_deref(), Some("bbbbbbbbbbbb"));

        // Only the older, whole binding before the call: still read.
        leg.leg_start = 12 * minute;
        leg.leg_end = 15 * minute;
        assert_eq!(
            view_of(&leg).path.client_mac.as_deref(),
            Some("aaaaaaaaaaaa")
        );
    }

    #[test]
    fn the_ten_minutes_the_expiry_cuts_are_not_read_so_forgetting_changes_nothing() {
        let minute = 60_000;
        // A had the IP at 3 and 8 minutes, B at 6, reported late: A's report at 8 is not
        // written (A's earliest in those ten minutes is), unless a restart came between.
        let reports = [
            client("aaaaaaaaaaaa", "10.0.0.9", 3 * minute, 1),
            client("aaaaaaaaaaaa", "10.0.0.9", 8 * minute, 3),
            client("bbbbbbbbbbbb", "10.0.0.9", 6 * minute, 2),
        ];
        let leg = ip_leg(7 * minute, 9 * minute);
        // Expired before 5 minutes: compaction may have dropped the report at 3.
        let span = span(5 * minute);
        let (inventory, rca) = (Inventory::default(), RcaConfig::default());
        let mut found = Vec::new();
        for restarted in [false, true] {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = Store::open(dir.path(), &StoreOptions::default()).expect("opens");
            let mut batch = Batch::new();
            let mut written = ip_binding::Written::default();
            for (i, report) in reports.iter().enumerate() {
                if restarted && i == 1 {
                    written = ip_binding::Written::default();
                }
                put(&mut batch, &mut written, report, false);
            }
            store.write(batch).expect("writes");
            let view = build(&store, 0, &leg, &inventory, &rca, span).expect("a view");
            found.push(view.path.client_mac);
        }
        // Reading from 5 minutes would find B without the restart and A with it.
        assert_eq!(found, vec![None, None]);
    }
}
