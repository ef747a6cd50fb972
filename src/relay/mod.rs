//! The WebSocket relay: the `Relay` handle shared by all connections, the visitor and
//! counsellor endpoints, and the ticker that expires offers.
//!
//! Layers call downward only: an endpoint decodes a frame and calls one `Hub` operation
//! through `Relay::with`; the hub applies routing decisions and writes into the mailboxes of
//! the connections concerned. The relay never decodes the Noise payload `m`.

pub mod cluster;
pub mod conn;
pub mod counsellor;
pub mod endpoint;
pub mod hub;
pub mod refusal;
pub mod visitor;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use hub::{Hub, HubConfig};

/// A cheap-clone handle to the relay's state.
#[derive(Clone, Debug)]
pub struct Relay {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// The state. A std mutex: every operation is short and synchronous, and the lock is
    /// never held across an `.await` (the workspace denies `await_holding_lock`).
    hub: Arc<Mutex<Hub>>,
    /// Source of connection ids.
    next_id: AtomicU64,
    /// The store engine (with many nodes, `serve --redis`, or `relay.engine = "store"`). The
    /// hub then keeps only this node's statistics and callback requests.
    cluster: Option<Arc<cluster::Cluster>>,
    /// Whether the store is shared with other processes (Redis): statistics files and
    /// account changes are then per node and re-read.
    many_nodes: bool,
}

impl Relay {
    /// A relay with empty state.
    pub fn new(cfg: HubConfig, metrics: Metrics) -> Self {
        Self {
            shared: Arc::new(Shared {
                hub: Arc::new(Mutex::new(Hub::new(cfg, metrics))),
                next_id: AtomicU64::new(1),
                cluster: None,
                many_nodes: false,
            }),
        }
    }

    /// A relay that is one node of many sharing `store`.
    pub fn shared(cfg: HubConfig, metrics: Metrics, store: Arc<dyn crate::store::Store>) -> Self {
        Self::on_store(cfg, metrics, store, true)
    }

    /// The store engine over a store no other process shares (`MemoryStore`).
    pub fn local_store(
        cfg: HubConfig,
        metrics: Metrics,
        store: Arc<dyn crate::store::Store>,
    ) -> Self {
        Self::on_store(cfg, metrics, store, false)
    }

    fn on_store(
        cfg: HubConfig,
        metrics: Metrics,
        store: Arc<dyn crate::store::Store>,
        many_nodes: bool,
    ) -> Self {
        let hub = Arc::new(Mutex::new(Hub::new(cfg.clone(), metrics.clone())));
        let cluster = cluster::Cluster::new(store, cfg, metrics, Arc::clone(&hub));
        Self {
            shared: Arc::new(Shared {
                hub,
                next_id: AtomicU64::new(1),
                cluster: Some(cluster),
                many_nodes,
            }),
        }
    }

    /// Whether the state is shared with other processes (Redis).
    pub fn many_nodes(&self) -> bool {
        self.shared.many_nodes
    }

    /// The shared engine, when this node is one of many.
    pub fn cluster(&self) -> Option<&Arc<cluster::Cluster>> {
        self.shared.cluster.as_ref()
    }

    /// How many conversations the relay holds in any phase (for "no state remains" checks
    /// and diagnostics); 0 when the store cannot be reached.
    pub async fn conversation_count(&self) -> usize {
        match self.cluster() {
            Some(c) => c.conversation_count().await,
            None => self.with(|h| h.conversation_count()),
        }
    }

    /// The conversations waiting for an offer, in order of service (pending offers not
    /// included); empty when the store cannot be reached.
    pub async fn waiting_conversations(&self) -> Vec<crate::protocol::ConvId> {
        match self.cluster() {
            Some(c) => c.waiting_conversations().await,
            None => self.with(|h| h.waiting_conversations()),
        }
    }

    /// A fresh connection id.
    pub fn next_id(&self) -> hub::ConnId {
        self.shared.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Runs `f` on the state under the lock.
    pub fn with<R>(&self, f: impl FnOnce(&mut Hub) -> R) -> R {
        // A panic inside an operation would be a bug; the state is still the best we have,
        // so keep serving rather than poisoning every later connection.
        let mut hub = self
            .shared
            .hub
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f(&mut hub)
    }

    /// Sweeps (expiry; routing as a safety net) every `routing.sweep_ms` until `shutdown`.
    pub async fn run_ticker(self, shutdown: CancellationToken) {
        if let Some(cluster) = self.shared.cluster.clone() {
            tokio::join!(
                Arc::clone(&cluster).run_ticker(shutdown.clone()),
                cluster.run_inbox(shutdown.clone()),
                self.run_hub_ticker(shutdown),
            );
            return;
        }
        self.run_hub_ticker(shutdown).await;
    }

    /// The hub's own ticker (offers, callbacks' expiry).
    async fn run_hub_ticker(&self, shutdown: CancellationToken) {
        let sweep = self.with(|h| h.sweep());
        let mut interval = tokio::time::interval(sweep);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = interval.tick() => self.with(|h| h.tick(std::time::Instant::now())),
            }
        }
    }
}
