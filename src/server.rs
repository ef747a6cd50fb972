//! `Server::start(config)`: binds the public and internal listeners, builds the state, and
//! runs until `shutdown`, used the same way by `lyt serve` and by the integration tests.
//!
//! Shutdown: the token is cancelled, both HTTP servers stop accepting, every WebSocket task
//! closes its socket with 1001 and is awaited through the `TaskTracker` (axum's graceful
//! shutdown does not track upgraded connections), bounded by `limits.shutdown_grace_s`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Auth;
use crate::clock::Clock;
use crate::config::Config;
use crate::http::{self, AppState, Origins};
use crate::metrics::Metrics;
use crate::relay::{Relay, Settings};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration cannot run a server; the message says what to set.
    #[error("{0}")]
    Config(String),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    /// The public address actually bound (port 0 resolved).
    pub public_addr: SocketAddr,
    /// The internal address actually bound.
    pub internal_addr: SocketAddr,
    /// The origins allowed (demo mode adds the local ones).
    pub origins: Vec<String>,
    relay: Relay,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

/// The shared store for `redis.url` (and `redis.cluster`). A single Redis connects lazily, so
/// a node starts while Redis is away and refuses joins until it is back; a Cluster must
/// answer at start. The URL (which may hold a password) is never printed.
/// How long the store keeps what it holds: a conversation's buffers outlive the resume
/// window twice over.
fn lifetimes(config: &Config) -> crate::store::Lifetimes {
    let resume = Duration::from_secs(config.limits.resume_window_s);
    crate::store::Lifetimes {
        conv_ttl: (resume * 2).max(Duration::from_secs(600)),
        callback_ttl: Duration::from_secs(config.limits.callback_ttl_s.max(1)),
        ..crate::store::Lifetimes::default()
    }
}

async fn open_store(
    config: &Config,
    url: &str,
    clock: &Clock,
) -> Result<std::sync::Arc<dyn crate::store::Store>, StartError> {
    let lifetimes = lifetimes(config);
    let bad = |e: redis::RedisError| {
        StartError::Config(format!(
            "redis.url: cannot use the Redis URL ({:?}); check its form, \
             redis://[user:password@]host:port",
            e.kind()
        ))
    };
    if config.redis.cluster.is_empty() {
        let store = crate::store::RedisStore::open(url, lifetimes).map_err(bad)?;
        return Ok(std::sync::Arc::new(store.with_clock(clock.clone())));
    }
    let mut nodes = vec![url.to_owned()];
    nodes.extend(config.redis.cluster.iter().map(|u| u.expose().clone()));
    let store = crate::store::RedisStore::open_cluster(&nodes, lifetimes)
        .await
        .map_err(bad)?;
    Ok(std::sync::Arc::new(store.with_clock(clock.clone())))
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

/// The pinned org root; required as soon as anyone can log in.
fn org_root(config: &Config) -> Result<Option<[u8; 32]>, StartError> {
    let Some(text) = &config.org_root_pub else {
        if config.accounts.is_empty() {
            return Ok(None);
        }
        return Err(StartError::Config(
            "org_root_pub is not set: counsellors' certificates cannot be checked; set it to the \
             public key printed by `lyt keys org-init`"
                .into(),
        ));
    };
    let bytes = crate::crypto::b64_decode(text.trim(), "org_root_pub")
        .map_err(|e| StartError::Config(format!("org_root_pub: {e}")))?;
    let key = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        StartError::Config("org_root_pub must be a 32-byte key in base64url".into())
    })?;
    Ok(Some(key))
}

/// The office directory: every configured certificate must chain to the org root now.
fn offices(config: &Config, root: Option<&[u8; 32]>) -> Result<Vec<http::OfficeEntry>, StartError> {
    if config.offices.is_empty() {
        return Ok(Vec::new());
    }
    let root = root.ok_or_else(|| {
        StartError::Config("offices are configured but org_root_pub is not".into())
    })?;
    let now = crate::keytool::now_unix().map_err(|e| StartError::Config(e.to_string()))?;
    config
        .offices
        .iter()
        .map(|text| {
            let bytes = crate::crypto::b64_decode(text.trim(), "offices")
                .map_err(|e| StartError::Config(format!("offices: {e}")))?;
            let office = crate::crypto::verify_office_cert(root, &bytes, now).map_err(|e| {
                StartError::Config(format!("offices: a certificate is refused: {e}"))
            })?;
            let kind = match office.kind {
                crate::crypto::OfficeKind::Brobygger => "brobygger",
                crate::crypto::OfficeKind::PhoneDesk => "phone_desk",
            };
            let info = config
                .office_info
                .get(&office.office_id)
                .cloned()
                .unwrap_or_default();
            Ok(http::OfficeEntry {
                id: office.office_id,
                kind: kind.into(),
                name: office.display_name,
                cert: crate::crypto::b64_encode(&bytes),
                info,
            })
        })
        .collect()
}

/// Saves the day's statistics every minute and once more at shutdown.
async fn save_stats(
    relay: Relay,
    data_dir: Option<std::path::PathBuf>,
    shutdown: CancellationToken,
) {
    let Some(dir) = data_dir else { return };
    let mut every = tokio::time::interval(Duration::from_secs(60));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let last = tokio::select! {
            () = shutdown.cancelled() => true,
            _ = every.tick() => false,
        };
        let days = relay.engine().observed().stats_to_save();
        let d = dir.clone();
        let node = relay.many_nodes().then(|| relay.engine().node().to_owned());
        let saved = tokio::task::spawn_blocking(move || {
            days.iter()
                .try_for_each(|day| crate::stats::save_day(&d, day, node.as_deref()))
        })
        .await;
        if !matches!(saved, Ok(Ok(()))) {
            tracing::error!("the day's statistics could not be saved");
        }
        if last {
            return;
        }
    }
}

/// Re-reads `staff.json` every two seconds when another node changed it, until shutdown.
async fn refresh_accounts(auth: Auth, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(2));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let a = auth.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || a.refresh()).await {
            tracing::error!(error = %e, "the staff accounts file cannot be read");
        }
    }
}

/// Deletes referrals past their retention every hour until shutdown.
async fn expire_referrals(
    store: Option<crate::referral::ReferralStore>,
    metrics: Metrics,
    shutdown: CancellationToken,
) {
    let Some(store) = store else { return };
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let s = store.clone();
        let now = crate::keytool::now_unix().unwrap_or(0);
        match tokio::task::spawn_blocking(move || s.expire(now)).await {
            Ok(Ok(n)) if n > 0 => {
                metrics
                    .referrals
                    .with_label_values(&["expired"])
                    .inc_by(u64::try_from(n).unwrap_or(u64::MAX));
                tracing::info!(deleted = n, "referrals past their retention deleted");
            }
            Ok(Err(e)) => tracing::error!(error = %e, "referral retention"),
            _ => {}
        }
    }
}

/// Forgets idle rate-limiter state every minute until shutdown.
async fn prune_limits(limits: crate::limits::Limits, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => limits.prune(),
        }
    }
}

/// What `start` checks before it binds anything: the org root, every office certificate
/// (chains to the root, in its validity period now) and the opening hours. `lyt serve
/// --check` runs exactly this, so a configuration that passes it starts (unless a port is
/// taken or the data directory cannot be opened).
pub fn check(config: &Config) -> Result<CheckReport, StartError> {
    let root = org_root(config)?;
    let offices = offices(config, root.as_ref())?;
    crate::routing::hours::Schedule::new(&config.hours).map_err(StartError::Config)?;
    Ok(CheckReport {
        queues: config.queues.len(),
        accounts: config.accounts.len(),
        offices: offices.len(),
        org_root: root.is_some(),
    })
}

/// What a checked configuration holds, for the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckReport {
    /// Routing queues.
    pub queues: usize,
    /// Staff accounts in the file.
    pub accounts: usize,
    /// Verified office certificates.
    pub offices: usize,
    /// Whether an org root is pinned.
    pub org_root: bool,
}

impl Server {
    /// Binds both listeners and starts serving.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        Self::start_on_clock(config, Clock::System).await
    }

    /// Binds both listeners and starts serving with the relay's deadlines on `clock` (a
    /// `VirtualClock` in tests: see `crate::clock`).
    pub async fn start_on_clock(config: Config, clock: Clock) -> Result<Self, StartError> {
        let org_root = org_root(&config)?;
        let offices = offices(&config, org_root.as_ref())?;
        let hours =
            crate::routing::hours::Schedule::new(&config.hours).map_err(StartError::Config)?;
        let limits = crate::limits::Limits::new(config.rate.clone());
        let tls = crate::tls::acceptor(&config.tls)
            .map_err(|e| StartError::Config(e.to_string()))?
            .map(|acceptor| http::listen::Tls {
                acceptor,
                handshake_timeout: Duration::from_secs(
                    config.limits.tls_handshake_timeout_s.max(1),
                ),
            });
        let public = bind(config.listen).await?;
        let internal = bind(config.internal).await?;
        let public_addr = public.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        let internal_addr = internal.local_addr().map_err(|source| StartError::Bind {
            addr: config.internal,
            source,
        })?;

        let mut allowed = config.allowed_origins.clone();
        // The widget iframe comes from the relay itself: its own origin opens the WebSocket.
        allowed.extend(
            config
                .public_url
                .iter()
                .map(|u| u.trim_end_matches('/').to_owned()),
        );
        if config.demo {
            let port = public_addr.port();
            let scheme = if config.tls.enabled() {
                "https"
            } else {
                "http"
            };
            allowed.extend([
                format!("{scheme}://127.0.0.1:{port}"),
                format!("{scheme}://localhost:{port}"),
                format!("{scheme}://[::1]:{port}"),
            ]);
        }
        let origins = Origins::new(allowed.iter().map(String::as_str));
        let metrics = Metrics::new();
        // In memory the state cannot be unavailable; on Redis the cluster ticker sets it.
        metrics.store_up.set(1);
        let settings = Settings {
            clock: clock.clone(),
            ..Settings::from_config(&config)
        };
        let relay = match &config.redis.url {
            None => {
                let store = std::sync::Arc::new(
                    crate::store::MemoryStore::new(lifetimes(&config)).with_clock(clock.clone()),
                );
                Relay::local_store(settings, metrics.clone(), store)
            }
            Some(url) => {
                let store = open_store(&config, url.expose(), &clock).await?;
                let relay = Relay::shared(settings, metrics.clone(), store);
                tracing::info!(
                    node = relay.engine().node(),
                    "one node of many: shared state in Redis"
                );
                if config.rate.shared_key.is_none() {
                    tracing::warn!(
                        "rate.shared_key is not set: joins per address are counted per node; \
                         set the same secret on every node to count them across nodes"
                    );
                }
                relay
            }
        };
        let (session_ttl, ticket_ttl) = (
            Duration::from_secs(config.limits.session_ttl_s),
            Duration::from_secs(config.limits.ticket_ttl_s),
        );
        let data_dir = config
            .data_dir
            .clone()
            .or_else(|| config.demo.then(|| config.demo_dir.clone()));
        let auth = match &data_dir {
            Some(dir) => Auth::open(&config.accounts, dir, session_ttl, ticket_ttl)
                .map_err(|e| StartError::Config(e.to_string()))?,
            None => {
                if !config.accounts.is_empty() {
                    tracing::warn!(
                        "data_dir is not set: accounts added, disabled or enrolled in the \
                         dashboard are kept only until lyt stops"
                    );
                }
                Auth::new(&config.accounts, session_ttl, ticket_ttl)
            }
        };
        let referrals = match &data_dir {
            Some(dir) => Some(
                crate::referral::ReferralStore::open(
                    dir,
                    config.referrals.retention_days,
                    jiff::tz::TimeZone::get(&config.hours.time_zone)
                        .unwrap_or(jiff::tz::TimeZone::UTC),
                    crate::keytool::now_unix().map_err(|e| StartError::Config(e.to_string()))?,
                )
                .map_err(|e| StartError::Config(format!("referrals: {e}")))?,
            ),
            None => None,
        };
        let demo_signer = if config.demo {
            let key = crate::demo::org_root_key(&config.demo_dir)
                .map_err(|e| StartError::Config(e.to_string()))?;
            Some(Arc::new(key))
        } else {
            None
        };
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let grace = Duration::from_secs(config.limits.shutdown_grace_s);
        let metrics_for_expiry = metrics.clone();
        let state = AppState {
            relay: relay.clone(),
            auth: auth.clone(),
            metrics,
            config: Arc::new(config),
            origins: Arc::new(origins.clone()),
            org_root,
            offices: Arc::new(offices),
            hours: Arc::new(hours),
            limits: limits.clone(),
            demo_signer,
            referrals: referrals.clone(),
            shutdown: shutdown.clone(),
            tracker: tracker.clone(),
        };

        let header_timeout = Duration::from_secs(state.config.limits.header_read_timeout_s.max(1));
        let public_srv = http::listen::serve(
            public,
            http::public_router(state.clone()),
            tls,
            header_timeout,
            shutdown.clone(),
            grace,
        );
        let internal_app = http::internal_router(state);
        let s2 = shutdown.clone();
        let internal_srv =
            axum::serve(internal, internal_app).with_graceful_shutdown(s2.cancelled_owned());
        let ticker = tokio::spawn(relay.clone().run_ticker(shutdown.clone()));
        let pruner = tokio::spawn(prune_limits(limits, shutdown.clone()));
        // With many nodes each process saves its own file (summed by the export), so there
        // is nothing of this process's to restore.
        if let Some(dir) = data_dir.as_ref().filter(|_| !relay.many_nodes()) {
            let today = relay.engine().observed().today_date();
            match crate::stats::load_day(dir, &today) {
                Ok(Some(saved)) => relay.engine().observed().restore_stats(saved),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "today's saved statistics cannot be read; starting from zero")
                }
            }
        }
        if relay.many_nodes() {
            // Many nodes share the data directory: take other nodes' account changes.
            tokio::spawn(refresh_accounts(auth.clone(), shutdown.clone()));
        }
        let stats_saver = tokio::spawn(save_stats(
            relay.clone(),
            data_dir.clone(),
            shutdown.clone(),
        ));
        let expirer = tokio::spawn(expire_referrals(
            referrals,
            metrics_for_expiry,
            shutdown.clone(),
        ));

        let task = tokio::spawn(async move {
            let ((), internal) = tokio::join!(public_srv, internal_srv);
            if let Err(e) = internal {
                tracing::error!(error = %e, "internal listener failed");
            }
            tracker.close();
            if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
                tracing::warn!(
                    open = tracker.len(),
                    "connections still open after the grace period"
                );
            }
            let _ = ticker.await;
            let _ = pruner.await;
            let _ = expirer.await;
            let _ = stats_saver.await;
        });
        Ok(Self {
            public_addr,
            internal_addr,
            origins: origins.list(),
            relay,
            shutdown,
            task,
        })
    }

    /// Begins a graceful shutdown.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// A token that is cancelled when shutdown begins.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// The relay's state (tests inspect it to prove nothing remains).
    pub fn relay(&self) -> &Relay {
        &self.relay
    }

    /// Waits until the server has stopped (after `shutdown`).
    pub async fn wait(self) {
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "server task failed");
        }
    }
}
