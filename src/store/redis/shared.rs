//! What every node shares beyond routing: the pending callback requests (one script over
//! the `{callbacks}` slot) and each node's counts of a day (a hash per day).

use redis::AsyncCommands as _;

use super::{RedisStore, unavailable};
use crate::store::{Callback, Callbacks, NodeCounts, StoreError, StoreResult, keys};

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisStore {
    /// Runs the callback script's operation `op` with `args` after the TTL.
    async fn callback_op<T: redis::FromRedisValue>(
        &self,
        op: &str,
        args: &[&[u8]],
    ) -> StoreResult<T> {
        let mut inv = self.scripts.callbacks.key(&keys::CALLBACKS[..]);
        inv.arg(op)
            .arg(self.ttl_arg(ms(self.lifetimes.callback_ttl)));
        for a in args {
            inv.arg(*a);
        }
        inv.invoke_async(&mut self.con.clone())
            .await
            .map_err(unavailable)
    }
}

pub(super) async fn callback_add(
    s: &RedisStore,
    id: &str,
    entry: Vec<u8>,
    max: usize,
) -> StoreResult<()> {
    let max = max.to_string();
    let r: i64 = s
        .callback_op("add", &[id.as_bytes(), &entry, max.as_bytes()])
        .await?;
    match r {
        1 => Ok(()),
        -1 => Err(StoreError::Conflict),
        _ => Err(StoreError::QueueFull),
    }
}

pub(super) async fn callbacks(s: &RedisStore, limit: usize) -> StoreResult<Callbacks> {
    let limit = limit.max(1).to_string();
    let flat: Vec<redis::Value> = s.callback_op("list", &[limit.as_bytes()]).await?;
    let bad = |_| StoreError::Unavailable;
    let mut it = flat.into_iter();
    let (Some(version), Some(pending)) = (it.next(), it.next()) else {
        return Err(StoreError::Unavailable);
    };
    let version: u64 = redis::from_redis_value(version).map_err(bad)?;
    let pending: usize = redis::from_redis_value(pending).map_err(bad)?;
    let mut items = Vec::new();
    while let (Some(id), Some(age), Some(entry)) = (it.next(), it.next(), it.next()) {
        let age: i64 = redis::from_redis_value(age).map_err(bad)?;
        items.push(Callback {
            id: redis::from_redis_value(id).map_err(bad)?,
            entry: redis::from_redis_value(entry).map_err(bad)?,
            age: std::time::Duration::from_millis(u64::try_from(age).unwrap_or(0)),
        });
    }
    Ok(Callbacks {
        items,
        pending,
        version,
    })
}

pub(super) async fn callback_take(s: &RedisStore, id: &str) -> StoreResult<Vec<u8>> {
    let entry: Option<Vec<u8>> = s.callback_op("take", &[id.as_bytes()]).await?;
    entry.ok_or(StoreError::NotFound)
}

pub(super) async fn callbacks_version(s: &RedisStore) -> StoreResult<u64> {
    s.callback_op("version", &[]).await
}

pub(super) async fn stats_put(
    s: &RedisStore,
    date: &str,
    node: &str,
    counts: Vec<u8>,
) -> StoreResult<()> {
    let key = keys::stats(date);
    let ttl = i64::try_from(ms(s.lifetimes.stats_ttl)).unwrap_or(i64::MAX);
    let () = redis::pipe()
        .hset(&key, node, counts)
        .ignore()
        .pexpire(&key, ttl)
        .ignore()
        .query_async(&mut s.con.clone())
        .await
        .map_err(unavailable)?;
    Ok(())
}

pub(super) async fn stats_day(s: &RedisStore, date: &str) -> StoreResult<NodeCounts> {
    let all: std::collections::BTreeMap<String, Vec<u8>> = s
        .con
        .clone()
        .hgetall(keys::stats(date))
        .await
        .map_err(unavailable)?;
    Ok(all.into_iter().collect())
}
