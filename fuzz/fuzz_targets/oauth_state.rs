//! The `state` of `GET /teams/callback`: anyone's text, checked against the master key.
#![no_main]

use callsight_graph::privacy::MasterKey;
use callsight_teams::link::state::LinkRequest;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|body: &[u8]| {
    static MASTER: OnceLock<MasterKey> = OnceLock::new();
    let master = MASTER.get_or_init(|| MasterKey::from_hex(&"ab".repeat(32)).expect("a key"));
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = LinkRequest::verify(text, master, 0);
    }
});
