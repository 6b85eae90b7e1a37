//! `WWW-Authenticate` values from an incident API that may be hostile: the auth-params parser and
//! the claims-challenge check.
#![no_main]

use idesk_core::auth::challenge::{claims_request, parse_challenges, MAX_CLAIMS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else { return };
    for c in parse_challenges(header) {
        assert!(!c.scheme.is_empty(), "a challenge always has a scheme");
    }
    if let Ok(Some(claims)) = claims_request(header) {
        assert!(claims.len() <= MAX_CLAIMS, "an accepted claims request is small");
        let v: serde_json::Value = serde_json::from_str(&claims).expect("accepted claims are JSON");
        assert!(v.is_object());
    }
});
