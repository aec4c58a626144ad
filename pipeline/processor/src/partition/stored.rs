//! How a partition keeps its bookkeeping in the store: its meta record, the waiting legs in
//! offset order, and what was evaluated for each leg.

use callsight_model::codec::single_object;
use callsight_model::types::CallLeg;
use callsight_state::StateError;
use callsight_state::keys::time_bytes;
use serde::{Deserialize, Serialize};

/// Bookkeeping of a partition, stored with its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Newest event time of telemetry seen.
    pub max_time: Option<i64>,
    /// Last `calls.legs` offset applied (−1: none).
    pub legs_offset: i64,
    /// Last `net.telemetry` offset applied (−1: none).
    pub telemetry_offset: i64,
}

impl Default for Meta {
    fn default() -> Self {
        Meta {
            max_time: None,
            legs_offset: -1,
            telemetry_offset: -1,
        }
    }
}

/// Key of the meta record.
pub(super) const META_KEY: &[u8] = b"meta";
/// Prefix of the waiting legs in the partition's meta table.
pub(super) const PENDING_INDEX: &[u8] = b"pending/";

/// Waiting legs are kept in offset order: `offset | leg id`.
pub(super) fn pending_key(offset: i64, leg_id: &str) -> Vec<u8> {
    let mut key = time_bytes(offset).to_vec();
    key.extend_from_slice(leg_id.as_bytes());
    key
}

/// A waiting leg as stored: `offset | arrived_at | partial sent | version | leg bytes`.
pub(super) struct Pending {
    pub(super) offset: i64,
    pub(super) arrived_at: i64,
    pub(super) partial_sent: bool,
    pub(super) leg: CallLeg,
}

impl Pending {
    pub(super) fn encode(&self) -> Result<Vec<u8>, StateError> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.offset.to_be_bytes());
        out.extend_from_slice(&self.arrived_at.to_be_bytes());
        out.push(u8::from(self.partial_sent));
        out.extend(
            single_object::encode(&self.leg).map_err(|e| StateError::encode("waiting leg", e))?,
        );
        Ok(out)
    }

    pub(super) fn decode(bytes: &[u8]) -> Option<Pending> {
        let offset = i64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let arrived_at = i64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
        let partial_sent = *bytes.get(16)? == 1;
        let leg = single_object::decode::<CallLeg>(bytes.get(17..)?).ok()?;
        Some(Pending {
            offset,
            arrived_at,
            partial_sent,
            leg,
        })
    }
}

/// What was evaluated for a leg: `version | complete | end`.
pub(super) fn evaluated_value(version: i64, complete: bool, end: i64) -> Vec<u8> {
    let mut out = version.to_be_bytes().to_vec();
    out.push(u8::from(complete));
    out.extend_from_slice(&end.to_be_bytes());
    out
}

/// Reads [`evaluated_value`] back.
pub(super) fn evaluated_parse(bytes: &[u8]) -> Option<(i64, bool, i64)> {
    Some((
        i64::from_be_bytes(bytes.get(..8)?.try_into().ok()?),
        *bytes.get(8)? == 1,
        i64::from_be_bytes(bytes.get(9..17)?.try_into().ok()?),
    ))
}
