//! The WebSocket relay: the `Relay` handle shared by all connections, the visitor and
//! counsellor endpoints, and the engine (`cluster`) that runs every relay operation over a
//! `Store`: `MemoryStore` on one node (the default), `RedisStore` for many.
//!
//! Layers call downward only: an endpoint decodes a frame and hands one operation to its
//! connection's worker (or applies it at once when the store answers at once); the engine
//! applies it to the store and writes into the mailboxes of the connections concerned, on
//! this node or, through the store's node inboxes, on another. The relay never decodes the
//! Noise payload `m`. What only a node holds is its sockets.

pub mod cluster;
pub mod conn;
pub mod counsellor;
pub mod endpoint;
pub mod observed;
pub mod refusal;
pub mod settings;
pub mod snapshot;
pub mod visitor;

pub use settings::Settings;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// A cheap-clone handle to the relay.
#[derive(Clone, Debug)]
pub struct Relay {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// Source of connection ids.
    next_id: AtomicU64,
    /// The engine.
    engine: Arc<cluster::Cluster>,
    /// Whether the store is shared with other processes (Redis): statistics files and
    /// account changes are then per node and re-read.
    many_nodes: bool,
}

impl Relay {
    /// A relay that is one node of many sharing `store`.
    pub fn shared(cfg: Settings, metrics: Metrics, store: Arc<dyn crate::store::Store>) -> Self {
        Self::on_store(cfg, metrics, store, true)
    }

    /// A relay over a store no other process shares (`MemoryStore`).
    pub fn local_store(
        cfg: Settings,
        metrics: Metrics,
        store: Arc<dyn crate::store::Store>,
    ) -> Self {
        Self::on_store(cfg, metrics, store, false)
    }

    fn on_store(
        cfg: Settings,
        metrics: Metrics,
        store: Arc<dyn crate::store::Store>,
        many_nodes: bool,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                next_id: AtomicU64::new(1),
                engine: cluster::Cluster::new(store, cfg, metrics),
                many_nodes,
            }),
        }
    }

    /// Whether the state is shared with other processes (Redis).
    pub fn many_nodes(&self) -> bool {
        self.shared.many_nodes
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<cluster::Cluster> {
        &self.shared.engine
    }

    /// How many conversations the relay holds in any phase (for "no state remains" checks
    /// and diagnostics); 0 when the store cannot be reached.
    pub async fn conversation_count(&self) -> usize {
        self.engine().conversation_count().await
    }

    /// The conversations waiting for an offer, in order of service (pending offers not
    /// included); empty when the store cannot be reached.
    pub async fn waiting_conversations(&self) -> Vec<crate::protocol::ConvId> {
        self.engine().waiting_conversations().await
    }

    /// A fresh connection id.
    pub fn next_id(&self) -> conn::ConnId {
        self.shared.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Runs the engine's clocks (expiry and routing's safety net every `routing.sweep_ms`,
    /// renewals every second) and its inbox until `shutdown`.
    pub async fn run_ticker(self, shutdown: CancellationToken) {
        let engine = Arc::clone(self.engine());
        tokio::join!(
            Arc::clone(&engine).run_ticker(shutdown.clone()),
            engine.run_inbox(shutdown),
        );
    }
}
