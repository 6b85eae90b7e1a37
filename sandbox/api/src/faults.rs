//! The sandbox API's fault switches, so tests and demos can see how a client copes with what the
//! real service does on a bad day. Set through the control plane (never used by apps):
//!
//! `POST /_sandbox/fault` with `{"kind": ..., "times": N}` (default: until cleared), where kind is
//! - `status` with `status` (e.g. 503, 429) and optional `retryAfter` seconds (a `Retry-After` header);
//! - `latency` with `delayMs`: the answer comes late, but right;
//! - `insufficientClaims`: a 401 with a Continuous Access Evaluation claims challenge; with `claims`,
//!   that text (base64-encoded) instead of Graph's usual request — a broken or hostile challenge;
//! - `malformed`: valid JSON of the wrong shape; `truncated`: a body cut off half way;
//! - `foreignNextLink`: a page whose `@odata.nextLink` points at another origin;
//! - `loopingNextLink`: a page whose `@odata.nextLink` points back at itself (a server paging forever).
//!
//! `"after": N` lets N requests through first. `DELETE /_sandbox/fault` clears them; `GET /_sandbox/stats` counts incident API requests.

use std::sync::Mutex;

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    Status,
    Latency,
    InsufficientClaims,
    Malformed,
    Truncated,
    ForeignNextLink,
    LoopingNextLink,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    pub kind: Kind,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// The claims an `insufficientClaims` challenge carries, as text.
    #[serde(default)]
    pub claims: Option<String>,
    #[serde(default)]
    pub times: Option<u32>,
    /// Let this many requests through untouched first (a failure half way through a listing).
    #[serde(default)]
    pub after: u32,
}

#[derive(Default)]
pub struct Faults(Mutex<Vec<Fault>>);

impl Faults {
    pub fn add(&self, f: Fault) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(f);
    }

    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The fault for this request, if any: the oldest one set, used up after `times` requests.
    pub fn take(&self) -> Option<Fault> {
        let mut faults = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let first = faults.first_mut()?;
        if first.after > 0 {
            first.after -= 1;
            return None;
        }
        let fault = first.clone();
        match &mut first.times {
            Some(n) if *n <= 1 => {
                faults.remove(0);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        Some(fault)
    }
}
