//! The fetch role's work: notifications to call records to call legs.
//!
//! - [`fetcher`]: fetching, normalising and publishing, one call at a time per call.
//! - [`offsets`]: committing in order what finished out of order.
//! - [`events`]: what the fetcher counts, each with its log line.

pub mod events;
pub mod fetcher;
pub mod offsets;
