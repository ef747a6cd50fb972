//! What every node shares beyond routing, in process: the pending callback requests (an
//! index by age, so expiry looks only at the oldest) and each node's counts of a day.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::store::{Callback, Callbacks, StoreError, StoreResult};

/// Pending callback requests.
#[derive(Debug, Default)]
pub(super) struct CallbackList {
    /// Request id → entry and when it was added.
    items: HashMap<String, (Vec<u8>, Instant)>,
    /// (added, id): the order of the list and of expiry.
    by_age: BTreeSet<(Instant, String)>,
    /// Bumped by every addition, removal and expiry.
    version: u64,
}

impl CallbackList {
    /// Drops requests older than `ttl`, oldest first; only expired ones are looked at.
    fn expire(&mut self, now: Instant, ttl: Duration) {
        while let Some((added, id)) = self.by_age.first().cloned() {
            if now.saturating_duration_since(added) < ttl {
                break;
            }
            self.by_age.pop_first();
            self.items.remove(&id);
            self.version += 1;
        }
    }

    pub(super) fn add(
        &mut self,
        id: &str,
        entry: Vec<u8>,
        max: usize,
        now: Instant,
        ttl: Duration,
    ) -> StoreResult<()> {
        self.expire(now, ttl);
        if self.items.contains_key(id) {
            return Err(StoreError::Conflict);
        }
        if self.items.len() >= max {
            return Err(StoreError::QueueFull);
        }
        self.items.insert(id.to_owned(), (entry, now));
        self.by_age.insert((now, id.to_owned()));
        self.version += 1;
        Ok(())
    }

    pub(super) fn list(&mut self, limit: usize, now: Instant, ttl: Duration) -> Callbacks {
        self.expire(now, ttl);
        let items = self
            .by_age
            .iter()
            .take(limit)
            .filter_map(|(added, id)| {
                let (entry, _) = self.items.get(id)?;
                Some(Callback {
                    id: id.clone(),
                    entry: entry.clone(),
                    age: now.saturating_duration_since(*added),
                })
            })
            .collect();
        Callbacks {
            items,
            pending: self.items.len(),
            version: self.version,
        }
    }

    pub(super) fn take(&mut self, id: &str, now: Instant, ttl: Duration) -> StoreResult<Vec<u8>> {
        self.expire(now, ttl);
        let (entry, added) = self.items.remove(id).ok_or(StoreError::NotFound)?;
        self.by_age.remove(&(added, id.to_owned()));
        self.version += 1;
        Ok(entry)
    }

    pub(super) fn version(&mut self, now: Instant, ttl: Duration) -> u64 {
        self.expire(now, ttl);
        self.version
    }
}

/// Each node's counts per day, each day kept until its last update plus the TTL.
#[derive(Debug, Default)]
pub(super) struct DayCounts {
    days: HashMap<String, (HashMap<String, Vec<u8>>, Instant)>,
}

impl DayCounts {
    pub(super) fn put(
        &mut self,
        date: &str,
        node: &str,
        counts: Vec<u8>,
        now: Instant,
        ttl: Duration,
    ) {
        // Days are few (today, yesterday): dropping the expired ones costs nothing per chat.
        self.days.retain(|_, (_, until)| *until > now);
        let until = now + ttl;
        let day = self
            .days
            .entry(date.to_owned())
            .or_insert_with(|| (HashMap::new(), until));
        day.0.insert(node.to_owned(), counts);
        day.1 = until;
    }

    pub(super) fn day(&self, date: &str, now: Instant) -> Vec<(String, Vec<u8>)> {
        match self.days.get(date) {
            Some((nodes, until)) if *until > now => {
                let mut out: Vec<(String, Vec<u8>)> =
                    nodes.iter().map(|(n, c)| (n.clone(), c.clone())).collect();
                out.sort();
                out
            }
            _ => Vec::new(),
        }
    }
}
