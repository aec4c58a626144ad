//! Mist webhook signatures: `X-Mist-Signature-v2` is the lowercase hex HMAC-SHA256 of the raw
//! body with the webhook's secret; the legacy `X-Mist-Signature` is HMAC-SHA1. Verified over the
//! bytes as received, before any parsing, in constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// Why a delivery's signature is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No signature header (the webhook has no secret, or it is not Mist).
    #[error("no X-Mist-Signature-v2 header")]
    Missing,
    /// Only the SHA1 header, which is not allowed for this org.
    #[error("only the legacy X-Mist-Signature (HMAC-SHA1) header, which this org does not allow")]
    LegacyNotAllowed,
    /// The header is not hex.
    #[error("the signature header is not hex")]
    Malformed,
    /// The signature does not match the body.
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Verifies a delivery: the v2 header when present, else the legacy one if allowed.
pub fn verify(
    secret: &[u8],
    body: &[u8],
    v2: Option<&str>,
    legacy: Option<&str>,
    allow_legacy: bool,
) -> Result<(), SignatureError> {
    match (v2, legacy) {
        (Some(v2), _) => {
            let expected = hex::decode(v2.trim()).map_err(|_| SignatureError::Malformed)?;
            let mut mac =
                Hmac::<Sha256>::new_from_slice(secret).map_err(|_| SignatureError::Mismatch)?;
            mac.update(body);
            mac.verify_slice(&expected)
                .map_err(|_| SignatureError::Mismatch)
        }
        (None, Some(_)) if !allow_legacy => Err(SignatureError::LegacyNotAllowed),
        (None, Some(v1)) => {
            let expected = hex::decode(v1.trim()).map_err(|_| SignatureError::Malformed)?;
            let mut mac =
                Hmac::<Sha1>::new_from_slice(secret).map_err(|_| SignatureError::Mismatch)?;
            mac.update(body);
            mac.verify_slice(&expected)
                .map_err(|_| SignatureError::Mismatch)
        }
        (None, None) => Err(SignatureError::Missing),
    }
}

/// The v2 signature of a body, as Mist would send it (for tests and the simulator).
pub fn sign_v2(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}
