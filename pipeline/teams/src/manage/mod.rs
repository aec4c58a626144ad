//! Managing links and subscriptions, in the one fetch replica Kafka elects.
//!
//! - [`manager`]: the subscription manager (links, subscriptions, lifecycle, backfill).
//! - [`election`]: which replica manages: the owner of the control topic's one partition.
//! - [`control`]: instructions to the manager on `callsight.control`.

pub mod control;
pub mod election;
pub mod manager;
