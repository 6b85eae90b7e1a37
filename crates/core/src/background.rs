//! The desk's own syncs while the app runs: every signed-in profile at the interval the settings
//! give (off, or 30 s to 15 min), its requests paced to half of each API's quota
//! (`incidents::api::in_background`), so the analyst's own actions always have the other half.
//! When the tenant cannot be reached it backs off, doubling the wait up to 15 minutes; a 429 is
//! honoured by the API client itself (it waits as long as the API says).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// How one background sync went, for the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Synced,
    /// The tenant could not be reached.
    Offline,
    /// Nothing was signed in, or the sync failed for another reason: try again at the interval.
    Skipped,
}

/// The longest wait between tries while offline.
pub const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// The wait before the next sync: the interval, doubled for each offline try in a row, up to
/// `MAX_BACKOFF` (never shorter than the interval).
pub fn next_delay(every: Duration, offline_in_a_row: u32) -> Duration {
    let factor = 1u32 << offline_in_a_row.min(10);
    every.saturating_mul(factor).min(MAX_BACKOFF.max(every))
}

/// While settings say how often, re-read before each wait.
const RECHECK: Duration = Duration::from_secs(5);

/// Runs background syncs forever: `every()` gives the interval (re-read before each wait; `None`
/// is off), `wake` starts one early (a setting changed, "sync now"), `sync` does one.
pub async fn run<E, S, F>(every: E, wake: Arc<Notify>, mut sync: S)
where
    E: Fn() -> Option<Duration>,
    S: FnMut() -> F,
    F: Future<Output = Outcome>,
{
    let mut offline = 0u32;
    loop {
        let interval = every();
        let delay = interval.map_or(RECHECK, |e| next_delay(e, offline));
        let woken = tokio::select! {
            () = tokio::time::sleep(delay) => false,
            () = wake.notified() => true,
        };
        // Off: only look again later. Just turned on: wait its interval first (a wake-up, such
        // as "sync now", syncs at once).
        if every().is_none() || (interval.is_none() && !woken) {
            continue;
        }
        match sync().await {
            Outcome::Offline => offline = offline.saturating_add(1),
            Outcome::Synced | Outcome::Skipped => offline = 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    #[test]
    fn offline_doubles_the_wait_up_to_fifteen_minutes() {
        let m = Duration::from_secs(60);
        assert_eq!(next_delay(m, 0), m);
        assert_eq!(next_delay(m, 1), Duration::from_secs(120));
        assert_eq!(next_delay(m, 3), Duration::from_secs(480));
        assert_eq!(next_delay(m, 4), MAX_BACKOFF);
        assert_eq!(next_delay(m, 40), MAX_BACKOFF);
        assert_eq!(next_delay(MAX_BACKOFF, 2), MAX_BACKOFF);
    }

    /// The schedule on tokio's paused clock: the syncs' times, seconds after the start.
    async fn times(
        every: Arc<Mutex<Option<Duration>>>,
        wake: Arc<Notify>,
        outcome: fn(u32) -> Outcome,
        run_for: Duration,
    ) -> Vec<u64> {
        let start = tokio::time::Instant::now();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let n = Arc::new(AtomicU32::new(0));
        let (s, c) = (Arc::clone(&seen), Arc::clone(&n));
        let e = Arc::clone(&every);
        let task = tokio::spawn(run(
            move || *e.lock().unwrap(),
            wake,
            move || {
                s.lock().unwrap().push(start.elapsed().as_secs());
                let k = c.fetch_add(1, Ordering::SeqCst);
                std::future::ready(outcome(k))
            },
        ));
        tokio::time::sleep(run_for).await;
        task.abort();
        let v = seen.lock().unwrap().clone();
        v
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn syncs_at_the_interval_none_while_off_and_backs_off_offline() {
        let at = |s| Arc::new(Mutex::new(s));
        let off = times(
            at(None),
            Arc::default(),
            |_| Outcome::Synced,
            Duration::from_secs(600),
        )
        .await;
        assert!(off.is_empty(), "off: no sync");
        let every30 = times(
            at(Some(Duration::from_secs(30))),
            Arc::default(),
            |_| Outcome::Synced,
            Duration::from_secs(61),
        )
        .await;
        assert_eq!(every30, [30, 60], "two syncs in 61 s at 30 s");
        let offline = times(
            at(Some(Duration::from_secs(30))),
            Arc::default(),
            |k| {
                if k < 3 {
                    Outcome::Offline
                } else {
                    Outcome::Synced
                }
            },
            Duration::from_secs(400),
        )
        .await;
        assert_eq!(
            offline,
            [30, 90, 210],
            "then 60, 120, 240 s apart while offline"
        );
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_wake_up_syncs_at_once_and_a_new_setting_applies() {
        let every = Arc::new(Mutex::new(Some(Duration::from_secs(300))));
        let wake = Arc::new(Notify::new());
        let (e, w) = (Arc::clone(&every), Arc::clone(&wake));
        let poke = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            w.notify_one();
            tokio::time::sleep(Duration::from_secs(10)).await;
            *e.lock().unwrap() = Some(Duration::from_secs(30));
            w.notify_one();
        });
        let t = times(every, wake, |_| Outcome::Synced, Duration::from_secs(81)).await;
        poke.abort();
        assert_eq!(
            t,
            [10, 20, 50, 80],
            "woken at 10 s and 20 s, then every 30 s"
        );
    }
}
