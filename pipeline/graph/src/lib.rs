//! Microsoft Graph call records to callsight call legs.
//!
//! Layout:
//! - [`model`]: the callRecords JSON, read defensively.
//! - [`duration`]: ISO 8601 durations to milliseconds.
//! - [`device`]: audio device names to categories (the names never leave in clear).
//! - [`privacy`]: tenant keys, keyed pseudonyms, sealed identities, key wrapping.
//! - [`shape`]: what a saved Graph body is (record, sessions page, list), for people's files.
//! - [`normalize`]: one `CallLeg` per participant endpoint, with privacy applied and the site
//!   resolved from the inventory.

pub mod device;
pub mod duration;
pub mod model;
pub mod normalize;
pub mod privacy;
pub mod shape;
