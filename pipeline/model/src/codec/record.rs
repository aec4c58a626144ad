//! The link between a Rust record type and its named Avro type.

use crate::types::{
    CallLeg, ControlMessage, DeadLetter, GraphNotification, InventoryRecord, NetworkSample,
    RootCauseVerdict, ScopeAlert, TenantLink,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A top-level record: a topic value with a named Avro type in `schemas/`.
pub trait Record: Serialize + DeserializeOwned {
    /// Full Avro name of the type, e.g. `callsight.CallLeg`.
    const FULL_NAME: &'static str;
}

macro_rules! records {
    ($($ty:ident),* $(,)?) => {
        $(impl Record for $ty {
            const FULL_NAME: &'static str = concat!("callsight.", stringify!($ty));
        })*
        /// Full names of every top-level record type.
        pub const RECORD_TYPES: &[&str] = &[$(concat!("callsight.", stringify!($ty))),*];
    };
}

records!(
    GraphNotification,
    CallLeg,
    NetworkSample,
    InventoryRecord,
    TenantLink,
    RootCauseVerdict,
    ScopeAlert,
    DeadLetter,
    ControlMessage,
);
