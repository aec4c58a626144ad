//! Tenant links: the table every replica reads from `teams.links`, the tenant keys they hold,
//! the signed OAuth `state` of a link in progress, and the linking endpoints.
//!
//! - [`store`]: the link table.
//! - [`keys`]: tenant keys in links (wrapped with the master key, rotated, destroyed).
//! - [`state`]: the signed, expiring OAuth `state` of a link.
//! - [`http`]: `/teams/link`, the OAuth callback, `/teams/links`, unlinking, key rotation.

pub mod http;
pub mod keys;
pub mod state;
pub mod store;

/// Path of the OAuth callback.
pub const CALLBACK_PATH: &str = "/teams/callback";
