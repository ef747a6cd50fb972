//! Operations on one conversation's `{conv:<id>}` slot: its record and resume buffers.

use redis::AsyncCommands as _;

use super::{RedisStore, Target, hex, keys, unavailable};
use crate::protocol::ConvId;
use crate::store::{Kept, MAX_BYTES, MAX_FRAMES, Replay, Side, StoreError, StoreResult};

pub(super) async fn open(s: &RedisStore, conv: ConvId, token_hash: [u8; 32]) -> StoreResult<()> {
    let opened: i64 = s
        .scripts
        .open
        .key(keys::buffer_meta(conv))
        .arg(s.conv_ttl_ms())
        .arg(hex(&token_hash))
        .invoke_async(&mut s.con.clone())
        .await
        .map_err(unavailable)?;
    if opened == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

pub(super) async fn attach(
    s: &RedisStore,
    conv: ConvId,
    side: Side,
    conn: &str,
    token_hash: Option<[u8; 32]>,
) -> StoreResult<Option<String>> {
    let (ok, previous): (i64, String) = s
        .scripts
        .attach
        .key(keys::buffer_meta(conv))
        .arg(s.conv_ttl_ms())
        .arg(side.as_str())
        .arg(conn)
        .arg(token_hash.as_ref().map(hex).unwrap_or_default())
        .invoke_async(&mut s.con.clone())
        .await
        .map_err(unavailable)?;
    match (ok, previous.is_empty()) {
        (1, true) => Ok(None),
        (1, false) => Ok(Some(previous)),
        _ => Err(StoreError::NotFound),
    }
}

pub(super) async fn detach(
    s: &RedisStore,
    conv: ConvId,
    side: Side,
    conn: &str,
) -> StoreResult<()> {
    let _: i64 = s
        .scripts
        .detach
        .key(keys::buffer_meta(conv))
        .arg(side.as_str())
        .arg(conn)
        .invoke_async(&mut s.con.clone())
        .await
        .map_err(unavailable)?;
    Ok(())
}

pub(super) async fn ends(
    s: &RedisStore,
    conv: ConvId,
) -> StoreResult<(Option<String>, Option<String>)> {
    redis::cmd("HMGET")
        .arg(keys::buffer_meta(conv))
        .arg("at:v")
        .arg("at:c")
        .query_async(&mut s.con.clone())
        .await
        .map_err(unavailable)
}

pub(super) async fn append(
    s: &RedisStore,
    conv: ConvId,
    side: Side,
    n: u64,
    frame: Vec<u8>,
    writer: Option<&str>,
) -> StoreResult<()> {
    append_and_publish(s, conv, side, n, &frame, None, writer).await
}

/// Appends, and on one server publishes `header ++ frame` to the inbox channel in the same
/// script: one round trip.
async fn append_and_publish(
    s: &RedisStore,
    conv: ConvId,
    side: Side,
    n: u64,
    frame: &[u8],
    publish: Option<(&str, &[u8])>,
    writer: Option<&str>,
) -> StoreResult<()> {
    let (channel, header) = publish.unwrap_or(("", b""));
    let r: i64 = s
        .scripts
        .append
        .key(keys::buffer(conv, side))
        .key(keys::buffer_meta(conv))
        .arg(s.conv_ttl_ms())
        .arg(side.as_str())
        .arg(n)
        .arg(frame)
        .arg(MAX_FRAMES)
        .arg(MAX_BYTES)
        .arg(channel)
        .arg(header)
        .arg(writer.unwrap_or(""))
        .invoke_async(&mut s.con.clone())
        .await
        .map_err(unavailable)?;
    if r == -2 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments, reason = "the arguments of `Store::relay`")]
pub(super) async fn relay(
    s: &RedisStore,
    conv: ConvId,
    side: Side,
    n: u64,
    frame: Vec<u8>,
    node: &str,
    header: Vec<u8>,
    writer: Option<&str>,
) -> StoreResult<()> {
    let channel = keys::inbox(node);
    match s.target {
        Target::Single(_) => {
            append_and_publish(s, conv, side, n, &frame, Some((&channel, &header)), writer).await
        }
        Target::Cluster(_) => {
            // The buffer and the inbox are on different shards: both requests at once.
            let mut payload = header;
            payload.extend_from_slice(&frame);
            let publish = async {
                let _: i64 = redis::cmd("SPUBLISH")
                    .arg(&channel)
                    .arg(payload)
                    .query_async(&mut s.con.clone())
                    .await
                    .map_err(unavailable)?;
                Ok(())
            };
            // Fenced writes keep first and publish only what was kept: a stale writer must
            // not reach the other end (one round trip more on a Cluster).
            if writer.is_some() {
                append_and_publish(s, conv, side, n, &frame, None, writer).await?;
                return publish.await;
            }
            let (kept, published) = tokio::join!(
                append_and_publish(s, conv, side, n, &frame, None, writer),
                publish
            );
            kept.and(published)
        }
    }
}

pub(super) async fn ack(s: &RedisStore, conv: ConvId, side: Side, upto: u64) -> StoreResult<()> {
    let _: i64 = s
        .scripts
        .ack
        .key(keys::buffer(conv, side))
        .key(keys::buffer_meta(conv))
        .arg(side.as_str())
        .arg(upto)
        .invoke_async(&mut s.con.clone())
        .await
        .map_err(unavailable)?;
    Ok(())
}

pub(super) async fn replay(
    s: &RedisStore,
    conv: ConvId,
    side: Side,
    after: Option<u64>,
) -> StoreResult<Replay> {
    let (entries, lost): (Vec<(String, Vec<u8>)>, String) = s
        .scripts
        .replay
        .key(keys::buffer(conv, side))
        .key(keys::buffer_meta(conv))
        .arg(side.as_str())
        .invoke_async(&mut s.con.clone())
        .await
        .map_err(unavailable)?;
    if let Ok(lost) = lost.parse::<u64>()
        && after.is_none_or(|a| a < lost)
    {
        return Ok(Replay::Lost);
    }
    let mut frames = Vec::with_capacity(entries.len());
    for (n, frame) in entries {
        let n: u64 = n.parse().map_err(|_| StoreError::Unavailable)?;
        if after.is_none_or(|a| n > a) {
            frames.push(Kept { n, frame });
        }
    }
    Ok(Replay::Frames(frames))
}

pub(super) async fn kept_upto(
    s: &RedisStore,
    conv: ConvId,
    side: Side,
) -> StoreResult<Option<u64>> {
    let last: Option<String> = s
        .con
        .clone()
        .hget(keys::buffer_meta(conv), format!("last:{}", side.as_str()))
        .await
        .map_err(unavailable)?;
    // `append.lua` writes the counter as given; -1 or nothing means none kept.
    Ok(last.and_then(|l| l.parse::<u64>().ok()))
}

pub(super) async fn reset_buffers(s: &RedisStore, conv: ConvId) -> StoreResult<()> {
    let mut pipe = redis::pipe();
    pipe.del(&[
        keys::buffer(conv, Side::Visitor),
        keys::buffer(conv, Side::Counsellor),
    ])
    .ignore()
    .hdel(
        keys::buffer_meta(conv),
        &[
            "bytes:v", "bytes:c", "lost:v", "lost:c", "last:v", "last:c", "at:c",
        ],
    )
    .ignore();
    let () = pipe
        .query_async(&mut s.con.clone())
        .await
        .map_err(unavailable)?;
    Ok(())
}
