//! Tenant keys as links store them: random 256-bit keys, wrapped with the master key, newest
//! last. Unlinking removes them from the link, after which pseudonyms can no longer be linked to
//! people and sealed identities no longer open.

use callsight_graph::privacy::{KeyError, MasterKey, TenantKey};
use callsight_model::types::TenantLink;

/// Why a link's key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkKeyError {
    /// The link has no key (unlinked, or not yet linked).
    #[error("the link of org {0} has no key")]
    NoKey(String),
    /// The key does not unwrap with this master key.
    #[error("the key of org {org} does not open with the master key")]
    Unwrap {
        /// Organization.
        org: String,
        /// Why.
        source: KeyError,
    },
}

/// The link's current key.
pub fn current(master: &MasterKey, link: &TenantLink) -> Result<TenantKey, LinkKeyError> {
    let id = link
        .key_id
        .as_deref()
        .ok_or_else(|| LinkKeyError::NoKey(link.org_id.clone()))?;
    let wrapped = link
        .wrapped_keys
        .iter()
        .rev()
        .find(|k| k.key_id == id)
        .ok_or_else(|| LinkKeyError::NoKey(link.org_id.clone()))?;
    master
        .unwrap(wrapped)
        .map_err(|source| LinkKeyError::Unwrap {
            org: link.org_id.clone(),
            source,
        })
}

/// Gives the link a new random key (kept after the older ones) and makes it current.
pub fn add_new(master: &MasterKey, link: &mut TenantLink, now_ms: i64) -> Result<(), KeyError> {
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).map_err(|_| KeyError::Random)?;
    let key = TenantKey::generate(format!("k-{}", hex::encode(id)))?;
    link.wrapped_keys.push(master.wrap(&key, now_ms)?);
    link.key_id = Some(key.key_id);
    Ok(())
}

/// Removes every key of the link.
pub fn destroy(link: &mut TenantLink) {
    link.wrapped_keys.clear();
    link.key_id = None;
}

#[cfg(test)]
mod tests {
    use super::*;
    use callsight_testkit::samples;

    #[test]
    fn keys_rotate_and_are_destroyed() {
        let master = MasterKey::from_hex(&"42".repeat(32)).expect("key");
        let mut link = samples::tenant_link();
        destroy(&mut link);
        assert!(matches!(
            current(&master, &link),
            Err(LinkKeyError::NoKey(_))
        ));
        add_new(&master, &mut link, 1).expect("key");
        let first = current(&master, &link).expect("unwraps");
        let pseudonym = first.pseudonym("p", "priya@contoso.com");
        add_new(&master, &mut link, 2).expect("key");
        let second = current(&master, &link).expect("unwraps");
        assert_eq!(link.wrapped_keys.len(), 2);
        assert_ne!(first.key_id, second.key_id);
        assert_ne!(pseudonym, second.pseudonym("p", "priya@contoso.com"));
        let other = MasterKey::from_hex(&"43".repeat(32)).expect("key");
        assert!(matches!(
            current(&other, &link),
            Err(LinkKeyError::Unwrap { .. })
        ));
        destroy(&mut link);
        assert!(current(&master, &link).is_err());
    }
}
