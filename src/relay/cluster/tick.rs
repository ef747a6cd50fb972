//! The node's ticker: routing on the shared snapshot, claims of expired offers, gone
//! counsellors and lapsed conversations, renewals (presence, leases, heartbeat), queue
//! positions for this node's visitors, catch-up after a resume, and the generation check.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use tokio_util::sync::CancellationToken;

use super::{Cluster, Kind};
use crate::clock::VirtualClock;
use crate::protocol::{ConvId, QueueId, ServerFrame};
use crate::relay::conn::ConnId;
use crate::routing;
use crate::store::StoreError;

/// A counsellor's presence lasts this long without renewal (their node renews it every
/// second); a node that dies loses its counsellors after this.
pub(super) const PRESENCE_TTL: Duration = Duration::from_secs(6);
/// How often presence and the heartbeat are renewed.
const RENEW_EVERY: Duration = Duration::from_secs(1);
/// Presences renewed in one store call (a node with more renews them in several).
const RENEW_BATCH: usize = 256;
/// Lease renewals a node has in flight at once.
const KEEP_IN_FLIGHT: usize = 16;
/// How long a node that claimed a lapsed conversation has to end it.
const LAPSE_CLAIM: Duration = Duration::from_secs(10);

/// Resolves when a virtual clock moved (`None` if its handle is gone); never on the system
/// clock.
async fn clock_moved(moved: Option<&mut tokio::sync::watch::Receiver<Duration>>) -> Option<()> {
    match moved {
        Some(rx) => rx.changed().await.ok(),
        None => std::future::pending().await,
    }
}

/// What routing reads of a published `Duty`: the bundle (base64 certificates) and the parked
/// chats are skipped unparsed — routing parses the presence of every counsellor who can take
/// a chat on every run that finds someone waiting.
#[derive(serde::Deserialize)]
struct RouteView {
    skills: crate::protocol::Skills,
    capacity: u32,
    on_break: bool,
    wrap_up_until_ms: u64,
    free_since_ms: u64,
    #[serde(default)]
    parked: Vec<serde::de::IgnoredAny>,
}

impl Cluster {
    /// Runs the ticker until `shutdown`: renewals every second, a sweep every `cfg.sweep`,
    /// routing on every event. On a virtual clock (`Settings::clock`) it also renews and
    /// sweeps at every step the clock moves, and records each sweep so that
    /// `VirtualClock::pass` knows the step was run.
    pub async fn run_ticker(self: std::sync::Arc<Self>, shutdown: CancellationToken) {
        let mut sweep = tokio::time::interval(self.cfg.sweep);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut renewals = tokio::time::interval(RENEW_EVERY);
        renewals.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut moved = self.cfg.clock.as_virtual().map(VirtualClock::watch);
        let mut last_keep: Option<Instant> = None;
        // Real time, on any clock: a node frozen or cut off is one whose renewals are late on
        // the machine, whatever the service's clock says.
        let mut last_renewal = std::time::Instant::now();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = renewals.tick() => {
                    // Generation, heartbeat and presence, on their own clock.
                    if self.check_generation().await {
                        // Renewals stopped for longer than presence lasts: this node was
                        // frozen or cut off, and other nodes may have taken its chats.
                        let cut_off = last_renewal.elapsed() > PRESENCE_TTL;
                        last_renewal = std::time::Instant::now();
                        if cut_off {
                            self.drop_lost_chats().await;
                        }
                        self.renew().await;
                        self.share_stats().await;
                    }
                    continue;
                }
                _ = sweep.tick() => {}
                () = self.route_now.notified() => {
                    // An event: route now, leave the rest to the sweep.
                    if self.store_reachable() {
                        self.route().await;
                    }
                    continue;
                }
                Some(()) = clock_moved(moved.as_mut()) => {
                    // Virtual time moved: what a node up all along did meanwhile (renewals),
                    // then a sweep at the new time.
                    self.renewals().await;
                }
            }
            let swept_at = self.cfg.clock.as_virtual().map(VirtualClock::elapsed);
            self.sweep(&mut last_keep).await;
            if let (Some(v), Some(at)) = (self.cfg.clock.as_virtual(), swept_at) {
                v.settle(at);
            }
        }
        // A clean shutdown: this node's counsellors are no longer present.
        let ids: Vec<ConnId> = self.local().counsellors.keys().copied().collect();
        for id in ids {
            let _ = self.store.absent(&self.name(id)).await;
        }
    }

    /// Renews the generation check, the heartbeat and the presences; false when the store
    /// cannot be reached.
    pub(super) async fn renewals(&self) -> bool {
        if !self.check_generation().await {
            return false;
        }
        self.renew().await;
        true
    }

    /// One sweep at the clock's present time: leases renewed when due (`last_keep` is when
    /// they last were), expired offers, gone counsellors and lapsed conversations claimed,
    /// parked chats past the reconnect window requeued, callbacks synced, routing, catch-up.
    pub(super) async fn sweep(&self, last_keep: &mut Option<Instant>) {
        let now = self.now();
        let keep_every =
            (self.cfg.resume_window / 3).clamp(Duration::from_millis(250), Duration::from_secs(10));
        if last_keep.is_none_or(|t| now.duration_since(t) >= keep_every) {
            *last_keep = Some(now);
            self.keep_leases().await;
        }
        let ok = self.claim_expired().await;
        self.set_store_up(ok);
        if ok {
            self.expire_parked().await;
            self.sync_callbacks().await;
            self.route().await;
            self.catch_up(true).await;
        }
    }

    /// Compares the shared state's generation with the one this node works with; when it
    /// changed (the state was lost), ends every local conversation visibly. False when the
    /// store cannot be reached.
    async fn check_generation(&self) -> bool {
        let current = match self.store.generation().await {
            Ok(g) => g,
            Err(_) => {
                self.set_store_up(false);
                return false;
            }
        };
        let previous = self
            .generation
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .replace(current.clone());
        if previous.is_some_and(|p| p != current) {
            self.state_lost().await;
        }
        true
    }

    /// The shared state was lost: every local conversation ends with `state_lost` (visitors
    /// can join again; counsellors stay on duty and are present again at once).
    async fn state_lost(&self) {
        tracing::warn!(
            "the shared state was lost (store restarted); ending this node's conversations"
        );
        let frame_for = |conv| ServerFrame::Ended {
            conv,
            reason: crate::protocol::EndReason::StateLost,
        };
        let mut ended = 0u64;
        {
            let mut local = self.local();
            for v in local.visitors.values_mut() {
                if let Some(c) = v.conv.take() {
                    v.mailbox.send(&frame_for(c.conv));
                    ended += 1;
                }
            }
            local.visitor_of.clear();
            for c in local.counsellors.values_mut() {
                for (conv, _) in c.live.drain() {
                    c.mailbox.send(&frame_for(conv));
                    self.metrics.conversations_live.dec();
                }
                for (conv, _) in c.offers.drain() {
                    c.mailbox.send(&frame_for(conv));
                }
            }
        }
        self.metrics
            .conversations_ended
            .with_label_values(&["state_lost"])
            .inc_by(ended);
        self.renew().await;
    }

    /// After the node was cut off: every live chat of its counsellors that the store no
    /// longer gives to that connection went on without it (back to the queue, to another
    /// counsellor): drop it here and tell the console (`ended{reassigned}`). The store's
    /// fence already refuses their writes; this makes the console agree.
    async fn drop_lost_chats(&self) {
        let held: Vec<(ConnId, ConvId)> = self
            .local()
            .counsellors
            .iter()
            .flat_map(|(id, c)| c.live.keys().map(move |conv| (*id, *conv)))
            .collect();
        tracing::warn!(
            chats = held.len(),
            "renewals were stalled; checking this node's chats"
        );
        for (id, conv) in held {
            let holder = self.store.ends(conv).await.ok().and_then(|(_, c)| c);
            if holder.as_deref() != Some(self.name(id).as_str()) {
                self.lost_to_another(id, conv);
            }
        }
    }

    /// Renews the heartbeat and the presence of this node's counsellors on duty and parked
    /// connections: one store call for all (their duties were published when they changed);
    /// a presence the store no longer has (claimed after a stall, or lost with the state) is
    /// published again.
    async fn renew(&self) {
        let _ = self.store.heartbeat(&self.node, PRESENCE_TTL).await;
        let (on_duty, parked): (Vec<ConnId>, Vec<ConnId>) = {
            let local = self.local();
            (
                local
                    .counsellors
                    .iter()
                    .filter(|(_, c)| c.duty.is_some())
                    .map(|(id, _)| *id)
                    .collect(),
                local.parked.keys().copied().collect(),
            )
        };
        let names: Vec<String> = on_duty
            .iter()
            .chain(&parked)
            .map(|id| self.name(*id))
            .collect();
        // In batches: one store call holds Redis for as long as its batch takes, and every
        // relayed frame waits behind it (5,000 presences in one script held it ~15 ms).
        let mut missing = Vec::new();
        for batch in names.chunks(RENEW_BATCH) {
            let Ok(m) = self.store.renew(batch, PRESENCE_TTL).await else {
                return;
            };
            missing.extend(m);
        }
        for name in missing {
            let Some((_, id)) = super::split_name(&name) else {
                continue;
            };
            if parked.contains(&id) {
                self.present_parked(id).await;
            } else {
                self.present(id).await;
            }
        }
    }

    /// Renews the leases of the conversations whose visitors this node holds.
    async fn keep_leases(&self) {
        let convs: Vec<ConvId> = self
            .local()
            .visitors
            .values()
            .filter_map(|v| v.conv.as_ref().map(|c| c.conv))
            .collect();
        let window = self.cfg.resume_window;
        // A few at a time: all at once would queue thousands of calls ahead of the relayed
        // frames on the node's store connection.
        let gone: Vec<ConvId> = futures_util::stream::iter(convs)
            .map(|conv| async move { (conv, self.store.keep(conv, window).await) })
            .buffer_unordered(KEEP_IN_FLIGHT)
            .filter_map(|(c, r)| async move { (r == Err(StoreError::NotFound)).then_some(c) })
            .collect()
            .await;
        // A conversation ended elsewhere while this node missed the news.
        for conv in gone {
            let mut local = self.local();
            let Some(id) = local.visitor_of.remove(&conv) else {
                continue;
            };
            if let Some(v) = local.visitors.get_mut(&id)
                && v.conv.as_ref().is_some_and(|c| c.conv == conv)
            {
                v.conv = None;
                v.mailbox.send(&ServerFrame::Ended {
                    conv,
                    reason: crate::protocol::EndReason::VisitorLeft,
                });
            }
        }
    }

    /// Claims expired offers, gone counsellors and lapsed conversations (each goes to one
    /// node). False when the store cannot be reached.
    async fn claim_expired(&self) -> bool {
        let Ok(expired) = self.store.expired_offers().await else {
            return false;
        };
        for e in expired {
            self.metrics.offers.with_label_values(&["expired"]).inc();
            let frame = ServerFrame::Ended {
                conv: e.conv,
                reason: crate::protocol::EndReason::OfferExpired,
            };
            self.send_frame(
                &e.counsellor,
                Kind::Withdrawn {
                    conv: e.conv,
                    expired: true,
                },
                &frame,
            )
            .await;
        }
        // A store that stalls stops every node's renewals with it while its clock runs on:
        // presences and leases that lapsed in a stall are not claimed until every node has
        // had a full presence lifetime since to renew its own. A node that is really gone is
        // then claimed a few seconds later than otherwise; a stall of Redis costs no chat.
        if self.store_failed_within(PRESENCE_TTL) {
            return true;
        }
        if let Ok(gone) = self.store.gone().await {
            for g in gone {
                tracing::info!(chats = g.live.len(), "a counsellor's presence expired");
                for conv in g.live {
                    let visitor = self.store.ends(conv).await.ok().and_then(|(v, _)| v);
                    match visitor {
                        // The visitor's node knows the queue and puts it back.
                        Some(v) => self.counsellor_lost(conv, &v, &g.counsellor).await,
                        None => {
                            let _ = self.store.end(conv).await;
                        }
                    }
                }
            }
        }
        if let Ok(lapsed) = self.store.lapsed(LAPSE_CLAIM).await {
            for conv in lapsed {
                let counsellor = self.store.live_with(conv).await.ok().flatten();
                self.end_visitor_conv(
                    conv,
                    counsellor.as_deref(),
                    crate::protocol::EndReason::VisitorLeft,
                )
                .await;
            }
        }
        true
    }

    /// Routing: offers committed by compare-and-set, positions pushed to this node's
    /// visitors, the queue figures kept for the status and the dashboard. It reads the
    /// waiting list, and only when someone waits without an offer the counsellors who can
    /// take a chat (`Store::open_duty`, a maintained index): its cost does not grow with the
    /// chats held, nor with the counsellors who are full, on a break or parked.
    pub(super) async fn route(&self) {
        let Ok(waiting) = self.store.waiting(&self.cfg.queues).await else {
            return;
        };
        if waiting.iter().any(|w| w.offered_to.is_none()) {
            self.assign(&waiting).await;
        }
        // Positions: everyone waiting (offered included) counts, per queue, in order.
        let mut position: HashMap<ConvId, u32> = HashMap::new();
        let mut per_queue: HashMap<&crate::protocol::QueueId, (u32, Duration)> = HashMap::new();
        for w in &waiting {
            let e = per_queue.entry(&w.queue).or_insert((0, Duration::ZERO));
            e.0 += 1;
            e.1 = e.1.max(w.waited);
            position.insert(w.conv, e.0);
        }
        // This node's visitors among them, found by their conversations (never by walking
        // every visitor: routing runs on every event).
        let mine: Vec<(ConnId, ConvId, u32)> = {
            let local = self.local();
            position
                .iter()
                .filter_map(|(conv, p)| Some((*local.visitor_of.get(conv)?, *conv, *p)))
                .collect()
        };
        for (id, conv, p) in mine {
            self.push_position(id, conv, p);
        }
        let waiting_figures: Vec<(QueueId, usize, Duration)> = self
            .cfg
            .queues
            .iter()
            .map(|q| {
                let (n, longest) = per_queue.get(q).copied().unwrap_or_default();
                (q.clone(), n as usize, longest)
            })
            .collect();
        for (q, n, _) in &waiting_figures {
            self.metrics
                .waiting
                .with_label_values(&[q.as_str()])
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
        self.figures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .waiting = waiting_figures;
    }

    /// Offers the visitors waiting without an offer to the counsellors who can take them.
    async fn assign(&self, waiting: &[crate::store::Waiting]) {
        let Ok(open) = self.store.open_duty().await else {
            return;
        };
        let now = self.now();
        let now_ms = self.cfg.clock.unix_ms();
        let ago = |ms: u64| {
            now.checked_sub(Duration::from_millis(now_ms.saturating_sub(ms)))
                .unwrap_or(now)
        };
        // Counsellors by routing number.
        let mut names: Vec<String> = Vec::new();
        let mut capacity: Vec<u32> = Vec::new();
        let mut available = Vec::new();
        for o in &open {
            let Ok(d) = serde_json::from_slice::<RouteView>(&o.duty) else {
                continue;
            };
            // The index lists who opens slots; a wrap-up ends by the clock.
            let open_slots = if d.on_break || !d.parked.is_empty() {
                0
            } else {
                d.capacity
            };
            if open_slots <= o.load || d.wrap_up_until_ms > now_ms {
                continue;
            }
            let idx = names.len() as u64;
            names.push(o.counsellor.clone());
            capacity.push(d.capacity);
            available.push(routing::Available {
                id: idx,
                langs: d.skills.langs.iter().map(ToString::to_string).collect(),
                topics: d.skills.topics.iter().map(ToString::to_string).collect(),
                free: d.capacity.saturating_sub(o.load),
                free_since: ago(d.free_since_ms),
            });
        }
        if available.is_empty() {
            return;
        }
        let index: HashMap<&str, u64> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i as u64))
            .collect();
        let mut candidates: Vec<routing::Waiting> = waiting
            .iter()
            .filter(|w| w.offered_to.is_none())
            .map(|w| routing::Waiting {
                conv: w.conv,
                queue: w.queue.clone(),
                order: w.order,
                passed: w
                    .passed
                    .iter()
                    .filter_map(|(c, d)| {
                        Some((*index.get(c.as_str())?, now.checked_sub(*d).unwrap_or(now)))
                    })
                    .collect(),
            })
            .collect();
        // Visitors who are away are not offered; a pair with one is dropped and routing runs
        // again without them, until a round finds no one away (each round has fewer
        // candidates, so this ends; a bounded number of rounds left the visitors behind
        // several away ones waiting while a counsellor was free).
        loop {
            if candidates.is_empty() {
                break;
            }
            let pairs = routing::assign(&candidates, &available, now, self.cfg.reoffer_after);
            if pairs.is_empty() {
                break;
            }
            let mut away = Vec::new();
            let mut placed = Vec::new();
            for (conv, who) in pairs {
                let Some(to) = usize::try_from(who).ok().and_then(|i| names.get(i)) else {
                    continue;
                };
                let cap = capacity[usize::try_from(who).unwrap_or(0)];
                match self.store.ends(conv).await {
                    Ok((Some(_), _)) => {}
                    _ => {
                        away.push(conv);
                        continue;
                    }
                }
                placed.push(conv);
                if self
                    .store
                    .offer(conv, to, cap, self.cfg.offer_timeout)
                    .await
                    .is_ok()
                {
                    if let Some(a) = available.iter_mut().find(|a| a.id == who) {
                        a.free = a.free.saturating_sub(1);
                    }
                    let w = waiting.iter().find(|w| w.conv == conv);
                    if let Some(w) = w {
                        self.send_offer(to, conv, &w.queue, w.waited).await;
                    }
                }
            }
            if away.is_empty() {
                break;
            }
            // The next round without the visitors who are away and the ones just placed
            // (offered, or lost to another node's offer), against the slots left.
            candidates.retain(|w| !away.contains(&w.conv) && !placed.contains(&w.conv));
            available.retain(|a| a.free > 0);
        }
    }
}
