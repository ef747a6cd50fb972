//! Client frames: any text either is refused or parses to a frame that survives a round
//! trip through its own JSON unchanged (the relay acts only on what it can re-state).
#![no_main]

use lyt::protocol::{parse_counsellor, parse_visitor};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(frame) = parse_visitor(text) {
        let json = serde_json::to_string(&frame).expect("a parsed frame serialises");
        assert_eq!(parse_visitor(&json).expect("its JSON parses"), frame);
    }
    if let Ok(frame) = parse_counsellor(text) {
        let json = serde_json::to_string(&frame).expect("a parsed frame serialises");
        assert_eq!(parse_counsellor(&json).expect("its JSON parses"), frame);
    }
});
