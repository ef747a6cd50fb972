//! The refusals of the relay's operations, one home each: the error code a client gets and
//! its short English message (clients translate by code). An operation that refuses for a
//! reason named here uses the constant, so every engine says the same thing.

use crate::protocol::ErrorCode;

/// A refused operation: the error frame the client gets.
pub type Refusal = (ErrorCode, &'static str);

/// The state store cannot be reached (many nodes): try again in a moment.
pub const UNAVAILABLE: Refusal = (
    ErrorCode::Overloaded,
    "the service is briefly unavailable; please try again in a moment",
);
/// The connection is not registered (a server fault).
pub const UNKNOWN_CONNECTION: Refusal = (ErrorCode::Internal, "unknown connection");
/// A fault that is logged, never described.
pub const INTERNAL: Refusal = (ErrorCode::Internal, "internal error");
/// A counsellor frame before `auth`.
pub const UNAUTHENTICATED: Refusal = (ErrorCode::Unauthorized, "authenticate first");
/// Not one of the configured queues.
pub const UNKNOWN_QUEUE: Refusal = (ErrorCode::UnknownQueue, "no such queue; see GET /v1/status");
/// The queue (or all queues together) is at its limit; the phone line is added.
pub const QUEUE_FULL: Refusal = (
    ErrorCode::QueueFull,
    "all counsellors are busy and the queue is full; please call the phone line",
);
/// A join from a connection that already waits or chats.
pub const ALREADY_IN_CONVERSATION: Refusal =
    (ErrorCode::Conflict, "already waiting or in a conversation");
/// The conversation is not this connection's (or is gone).
pub const NO_SUCH_CONVERSATION: Refusal = (
    ErrorCode::NotFound,
    "no such conversation on this connection",
);
/// A visitor frame for a chat not assigned yet.
pub const NOT_ASSIGNED: Refusal = (
    ErrorCode::Conflict,
    "no counsellor in this conversation yet",
);
/// A visitor frame while the counsellor's console reconnects: resend after `assigned`.
pub const COUNSELLOR_RECONNECTING: Refusal = (
    ErrorCode::Conflict,
    "your counsellor is reconnecting; please wait",
);
/// A resume that cannot go on (the buffer lost frames, or the chat moved on).
pub const NOT_RESUMABLE: Refusal = (
    ErrorCode::ResumeExpired,
    "this conversation cannot be resumed; join again",
);
/// An accept or decline of an offer that expired, was withdrawn or never was.
pub const OFFER_GONE: Refusal = (ErrorCode::Conflict, "this offer is no longer open");
/// An accept before `duty`.
pub const OFF_DUTY: Refusal = (ErrorCode::Conflict, "go on duty first");
/// More topic tags than `MAX_TAG_VALUES`.
pub const TOO_MANY_TOPICS: Refusal = (ErrorCode::BadFrame, "too many topic tags");
/// A transfer names neither or both of a queue and a colleague.
pub const TRANSFER_TARGET: Refusal = (
    ErrorCode::BadFrame,
    "transfer needs exactly one of queue or alias",
);
/// A transfer to a colleague who is not on duty with a free slot.
pub const COLLEAGUE_UNAVAILABLE: Refusal =
    (ErrorCode::NotFound, "that colleague is not available now");
/// A callback request on a connection that sent one already.
pub const CALLBACK_SENT: Refusal = (
    ErrorCode::Conflict,
    "a callback was already requested on this connection",
);
/// A callback request whose id is pending already.
pub const CALLBACK_ID_TAKEN: Refusal = (
    ErrorCode::Conflict,
    "a request with this id exists; choose a random id",
);
/// `max_callbacks` requests are pending.
pub const CALLBACKS_FULL: Refusal = (
    ErrorCode::QueueFull,
    "the callback list is full; please call the phone line",
);
/// `callback_done` for a request that is not pending.
pub const NO_SUCH_CALLBACK: Refusal = (ErrorCode::NotFound, "no such callback request");
