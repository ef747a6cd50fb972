//! Read-only views of the hub for staff: the supervisor's live figures (aggregates only:
//! counts, durations, aliases of counsellors on duty — nothing about a visitor), the
//! colleagues a counsellor can transfer to, and taking an account off duty when it is
//! disabled.

use std::time::Instant;

use serde::Serialize;

use super::{Hub, Phase};
use crate::protocol::close;

/// One queue's live figures.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct QueueFigures {
    /// Queue id.
    pub id: String,
    /// Visitors waiting (queued or being offered).
    pub waiting: usize,
    /// How long the longest-waiting visitor has waited, in seconds (0 when none).
    pub longest_wait_s: u64,
    /// The wait estimate for someone joining now.
    pub eta_s: u64,
}

/// What a counsellor on duty is doing.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CounsellorState {
    /// On duty with a free slot.
    Available,
    /// On duty at capacity.
    Busy,
    /// On duty, taking a break.
    OnBreak,
}

/// A counsellor on duty.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OnDuty {
    /// The name visitors see.
    pub alias: String,
    /// What they are doing.
    pub state: CounsellorState,
    /// Live chats and pending offers.
    pub chats: u32,
    /// Their capacity.
    pub capacity: u32,
}

/// The hub's part of the supervisor snapshot.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HubSnapshot {
    /// Per configured queue.
    pub queues: Vec<QueueFigures>,
    /// Counsellors on duty, by alias.
    pub on_duty: Vec<OnDuty>,
    /// Live chats (including ones parked for a reconnecting counsellor).
    pub active_chats: usize,
    /// Today's statistics.
    pub today: crate::stats::Today,
}

impl Hub {
    /// The live figures for the supervisor dashboard.
    pub fn snapshot(&self, now: Instant) -> HubSnapshot {
        let queues = self
            .waiting_counts()
            .into_iter()
            .map(|(q, waiting)| {
                let longest_wait_s = self
                    .convs
                    .values()
                    .filter(|c| {
                        c.queue == q && matches!(c.phase, Phase::Queued | Phase::Offered { .. })
                    })
                    .map(|c| now.saturating_duration_since(c.joined_at).as_secs())
                    .max()
                    .unwrap_or(0);
                let eta_s = self.eta_s(&q, u32::try_from(waiting + 1).unwrap_or(u32::MAX));
                QueueFigures {
                    id: q.to_string(),
                    waiting,
                    longest_wait_s,
                    eta_s,
                }
            })
            .collect();
        let mut on_duty: Vec<OnDuty> = self
            .counsellors
            .values()
            .filter_map(|c| {
                let duty = c.duty.as_ref()?;
                let chats = u32::try_from(c.convs.len()).unwrap_or(u32::MAX);
                let state = if c.on_break {
                    CounsellorState::OnBreak
                } else if chats >= duty.capacity {
                    CounsellorState::Busy
                } else {
                    CounsellorState::Available
                };
                Some(OnDuty {
                    alias: c.alias.clone(),
                    state,
                    chats,
                    capacity: duty.capacity,
                })
            })
            .collect();
        on_duty.sort_by(|a, b| a.alias.cmp(&b.alias));
        let active_chats = self
            .convs
            .values()
            .filter(|c| matches!(c.phase, Phase::Live { .. } | Phase::Parked { .. }))
            .count();
        HubSnapshot {
            queues,
            on_duty,
            active_chats,
            today: self.stats.today(&self.today()),
        }
    }

    /// Colleagues on duty other than `alias`, and whether each can take a chat now.
    pub fn colleagues(&self, alias: &str) -> Vec<(String, bool)> {
        let mut out: Vec<(String, bool)> = self
            .counsellors
            .values()
            .filter(|c| !c.alias.eq_ignore_ascii_case(alias))
            .filter_map(|c| {
                let duty = c.duty.as_ref()?;
                let free = u32::try_from(c.convs.len()).unwrap_or(u32::MAX) < duty.capacity;
                Some((c.alias.clone(), free && !c.on_break))
            })
            .collect();
        out.sort();
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }

    /// Counts a contact handled outside the chat relay (a phone callback marked done).
    pub fn record_contact(
        &mut self,
        channel: &str,
        language: Option<&str>,
        tags: &crate::protocol::Tags,
    ) {
        self.count_contact(channel, language, tags, "untagged");
    }

    /// Counts a visitor who joined a queue (the shared engine's joins).
    pub fn count_joined(&mut self) {
        let today = self.today();
        self.stats.joined(&today);
    }

    /// Counts a finished wait (the shared engine's accepts).
    pub fn count_waited(&mut self, secs: f64) {
        let today = self.today();
        self.stats.waited(&today, secs);
    }

    /// Counts a visitor who left before being served, when `abandoned`.
    pub fn count_abandoned_if(&mut self, abandoned: bool) {
        if abandoned {
            let today = self.today();
            self.stats.abandoned(&today);
        }
    }

    /// Counts a chat a counsellor ended with tags (the shared engine's `end`).
    pub fn count_contact_tagged(
        &mut self,
        channel: &str,
        language: Option<&str>,
        tags: &crate::protocol::Tags,
    ) {
        self.count_contact(channel, language, tags, "untagged");
    }

    /// The counts to save now: a finished day not saved yet, then today's.
    pub fn stats_to_save(&mut self) -> Vec<crate::stats::Stats> {
        self.stats.to_save()
    }

    /// Takes back today's counts saved before a restart.
    pub fn restore_stats(&mut self, saved: crate::stats::Stats) {
        let today = self.today();
        self.stats.restore(saved, &today);
    }

    /// Today's date in the organisation's time zone.
    pub fn today_date(&self) -> String {
        self.today()
    }

    /// Today's date and this process's counts of it.
    pub fn today_counts(&self) -> (String, crate::stats::Stats) {
        let date = self.today();
        let counts = self.stats.of_day(&date);
        (date, counts)
    }

    /// Time between sweeps.
    pub fn sweep(&self) -> std::time::Duration {
        self.cfg.sweep
    }

    /// Counts an ended contact in today's statistics and in the metrics; `fallback` is the
    /// outcome when the tags carry none.
    pub(super) fn count_contact(
        &mut self,
        channel: &str,
        language: Option<&str>,
        tags: &crate::protocol::Tags,
        fallback: &str,
    ) {
        let today = self.today();
        self.stats
            .contact(&today, channel, language, tags, fallback);
        let outcome = tags.outcome.as_ref().map_or(fallback, |o| o.as_str());
        self.metrics
            .contacts
            .with_label_values(&[channel, outcome])
            .inc();
        for topic in &tags.topic {
            self.metrics
                .contact_topics
                .with_label_values(&[topic.as_str()])
                .inc();
        }
    }

    /// Whether a counsellor with this alias is connected.
    pub fn is_connected(&self, alias: &str) -> bool {
        self.counsellors
            .values()
            .any(|c| c.alias.eq_ignore_ascii_case(alias))
    }

    /// Closes every connection of the counsellor `alias` (their account was disabled): the
    /// socket tasks end and the hub handles them as dropped connections — pending offers go
    /// back to their queues, live chats follow the reconnect rules and, since the account
    /// can no longer log in, return to the front of their queue when the window passes.
    pub fn disconnect_alias(&self, alias: &str) -> usize {
        let mut n = 0;
        for c in self
            .counsellors
            .values()
            .filter(|c| c.alias.eq_ignore_ascii_case(alias))
        {
            c.mailbox.close(close::POLICY, "account disabled");
            n += 1;
        }
        n
    }
}
