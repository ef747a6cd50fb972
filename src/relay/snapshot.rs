//! The relay's figures for the supervisor dashboard and `/metrics`.

use serde::Serialize;

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

/// The relay's part of the supervisor snapshot: aggregates only (counts, durations, aliases
/// of counsellors on duty), nothing about a visitor.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RelaySnapshot {
    /// Per configured queue.
    pub queues: Vec<QueueFigures>,
    /// Counsellors on duty, by alias.
    pub on_duty: Vec<OnDuty>,
    /// Live chats (including ones parked for a reconnecting counsellor).
    pub active_chats: usize,
    /// Today's statistics.
    pub today: crate::stats::Today,
}
