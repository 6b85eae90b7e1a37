//! Client-side pacing under an API's documented quotas, so the client rarely meets a 429: token
//! buckets that allow a burst of a whole window and then refill at the quota's rate.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

struct Bucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    at: Instant,
}

pub struct Pacer(Mutex<Vec<Bucket>>);

/// Graph's quota: about 150 requests a minute per app per tenant.
pub const GRAPH: &[(u32, Duration)] = &[(150, Duration::from_secs(60))];
/// Defender XDR's: 50 a minute and 1,500 an hour.
pub const DEFENDER: &[(u32, Duration)] = &[
    (50, Duration::from_secs(60)),
    (1500, Duration::from_secs(3600)),
];

/// Until when (Unix milliseconds) the background work waits for the quota, when it does.
static BACKGROUND_WAITS_UNTIL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Records that the background work waits `wait` for the quota (a bucket, or a 429's wait).
pub fn background_waits(wait: Duration) {
    if is_background() && wait >= Duration::from_secs(1) {
        let until = unix_ms().saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
        BACKGROUND_WAITS_UNTIL.fetch_max(until, std::sync::atomic::Ordering::SeqCst);
    }
}

/// How much longer the background sync waits for the API's quota, if it does: for the window's
/// "waiting for the API's quota".
pub fn background_waiting() -> Option<Duration> {
    let until = BACKGROUND_WAITS_UNTIL.load(std::sync::atomic::Ordering::SeqCst);
    let now = unix_ms();
    (until > now).then(|| Duration::from_millis(until - now))
}

tokio::task_local! {
    /// Set while the desk works on its own (background sync, detail prefetch): its requests
    /// also wait on the background pacer.
    static BACKGROUND: ();
}

/// Runs `f` as background work: its requests are paced to half the API's quota.
pub async fn in_background<F: std::future::Future>(f: F) -> F::Output {
    BACKGROUND.scope((), f).await
}

/// Whether the current task is background work.
pub fn is_background() -> bool {
    BACKGROUND.try_with(|_| ()).is_ok()
}

impl Pacer {
    pub fn new(quotas: &[(u32, Duration)]) -> Self {
        // Benchmarks that measure the client rather than the quota switch pacing off.
        if std::env::var("IDESK_PACING").as_deref() == Ok("off") {
            return Self::unlimited();
        }
        let now = Instant::now();
        Self(Mutex::new(
            quotas
                .iter()
                .map(|&(n, window)| Bucket {
                    capacity: f64::from(n),
                    per_second: f64::from(n) / window.as_secs_f64(),
                    tokens: f64::from(n),
                    at: now,
                })
                .collect(),
        ))
    }

    /// Half of each of an API's quotas: what the desk's own background work may use, leaving the
    /// other half for the analyst's actions.
    pub fn half_of(quotas: &[(u32, Duration)]) -> Self {
        let half: Vec<(u32, Duration)> = quotas.iter().map(|&(n, w)| (n / 2, w)).collect();
        Self::new(&half)
    }

    pub fn unlimited() -> Self {
        Self(Mutex::new(Vec::new()))
    }

    /// Takes one request's worth from every bucket, waiting first when one is empty.
    pub async fn wait(&self) {
        loop {
            let wait = {
                let mut buckets = self.0.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let mut wait = Duration::ZERO;
                for b in buckets.iter_mut() {
                    b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * b.per_second)
                        .min(b.capacity);
                    b.at = now;
                    if b.tokens < 1.0 {
                        wait = wait.max(Duration::from_secs_f64((1.0 - b.tokens) / b.per_second));
                    }
                }
                if wait.is_zero() {
                    for b in buckets.iter_mut() {
                        b.tokens -= 1.0;
                    }
                }
                wait
            };
            if wait.is_zero() {
                return;
            }
            background_waits(wait);
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn allows_a_burst_then_the_quota_rate() {
        let p = Pacer::new(&[(3, Duration::from_secs(60))]);
        let start = tokio::time::Instant::now();
        for _ in 0..3 {
            p.wait().await;
        }
        assert!(
            start.elapsed() < Duration::from_millis(1),
            "the first window's requests go at once"
        );
        p.wait().await;
        assert!(
            start.elapsed() >= Duration::from_secs(19),
            "then one per 20 s: {:?}",
            start.elapsed()
        );
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn background_work_gets_half_of_each_quota() {
        let half = Pacer::half_of(&[
            (4, Duration::from_secs(60)),
            (10, Duration::from_secs(3600)),
        ]);
        let start = tokio::time::Instant::now();
        half.wait().await;
        half.wait().await;
        assert!(start.elapsed() < Duration::from_millis(1), "half the burst");
        half.wait().await;
        assert!(
            start.elapsed() >= Duration::from_secs(29),
            "then half the rate: {:?}",
            start.elapsed()
        );
        assert!(!is_background());
        assert!(in_background(async { is_background() }).await);
        assert!(!is_background(), "only inside");
        assert_eq!(
            background_waiting(),
            None,
            "the analyst's waits are not the background's"
        );
        in_background(half.wait()).await;
        assert!(
            background_waiting().is_some_and(|w| w > Duration::from_secs(10)),
            "a background wait is said"
        );
    }
}
