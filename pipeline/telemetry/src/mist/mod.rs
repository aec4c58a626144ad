//! Juniper Mist: webhook deliveries ([`webhook`]), their signatures ([`signature`]), the REST
//! API's statistics objects ([`stats`]) and event types ([`events`]).

pub mod events;
pub mod signature;
pub mod stats;
pub mod webhook;
