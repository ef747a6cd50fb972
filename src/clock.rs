//! The relay's clock, taken from outside: the engine and both stores read every deadline
//! (offer expiry, wrap-up, the reconnect and resume windows, callback expiry, presence) from
//! a `Clock` they are given, never from the machine directly.
//!
//! - `Clock::System` is what `lyt serve` runs on: the machine's clock on the node, and Redis's
//!   own clock (`TIME`) inside the Redis scripts, so that every node sharing a Redis compares
//!   deadlines on one clock whatever their skew.
//! - `Clock::Virtual` is a clock that moves only when told (`VirtualClock::pass`). Tests and
//!   simulations run the real engine on it: a 30 s offer expiry takes as long as the engine
//!   needs to sweep, not 30 s, and a test never sleeps to wait for a deadline. Under it the
//!   Redis scripts are handed the virtual time instead of reading `TIME`.
//!
//! What stays on real time, by design: socket-level timers (pings, idle and set-up timeouts of
//! a connection), retries of a store call that did not answer, and the detection of a node
//! that was frozen (renewals late in real time). Those are about the machine, not about the
//! service's rules. Redis key TTLs, which only collect what nobody deletes, also run on
//! Redis's clock.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// Where the relay reads the time. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The machine's clock (and Redis's, in the Redis scripts).
    #[default]
    System,
    /// A clock that moves only when told.
    Virtual(VirtualClock),
}

impl Clock {
    /// A virtual clock, and the handle that moves it.
    pub fn virtual_clock() -> (Self, VirtualClock) {
        let v = VirtualClock::new();
        (Self::Virtual(v.clone()), v)
    }

    /// Now, for durations and deadlines within this process.
    pub fn now(&self) -> Instant {
        match self {
            Self::System => Instant::now(),
            Self::Virtual(v) => v.now(),
        }
    }

    /// Now as milliseconds since the Unix epoch, for times written where other processes read
    /// them (a counsellor's wrap-up end and free-since in their published duty).
    pub fn unix_ms(&self) -> u64 {
        match self {
            Self::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            Self::Virtual(v) => v.unix_ms(),
        }
    }

    /// The time a shared store must use instead of its own, if any: `None` on the system
    /// clock (Redis reads its own `TIME`: one clock for every node).
    pub fn store_ms(&self) -> Option<u64> {
        match self {
            Self::System => None,
            Self::Virtual(v) => Some(v.unix_ms()),
        }
    }

    /// The virtual clock, if this is one.
    pub fn as_virtual(&self) -> Option<&VirtualClock> {
        match self {
            Self::System => None,
            Self::Virtual(v) => Some(v),
        }
    }
}

/// The shortest step of `VirtualClock::pass`: the default sweep, so that a short pass moves
/// as a running node sees time move. A long pass takes at most `STEPS` steps (a day passes in
/// 100 steps of 14.4 minutes): a node renews and sweeps at every step, so the size of a step
/// only decides how soon after its deadline each expiry is seen.
pub const STEP: Duration = Duration::from_millis(250);

/// Most steps of one `VirtualClock::pass`.
pub const STEPS: u32 = 100;

/// How long, in real time, `VirtualClock::pass` waits for the engine to run one step.
pub const SETTLE_WITHIN: Duration = Duration::from_secs(10);

/// A clock that moves only when told. Clones share the time. One engine (one ticker) may run
/// on it: `pass` waits for that engine to have swept at each step.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Real time when the clock was made: virtual time starts there.
    start: Instant,
    /// The Unix time at `start`, in ms.
    start_unix_ms: u64,
    /// How far the clock has moved; the engine's ticker watches it.
    elapsed: watch::Sender<Duration>,
    /// The furthest time the engine has swept at.
    settled: watch::Sender<Duration>,
}

/// The engine did not sweep a step of virtual time within `SETTLE_WITHIN` of real time (it is
/// not running on this clock, or it is stuck).
#[derive(Debug, thiserror::Error)]
#[error("the engine did not sweep at {at:?} of virtual time within {SETTLE_WITHIN:?}")]
pub struct NotSettled {
    /// The virtual time it was waited for at.
    pub at: Duration,
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl VirtualClock {
    /// A clock at the machine's present time, standing still.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                start: Instant::now(),
                start_unix_ms: Clock::System.unix_ms(),
                elapsed: watch::Sender::new(Duration::ZERO),
                settled: watch::Sender::new(Duration::ZERO),
            }),
        }
    }

    /// How far the clock has moved since it was made.
    pub fn elapsed(&self) -> Duration {
        *self.inner.elapsed.borrow()
    }

    /// Now on this clock.
    pub fn now(&self) -> Instant {
        self.inner.start + self.elapsed()
    }

    /// Now on this clock as milliseconds since the Unix epoch.
    pub fn unix_ms(&self) -> u64 {
        let moved = u64::try_from(self.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.inner.start_unix_ms.saturating_add(moved)
    }

    /// Moves the clock by `d` at once, without waiting for anyone: for a store driven
    /// directly, or an engine whose sweeps the caller runs itself.
    pub fn advance(&self, d: Duration) {
        self.inner.elapsed.send_modify(|e| *e += d);
    }

    /// Lets `d` pass for the engine running on this clock: the clock moves in steps (`STEP`,
    /// or `d / STEPS` when longer) and stops at `d` exactly; each step waits until the engine's ticker has run its renewals and a
    /// sweep at the new time — as a node that was up all along would have. Frames the engine
    /// sends because of it (offers expired, visitors gone) are on their way when this returns.
    pub async fn pass(&self, d: Duration) -> Result<(), NotSettled> {
        let target = self.elapsed() + d;
        let step = STEP.max(d / STEPS);
        let mut settled = self.inner.settled.subscribe();
        loop {
            let now = self.elapsed();
            if now >= target {
                return Ok(());
            }
            let at = (now + step).min(target);
            self.inner.elapsed.send_replace(at);
            let swept = settled.wait_for(|s| *s >= at);
            match tokio::time::timeout(SETTLE_WITHIN, swept).await {
                Ok(Ok(_)) => {}
                Ok(Err(_)) | Err(_) => return Err(NotSettled { at }),
            }
        }
    }

    /// Watches the clock move (the engine's ticker).
    pub(crate) fn watch(&self) -> watch::Receiver<Duration> {
        self.inner.elapsed.subscribe()
    }

    /// Records that the engine has swept at `at` (the ticker, after a sweep).
    pub(crate) fn settle(&self, at: Duration) {
        self.inner.settled.send_if_modified(|s| {
            if at > *s {
                *s = at;
                true
            } else {
                false
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_virtual_clock_stands_still_until_moved() {
        let (clock, v) = Clock::virtual_clock();
        let (t0, ms0) = (clock.now(), clock.unix_ms());
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now(), t0);
        assert_eq!(clock.unix_ms(), ms0);
        v.advance(Duration::from_secs(90));
        assert_eq!(clock.now() - t0, Duration::from_secs(90));
        assert_eq!(clock.unix_ms() - ms0, 90_000);
        assert_eq!(clock.store_ms(), Some(ms0 + 90_000));
        assert_eq!(Clock::System.store_ms(), None);
    }

    #[tokio::test]
    async fn pass_steps_and_waits_for_each_sweep() {
        let v = VirtualClock::new();
        let mut watch = v.watch();
        let sweeper = v.clone();
        let seen = tokio::spawn(async move {
            let mut seen = Vec::new();
            while watch.changed().await.is_ok() {
                let at = *watch.borrow_and_update();
                seen.push(at);
                sweeper.settle(at);
                if at >= Duration::from_millis(600) {
                    break;
                }
            }
            seen
        });
        v.pass(Duration::from_millis(600)).await.unwrap();
        let seen = seen.await.unwrap();
        assert_eq!(
            seen,
            [250, 500, 600].map(Duration::from_millis),
            "steps of at most STEP, each swept before the next"
        );
        assert_eq!(v.elapsed(), Duration::from_millis(600));
    }

    #[tokio::test(start_paused = true)]
    async fn pass_fails_when_nobody_sweeps() {
        let v = VirtualClock::new();
        let e = v.pass(Duration::from_secs(1)).await.unwrap_err();
        assert_eq!(e.at, STEP);
    }
}
