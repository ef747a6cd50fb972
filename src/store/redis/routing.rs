//! Routing operations on the `{route}` slot: queues, offers, presence, leases.

use std::collections::HashMap;
use std::time::Duration;

use redis::AsyncCommands as _;

use super::{NO_QUEUE, RETRIES, ROUTE, RedisStore, conv_key, keys, millis, unavailable};
use crate::protocol::{ConvId, QueueId};
use crate::store::{
    CounsellorRef, ExpiredOffer, Gone, JoinLimits, OnDuty, Presence, StoreError, StoreResult,
    Waiting, score_order,
};

/// What `waiting.lua` returns: the Redis clock in ms, offers, who passed, and each queue's
/// members and scores as a flat list.
type Snapshot = (
    String,
    HashMap<String, String>,
    HashMap<String, String>,
    Vec<Vec<String>>,
);

/// A sorted-set score as Redis prints it: a whole number below 2^53 (`order_score`).
fn parse_score(s: &str) -> Result<u64, ()> {
    let f: f64 = s.parse().map_err(|_| ())?;
    if !(0.0..9_007_199_254_740_992.0).contains(&f) || f.fract() != 0.0 {
        return Err(());
    }
    // Whole, non-negative and below 2^53, so exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(f as u64)
}

/// Parses the `passed` JSON of a conversation into (counsellor, how long ago).
fn parse_passed(raw: Option<&String>, now_ms: u64) -> Vec<(String, Duration)> {
    let Some(map) = raw.and_then(|r| serde_json::from_str::<serde_json::Map<_, _>>(r).ok()) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Duration)> = map
        .into_iter()
        .filter_map(|(c, at)| {
            let at = at.as_f64()?;
            // Milliseconds on the Redis clock; whole and non-negative by construction.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let at = at as u64;
            Some((c, Duration::from_millis(now_ms.saturating_sub(at))))
        })
        .collect();
    out.sort();
    out
}

pub(super) async fn join(
    s: &RedisStore,
    conv: ConvId,
    queue: QueueId,
    priority: bool,
    limits: JoinLimits,
) -> StoreResult<u32> {
    let conv = conv_key(conv);
    let r: i64 = s
        .route(
            &s.scripts.join,
            &keys::queue(&queue),
            &[
                conv.as_bytes(),
                queue.as_str().as_bytes(),
                if priority { b"1" } else { b"0" },
                limits.max_queue_len.to_string().as_bytes(),
                limits.max_waiting_total.to_string().as_bytes(),
                millis(limits.lease).as_bytes(),
            ],
        )
        .await?;
    match r {
        -1 => Err(StoreError::Conflict),
        -2 => Err(StoreError::QueueFull),
        p => u32::try_from(p).map_err(|_| StoreError::NotFound),
    }
}

pub(super) async fn waiting(s: &RedisStore, queues: &[QueueId]) -> StoreResult<Vec<Waiting>> {
    let mut inv = s.scripts.waiting.key(&ROUTE[..]);
    for q in queues {
        inv.key(keys::queue(q));
    }
    let (now_ms, offers, passed, members): Snapshot = inv
        .arg(s.route_arg())
        .invoke_async(&mut s.con.clone())
        .await
        .map_err(unavailable)?;
    let now_ms: u64 = now_ms.parse().map_err(|_| StoreError::Unavailable)?;
    let mut out = Vec::new();
    for (q, flat) in queues.iter().zip(members) {
        for member in flat.chunks_exact(3) {
            let [id, score, joined] = member else {
                continue;
            };
            let (Ok(conv), Ok(score)) = (id.parse::<ConvId>(), parse_score(score)) else {
                continue;
            };
            let joined: u64 = joined.parse().unwrap_or(now_ms);
            out.push(Waiting {
                conv,
                queue: q.clone(),
                order: score_order(score),
                waited: Duration::from_millis(now_ms.saturating_sub(joined)),
                offered_to: offers.get(id).cloned(),
                passed: parse_passed(passed.get(id), now_ms),
            });
        }
    }
    out.sort_by_key(|w| w.order);
    Ok(out)
}

pub(super) async fn position(s: &RedisStore, conv: ConvId) -> StoreResult<u32> {
    let conv = conv_key(conv);
    for _ in 0..RETRIES {
        let Some(queue) = s.queue_of(&conv).await? else {
            return Err(StoreError::NotFound);
        };
        let rank: Option<u32> = s
            .con
            .clone()
            .zrank(format!("lyt:{{route}}:q:{queue}"), &conv)
            .await
            .map_err(unavailable)?;
        if let Some(r) = rank {
            return Ok(r + 1);
        }
    }
    Err(StoreError::NotFound)
}

pub(super) async fn offer(
    s: &RedisStore,
    conv: ConvId,
    counsellor: &CounsellorRef,
    capacity: u32,
    ttl: Duration,
) -> StoreResult<()> {
    let conv = conv_key(conv);
    let ttl_ms = ttl.as_millis().max(1).to_string();
    let r: i64 = s
        .route(
            &s.scripts.offer,
            NO_QUEUE,
            &[
                conv.as_bytes(),
                counsellor.as_bytes(),
                capacity.to_string().as_bytes(),
                ttl_ms.as_bytes(),
            ],
        )
        .await?;
    match r {
        1 => Ok(()),
        -1 => Err(StoreError::NotFound),
        _ => Err(StoreError::Conflict),
    }
}

pub(super) async fn accept(
    s: &RedisStore,
    conv: ConvId,
    counsellor: &CounsellorRef,
) -> StoreResult<()> {
    let conv = conv_key(conv);
    let r = s
        .with_queue_of(&s.scripts.accept, &conv, &[counsellor.as_bytes()])
        .await?;
    if r == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

pub(super) async fn withdraw(
    s: &RedisStore,
    conv: ConvId,
    counsellor: &CounsellorRef,
    passed: bool,
) -> StoreResult<()> {
    let conv = conv_key(conv);
    let passed: &[u8] = if passed { b"1" } else { b"0" };
    let r: i64 = s
        .route(
            &s.scripts.withdraw,
            NO_QUEUE,
            &[conv.as_bytes(), counsellor.as_bytes(), passed],
        )
        .await?;
    if r == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

pub(super) async fn expired_offers(s: &RedisStore) -> StoreResult<Vec<ExpiredOffer>> {
    let flat: Vec<String> = s.route(&s.scripts.expire, NO_QUEUE, &[]).await?;
    Ok(flat
        .chunks_exact(2)
        .filter_map(|pair| {
            Some(ExpiredOffer {
                conv: pair[0].parse().ok()?,
                counsellor: pair[1].clone(),
            })
        })
        .collect())
}

pub(super) async fn live_with(s: &RedisStore, conv: ConvId) -> StoreResult<Option<String>> {
    s.con
        .clone()
        .hget(keys::LIVE, conv_key(conv))
        .await
        .map_err(unavailable)
}

pub(super) async fn load(s: &RedisStore, counsellor: &CounsellorRef) -> StoreResult<u32> {
    let load: Option<u32> = s
        .con
        .clone()
        .hget(keys::LOAD, counsellor)
        .await
        .map_err(unavailable)?;
    Ok(load.unwrap_or(0))
}

/// Ends `conv`: the decision in the routing slot, then its keys deleted. Once the decision
/// is made the conversation has ended, whatever happens to the second call: should Redis
/// fail that instant, the delete is retried in the background (backing off to 5 s) until it
/// succeeds, or until the keys' own TTL would have taken them — so the keys of an ended chat
/// never stay for `conv_ttl` because of one failed call. Only a node that dies in between
/// leaves them to their TTL.
pub(super) async fn end(s: &RedisStore, conv: ConvId) -> StoreResult<()> {
    let id = conv_key(conv);
    s.with_queue_of(&s.scripts.end, &id, &[]).await?;
    if delete_conversation(s, conv).await.is_err() {
        let s = s.clone();
        tokio::spawn(async move {
            // Real time: this waits for Redis, whatever the service's clock.
            let give_up = tokio::time::Instant::now() + s.lifetimes.conv_ttl;
            let mut backoff = Duration::from_millis(100);
            while tokio::time::Instant::now() < give_up {
                tokio::time::sleep(backoff).await;
                if delete_conversation(&s, conv).await.is_ok() {
                    return;
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        });
    }
    Ok(())
}

/// Deletes the keys of `conv`'s slot (buffers and record).
async fn delete_conversation(s: &RedisStore, conv: ConvId) -> StoreResult<()> {
    s.con
        .clone()
        .del(&keys::conversation(conv)[..])
        .await
        .map_err(unavailable)
}

pub(super) async fn present(
    s: &RedisStore,
    counsellor: &CounsellorRef,
    duty: Vec<u8>,
    presence: Presence<'_>,
    ttl: Duration,
) -> StoreResult<()> {
    let ttl = millis(ttl);
    let _: i64 = s
        .route(
            &s.scripts.present,
            NO_QUEUE,
            &[
                counsellor.as_bytes(),
                &duty,
                ttl.as_bytes(),
                presence.open.to_string().as_bytes(),
                presence.alias.as_bytes(),
                if presence.parked { b"1" } else { b"0" },
            ],
        )
        .await?;
    Ok(())
}

pub(super) async fn renew(
    s: &RedisStore,
    counsellors: &[String],
    ttl: Duration,
) -> StoreResult<Vec<String>> {
    if counsellors.is_empty() {
        return Ok(Vec::new());
    }
    let ttl = millis(ttl);
    let mut args: Vec<&[u8]> = vec![ttl.as_bytes()];
    args.extend(counsellors.iter().map(|c| c.as_bytes()));
    s.route(&s.scripts.renew, NO_QUEUE, &args).await
}

pub(super) async fn absent(s: &RedisStore, counsellor: &CounsellorRef) -> StoreResult<()> {
    let _: i64 = s
        .route(&s.scripts.absent, NO_QUEUE, &[counsellor.as_bytes()])
        .await?;
    Ok(())
}

/// Runs a script that lists presences as `{counsellor, duty, load, …}` (`on_duty.lua`,
/// `open_duty.lua`, `on_duty_as.lua` with `args` the alias and whether parked only).
pub(super) async fn presences(
    s: &RedisStore,
    script: &redis::Script,
    args: Vec<&str>,
) -> StoreResult<Vec<OnDuty>> {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    let flat: Vec<Vec<u8>> = s.route(script, NO_QUEUE, &args).await?;
    let mut out = Vec::with_capacity(flat.len() / 3);
    for triple in flat.chunks_exact(3) {
        let counsellor =
            String::from_utf8(triple[0].clone()).map_err(|_| StoreError::Unavailable)?;
        let load = std::str::from_utf8(&triple[2])
            .ok()
            .and_then(|l| l.parse().ok())
            .ok_or(StoreError::Unavailable)?;
        out.push(OnDuty {
            counsellor,
            duty: triple[1].clone(),
            load,
        });
    }
    out.sort_by(|a, b| a.counsellor.cmp(&b.counsellor));
    Ok(out)
}

pub(super) async fn gone(s: &RedisStore) -> StoreResult<Vec<Gone>> {
    let flat: Vec<redis::Value> = s.route(&s.scripts.gone, NO_QUEUE, &[]).await?;
    let convs = |v: redis::Value| -> StoreResult<Vec<ConvId>> {
        let ids: Vec<String> = redis::from_redis_value(v).map_err(|_| StoreError::Unavailable)?;
        let mut ids: Vec<ConvId> = ids.iter().filter_map(|c| c.parse().ok()).collect();
        ids.sort();
        Ok(ids)
    };
    let mut out = Vec::new();
    let mut it = flat.into_iter();
    while let (Some(c), Some(live), Some(offers)) = (it.next(), it.next(), it.next()) {
        out.push(Gone {
            counsellor: redis::from_redis_value(c).map_err(|_| StoreError::Unavailable)?,
            live: convs(live)?,
            offers: convs(offers)?,
        });
    }
    out.sort_by(|a, b| a.counsellor.cmp(&b.counsellor));
    Ok(out)
}

pub(super) async fn requeue_front(
    s: &RedisStore,
    conv: ConvId,
    queue: &QueueId,
    priority: bool,
    held_by: Option<&CounsellorRef>,
    passed_by: Option<&CounsellorRef>,
) -> StoreResult<u32> {
    let conv = conv_key(conv);
    for _ in 0..RETRIES {
        let old = s.queue_of(&conv).await?;
        let (old_key, old_name) = match &old {
            Some(q) => (format!("lyt:{{route}}:q:{q}"), q.as_str()),
            None => (NO_QUEUE.to_owned(), ""),
        };
        let r: i64 = s
            .scripts
            .requeue
            .key(&ROUTE[..])
            .key(old_key)
            .key(keys::queue(queue))
            .arg(s.route_arg())
            .arg(&conv)
            .arg(queue.as_str())
            .arg(if priority { "1" } else { "0" })
            .arg(old_name)
            .arg(passed_by.unwrap_or(""))
            .arg(held_by.unwrap_or(""))
            .invoke_async(&mut s.con.clone())
            .await
            .map_err(unavailable)?;
        match r {
            -3 => return Err(StoreError::Conflict),
            -2 => continue,
            -1 => return Err(StoreError::NotFound),
            p => return u32::try_from(p).map_err(|_| StoreError::NotFound),
        }
    }
    Err(StoreError::Conflict)
}

pub(super) async fn keep(s: &RedisStore, conv: ConvId, ttl: Duration) -> StoreResult<()> {
    let id = conv_key(conv);
    let ttl_ms = millis(ttl);
    let kept: i64 = s
        .route(
            &s.scripts.keep,
            NO_QUEUE,
            &[id.as_bytes(), ttl_ms.as_bytes()],
        )
        .await?;
    if kept == 0 {
        return Err(StoreError::NotFound);
    }
    // The conversation's own keys live as long as its lease.
    let mut pipe = redis::pipe();
    for key in keys::conversation(conv) {
        pipe.pexpire(
            key,
            i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1),
        )
        .ignore();
    }
    let () = pipe
        .query_async(&mut s.con.clone())
        .await
        .map_err(unavailable)?;
    Ok(())
}

pub(super) async fn lapsed(s: &RedisStore, claim: Duration) -> StoreResult<Vec<ConvId>> {
    let claim = millis(claim);
    let ids: Vec<String> = s
        .route(&s.scripts.lapsed, NO_QUEUE, &[claim.as_bytes()])
        .await?;
    Ok(ids.iter().filter_map(|c| c.parse().ok()).collect())
}

pub(super) async fn generation(s: &RedisStore) -> StoreResult<String> {
    let fresh = format!("{:032x}", rand::random::<u128>());
    s.route(&s.scripts.generation, NO_QUEUE, &[fresh.as_bytes()])
        .await
}

pub(super) async fn live(s: &RedisStore) -> StoreResult<Vec<(ConvId, String)>> {
    let flat: Vec<String> = s.route(&s.scripts.live, NO_QUEUE, &[]).await?;
    let mut live: Vec<(ConvId, String)> = flat
        .chunks_exact(2)
        .filter_map(|pair| Some((pair[0].parse().ok()?, pair[1].clone())))
        .collect();
    live.sort();
    Ok(live)
}
