//! A Graph or Defender XDR incident listing page, from an API that may be hostile or broken.
#![no_main]

use idesk_core::config::Backend;
use idesk_core::incidents::api::read_page;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for backend in [Backend::Graph, Backend::Defender] {
        match read_page(backend, data) {
            Ok((incidents, _next)) => {
                for i in incidents {
                    let _ = (i.severity.as_str(), i.status.as_str(), i.display_name.len());
                }
            }
            Err(e) => {
                let _ = (e.code(), e.user_message());
            }
        }
    }
});
