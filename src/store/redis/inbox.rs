//! Node inboxes (pub/sub; sharded on Cluster) and node liveness.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt as _;
use redis::{AsyncCommands as _, Client, PushInfo, PushKind, RedisError};
use tokio::sync::mpsc;

use super::{RedisStore, TIMEOUT, Target, cluster_builder, keys, unavailable};
use crate::store::memory::INBOX_CAPACITY;
use crate::store::{InboxEvent, StoreError, StoreResult};

/// Pause between attempts to restore a lost inbox subscription.
const RESUBSCRIBE_EVERY: Duration = Duration::from_millis(250);

pub(super) async fn publish(s: &RedisStore, node: &str, payload: Vec<u8>) -> StoreResult<()> {
    let command = match s.target {
        Target::Single(_) => "PUBLISH",
        Target::Cluster(_) => "SPUBLISH",
    };
    let _: i64 = redis::cmd(command)
        .arg(keys::inbox(node))
        .arg(payload)
        .query_async(&mut s.con.clone())
        .await
        .map_err(unavailable)?;
    Ok(())
}

pub(super) async fn subscribe(
    s: &RedisStore,
    node: &str,
) -> StoreResult<mpsc::Receiver<InboxEvent>> {
    let channel = keys::inbox(node);
    let (tx, rx) = mpsc::channel(INBOX_CAPACITY);
    match &s.target {
        Target::Single(client) => {
            let first = subscribe_once(client, &channel).await?;
            tokio::spawn(forward_inbox(client.clone(), channel, first, tx));
        }
        Target::Cluster(nodes) => subscribe_cluster(nodes, &channel, tx).await?,
    }
    Ok(rx)
}

pub(super) async fn heartbeat(s: &RedisStore, node: &str, ttl: Duration) -> StoreResult<()> {
    let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
    let () = s
        .con
        .clone()
        .pset_ex(keys::alive(node), 1, ttl_ms)
        .await
        .map_err(unavailable)?;
    Ok(())
}

/// One pipeline (one round trip, one key): `INCR`, `PEXPIRE … NX` (the window starts with
/// the first event; the key never lives without a TTL), `PTTL`.
pub(super) async fn count(
    s: &RedisStore,
    tag: &str,
    window: Duration,
) -> StoreResult<(u64, Duration)> {
    let key = keys::counter(tag);
    let ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
    let (n, left): (u64, i64) = redis::pipe()
        .incr(&key, 1)
        .cmd("PEXPIRE")
        .arg(&key)
        .arg(ms)
        .arg("NX")
        .ignore()
        .pttl(&key)
        .query_async(&mut s.con.clone())
        .await
        .map_err(unavailable)?;
    Ok((n, Duration::from_millis(u64::try_from(left).unwrap_or(0))))
}

pub(super) async fn alive(s: &RedisStore, node: &str) -> StoreResult<bool> {
    s.con
        .clone()
        .exists(keys::alive(node))
        .await
        .map_err(unavailable)
}

/// Where a cluster subscription's pushes go: payloads into the bounded inbox; a repeated
/// `ssubscribe` confirmation (the cluster connection resubscribes by itself after a
/// disconnection) or a payload dropped for a full inbox becomes `Gap`.
struct ClusterInbox {
    tx: mpsc::Sender<InboxEvent>,
    subscribed: AtomicBool,
    gap: AtomicBool,
}

impl ClusterInbox {
    fn push(&self, p: PushInfo) -> Result<(), ()> {
        match p.kind {
            PushKind::SMessage => {
                if let Some(redis::Value::BulkString(payload)) = p.data.into_iter().nth(1) {
                    self.deliver(InboxEvent::Message(payload));
                }
            }
            PushKind::SSubscribe if self.subscribed.swap(true, Ordering::SeqCst) => {
                self.gap.store(true, Ordering::SeqCst);
            }
            PushKind::Disconnection => tracing::warn!("inbox shard disconnected; resubscribing"),
            _ => {}
        }
        if self.tx.is_closed() { Err(()) } else { Ok(()) }
    }

    fn deliver(&self, event: InboxEvent) {
        if self.gap.load(Ordering::SeqCst) {
            if self.tx.try_send(InboxEvent::Gap).is_err() {
                return;
            }
            self.gap.store(false, Ordering::SeqCst);
        }
        if self.tx.try_send(event).is_err() {
            self.gap.store(true, Ordering::SeqCst);
        }
    }
}

/// Subscribes to a sharded inbox channel on a cluster; a task keeps the subscription's
/// connection until the receiver is dropped.
async fn subscribe_cluster(
    nodes: &[String],
    channel: &str,
    tx: mpsc::Sender<InboxEvent>,
) -> StoreResult<()> {
    let sink = ClusterInbox {
        tx: tx.clone(),
        subscribed: AtomicBool::new(false),
        gap: AtomicBool::new(false),
    };
    let client = cluster_builder(nodes)
        .push_sender(move |p: PushInfo| sink.push(p))
        .build()
        .map_err(unavailable)?;
    let mut con = client.get_async_connection().await.map_err(unavailable)?;
    con.ssubscribe(channel).await.map_err(unavailable)?;
    // The first `ssubscribe` confirmation arrives as a push (before any message of the
    // channel, on the same connection) and sets `subscribed`; later ones are resubscriptions.
    tokio::spawn(async move {
        tx.closed().await;
        drop(con);
    });
    Ok(())
}

/// A pub/sub connection subscribed to `channel`.
async fn subscribe_once(client: &Client, channel: &str) -> StoreResult<redis::aio::PubSub> {
    let attempt = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, RedisError>(pubsub)
    };
    match tokio::time::timeout(TIMEOUT, attempt).await {
        Ok(r) => r.map_err(unavailable),
        Err(_) => Err(StoreError::Unavailable),
    }
}

/// Forwards the inbox to `tx` until the receiver is dropped, resubscribing after every
/// interruption and reporting it as `Gap`.
async fn forward_inbox(
    client: Client,
    channel: String,
    first: redis::aio::PubSub,
    tx: mpsc::Sender<InboxEvent>,
) {
    let mut pubsub = Some(first);
    loop {
        if let Some(p) = pubsub.take() {
            let mut messages = p.into_on_message();
            loop {
                tokio::select! {
                    () = tx.closed() => return,
                    m = messages.next() => match m {
                        Some(m) => {
                            let event = InboxEvent::Message(m.get_payload_bytes().to_vec());
                            if tx.send(event).await.is_err() {
                                return;
                            }
                        }
                        None => break,
                    },
                }
            }
            tracing::warn!("inbox subscription lost; resubscribing");
        }
        tokio::select! {
            () = tx.closed() => return,
            () = tokio::time::sleep(RESUBSCRIBE_EVERY) => {}
        }
        if let Ok(p) = subscribe_once(&client, &channel).await {
            if tx.send(InboxEvent::Gap).await.is_err() {
                return;
            }
            pubsub = Some(p);
        }
    }
}
