//! `POST /telemetry` bodies: the NDJSON parser, with its counter state carried across inputs
//! as it is across requests, in a window around a fixed receiving time.
#![no_main]

use callsight_telemetry::TimeWindow;
use callsight_telemetry::ndjson::Parser;
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;
use std::time::Duration;

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new(Parser::new());
}

fuzz_target!(|body: &[u8]| {
    let window = TimeWindow::around(
        1_767_600_000_000,
        Duration::from_secs(7 * 86_400),
        Duration::from_secs(600),
    );
    PARSER.with(|p| {
        let batch = p.borrow_mut().parse(body, window);
        for record in &batch.records {
            let _ = record.key();
        }
    });
    let _ = Parser::new().parse(body, TimeWindow::ANY);
});
