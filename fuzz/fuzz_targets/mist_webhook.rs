//! `POST /telemetry/mist/{org}` bodies (after the signature): every topic's events.
#![no_main]

use callsight_telemetry::TimeWindow;
use callsight_telemetry::mist::webhook::{Delivery, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    for org in [Some("0c8e2d7a-5f31-4b62-9d84-1a2b3c4d5e6f"), None] {
        let _ = parse(
            body,
            &Delivery {
                org,
                window: TimeWindow::ANY,
            },
        );
    }
});
