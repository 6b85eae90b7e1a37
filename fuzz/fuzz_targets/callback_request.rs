//! The loopback listener's request parser takes bytes from anything that can reach 127.0.0.1.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = idesk_core::auth::loopback::parse_request(data) {
        assert!(req.path.starts_with('/'), "a parsed request always has a path");
        let _ = req.param("state");
    }
});
