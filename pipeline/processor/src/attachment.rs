//! Where a wired client is cabled. An attachment (switch and port) holds for days, longer than
//! the windows keep observations (`processor.retention`): a desk phone reported at 8:00 is still
//! on its port at 15:00. So the last attachment reported per client is kept in its own table
//! ([`Table::Attachments`]) until a newer one, or a leave, replaces it, and a leg's view reads it
//! when the binding window no longer holds any binding of the client.
//!
//! The newest report wins by (time, sequence, source), whatever the order they arrive in; a
//! report older than the kept one changes nothing. An attachment not reported again within
//! `processor.attachment_retention` behind the watermark is forgotten, so the table stays
//! bounded by the clients reported lately, whatever a sender posts.

use callsight_model::keys;
use callsight_model::types::{BindingKind, NetworkSample, SampleBody};
use callsight_state::{Batch, StateError, Store, Table};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A client's last reported attachment, or its leave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// When it was reported, epoch ms.
    pub time: i64,
    /// The report's sequence.
    pub sequence: i64,
    /// The report's source.
    pub source: String,
    /// Switch MAC; `None` after a leave.
    pub switch_mac: Option<String>,
    /// Switch port; `None` after a leave.
    pub port_id: Option<String>,
}

impl Attachment {
    fn order(&self) -> (i64, i64, &str) {
        (self.time, self.sequence, &self.source)
    }

    /// The switch and port, unless the client left.
    pub fn port(&self) -> Option<(&str, &str)> {
        Some((self.switch_mac.as_deref()?, self.port_id.as_deref()?))
    }
}

/// The client and attachment an observation reports: a wired attach, an IP learned on a switch
/// port (wired client info), or a leave (NAC accounting STOP, a session's end).
pub fn of(sample: &NetworkSample) -> Option<(&str, Attachment)> {
    let SampleBody::ClientBinding(b) = &sample.body else {
        return None;
    };
    let port = match (b.kind, &b.switch_mac, &b.port_id) {
        (BindingKind::Leave, _, _) => None,
        (BindingKind::WiredAttach | BindingKind::IpLearned, Some(switch), Some(port)) => {
            Some((switch.clone(), port.clone()))
        }
        _ => return None,
    };
    let (switch_mac, port_id) = port.unzip();
    Some((
        b.client_mac.as_str(),
        Attachment {
            time: sample.time,
            sequence: sample.sequence,
            source: sample.source.clone(),
            switch_mac,
            port_id,
        },
    ))
}

fn key(org: &str, client_mac: &str) -> Vec<u8> {
    keys::org_entity(org, client_mac).into_bytes()
}

/// Attachments written in the batch being applied, not yet in the store.
pub type Pending = HashMap<Vec<u8>, Attachment>;

/// Keeps `sample`'s attachment in `batch` when it is newer than the one kept (in `pending`, else
/// in the store).
pub fn put(
    batch: &mut Batch,
    store: &Store,
    partition: u32,
    sample: &NetworkSample,
    pending: &mut Pending,
) -> Result<(), StateError> {
    let Some((client, attachment)) = of(sample) else {
        return Ok(());
    };
    if client.is_empty() || client.contains('\0') {
        return Ok(());
    }
    let key = key(&sample.org_id, client);
    let kept = match pending.get(&key) {
        Some(kept) => Some(kept.clone()),
        None => read_key(store, partition, &key)?,
    };
    if kept.is_some_and(|k| k.order() >= attachment.order()) {
        return Ok(());
    }
    let value = serde_json::to_vec(&attachment).expect("an attachment serialises");
    batch.put(Table::Attachments, partition, &key, value);
    pending.insert(key, attachment);
    Ok(())
}

/// The report time of a kept attachment's value; `None` for one that does not decode.
pub fn time_of(value: &[u8]) -> Option<i64> {
    serde_json::from_slice::<Attachment>(value)
        .ok()
        .map(|a| a.time)
}

fn read_key(store: &Store, partition: u32, key: &[u8]) -> Result<Option<Attachment>, StateError> {
    Ok(store
        .get(Table::Attachments, partition, key)?
        .and_then(|v| serde_json::from_slice(&v).ok()))
}

/// The attachment kept for `client_mac` of `org`.
pub fn read(
    store: &Store,
    partition: u32,
    org: &str,
    client_mac: &str,
) -> Result<Option<Attachment>, StateError> {
    read_key(store, partition, &key(org, client_mac))
}

#[cfg(test)]
mod tests {
    use super::*;
    use callsight_model::types::ClientBinding;
    use callsight_state::StoreOptions;

    fn report(time: i64, kind: BindingKind, port: &str) -> NetworkSample {
        NetworkSample {
            org_id: "org".into(),
            site_id: "site".into(),
            time,
            source: "mist".into(),
            sequence: 0,
            body: SampleBody::ClientBinding(ClientBinding {
                client_mac: "a4c3f0851b01".into(),
                kind,
                switch_mac: Some("0c8126c7a100".into()),
                port_id: Some(port.into()),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn the_newest_report_wins_in_any_order_and_a_leave_ends_it() {
        let reports = [
            report(1, BindingKind::WiredAttach, "ge-0/0/5"),
            report(3, BindingKind::IpLearned, "ge-0/0/6"),
            report(2, BindingKind::WiredAttach, "ge-0/0/7"),
        ];
        for order in [[0, 1, 2], [2, 1, 0], [1, 0, 2]] {
            let dir = tempfile::tempdir().expect("dir");
            let store = Store::open(dir.path(), &StoreOptions::default()).expect("store");
            for r in order {
                let mut batch = Batch::new();
                put(&mut batch, &store, 0, &reports[r], &mut Pending::new()).expect("puts");
                store.write(batch).expect("writes");
            }
            let kept = read(&store, 0, "org", "a4c3f0851b01").expect("reads");
            assert_eq!(
                kept.as_ref().and_then(|k| k.port()),
                Some(("0c8126c7a100", "ge-0/0/6")),
                "{order:?}"
            );
            let mut batch = Batch::new();
            put(
                &mut batch,
                &store,
                0,
                &report(4, BindingKind::Leave, "ge-0/0/6"),
                &mut Pending::new(),
            )
            .expect("puts");
            store.write(batch).expect("writes");
            let left = read(&store, 0, "org", "a4c3f0851b01").expect("reads");
            assert_eq!(left.and_then(|k| k.port().map(|_| ())), None);
        }
        assert!(of(&report(1, BindingKind::Join, "x")).is_none());
    }
}
