//! Key layouts. Every key starts with the Kafka partition (4 bytes, big-endian), so one
//! partition's state is one key range: it can be dropped at once and its keys never mix with
//! another partition's.
//!
//! Window keys: `partition | window (1 byte) | entity (UTF-8, no NUL) | 0x00 | time (8) |
//! sequence (8) | source (UTF-8)`. Everything up to the NUL is the prefix (one entity's window),
//! so an entity's time range is a prefix scan with explicit bounds; time sorts correctly
//! (sign bit flipped, big-endian); an observation's identity (entity, time, sequence, source) is
//! its key, so writing it twice writes one record.

use std::borrow::Cow;

/// Which window an observation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Window {
    /// Wireless client samples, by client MAC.
    ClientMac = 1,
    /// Client bindings (sessions, joins, client info, DHCP), by client MAC.
    Binding = 2,
    /// Client bindings, by client IP: IP to MAC at a time.
    BindingByIp = 3,
    /// AP radio samples, by `ap_mac/band`.
    Radio = 4,
    /// AP samples, by AP MAC.
    Ap = 5,
    /// Switch port samples, by `switch_mac/port_id`.
    Port = 6,
    /// WAN path samples, by `gateway_mac/wan_port_id`.
    Wan = 7,
    /// Network events (restarts, flaps, failovers), by site.
    SiteEvents = 8,
}

impl Window {
    /// Every window.
    pub const ALL: [Window; 8] = [
        Window::ClientMac,
        Window::Binding,
        Window::BindingByIp,
        Window::Radio,
        Window::Ap,
        Window::Port,
        Window::Wan,
        Window::SiteEvents,
    ];

    fn from_byte(b: u8) -> Option<Window> {
        Window::ALL.into_iter().find(|w| *w as u8 == b)
    }
}

/// The identity of one observation in a window. Its texts are borrowed when written (from the
/// observation itself) and owned when read back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WindowKey<'a> {
    /// Kafka partition.
    pub partition: u32,
    /// Window.
    pub window: Window,
    /// Entity id (no NUL byte).
    pub entity: Cow<'a, str>,
    /// Event time, epoch ms.
    pub time: i64,
    /// Source sequence.
    pub sequence: i64,
    /// Source.
    pub source: Cow<'a, str>,
}

/// Sortable big-endian bytes of a signed time.
pub fn time_bytes(t: i64) -> [u8; 8] {
    ((t as u64) ^ (1 << 63)).to_be_bytes()
}

fn time_from(bytes: &[u8]) -> Option<i64> {
    let raw: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    Some((u64::from_be_bytes(raw) ^ (1 << 63)) as i64)
}

/// The prefix of one entity's window: `partition | window | entity | 0x00`.
pub fn window_prefix(partition: u32, window: Window, entity: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(6 + entity.len());
    prefix_into(&mut key, partition, window, entity);
    key
}

fn prefix_into(buf: &mut Vec<u8>, partition: u32, window: Window, entity: &str) {
    buf.extend_from_slice(&partition.to_be_bytes());
    buf.push(window as u8);
    buf.extend_from_slice(entity.as_bytes());
    buf.push(0);
}

impl WindowKey<'_> {
    /// The key bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(22 + self.entity.len() + self.source.len());
        self.encode_into(&mut key);
        key
    }

    /// Appends the key bytes to `buf`.
    pub fn encode_into(&self, buf: &mut Vec<u8>) {
        prefix_into(buf, self.partition, self.window, &self.entity);
        buf.extend_from_slice(&time_bytes(self.time));
        buf.extend_from_slice(&time_bytes(self.sequence));
        buf.extend_from_slice(self.source.as_bytes());
    }

    /// Reads key bytes back.
    pub fn decode(key: &[u8]) -> Option<WindowKey<'static>> {
        let partition = u32::from_be_bytes(key.get(..4)?.try_into().ok()?);
        let window = Window::from_byte(*key.get(4)?)?;
        let nul = 5 + key.get(5..)?.iter().position(|b| *b == 0)?;
        let entity = Cow::Owned(std::str::from_utf8(&key[5..nul]).ok()?.to_string());
        let time = time_from(key.get(nul + 1..)?)?;
        let sequence = time_from(key.get(nul + 9..)?)?;
        let source = Cow::Owned(std::str::from_utf8(key.get(nul + 17..)?).ok()?.to_string());
        Some(WindowKey {
            partition,
            window,
            entity,
            time,
            sequence,
            source,
        })
    }
}

/// The event time in a window key, without decoding the rest (for expiry).
pub fn window_key_time(key: &[u8]) -> Option<i64> {
    let nul = 5 + key.get(5..)?.iter().position(|b| *b == 0)?;
    time_from(key.get(nul + 1..)?)
}

/// The partition a key belongs to.
pub fn key_partition(key: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(key.get(..4)?.try_into().ok()?))
}

/// The prefix extractor of the windows column family: one entity's window.
pub fn entity_prefix(key: &[u8]) -> &[u8] {
    match key
        .get(5..)
        .and_then(|rest| rest.iter().position(|b| *b == 0))
    {
        Some(at) => &key[..5 + at + 1],
        None => key,
    }
}

/// Whether a key has an entity prefix.
pub fn has_entity_prefix(key: &[u8]) -> bool {
    key.len() > 5 && key[5..].contains(&0)
}

/// `partition | rest`: keys of the other column families.
pub fn partitioned(partition: u32, rest: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + rest.len());
    key.extend_from_slice(&partition.to_be_bytes());
    key.extend_from_slice(rest);
    key
}

/// The first key after every key that starts with `prefix`, for exclusive upper bounds.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    // Every byte was 0xFF: no key is above; an empty bound means "unbounded" to callers.
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn window_keys_round_trip_and_sort_by_entity_then_time(
            partition in 0u32..70_000,
            entity in "[a-f0-9:/|.-]{1,24}",
            t1 in any::<i64>(),
            t2 in any::<i64>(),
            sequence in any::<i64>(),
            source in "[a-z:]{0,12}",
        ) {
            let a = WindowKey { partition, window: Window::Radio, entity: entity.clone().into(), time: t1, sequence, source: source.clone().into() };
            let b = WindowKey { time: t2, ..a.clone() };
            prop_assert_eq!(WindowKey::decode(&a.encode()), Some(a.clone()));
            prop_assert_eq!(window_key_time(&a.encode()), Some(t1));
            prop_assert_eq!(a.encode().cmp(&b.encode()), (t1, sequence, &source).cmp(&(t2, sequence, &source)));
            let encoded = a.encode();
            let prefix = window_prefix(partition, Window::Radio, &entity);
            prop_assert_eq!(entity_prefix(&encoded), prefix.as_slice());
            prop_assert!(a.encode() < prefix_end(&window_prefix(partition, Window::Radio, &entity)));
        }
    }

    #[test]
    fn one_entity_is_not_a_prefix_of_another() {
        let short = window_prefix(0, Window::Ap, "aa");
        let long = WindowKey {
            partition: 0,
            window: Window::Ap,
            entity: "aab".into(),
            time: 0,
            sequence: 0,
            source: "".into(),
        };
        assert!(!long.encode().starts_with(&short));
        assert_eq!(prefix_end(&[1, 0xFF]), vec![2]);
        assert!(prefix_end(&[0xFF, 0xFF]).is_empty());
    }
}
