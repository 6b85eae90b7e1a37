//! Claims challenges (Continuous Access Evaluation): an API's 401 with
//! `WWW-Authenticate: Bearer error="insufficient_claims", claims="<base64 JSON>"` asks the next
//! interactive sign-in to request those claims.
//!
//! The header comes from a server, so it is parsed by the grammar (RFC 9110 §11.6.1: challenges of
//! an auth-scheme and auth-params, `token` or `quoted-string` values), never by searching for a
//! substring, and what it carries is accepted only as a JSON object of `access_token` /
//! `id_token` requests, at most 4 KB.

use base64::Engine;

/// The largest claims request passed on to a sign-in.
pub const MAX_CLAIMS: usize = 4 * 1024;
/// The longest header value parsed.
const MAX_HEADER: usize = 16 * 1024;

/// One challenge: its scheme (lower case) and its parameters (names lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    fn skip_ws_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }
    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
    /// A token68 may end in `=` padding.
    fn token68_tail(&mut self) {
        while self.peek() == Some(b'=') {
            self.i += 1;
        }
    }
    fn quoted(&mut self) -> Option<String> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(String::from_utf8_lossy(&out).into_owned());
                }
                b'\\' => {
                    self.i += 1;
                    out.push(self.peek()?);
                    self.i += 1;
                }
                c => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }
}

/// Parses a `WWW-Authenticate` value into its challenges. Total: any input gives a list (empty
/// when nothing parses), never a panic; a malformed tail ends the list (fuzzed by `make fuzz`).
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let bytes = header.as_bytes();
    let mut c = Cursor {
        s: &bytes[..bytes.len().min(MAX_HEADER)],
        i: 0,
    };
    let mut out: Vec<Challenge> = Vec::new();
    loop {
        c.skip_ws_commas();
        let Some(scheme) = c.token() else { break };
        let mut challenge = Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params: Vec::new(),
        };
        // Parameters until the next scheme: a token followed by whitespace and another token.
        loop {
            c.skip_ws_commas();
            let mark = c.i;
            let Some(name) = c.token() else { break };
            c.skip_ws();
            if c.peek() != Some(b'=') {
                // Not a parameter: the next challenge's scheme.
                c.i = mark;
                break;
            }
            c.i += 1;
            c.skip_ws();
            let value = if c.peek() == Some(b'"') {
                c.quoted()
            } else {
                c.token().inspect(|_| c.token68_tail())
            };
            match value {
                Some(v) => challenge.params.push((name.to_ascii_lowercase(), v)),
                // `abc==`: a token68, not a parameter.
                None => c.token68_tail(),
            }
        }
        out.push(challenge);
        if c.i >= c.s.len() {
            break;
        }
    }
    out
}

/// The claims a Bearer `insufficient_claims` challenge asks for, checked: `Ok(None)` when the
/// header is no claims challenge, `Err` with the reason when it is one that cannot be accepted.
pub fn claims_request(header: &str) -> Result<Option<String>, &'static str> {
    let Some(bearer) = parse_challenges(header)
        .into_iter()
        .find(|c| c.scheme == "bearer" && c.param("error") == Some("insufficient_claims"))
    else {
        return Ok(None);
    };
    let encoded = bearer
        .param("claims")
        .ok_or("the claims challenge names no claims")?;
    if encoded.len() > MAX_CLAIMS * 2 {
        return Err("the claims challenge is too large");
    }
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
    ];
    let decoded = engines
        .iter()
        .find_map(|e| e.decode(encoded).ok())
        .ok_or("the claims challenge is not base64")?;
    if decoded.len() > MAX_CLAIMS {
        return Err("the claims challenge is larger than 4 KB");
    }
    let value: serde_json::Value =
        serde_json::from_slice(&decoded).map_err(|_| "the claims challenge is not JSON")?;
    let object = value
        .as_object()
        .ok_or("the claims challenge is not a JSON object")?;
    if object.is_empty()
        || !object
            .iter()
            .all(|(k, v)| matches!(k.as_str(), "access_token" | "id_token") && v.is_object())
    {
        return Err("the claims challenge asks for something other than token claims");
    }
    Ok(Some(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn parses_challenges_and_their_params() {
        let cs = parse_challenges(
            r#"Basic realm="x", Bearer realm="", authorization_uri="https://login/x", error="insufficient_claims", claims="abc=""#,
        );
        assert_eq!(cs.len(), 2, "{cs:?}");
        assert_eq!(cs[0].scheme, "basic");
        assert_eq!(cs[1].param("error"), Some("insufficient_claims"));
        assert_eq!(cs[1].param("claims"), Some("abc="));
        let escaped = parse_challenges(r#"Bearer error="a\"b", x=tok"#);
        assert_eq!(escaped[0].param("error"), Some("a\"b"));
        assert_eq!(escaped[0].param("x"), Some("tok"));
    }

    #[test]
    fn a_valid_challenge_gives_its_claims() {
        let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#;
        let header = format!(
            r#"Bearer realm="", error="insufficient_claims", claims="{}""#,
            b64(claims)
        );
        let got = claims_request(&header).unwrap().unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&got).unwrap(),
            serde_json::from_str::<serde_json::Value>(claims).unwrap()
        );
        assert_eq!(
            claims_request(r#"Bearer error="invalid_token""#),
            Ok(None),
            "not a claims challenge"
        );
    }

    #[test]
    fn what_is_not_a_token_claims_object_is_refused() {
        let big = format!(r#"{{"access_token":{{"x":"{}"}}}}"#, "a".repeat(MAX_CLAIMS));
        for (why, claims) in [
            ("not JSON", "<xml/>".to_owned()),
            ("an array", "[1,2]".to_owned()),
            ("another member", r#"{"userinfo":{}}"#.to_owned()),
            ("over 4 KB", big),
        ] {
            let header = format!(
                r#"Bearer error="insufficient_claims", claims="{}""#,
                b64(&claims)
            );
            assert!(claims_request(&header).is_err(), "{why} is refused");
        }
        assert!(claims_request(r#"Bearer error="insufficient_claims""#).is_err());
        assert!(
            claims_request(r#"Bearer error="insufficient_claims", claims="%%%""#).is_err(),
            "not base64"
        );
        // A substring elsewhere is not a challenge.
        assert_eq!(
            claims_request(r#"Bearer realm="error=\"insufficient_claims\"""#),
            Ok(None)
        );
    }
}
