//! The wire contract of PROTOCOL.md §3 and §5: every WebSocket frame as a serde type, strict
//! parsing of client frames, the size limits, and the error and close codes.
//!
//! Client frames (`VisitorFrame`, `CounsellorFrame`) reject unknown fields and validate every
//! value on parse (queue ids, conversation ids, base64 blobs, tags), so the relay only ever
//! acts on well-formed input. The relay never decodes the Noise payload `m`; it only checks
//! that it is base64url text within the size limit.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Protocol version announced in `hello` and required of clients.
pub const VERSION: u32 = 1;
/// Maximum size of one WebSocket message or frame; larger ⇒ close 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Maximum length of a base64url Noise payload `m`: a 16 KiB padded plaintext plus the
/// 16-byte tag, base64-encoded, with room to spare for handshake messages.
pub const MAX_BLOB_CHARS: usize = 22_000;
/// Maximum number of languages or topics in a counsellor's skills.
pub const MAX_SKILLS: usize = 16;
/// Maximum number of values in one tag list.
pub const MAX_TAG_VALUES: usize = 8;
/// Highest capacity a counsellor may ask for.
pub const MAX_CAPACITY: u32 = 8;
/// The relay tells a client which of its `data` frames it has kept (`stored{upto}`) after
/// every frame whose counter `n` satisfies `(n + 1) % STORED_EVERY == 0`.
pub const STORED_EVERY: u64 = 16;

/// Codes of the error frame (PROTOCOL.md §5). Stable: clients map them to translated text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ErrorCode {
    BadFrame,
    TooLarge,
    RateLimited,
    UnknownQueue,
    QueueFull,
    Closed,
    NotFound,
    Unauthorized,
    Forbidden,
    Conflict,
    ResumeExpired,
    Overloaded,
    UnsupportedVersion,
    CryptoFailed,
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire, for metrics labels and HTTP bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadFrame => "bad_frame",
            Self::TooLarge => "too_large",
            Self::RateLimited => "rate_limited",
            Self::UnknownQueue => "unknown_queue",
            Self::QueueFull => "queue_full",
            Self::Closed => "closed",
            Self::NotFound => "not_found",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::Conflict => "conflict",
            Self::ResumeExpired => "resume_expired",
            Self::Overloaded => "overloaded",
            Self::UnsupportedVersion => "unsupported_version",
            Self::CryptoFailed => "crypto_failed",
            Self::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Defines a closed vocabulary sent as a snake_case string: the enum, its wire names (also
/// the metrics labels) and `Display`. A name a newer server sends that this build does not
/// know parses as `Other`, so an old client keeps working.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant,)*
            /// A name this build does not know (from a newer server); never sent.
            #[serde(other)]
            Other,
        }

        impl $name {
            /// The name on the wire and in metrics labels.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Other => "other",
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// Why a conversation or an offer ended for the side told: the `reason` of `ended`.
    EndReason {
        /// The counsellor ended the chat.
        CounsellorEnded => "counsellor_ended",
        /// The visitor left, or stayed away past the resume window.
        VisitorLeft => "visitor_left",
        /// To a counsellor: their offer expired unanswered.
        OfferExpired => "offer_expired",
        /// To a counsellor: their offer was taken back (the visitor left or went away, or
        /// the counsellor went off duty, on break or lowered their capacity).
        OfferWithdrawn => "offer_withdrawn",
        /// To a counsellor: they transferred the chat.
        Transferred => "transferred",
        /// The shared state was lost (Redis restarted empty): join again.
        StateLost => "state_lost",
        /// A resume could not replay what the visitor missed: the chat cannot go on.
        ResumeFailed => "resume_failed",
        /// To a counsellor: while their connection was cut off (its node frozen or
        /// partitioned past the presence TTL) the chat went back to the queue and on to
        /// another connection; this one can no longer write into it.
        Reassigned => "reassigned",
        /// A handshake or decryption failed on one side (PROTOCOL.md §2).
        CryptoFailed => "crypto_failed",
    }
}

vocabulary! {
    /// Why the server put a counsellor on break: the `reason` of `on_break`.
    BreakReason {
        /// They let `routing.max_missed_offers` offers in a row expire.
        MissedOffers => "missed_offers",
    }
}

vocabulary! {
    /// The visitor's connection as a counsellor is told it: the `state` of `peer`.
    PeerState {
        /// The visitor's connection dropped; they may resume.
        Away => "away",
        /// The visitor resumed.
        Back => "back",
    }
}

/// WebSocket close codes of PROTOCOL.md §5.
pub mod close {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down; reconnect (to another node).
    pub const GOING_AWAY: u16 = 1001;
    /// Policy violation: origin, authentication, repeated bad frames.
    pub const POLICY: u16 = 1008;
    /// A message over the size limit.
    pub const TOO_LARGE: u16 = 1009;
    /// Internal error.
    pub const INTERNAL: u16 = 1011;
    /// Overloaded: the client could not keep up, or the node is full; try later or elsewhere.
    pub const OVERLOADED: u16 = 1013;
}

mod ids;
pub use ids::{Blob, ConvId, Lang, QueueId, Slug, Topic};

/// A counsellor's certificate bundle as it travels (PROTOCOL.md §1); the relay verifies it
/// when a counsellor goes on duty, visitors verify it again before the handshake.
pub use crate::crypto::Bundle;
/// An HPKE envelope (PROTOCOL.md §4) as it travels: `{"enc": b64, "ct": b64}`.
pub use crate::crypto::Sealed;

/// The languages and topics a counsellor serves on duty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skills {
    /// Languages, e.g. `["da", "en"]`.
    pub langs: Vec<Lang>,
    /// Topics, e.g. `["exit", "health"]`; `any` serves every topic.
    pub topics: Vec<Topic>,
}

/// Anonymous categories a counsellor attaches to an ended contact. Categories only (short
/// slugs), never free text about a person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tags {
    /// Topics the contact was about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topic: Vec<Slug>,
    /// The outcome, e.g. `advice`, `referred`, `ended_by_visitor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Slug>,
    /// The channel, e.g. `chat`, `phone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Slug>,
}

/// Where a transfer goes: exactly one of a queue (to its front) or a named colleague.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferTarget {
    /// A queue id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueId>,
    /// A colleague's alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<Slug>,
}

mod frames;
pub use frames::{
    CallbackItem, CounsellorFrame, FrameError, Limits, ServerFrame, VisitorFrame, parse_counsellor,
    parse_visitor,
};
