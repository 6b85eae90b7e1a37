//! The token endpoint's answer, from a provider that may be hostile or broken, read by oauth2 as
//! the app reads it.
#![no_main]

use idesk_core::auth::oidc::{read_token_answer, GrantKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else { return };
    let status = [200u16, 400, 401, 500][usize::from(first) % 4];
    for grant in [GrantKind::AuthorizationCode, GrantKind::RefreshToken, GrantKind::ClientCredentials] {
        match read_token_answer(status, body, grant) {
            Ok(resp) => assert!(!resp.access_token.expose().is_empty()),
            Err(e) => {
                let _ = (e.code(), e.user_message());
            }
        }
    }
});
