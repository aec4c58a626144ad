//! Which windows an observation belongs to, and under which entity.
//!
//! | observation | windows (entity) |
//! |---|---|
//! | wireless client | client by MAC; client IP binding when it carries an IP ([`crate::ip_binding`]) |
//! | client binding (join, roam, IP learned, wired attach) | binding by MAC; binding by IP |
//! | AP radio | radio (`ap_mac/band`) |
//! | AP | AP (`ap_mac`) |
//! | switch port | port (`switch_mac/port_id`) |
//! | WAN path | WAN (`gateway_mac/wan_port_id`); an overlay path's own identity ([`path_source`]) |
//! | network event | the site's events (`org|site`) |

use crate::ip_binding;
use callsight_model::keys;
use callsight_model::types::{NetworkSample, SampleBody};
use callsight_state::{Batch, Window, WindowKey};
use std::borrow::Cow;

/// Writes an observation to its windows in `partition`: `bytes` (its single-object encoding) to
/// each, but the IP binding window, which gets the MAC under a key whose source names the MAC too,
/// and only when `written` says the window lacks it ([`crate::ip_binding`]).
pub fn put(
    batch: &mut Batch,
    partition: u32,
    sample: &NetworkSample,
    bytes: &[u8],
    written: &mut ip_binding::Written,
) {
    for key in keys(partition, sample) {
        match key.window {
            Window::BindingByIp => {
                if let Some((mac, _)) = ip_binding::binding(sample)
                    && written.admit(&key.entity, mac, sample.time, sample.sequence)
                {
                    let key = WindowKey {
                        source: Cow::Owned(ip_binding::key_source(mac, &sample.source)),
                        ..key
                    };
                    batch.put_window(&key, ip_binding::value(mac));
                }
            }
            _ => batch.put_window(&key, bytes),
        }
    }
}

/// The window keys of `sample` in `partition` (borrowing its texts where the key holds them
/// as they are). An IP binding's key is written with a longer source ([`put`]).
pub fn keys(partition: u32, sample: &NetworkSample) -> Vec<WindowKey<'_>> {
    // Every entity is the org's: two orgs' IPs and MACs never share a window. An empty id, or
    // one with a NUL byte, cannot be a key; such an observation is not kept.
    let key = |window: Window, entity: &str| {
        (!entity.is_empty() && !entity.contains('\0')).then(|| WindowKey {
            partition,
            window,
            entity: Cow::Owned(keys::org_entity(&sample.org_id, entity)),
            time: sample.time,
            sequence: sample.sequence,
            source: Cow::Borrowed(&sample.source),
        })
    };
    let mut out = Vec::with_capacity(2);
    match &sample.body {
        SampleBody::WirelessClient(c) => {
            out.extend(key(Window::ClientMac, &c.client_mac));
        }
        SampleBody::ClientBinding(b) => {
            out.extend(key(Window::Binding, &b.client_mac));
        }
        SampleBody::ApRadio(r) => {
            out.extend(key(Window::Radio, &keys::radio_id(&r.ap_mac, r.band)));
        }
        SampleBody::Ap(a) => out.extend(key(Window::Ap, &a.ap_mac)),
        SampleBody::SwitchPort(p) => {
            out.extend(key(Window::Port, &keys::port_id(&p.switch_mac, &p.port_id)));
        }
        SampleBody::WanPath(w) => {
            let link = key(
                Window::Wan,
                &keys::wan_link_id(&w.gateway_mac, &w.wan_port_id),
            );
            out.extend(link.map(|k| match &w.peer_mac {
                Some(peer) => WindowKey {
                    source: Cow::Owned(path_source(
                        peer,
                        w.peer_port_id.as_deref(),
                        &sample.source,
                    )),
                    ..k
                },
                None => k,
            }));
        }
        SampleBody::Event(_) => out.extend(key(
            Window::SiteEvents,
            &keys::site_key(&sample.org_id, &sample.site_id),
        )),
    }
    if let Some((_, ip)) = ip_binding::binding(sample) {
        out.extend(key(Window::BindingByIp, ip));
    }
    out.retain(|k| !k.entity.contains('\0'));
    out
}

/// The source part of an overlay path's key in its link's WAN window: the peer, its port, a
/// NUL byte, the sample's source. A link's underlay sample and each of its overlay paths' samples
/// are observations of different entities: at the same time, sequence and source (the Mist
/// poller numbers gateway ports and VPN peers both from 0) none overwrites another.
pub fn path_source(peer_mac: &str, peer_port: Option<&str>, source: &str) -> String {
    format!("{peer_mac}/{}\0{source}", peer_port.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use callsight_testkit::samples;

    #[test]
    fn a_link_and_its_overlay_paths_keep_apart() {
        let at = |peer: Option<&str>| NetworkSample {
            org_id: "org".into(),
            site_id: "site".into(),
            time: 1,
            source: "mist".into(),
            sequence: 0,
            body: SampleBody::WanPath(callsight_model::types::WanPathSample {
                gateway_mac: "gw".into(),
                wan_port_id: "ge-0/0/0".into(),
                peer_mac: peer.map(str::to_string),
                peer_port_id: peer.map(|_| "ge-0/0/0".to_string()),
                ..Default::default()
            }),
        };
        let samples = [at(None), at(Some("hub1")), at(Some("hub2"))];
        let encoded: std::collections::BTreeSet<Vec<u8>> = samples
            .iter()
            .flat_map(|s| keys(0, s))
            .inspect(|k| assert_eq!(k.window, Window::Wan))
            .map(|k| k.encode())
            .collect();
        assert_eq!(encoded.len(), 3);
    }

    #[test]
    fn every_sample_kind_has_a_window() {
        for sample in samples::network_samples() {
            let keys = keys(3, &sample);
            assert!(!keys.is_empty(), "{sample:?}");
            assert!(
                keys.iter()
                    .all(|k| k.partition == 3 && k.time == sample.time)
            );
        }
    }
}
