//! Privacy at the source: participant identity (user principal name, e-mail, display name, device
//! name) never reaches Kafka in clear.
//!
//! Each tenant has a random 256-bit key. From it, HKDF-SHA256 derives a pseudonym key (for
//! HMAC-SHA256 pseudonyms such as `p-3f2a9c...`, stable for a user while the key lives) and a
//! sealing key (AES-256-GCM, for the clear identity of tenants that opted in to seeing names).
//! Tenant keys are stored only wrapped (AES-256-GCM) with the deployment's master key; destroying a
//! tenant's key (unlinking) makes the pseudonyms unlinkable and the sealed identities unreadable.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use callsight_model::types::{SealedIdentity, WrappedTenantKey as WrappedKey};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The sealed data or the wrapped key does not open with this key.
    #[error("does not open with this key (wrong key, or tampered)")]
    Open,
    /// A key of the wrong length.
    #[error("a key must be 32 bytes, got {0}")]
    Length(usize),
    /// The operating system's random source failed.
    #[error("no randomness available")]
    Random,
}

/// One tenant's key.
#[derive(Clone)]
pub struct TenantKey {
    /// Identifier, written next to what the key sealed.
    pub key_id: String,
    pseudonym: [u8; 32],
    seal: [u8; 32],
    secret: [u8; 32],
}

impl std::fmt::Debug for TenantKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TenantKey({})", self.key_id)
    }
}

fn derive(secret: &[u8; 32], label: &str) -> [u8; 32] {
    let hk = Hkdf::<Sha256>::new(Some(b"callsight"), secret);
    let mut out = [0u8; 32];
    hk.expand(label.as_bytes(), &mut out)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|_| KeyError::Random)?;
    Ok(out)
}

impl TenantKey {
    /// A key from its 32 secret bytes.
    pub fn from_secret(key_id: impl Into<String>, secret: [u8; 32]) -> Self {
        TenantKey {
            key_id: key_id.into(),
            pseudonym: derive(&secret, "pseudonym"),
            seal: derive(&secret, "seal"),
            secret,
        }
    }

    /// A new random key.
    pub fn generate(key_id: impl Into<String>) -> Result<Self, KeyError> {
        Ok(Self::from_secret(key_id, random_bytes()?))
    }

    /// The keyed pseudonym of `value` (case-insensitive), e.g. `p-3f2a9c0b17d4e6a1`.
    pub fn pseudonym(&self, prefix: &str, value: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.pseudonym).expect("HMAC takes keys of any length");
        mac.update(value.trim().to_lowercase().as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("{prefix}-{}", hex::encode(&digest[..8]))
    }

    /// Seals `plaintext` with a fresh nonce.
    pub fn seal(&self, plaintext: &[u8]) -> Result<SealedIdentity, KeyError> {
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(self.seal));
        let nonce_bytes: [u8; 12] = random_bytes()?;
        let nonce = Nonce::from(nonce_bytes);
        let ciphertext = cipher
            .encrypt(&nonce, plaintext)
            .map_err(|_| KeyError::Open)?;
        Ok(SealedIdentity {
            key_id: self.key_id.clone(),
            nonce: nonce_bytes.to_vec(),
            ciphertext,
        })
    }

    /// Opens what [`TenantKey::seal`] sealed.
    pub fn open(&self, sealed: &SealedIdentity) -> Result<Vec<u8>, KeyError> {
        let nonce = Nonce::try_from(sealed.nonce.as_slice()).map_err(|_| KeyError::Open)?;
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(self.seal));
        cipher
            .decrypt(&nonce, sealed.ciphertext.as_slice())
            .map_err(|_| KeyError::Open)
    }
}

/// The deployment's master key, which wraps tenant keys for storage.
pub struct MasterKey {
    key: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A master key from 32 bytes given as 64 hex digits.
    pub fn from_hex(hex_text: &str) -> Result<Self, KeyError> {
        let bytes = hex::decode(hex_text.trim()).map_err(|_| KeyError::Length(0))?;
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Length(bytes.len()))?;
        Ok(MasterKey { key })
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(self.key))
    }

    fn mac(&self, purpose: &str) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&derive(&self.key, purpose))
            .expect("HMAC takes a key of any length")
    }

    /// An HMAC-SHA256 tag of `message` for `purpose` (keys for different purposes are
    /// independent).
    pub fn tag(&self, purpose: &str, message: &[u8]) -> [u8; 32] {
        let mut mac = self.mac(purpose);
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` authenticates `message` for `purpose`, compared in constant time.
    pub fn verify(&self, purpose: &str, message: &[u8], tag: &[u8]) -> bool {
        let mut mac = self.mac(purpose);
        mac.update(message);
        mac.verify_slice(tag).is_ok()
    }

    /// The `clientState` of the tenant's Graph subscription: 64 hex digits that only a holder
    /// of the master key can compute, so every replica checks notifications without a lookup.
    pub fn client_state(&self, tenant_id: &str) -> String {
        hex::encode(self.tag(
            "graph-client-state",
            tenant_id.trim().to_ascii_lowercase().as_bytes(),
        ))
    }

    /// Encrypts a tenant key for storage; the key id is bound as associated data.
    pub fn wrap(&self, key: &TenantKey, created_at: i64) -> Result<WrappedKey, KeyError> {
        let nonce_bytes: [u8; 12] = random_bytes()?;
        let ciphertext = self
            .cipher()
            .encrypt(
                &Nonce::from(nonce_bytes),
                aes_gcm::aead::Payload {
                    msg: &key.secret,
                    aad: key.key_id.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Open)?;
        Ok(WrappedKey {
            key_id: key.key_id.clone(),
            nonce: hex::encode(nonce_bytes),
            ciphertext: hex::encode(ciphertext),
            created_at,
        })
    }

    /// Decrypts a stored tenant key.
    pub fn unwrap(&self, wrapped: &WrappedKey) -> Result<TenantKey, KeyError> {
        let nonce = hex::decode(&wrapped.nonce).map_err(|_| KeyError::Open)?;
        let ciphertext = hex::decode(&wrapped.ciphertext).map_err(|_| KeyError::Open)?;
        let nonce = Nonce::try_from(nonce.as_slice()).map_err(|_| KeyError::Open)?;
        let secret = self
            .cipher()
            .decrypt(
                &nonce,
                aes_gcm::aead::Payload {
                    msg: &ciphertext,
                    aad: wrapped.key_id.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Open)?;
        let secret: [u8; 32] = secret
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Length(secret.len()))?;
        Ok(TenantKey::from_secret(wrapped.key_id.clone(), secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_per_key_and_unlinkable_across_keys() {
        let a = TenantKey::from_secret("k1", [1; 32]);
        let b = TenantKey::from_secret("k2", [2; 32]);
        let p = a.pseudonym("p", "Priya.Raman@contoso.com");
        assert_eq!(p, a.pseudonym("p", "priya.raman@contoso.com "));
        assert!(p.starts_with("p-") && p.len() == 18, "{p}");
        assert_ne!(p, b.pseudonym("p", "priya.raman@contoso.com"));
        assert!(!p.contains("priya"));
    }

    #[test]
    fn tags_verify_per_purpose_and_client_states_differ_per_tenant() {
        let master = MasterKey::from_hex(&"7".repeat(64)).expect("key");
        let tag = master.tag("link-state", b"org-1");
        assert!(master.verify("link-state", b"org-1", &tag));
        assert!(!master.verify("link-state", b"org-2", &tag));
        assert!(!master.verify("other", b"org-1", &tag));
        assert!(!master.verify("link-state", b"org-1", &tag[..31]));
        let a = master.client_state("AAAA-1");
        assert_eq!(a, master.client_state("aaaa-1"));
        assert_eq!(a.len(), 64);
        assert_ne!(a, master.client_state("bbbb-2"));
        let other = MasterKey::from_hex(&"8".repeat(64)).expect("key");
        assert_ne!(a, other.client_state("aaaa-1"));
    }

    #[test]
    fn sealed_identities_open_only_with_their_key() {
        let key = TenantKey::generate("k1").expect("random");
        let sealed = key.seal(b"{\"upn\":\"priya@contoso.com\"}").expect("seals");
        assert_eq!(
            key.open(&sealed).expect("opens"),
            b"{\"upn\":\"priya@contoso.com\"}"
        );
        let other = TenantKey::generate("k1").expect("random");
        assert_eq!(other.open(&sealed), Err(KeyError::Open));
        let mut tampered = sealed.clone();
        tampered.ciphertext[0] ^= 1;
        assert_eq!(key.open(&tampered), Err(KeyError::Open));
    }

    #[test]
    fn wrapped_keys_round_trip_and_bind_their_id() {
        let master = MasterKey::from_hex(&"ab".repeat(32)).expect("master");
        let key = TenantKey::generate("tenant-a/1").expect("random");
        let wrapped = master.wrap(&key, 1).expect("wraps");
        let back = master.unwrap(&wrapped).expect("unwraps");
        assert_eq!(back.pseudonym("p", "x"), key.pseudonym("p", "x"));
        let mut renamed = wrapped.clone();
        renamed.key_id = "tenant-b/1".into();
        assert!(master.unwrap(&renamed).is_err(), "the id is authenticated");
        let other = MasterKey::from_hex(&"cd".repeat(32)).expect("master");
        assert!(other.unwrap(&wrapped).is_err());
        assert!(MasterKey::from_hex("abcd").is_err());
    }
}
