//! The IP binding window: which client MAC had an IP, read over the whole retention to find the
//! client of a leg that Teams knows only by its IP.
//!
//! Wireless clients report their IP with every sample, about once a minute, and the answer
//! changes rarely. So the window does not keep every sample's binding: per IP, it keeps the
//! earliest observation of each MAC in each ten-minute bucket ([`BUCKET_MS`]), and
//! [`latest_mac`] answers from those alone: in the latest bucket that has any, the MAC whose
//! earliest observation there is the latest. A client reporting every minute writes one entry
//! per ten minutes instead of ten.
//!
//! What is already written is remembered per partition ([`Written`]). That memory may forget (a
//! restart, a partition moving, a bucket left behind by the watermark): the observation is then
//! written again, an upsert of the same key. The window always holds each (bucket, MAC)'s
//! earliest observation and possibly more of them, and [`latest_mac`] reads the same answer from
//! any such set, so the answer does not depend on arrival order, batching, restarts or replays.
//! Two conditions keep it so:
//! - two MACs never share a key: the key's source is the MAC and the sample's source
//!   ([`key_source`]), so one cannot overwrite the other's earliest observation;
//! - readers start at a whole bucket ([`first_whole_bucket`]): in the bucket the expiry cuts,
//!   compaction may have dropped a MAC's earliest observation and not its later ones. So up to
//!   ten minutes at the far end of the retention are not read.
//!
//! A release (a NAC accounting STOP: the session ended) is an entry with no MAC; when it is the
//! answer, the IP is nobody's.
//!
//! The answer is that of "the MAC seen last with the IP" but for an IP handed back and forth
//! within ten minutes (for example A, B, then A again: B, whose earliest observation in the
//! bucket is the latest, although A was seen last).

use callsight_model::codec::single_object;
use callsight_model::types::{BindingKind, NetworkSample, SampleBody};
use std::collections::HashMap;

/// Width of the buckets, ms.
pub const BUCKET_MS: i64 = 10 * 60_000;

/// The start of the bucket `time` is in.
pub fn bucket(time: i64) -> i64 {
    time.saturating_sub(time.rem_euclid(BUCKET_MS))
}

/// The start of the first bucket entirely at or after `time` (`time` itself for `i64::MIN`:
/// nothing expired). Readers start there: before it, the expiry may have dropped a bucket's
/// earliest observation but not its later ones.
pub fn first_whole_bucket(time: i64) -> i64 {
    let into = time.rem_euclid(BUCKET_MS);
    if into == 0 || time == i64::MIN {
        time
    } else {
        time.saturating_add(BUCKET_MS - into)
    }
}

/// The client MAC and IP an observation binds, if it binds one (a MAC with a NUL byte cannot be
/// told apart in a key, and binds nothing). A `leave` that names an IP (a NAC accounting STOP)
/// releases it: the MAC is empty ([`RELEASED`]), and from then the IP is nobody's.
pub fn binding(sample: &NetworkSample) -> Option<(&str, &str)> {
    let (mac, ip) = match &sample.body {
        SampleBody::WirelessClient(c) => (c.client_mac.as_str(), c.client_ip.as_ref()?),
        SampleBody::ClientBinding(b) if b.kind == BindingKind::Leave => {
            (RELEASED, b.client_ip.as_ref()?)
        }
        SampleBody::ClientBinding(b) => (b.client_mac.as_str(), b.client_ip.as_ref()?),
        _ => return None,
    };
    Some((mac, ip.as_str())).filter(|(mac, ip)| !ip.is_empty() && !mac.contains('\0'))
}

/// The MAC of a release: an IP bound to it is bound to no client.
pub const RELEASED: &str = "";

/// The source part of an entry's key: the MAC, a NUL byte, the sample's source. Two MACs seen
/// with one IP at the same time, sequence and source keep two entries.
pub fn key_source(mac: &str, source: &str) -> String {
    let mut key = String::with_capacity(mac.len() + 1 + source.len());
    key.push_str(mac);
    key.push('\0');
    key.push_str(source);
    key
}

/// What the window keeps of an observation: the client's MAC, after a zero byte (a whole
/// observation, as versions before the evening of 2026-11-28 kept, starts with the single-object
/// marker).
pub fn value(mac: &str) -> Vec<u8> {
    let mut value = Vec::with_capacity(1 + mac.len());
    value.push(0);
    value.extend_from_slice(mac.as_bytes());
    value
}

/// The MAC in a value: [`value`]'s, or that of a whole observation.
pub fn mac(value: &[u8]) -> Option<String> {
    match value.split_first() {
        Some((0, mac)) => std::str::from_utf8(mac).ok().map(str::to_string),
        _ => match single_object::decode::<NetworkSample>(value).ok()?.body {
            SampleBody::WirelessClient(c) => Some(c.client_mac),
            SampleBody::ClientBinding(b) => Some(b.client_mac),
            _ => None,
        },
    }
}

/// One entry of the window, as read: its time, sequence and MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Event time, epoch ms.
    pub time: i64,
    /// Source sequence.
    pub sequence: i64,
    /// The client's MAC.
    pub mac: String,
}

/// The MAC that had the IP last, from the entries of its window (any order): in the latest
/// bucket, the MAC whose earliest entry in it is the latest; `None` when that is a release.
pub fn latest_mac(entries: impl IntoIterator<Item = Entry>) -> Option<String> {
    let mut earliest: HashMap<(i64, String), (i64, i64)> = HashMap::new();
    for e in entries {
        let first = earliest
            .entry((bucket(e.time), e.mac))
            .or_insert((e.time, e.sequence));
        *first = (*first).min((e.time, e.sequence));
    }
    earliest
        .into_iter()
        .max_by(|((b1, m1), f1), ((b2, m2), f2)| (b1, f1, m1).cmp(&(b2, f2, m2)))
        .map(|((_, mac), _)| mac)
        .filter(|mac| mac != RELEASED)
}

/// Per IP, the (bucket, MAC) last written and the earliest of its observations written.
#[derive(Debug)]
pub struct Written {
    by_ip: HashMap<String, Group>,
    /// Buckets before this one are forgotten.
    kept_from: i64,
}

impl Default for Written {
    fn default() -> Self {
        Written {
            by_ip: HashMap::new(),
            kept_from: i64::MIN,
        }
    }
}

#[derive(Debug)]
struct Group {
    bucket: i64,
    mac: String,
    earliest: (i64, i64),
}

impl Written {
    /// Whether an observation of `mac` with `ip` at `time` goes to the window: not when an
    /// earlier observation of that MAC in that bucket was written. Remembers it when it does.
    pub fn admit(&mut self, ip: &str, mac: &str, time: i64, sequence: i64) -> bool {
        let bucket = bucket(time);
        let at = (time, sequence);
        match self.by_ip.get_mut(ip) {
            Some(g) if g.bucket == bucket && g.mac == mac => {
                if at > g.earliest {
                    return false;
                }
                g.earliest = at;
            }
            // A later bucket, or another MAC in the same one (the IP changed hands).
            Some(g) if bucket >= g.bucket => {
                *g = Group {
                    bucket,
                    mac: mac.to_string(),
                    earliest: at,
                };
            }
            // An older bucket (a late observation): written, the newer group kept in mind.
            Some(_) => {}
            None => {
                self.by_ip.insert(
                    ip.to_string(),
                    Group {
                        bucket,
                        mac: mac.to_string(),
                        earliest: at,
                    },
                );
            }
        }
        true
    }

    /// Forgets the groups of buckets before the one `time` is in, once per bucket. Safe at any
    /// time: a forgotten group's next observation is written again.
    pub fn forget_before(&mut self, time: i64) {
        let from = bucket(time);
        if from > self.kept_from {
            self.kept_from = from;
            self.by_ip.retain(|_, g| g.bucket >= from);
        }
    }

    /// IPs remembered.
    pub fn len(&self) -> usize {
        self.by_ip.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.by_ip.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callsight_testkit::samples;
    use proptest::prelude::*;

    const MINUTE: i64 = 60_000;

    #[test]
    fn a_value_keeps_the_mac_and_whole_observations_still_read() {
        let mut bound = 0;
        for sample in samples::network_samples() {
            let Some((mac, _)) = binding(&sample) else {
                continue;
            };
            bound += 1;
            assert_eq!(self::mac(&value(mac)), Some(mac.to_string()));
            let whole = single_object::encode(&sample).expect("encodes");
            assert_eq!(self::mac(&whole), Some(mac.to_string()));
        }
        assert!(bound >= 2, "the samples have wireless clients and bindings");
        assert_eq!(self::mac(b"\xff\x00"), None);
    }

    #[test]
    fn buckets_are_ten_minutes_and_readers_start_at_a_whole_one() {
        assert_eq!(bucket(25 * MINUTE), 20 * MINUTE);
        assert_eq!(bucket(-1), -BUCKET_MS);
        assert_eq!(first_whole_bucket(20 * MINUTE), 20 * MINUTE);
        assert_eq!(first_whole_bucket(20 * MINUTE + 1), 30 * MINUTE);
        assert_eq!(first_whole_bucket(i64::MIN), i64::MIN);
        // The first whole bucket after the one cut short at the bottom of the range.
        let next = first_whole_bucket(i64::MIN + 1);
        assert_eq!(next.rem_euclid(BUCKET_MS), 0);
        assert!(next > i64::MIN + 1 && next - (i64::MIN + 1) < BUCKET_MS);
        assert_eq!(bucket(next), next);
    }

    #[test]
    fn two_macs_never_share_a_key() {
        assert_ne!(key_source("aa", "mist"), key_source("bb", "mist"));
        assert_eq!(key_source("aa", "mist"), "aa\0mist");
    }

    #[test]
    fn a_client_reporting_every_minute_is_written_once_per_bucket() {
        let mut written = Written::default();
        let admitted: Vec<i64> = (0..30)
            .filter(|m| written.admit("10.0.0.9", "aa", m * MINUTE, *m))
            .collect();
        assert_eq!(admitted, vec![0, 10, 20]);
        // Another MAC takes the IP: written at once; an earlier observation arriving late too.
        assert!(written.admit("10.0.0.9", "bb", 25 * MINUTE, 99));
        assert!(written.admit("10.0.0.9", "aa", 5 * MINUTE - 1, 0));
        assert!(!written.admit("10.0.0.9", "bb", 26 * MINUTE, 100));
        assert_eq!(written.len(), 1);
        written.forget_before(30 * MINUTE);
        assert!(written.is_empty());
        assert!(written.admit("10.0.0.9", "bb", 26 * MINUTE, 100));
    }

    proptest! {
        /// Whatever the order observations arrive in, however often they arrive, whenever the
        /// memory is lost or pruned and whatever the expiry dropped below the reader's start,
        /// the entries written give, per IP, the answer every observation would give; and that
        /// answer is the MAC seen last, unless the IP went back to a MAC within a bucket.
        #[test]
        fn the_answer_does_not_depend_on_order_forgetting_or_expiry(
            holders in prop::collection::vec((1usize..4, 1i64..25, any::<bool>()), 1..8),
            swaps in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..100),
            again in prop::collection::vec(any::<prop::sample::Index>(), 0..30),
            forget in prop::collection::vec((any::<prop::sample::Index>(), any::<bool>(), 0i64..200), 0..4),
            expiry in 0i64..60,
            expired in prop::collection::vec(any::<bool>(), 64),
            to in 0i64..200,
        ) {
            // One observation a minute; two IPs pass between holders for runs of minutes.
            let mut observations: Vec<(&str, Entry)> = Vec::new();
            for (mac, minutes, second_ip) in &holders {
                let ip = if *second_ip { "10.0.0.2" } else { "10.0.0.1" };
                for _ in 0..*minutes {
                    let n = observations.len() as i64;
                    observations.push((ip, Entry { time: n * MINUTE, sequence: n, mac: format!("m{mac}") }));
                }
            }

            // In order and remembering everything: one entry per run of a MAC in a bucket.
            let mut written = Written::default();
            let in_order = observations.iter().filter(|(ip, e)| written.admit(ip, &e.mac, e.time, e.sequence)).count();
            let runs = observations.iter().enumerate().filter(|(i, (ip, e))| {
                let previous = observations[..*i].iter().rev().find(|(other, _)| other == ip);
                previous.is_none_or(|(_, p)| (bucket(p.time), &p.mac) != (bucket(e.time), &e.mac))
            }).count();
            prop_assert_eq!(in_order, runs);

            // Shuffled, repeated, and forgetting now and then.
            let mut arrivals: Vec<usize> = (0..observations.len()).collect();
            arrivals.extend(again.iter().map(|i| i.index(observations.len())));
            for (a, b) in &swaps {
                let (a, b) = (a.index(arrivals.len()), b.index(arrivals.len()));
                arrivals.swap(a, b);
            }
            let mut written = Written::default();
            let mut window: Vec<(&str, Entry)> = Vec::new();
            for (n, &i) in arrivals.iter().enumerate() {
                for (at, all, before) in &forget {
                    if at.index(arrivals.len()) == n {
                        if *all {
                            written = Written::default();
                        } else {
                            written.forget_before(before * MINUTE);
                        }
                    }
                }
                let (ip, o) = &observations[i];
                if written.admit(ip, &o.mac, o.time, o.sequence) {
                    window.push((ip, o.clone()));
                }
            }

            // The expiry dropped some of what is older than it (compaction reached some files and
            // not others); readers start at the first whole bucket after it.
            let expiry = expiry * MINUTE;
            let mut dropped = expired.iter().cycle();
            window.retain(|(_, e)| e.time >= expiry || !dropped.next().copied().unwrap_or(false));
            let (from, to) = (first_whole_bucket(expiry), to * MINUTE);
            for ip in ["10.0.0.1", "10.0.0.2"] {
                let read = |entries: &[(&str, Entry)]| -> Vec<Entry> {
                    entries
                        .iter()
                        .filter(|(i, e)| *i == ip && e.time >= from && e.time <= to)
                        .map(|(_, e)| e.clone())
                        .collect()
                };
                let every = read(&observations);
                let answer = latest_mac(read(&window));
                prop_assert_eq!(&answer, &latest_mac(every.clone()));

                let seen_last = every.iter().max_by_key(|e| e.time).map(|e| e.mac.clone());
                let back_and_forth = every.iter().any(|a| every.iter().any(|b| every.iter().any(|c| {
                    a.mac == c.mac && a.mac != b.mac && a.time < b.time && b.time < c.time
                        && bucket(a.time) == bucket(c.time)
                })));
                if !back_and_forth {
                    prop_assert_eq!(answer, seen_last);
                }
            }
        }
    }
}
