#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_core::violations::pipeline::{self, Input};

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    if let Some(v) = warden_core::violations::log_line::parse(&line) {
        // Whatever parses must survive the rest of the pipeline.
        let _ = warden_core::violations::Violation::from_log(v, Some("fuzz"));
    }
    let _ = pipeline::parse(Input::LogLine { source: None, line: &line });
    let _ = warden_core::nats::subject::matches(&line, &line);
});
