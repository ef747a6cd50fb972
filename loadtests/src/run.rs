//! One generator process (a shard): its share of the chats, started on the scenario's
//! timeline, and its counts.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::scenario::{Kind, Scenario, Target};
use crate::schedule::Clock;
use crate::stats::{Recorder, Snapshot};

/// Why a simulated client stopped early: an error code for the report (never content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail(pub String);

/// Seconds from the start of the run to each phase, the same in every process.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Seconds over which chats are set up (counsellors first for a surge).
    pub ramp_s: f64,
    /// When the visitors of a surge all join.
    pub surge_at_s: f64,
    /// Start of the measured phase (server CPU is counted from here).
    pub measure_s: f64,
    /// When the reconnect storm or counsellor churn happens.
    pub event_s: f64,
    /// Last message due.
    pub send_end_s: f64,
    /// Every client stops.
    pub end_s: f64,
}

/// Seconds given to chats to finish their handshakes after the ramp.
pub const SETTLE_S: f64 = 2.0;

impl Timeline {
    /// The timeline of `sc`.
    pub fn of(sc: &Scenario) -> Self {
        let ramp_s = if sc.ramp_per_s > 0.0 {
            f64::from(sc.chats) / sc.ramp_per_s
        } else {
            0.0
        };
        let surge_at_s = if sc.kind == Kind::Surge {
            ramp_s + 1.0
        } else {
            0.0
        };
        let measure_s = ramp_s.max(surge_at_s) + SETTLE_S;
        let send_end_s = measure_s + sc.duration_s;
        Self {
            ramp_s,
            surge_at_s,
            measure_s,
            event_s: measure_s + sc.event_at_s,
            send_end_s,
            end_s: send_end_s + sc.drain_s,
        }
    }

    /// When chat `j` starts: its counsellor (or peer pair), and its visitor.
    pub fn starts(&self, sc: &Scenario, j: u32) -> (f64, f64) {
        let at = if sc.ramp_per_s > 0.0 {
            f64::from(j) / sc.ramp_per_s
        } else {
            0.0
        };
        let visitor = if sc.kind == Kind::Surge {
            self.surge_at_s
        } else {
            at
        };
        (at, visitor)
    }
}

/// What every simulated client of a process shares.
pub struct Shared {
    /// The scenario.
    pub sc: Scenario,
    /// The counts.
    pub rec: Recorder,
    /// Monotonic to Unix time.
    pub clock: Clock,
    /// Unix nanoseconds of the start of the run (the same in every process).
    pub t0_ns: u64,
    /// When the last message is due.
    pub send_end: Instant,
    /// When the storm or churn happens.
    pub event_at: Instant,
    /// Between two messages of one side.
    pub interval: Duration,
    /// How long one protocol step may take.
    pub step: Duration,
    /// This process's index.
    pub shard: u32,
    /// Cancelled when every client must stop.
    pub stop: CancellationToken,
    /// lyt counsellors on duty.
    pub counsellors_on_duty: AtomicU64,
}

impl Shared {
    /// When one side drops for the `i`-th time in a reconnect storm (`half`: halfway after
    /// the visitors' `i`-th drop, the counsellors' turn), or `None` after the last.
    pub fn drop_at(&self, i: u32, half: bool) -> Option<Instant> {
        let step = f64::from(i) + if half { 0.5 } else { 0.0 };
        (i < self.sc.drops)
            .then(|| self.event_at + Duration::from_secs_f64(self.sc.drop_every_s * step))
    }

    /// The second of the run now.
    pub fn sec(&self) -> usize {
        usize::try_from(self.clock.now_ns().saturating_sub(self.t0_ns) / 1_000_000_000)
            .unwrap_or(usize::MAX)
    }

    /// The source address of connection `k`: `127.<shard+1>.<k/250 mod 256>.<1 + k mod 250>`,
    /// so no address needs more than a few hundred ephemeral ports.
    pub fn source(&self, k: u32) -> Option<IpAddr> {
        if !self.sc.spread_sources {
            return None;
        }
        let b = u8::try_from((self.shard % 254) + 1).unwrap_or(1);
        let c = u8::try_from((k / 250) % 256).unwrap_or(0);
        let d = u8::try_from(k % 250 + 1).unwrap_or(1);
        Some(IpAddr::V4(Ipv4Addr::new(127, b, c, d)))
    }
}

/// What a process reports at the end.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardResult {
    /// The counts.
    pub snapshot: Snapshot,
}

/// Runs shard `shard` of `shards` of `sc`, starting at Unix time `t0_ns`. `progress` is
/// called about once a second with the counts so far.
pub async fn run_shard(
    sc: Scenario,
    shard: u32,
    shards: u32,
    t0_ns: u64,
    mut progress: impl FnMut(&Snapshot),
) -> anyhow::Result<Snapshot> {
    // Each process may hold as many sockets as the hard limit allows.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let clock = Clock::new();
    let now_ns = clock.now_ns();
    let now = Instant::now();
    let t0 = if t0_ns >= now_ns {
        now + Duration::from_nanos(t0_ns - now_ns)
    } else {
        now.checked_sub(Duration::from_nanos(now_ns - t0_ns))
            .unwrap_or(now)
    };
    let tl = Timeline::of(&sc);
    let at = move |s: f64| t0 + Duration::from_secs_f64(s);
    let sh = Arc::new(Shared {
        interval: Duration::from_secs_f64(sc.interval_ms / 1000.0),
        step: Duration::from_secs_f64(sc.step_timeout_s),
        send_end: at(tl.send_end_s),
        event_at: at(tl.event_s),
        rec: Recorder::default(),
        clock,
        t0_ns,
        shard,
        stop: CancellationToken::new(),
        counsellors_on_duty: AtomicU64::new(0),
        sc,
    });
    let lyt = if sh.sc.target == Target::Lyt && sh.sc.kind != Kind::Idle {
        Some(Arc::new(crate::lyt_driver::LytCtx::new(&sh).await?))
    } else {
        None
    };
    let mut tasks = tokio::task::JoinSet::new();
    let mut starts: Vec<(f64, u32, Role)> = Vec::new();
    for j in sh.sc.chats_of_shard(shard, shards) {
        let (c, v) = tl.starts(&sh.sc, j);
        if sh.sc.kind == Kind::Idle {
            starts.push((c, j, Role::Idle));
        } else {
            starts.push((c, j, Role::Counsellor));
            starts.push((v, j, Role::Visitor));
        }
    }
    starts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let spawner = {
        let sh = Arc::clone(&sh);
        let lyt = lyt.clone();
        async move {
            let pairs = crate::peers::Pairs::new(sh.sc.chats);
            for (s, j, role) in starts {
                tokio::time::sleep_until(at(s).into()).await;
                let sh = Arc::clone(&sh);
                let fut = spawn_client(sh, lyt.clone(), &pairs, j, role);
                tasks.spawn(fut);
            }
            tasks
        }
    };
    let spawner = tokio::spawn(spawner);
    let end = at(tl.end_s);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => progress(&sh.rec.snapshot()),
            () = tokio::time::sleep_until(end.into()) => break,
        }
    }
    sh.stop.cancel();
    let mut tasks = spawner.await?;
    // Clients stop at once when cancelled; a stuck one is not waited for.
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    let snap = sh.rec.snapshot();
    progress(&snap);
    Ok(snap)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Counsellor,
    Visitor,
    Idle,
}

fn spawn_client(
    sh: Arc<Shared>,
    lyt: Option<Arc<crate::lyt_driver::LytCtx>>,
    pairs: &crate::peers::Pairs,
    j: u32,
    role: Role,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let pair = pairs.get(j);
    async move {
        let rec_sh = Arc::clone(&sh);
        let res = match (sh.sc.target, role, lyt) {
            (Target::Lyt, Role::Idle, _) => crate::lyt_driver::idle_visitor(sh, j).await,
            (_, Role::Idle, _) => crate::peers::idle(sh, j).await,
            (Target::Lyt, Role::Visitor, Some(l)) => crate::lyt_driver::visitor(sh, l, j).await,
            (Target::Lyt, Role::Counsellor, Some(l)) => {
                crate::lyt_driver::counsellor(sh, l, j).await
            }
            (Target::Lyt, _, None) => Err(Fail("no_lyt_context".into())),
            (_, Role::Visitor, _) => crate::peers::side(sh, j, true, pair).await,
            (_, Role::Counsellor, _) => crate::peers::side(sh, j, false, pair).await,
        };
        if let Err(Fail(code)) = res
            && !rec_sh.stop.is_cancelled()
        {
            rec_sh.rec.error(&code);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn timeline_orders_the_phases() {
        let sc = Scenario {
            chats: 1000,
            ramp_per_s: 500.0,
            duration_s: 10.0,
            drain_s: 3.0,
            event_at_s: 4.0,
            ..Scenario::default()
        };
        let t = Timeline::of(&sc);
        assert_eq!(t.ramp_s, 2.0);
        assert_eq!(t.measure_s, 2.0 + SETTLE_S);
        assert_eq!(t.event_s, t.measure_s + 4.0);
        assert_eq!(t.send_end_s, t.measure_s + 10.0);
        assert_eq!(t.end_s, t.send_end_s + 3.0);
        assert_eq!(
            t.starts(&sc, 500),
            (1.0, 1.0),
            "steady: both sides together"
        );

        let surge = Scenario {
            kind: Kind::Surge,
            ..sc
        };
        let t = Timeline::of(&surge);
        assert_eq!(t.surge_at_s, 3.0);
        assert_eq!(t.measure_s, 3.0 + SETTLE_S);
        assert_eq!(
            t.starts(&surge, 500),
            (1.0, 3.0),
            "surge: counsellors ramp, visitors all at once after"
        );
    }

    #[test]
    fn sources_spread_over_loopback_addresses() {
        let sh = Shared {
            sc: Scenario::default(),
            rec: Recorder::default(),
            clock: Clock::new(),
            t0_ns: 0,
            send_end: Instant::now(),
            event_at: Instant::now(),
            interval: Duration::from_secs(1),
            step: Duration::from_secs(1),
            shard: 2,
            stop: CancellationToken::new(),
            counsellors_on_duty: AtomicU64::new(0),
        };
        let a = sh.source(0).unwrap().to_string();
        assert_eq!(a, "127.3.0.1");
        assert_eq!(sh.source(251).unwrap().to_string(), "127.3.1.2");
        let distinct: std::collections::HashSet<_> = (0..20_000).map(|k| sh.source(k)).collect();
        assert_eq!(
            distinct.len(),
            20_000,
            "each address serves few connections"
        );
    }
}
