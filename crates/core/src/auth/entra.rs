//! What Microsoft Entra ID's errors mean for the person signing in, and what to do about them.
//!
//! Branches on the OAuth `error` code (RFC 6749 §5.2, §4.1.2.1) and Entra's numeric AADSTS code —
//! from the token endpoint's `error_codes` array, or the `AADSTS<n>:` prefix Entra puts on every
//! `error_description` — never on the description's wording, which Microsoft changes.

/// Entra's numeric code: `error_codes[0]` when given, else the description's `AADSTS<n>` prefix.
pub fn aadsts_code(error_codes: Option<&[u64]>, description: Option<&str>) -> Option<u64> {
    if let Some(&code) = error_codes.and_then(|c| c.first()) {
        return Some(code);
    }
    let rest = description?.trim_start().strip_prefix("AADSTS")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Whether the fix is an administrator granting consent, so the UI offers the admin-consent link.
pub fn needs_admin_consent(code: Option<u64>) -> bool {
    matches!(code, Some(65001 | 90094 | 90095))
}

/// One sentence that says what to do.
pub fn advice(error: &str, code: Option<u64>) -> &'static str {
    match code {
        Some(50011) => "The redirect URI is not registered: add http://localhost under \"Mobile and desktop applications\" in the app registration.",
        Some(50076 | 50079) => "Your organisation requires multi-factor authentication: sign in again and complete it in the browser.",
        Some(50105) => "Your account is not assigned to this application: ask an administrator to assign it.",
        Some(50194) => "The app is single-tenant: use the tenant ID or domain, not \"common\".",
        Some(53000..=53004) => "A Conditional Access policy blocked the sign-in: use a compliant device or network, or ask your administrator.",
        Some(65001) => "The app has not been granted consent: an administrator must grant it (use the admin-consent link).",
        Some(65004) => "Consent was declined in the browser.",
        Some(90094 | 90095) => "These permissions need an administrator's consent: send the admin-consent link to an administrator.",
        Some(700016) => "No application with this client ID exists in the tenant: check the client ID and tenant.",
        Some(7000218) => "The app is registered as confidential: set \"Allow public client flows\" to Yes and use the \"Mobile and desktop applications\" platform.",
        Some(700025) => "The app is a public client: remove the client secret from this profile.",
        Some(70008 | 700082 | 700084) => "The session has expired: sign in again.",
        Some(700027) => "The tenant did not accept the certificate: upload it under \"Certificates & secrets\" in the app registration, and check it has not expired.",
        Some(700024) => "The certificate's client assertion is outside its validity window: check this computer's clock.",
        Some(7000215 | 7000222) => "The client secret is wrong or expired: enter a valid one for this profile.",
        Some(90002 | 90023) => "The tenant was not found: check the tenant ID or domain, and the cloud.",
        _ => match error {
            "invalid_grant" => "The session has expired or was revoked: sign in again.",
            "invalid_client" => "The app registration rejected this client: check the client ID, and that public client flows are allowed.",
            "unauthorized_client" => "This app is not allowed to use this sign-in flow: check the app registration's platform settings.",
            "access_denied" => "Access was denied in the browser.",
            "consent_required" => "Consent is needed: sign in again, or ask an administrator to grant it.",
            "interaction_required" | "login_required" => "Sign in again interactively.",
            "invalid_scope" => "The app asked for a permission the tenant does not offer: check the API permissions of the app registration.",
            "temporarily_unavailable" | "server_error" => "The identity service is unavailable: try again in a few minutes.",
            _ => "The identity service refused the request.",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_comes_from_error_codes_or_the_description_prefix() {
        assert_eq!(
            aadsts_code(Some(&[7000218]), Some("AADSTS50011: other")),
            Some(7000218)
        );
        assert_eq!(
            aadsts_code(
                None,
                Some("AADSTS65001: The user or administrator has not consented")
            ),
            Some(65001)
        );
        assert_eq!(aadsts_code(None, Some("no code here")), None);
    }

    #[test]
    fn advice_branches_on_codes_not_wording() {
        assert!(advice("invalid_client", Some(7000218)).contains("Allow public client flows"));
        assert!(advice("invalid_request", Some(50011)).contains("http://localhost"));
        assert!(advice("invalid_grant", None).contains("sign in again"));
        assert!(needs_admin_consent(Some(90094)) && !needs_admin_consent(Some(50011)));
    }
}
