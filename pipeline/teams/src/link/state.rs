//! The OAuth `state` of a tenant link: which org the sign-in is for, whether identities may be
//! kept, until when it is valid and a random nonce, authenticated with a key derived from the
//! master key. Only an operator (who holds the admin token) can obtain one, it names the org it
//! links, it expires, and a replica accepts each nonce once, so a callback cannot be forged or
//! replayed into another org.

use callsight_graph::privacy::MasterKey;
use std::collections::HashMap;
use std::sync::Mutex;

const PURPOSE: &str = "teams-link-state";

/// What a state carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRequest {
    /// Organization to link.
    pub org_id: String,
    /// Keep sealed clear identities for this tenant.
    pub keep_identity: bool,
    /// Valid until, epoch ms.
    pub expires_at: i64,
    /// Random, hex.
    pub nonce: String,
}

/// Why a state is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Not a state callsight made, or altered.
    #[error("the state is not one callsight issued")]
    Forged,
    /// Too old.
    #[error("the sign-in took too long; start again")]
    Expired,
    /// Already used.
    #[error("this sign-in was already completed")]
    Replayed,
    /// No randomness.
    #[error("no randomness available")]
    Random,
}

impl LinkRequest {
    /// A request for `org` valid until `expires_at`, with a fresh nonce.
    pub fn new(org_id: &str, keep_identity: bool, expires_at: i64) -> Result<Self, StateError> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|_| StateError::Random)?;
        Ok(LinkRequest {
            org_id: org_id.to_string(),
            keep_identity,
            expires_at,
            nonce: hex::encode(nonce),
        })
    }

    fn payload(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}",
            self.org_id, self.keep_identity as u8, self.expires_at, self.nonce
        )
    }

    /// The state string: `hex(payload).hex(tag)`.
    pub fn sign(&self, master: &MasterKey) -> String {
        let payload = self.payload();
        format!(
            "{}.{}",
            hex::encode(payload.as_bytes()),
            hex::encode(master.tag(PURPOSE, payload.as_bytes()))
        )
    }

    /// Checks a state string's tag and expiry (not its single use: see [`Nonces`]).
    pub fn verify(state: &str, master: &MasterKey, now_ms: i64) -> Result<Self, StateError> {
        let (payload, tag) = state.split_once('.').ok_or(StateError::Forged)?;
        let payload = hex::decode(payload).map_err(|_| StateError::Forged)?;
        let tag = hex::decode(tag).map_err(|_| StateError::Forged)?;
        if !master.verify(PURPOSE, &payload, &tag) {
            return Err(StateError::Forged);
        }
        let text = String::from_utf8(payload).map_err(|_| StateError::Forged)?;
        let mut parts = text.split('\n');
        let (Some(org), Some(keep), Some(expires), Some(nonce), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(StateError::Forged);
        };
        let request = LinkRequest {
            org_id: org.to_string(),
            keep_identity: keep == "1",
            expires_at: expires.parse().map_err(|_| StateError::Forged)?,
            nonce: nonce.to_string(),
        };
        if now_ms > request.expires_at {
            return Err(StateError::Expired);
        }
        Ok(request)
    }
}

/// Nonces this replica has accepted, until their state expires.
#[derive(Debug, Default)]
pub struct Nonces {
    used: Mutex<HashMap<String, i64>>,
}

impl Nonces {
    /// The nonces used and not yet expired at `now_ms`, locked.
    fn current(&self, now_ms: i64) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        let mut used = self
            .used
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        used.retain(|_, expires| *expires >= now_ms);
        used
    }

    /// `Replayed` when the request's nonce was used before; records nothing. Checked before
    /// the code exchange, so that a used state costs no call to Entra; the nonce is used up
    /// only after the exchange succeeded ([`Nonces::use_once`]), so that whoever sees the
    /// authorize URL cannot burn it with a made-up code.
    pub fn check(&self, request: &LinkRequest, now_ms: i64) -> Result<(), StateError> {
        if self.current(now_ms).contains_key(&request.nonce) {
            return Err(StateError::Replayed);
        }
        Ok(())
    }

    /// Records the request's nonce; `Replayed` when it was used before.
    pub fn use_once(&self, request: &LinkRequest, now_ms: i64) -> Result<(), StateError> {
        if self
            .current(now_ms)
            .insert(request.nonce.clone(), request.expires_at)
            .is_some()
        {
            return Err(StateError::Replayed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> MasterKey {
        MasterKey::from_hex(&"ab".repeat(32)).expect("key")
    }

    #[test]
    fn a_signed_state_verifies_once_and_not_after_expiry_or_change() {
        let m = master();
        let request = LinkRequest::new("org-1", true, 10_000).expect("random");
        let state = request.sign(&m);
        assert_eq!(LinkRequest::verify(&state, &m, 9_999), Ok(request.clone()));
        assert_eq!(
            LinkRequest::verify(&state, &m, 10_001),
            Err(StateError::Expired)
        );
        let other = MasterKey::from_hex(&"cd".repeat(32)).expect("key");
        assert_eq!(
            LinkRequest::verify(&state, &other, 0),
            Err(StateError::Forged)
        );
        // Another org in the payload with the original tag.
        let forged = LinkRequest {
            org_id: "org-2".into(),
            ..request.clone()
        }
        .sign(&other);
        let (payload, _) = forged.split_once('.').expect("dot");
        let (_, tag) = state.split_once('.').expect("dot");
        assert_eq!(
            LinkRequest::verify(&format!("{payload}.{tag}"), &m, 0),
            Err(StateError::Forged)
        );
        for junk in ["", ".", "zz.zz", "00.00"] {
            assert_eq!(LinkRequest::verify(junk, &m, 0), Err(StateError::Forged));
        }
        let nonces = Nonces::default();
        assert_eq!(nonces.check(&request, 0), Ok(()));
        assert_eq!(
            nonces.check(&request, 0),
            Ok(()),
            "checking uses nothing up"
        );
        assert_eq!(nonces.use_once(&request, 0), Ok(()));
        assert_eq!(nonces.check(&request, 0), Err(StateError::Replayed));
        assert_eq!(nonces.use_once(&request, 0), Err(StateError::Replayed));
    }
}
