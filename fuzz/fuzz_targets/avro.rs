//! Kafka record values: Avro single-object encoding and bare datums (what Confluent framing
//! leaves once the writer schema is known), for every record type callsight reads from a topic.
#![no_main]

use callsight_model::codec::{datum, single_object};
use callsight_model::types::{
    CallLeg, DeadLetter, GraphNotification, InventoryRecord, NetworkSample, RootCauseVerdict,
    TenantLink,
};
use libfuzzer_sys::fuzz_target;

fn both<T: callsight_model::codec::Record>(bytes: &[u8]) {
    let _ = single_object::decode::<T>(bytes);
    if let Ok(entry) = datum::current_schema::<T>() {
        let _ = datum::decode_compiled::<T>(&entry.schema, bytes);
    }
}

fuzz_target!(|bytes: &[u8]| {
    let _ = callsight_model::codec::detect(bytes);
    let _ = callsight_model::codec::confluent::split(bytes);
    both::<NetworkSample>(bytes);
    both::<CallLeg>(bytes);
    both::<InventoryRecord>(bytes);
    both::<GraphNotification>(bytes);
    both::<TenantLink>(bytes);
    both::<RootCauseVerdict>(bytes);
    both::<DeadLetter>(bytes);
});
