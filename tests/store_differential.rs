//! Differential test of the two stores: random sequences of operations (joins, offers,
//! accepts, declines, transfers, ends, presence and its indexes, leases, records, buffer
//! appends, acks and replays, time passing and the claims of what expired) applied to a
//! `MemoryStore` and to a `RedisStore` on a real `redis-server` must give the same answers
//! and leave the same routing snapshot after every step. Both stores read one
//! `VirtualClock`, so deadlines and waiting times must agree to the millisecond.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/redis_server.rs"]
mod redis_server;

use std::time::Duration;

use lyt::clock::Clock;
use lyt::protocol::{ConvId, QueueId};
use lyt::store::{JoinLimits, Lifetimes, MemoryStore, Presence, RedisStore, Side, Store};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use redis_server::RedisServer;

const QUEUES: [&str; 2] = ["da/exit", "en/any"];
const COUNSELLORS: [&str; 2] = ["a.1", "b.1"];
const ALIASES: [&str; 2] = ["ida", "idar"];
const LONG: Duration = Duration::from_secs(60);

/// A short offer, presence or lease, which expires within a case; or `LONG`.
fn ttl(short: bool, ms: u64) -> Duration {
    if short {
        Duration::from_millis(ms)
    } else {
        LONG
    }
}

/// One store operation, over small domains so that operations collide.
#[derive(Debug, Clone)]
enum Op {
    Join {
        conv: usize,
        queue: usize,
        priority: bool,
        short: bool,
    },
    Offer {
        conv: usize,
        counsellor: usize,
        capacity: u32,
        short: bool,
    },
    Accept {
        conv: usize,
        counsellor: usize,
    },
    Withdraw {
        conv: usize,
        counsellor: usize,
        passed: bool,
    },
    Requeue {
        conv: usize,
        queue: usize,
        priority: bool,
    },
    End {
        conv: usize,
    },
    Append {
        conv: usize,
        visitor: bool,
        n: u64,
    },
    Ack {
        conv: usize,
        visitor: bool,
        upto: u64,
    },
    Replay {
        conv: usize,
        visitor: bool,
        after: Option<u64>,
    },
    Present {
        counsellor: usize,
        duty: u8,
        open: u32,
        alias: usize,
        parked: bool,
        short: bool,
    },
    Absent {
        counsellor: usize,
    },
    Keep {
        conv: usize,
        short: bool,
    },
    Open {
        conv: usize,
        token: u8,
    },
    Attach {
        conv: usize,
        visitor: bool,
        conn: u8,
        token: Option<u8>,
    },
    Detach {
        conv: usize,
        visitor: bool,
        conn: u8,
    },
    /// Milliseconds pass on the stores' clock.
    Pass {
        ms: u64,
    },
    ExpiredOffers,
    Gone,
    Lapsed,
}

fn op() -> impl Strategy<Value = Op> {
    let conv = 0..3usize;
    let counsellor = 0..COUNSELLORS.len();
    let queue = 0..QUEUES.len();
    prop_oneof![
        3 => (conv.clone(), queue.clone(), any::<bool>(), any::<bool>())
            .prop_map(|(conv, queue, priority, short)| Op::Join { conv, queue, priority, short }),
        3 => (conv.clone(), counsellor.clone(), 1..3u32, any::<bool>())
            .prop_map(|(conv, counsellor, capacity, short)| Op::Offer { conv, counsellor, capacity, short }),
        2 => (conv.clone(), counsellor.clone())
            .prop_map(|(conv, counsellor)| Op::Accept { conv, counsellor }),
        2 => (conv.clone(), counsellor.clone(), any::<bool>())
            .prop_map(|(conv, counsellor, passed)| Op::Withdraw { conv, counsellor, passed }),
        1 => (conv.clone(), queue, any::<bool>())
            .prop_map(|(conv, queue, priority)| Op::Requeue { conv, queue, priority }),
        1 => conv.clone().prop_map(|conv| Op::End { conv }),
        2 => (conv.clone(), any::<bool>(), 0..8u64)
            .prop_map(|(conv, visitor, n)| Op::Append { conv, visitor, n }),
        1 => (conv.clone(), any::<bool>(), 0..8u64)
            .prop_map(|(conv, visitor, upto)| Op::Ack { conv, visitor, upto }),
        1 => (conv.clone(), any::<bool>(), proptest::option::of(0..8u64))
            .prop_map(|(conv, visitor, after)| Op::Replay { conv, visitor, after }),
        2 => (counsellor.clone(), 0..3u8, 0..3u32, 0..ALIASES.len(), any::<bool>(), any::<bool>())
            .prop_map(|(counsellor, duty, open, alias, parked, short)| Op::Present { counsellor, duty, open, alias, parked, short }),
        1 => counsellor.prop_map(|counsellor| Op::Absent { counsellor }),
        1 => (conv.clone(), any::<bool>()).prop_map(|(conv, short)| Op::Keep { conv, short }),
        2 => (0..=8u64).prop_map(|n| Op::Pass { ms: n * 50 }),
        1 => Just(Op::ExpiredOffers),
        1 => Just(Op::Gone),
        1 => Just(Op::Lapsed),
        1 => (conv.clone(), 0..2u8).prop_map(|(conv, token)| Op::Open { conv, token }),
        2 => (conv.clone(), any::<bool>(), 0..3u8, proptest::option::of(0..2u8))
            .prop_map(|(conv, visitor, conn, token)| Op::Attach { conv, visitor, conn, token }),
        1 => (conv, any::<bool>(), 0..3u8)
            .prop_map(|(conv, visitor, conn)| Op::Detach { conv, visitor, conn }),
    ]
}

fn side(visitor: bool) -> Side {
    if visitor {
        Side::Visitor
    } else {
        Side::Counsellor
    }
}

/// Applies `op` and describes the answer (`Pass` is applied by the caller: both stores
/// read one clock).
async fn apply(s: &dyn Store, convs: &[ConvId], op: &Op) -> String {
    let q = |i: usize| -> QueueId { QUEUES[i].parse().unwrap() };
    match *op {
        Op::Join {
            conv,
            queue,
            priority,
            short,
        } => {
            let limits = JoinLimits {
                max_queue_len: 3,
                max_waiting_total: 4,
                lease: ttl(short, 300),
            };
            format!(
                "{:?}",
                s.join(convs[conv], &q(queue), priority, limits).await
            )
        }
        Op::Offer {
            conv,
            counsellor,
            capacity,
            short,
        } => format!(
            "{:?}",
            s.offer(
                convs[conv],
                COUNSELLORS[counsellor],
                capacity,
                ttl(short, 100)
            )
            .await
        ),
        Op::Accept { conv, counsellor } => {
            format!("{:?}", s.accept(convs[conv], COUNSELLORS[counsellor]).await)
        }
        Op::Withdraw {
            conv,
            counsellor,
            passed,
        } => format!(
            "{:?}",
            s.withdraw(convs[conv], COUNSELLORS[counsellor], passed)
                .await
        ),
        Op::Requeue {
            conv,
            queue,
            priority,
        } => format!(
            "{:?}",
            s.requeue_front(convs[conv], &q(queue), priority, None, None)
                .await
        ),
        Op::End { conv } => format!("{:?}", s.end(convs[conv]).await),
        Op::Append { conv, visitor, n } => format!(
            "{:?}",
            s.append(convs[conv], side(visitor), n, vec![b'x'; 8], None)
                .await
        ),
        Op::Ack {
            conv,
            visitor,
            upto,
        } => {
            format!("{:?}", s.ack(convs[conv], side(visitor), upto).await)
        }
        Op::Replay {
            conv,
            visitor,
            after,
        } => {
            format!("{:?}", s.replay(convs[conv], side(visitor), after).await)
        }
        Op::Present {
            counsellor,
            duty,
            open,
            alias,
            parked,
            short,
        } => {
            let presence = Presence {
                alias: ALIASES[alias],
                open,
                parked,
            };
            let ttl = ttl(short, 200);
            format!(
                "{:?}",
                s.present(COUNSELLORS[counsellor], vec![duty], presence, ttl)
                    .await
            )
        }
        Op::Absent { counsellor } => format!("{:?}", s.absent(COUNSELLORS[counsellor]).await),
        Op::Keep { conv, short } => format!("{:?}", s.keep(convs[conv], ttl(short, 300)).await),
        Op::Open { conv, token } => format!("{:?}", s.open(convs[conv], [token; 32]).await),
        Op::Attach {
            conv,
            visitor,
            conn,
            token,
        } => {
            let conn = format!("n.{conn}");
            let token = token.map(|t| [t; 32]);
            format!(
                "{:?}",
                s.attach(convs[conv], side(visitor), &conn, token).await
            )
        }
        Op::Detach {
            conv,
            visitor,
            conn,
        } => {
            let conn = format!("n.{conn}");
            format!("{:?}", s.detach(convs[conv], side(visitor), &conn).await)
        }
        Op::Pass { .. } => String::new(),
        Op::ExpiredOffers => {
            let mut expired: Vec<_> = s
                .expired_offers()
                .await
                .unwrap()
                .into_iter()
                .map(|e| (e.conv, e.counsellor))
                .collect();
            expired.sort();
            format!("{expired:?}")
        }
        Op::Gone => {
            let mut gone: Vec<_> = s
                .gone()
                .await
                .unwrap()
                .into_iter()
                .map(|mut g| {
                    g.live.sort();
                    g.offers.sort();
                    (g.counsellor, g.live, g.offers)
                })
                .collect();
            gone.sort();
            format!("{gone:?}")
        }
        Op::Lapsed => {
            let mut lapsed = s.lapsed(LONG).await.unwrap();
            lapsed.sort();
            format!("{lapsed:?}")
        }
    }
}

/// The routing state as both stores must agree on it, waiting times included (one clock).
async fn snapshot(s: &dyn Store, convs: &[ConvId]) -> String {
    let queues: Vec<QueueId> = QUEUES.iter().map(|q| q.parse().unwrap()).collect();
    let waiting: Vec<_> = s
        .waiting(&queues)
        .await
        .unwrap()
        .into_iter()
        .map(|mut w| {
            w.passed.sort();
            (w.conv, w.queue, w.order, w.waited, w.offered_to, w.passed)
        })
        .collect();
    let mut loads = Vec::new();
    for c in COUNSELLORS {
        loads.push(s.load(c).await.unwrap());
    }
    let mut positions = Vec::new();
    for conv in convs {
        positions.push(format!("{:?}", s.position(*conv).await));
    }
    let mut by_alias = Vec::new();
    for a in ALIASES {
        by_alias.push(s.on_duty_as(a).await.unwrap());
        by_alias.push(s.parked_as(a).await.unwrap());
    }
    format!(
        "{waiting:?} live {:?} loads {loads:?} positions {positions:?} on duty {:?} open {:?} \
         by alias {by_alias:?}",
        s.live().await,
        s.on_duty().await,
        s.open_duty().await,
    )
}

async fn flush(server: &RedisServer) {
    let mut con = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let () = redis::cmd("FLUSHALL").query_async(&mut con).await.unwrap();
}

/// Memory and Redis give the same answers and snapshots for every generated sequence.
#[test]
fn memory_and_redis_agree() {
    let server = RedisServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let lifetimes = Lifetimes {
        route_ttl: LONG,
        conv_ttl: LONG,
        ..Lifetimes::default()
    };
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&proptest::collection::vec(op(), 1..40), |ops| {
        runtime.block_on(async {
            flush(&server).await;
            let (clock, time) = Clock::virtual_clock();
            let memory = MemoryStore::new(lifetimes).with_clock(clock.clone());
            let redis = RedisStore::open(&server.url(), lifetimes)
                .unwrap()
                .with_clock(clock);
            let convs: Vec<ConvId> = (0..5).map(|_| ConvId::random()).collect();
            for (i, op) in ops.iter().enumerate() {
                if let Op::Pass { ms } = op {
                    time.advance(Duration::from_millis(*ms));
                }
                let (m, r) = (
                    apply(&memory, &convs, op).await,
                    apply(&redis, &convs, op).await,
                );
                prop_assert_eq!(&m, &r, "step {} {:?}", i, op);
                let (m, r) = (
                    snapshot(&memory, &convs).await,
                    snapshot(&redis, &convs).await,
                );
                prop_assert_eq!(&m, &r, "snapshot after step {} {:?}", i, op);
            }
            Ok::<(), TestCaseError>(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
