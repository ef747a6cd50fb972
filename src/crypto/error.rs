//! The one error type of `crypto`, with stable machine names for test vectors.

/// Result of every fallible operation in `crypto`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `crypto`. Messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A base64url (no padding) field did not decode.
    #[error("{0}: not valid base64url without padding")]
    Base64(&'static str),
    /// A fixed-size value had the wrong length.
    #[error("{what}: expected {expected} bytes, got {got}")]
    Length {
        /// What was being decoded.
        what: &'static str,
        /// The required length.
        expected: usize,
        /// The length found.
        got: usize,
    },
    /// A key file is not in the `lyt-<kind>:<b64>` format.
    #[error("not a lyt key file: {0}")]
    KeyFileFormat(&'static str),
    /// A key file holds another kind of key than the one asked for.
    #[error("wrong kind of key file: expected {expected}, found {found}")]
    KeyFileKind {
        /// The kind the caller asked for.
        expected: &'static str,
        /// The label found in the file (truncated).
        found: String,
    },
    /// A certificate's bytes do not follow PROTOCOL.md §1.
    #[error("malformed certificate: {0}")]
    CertFormat(&'static str),
    /// A signature does not verify under the expected key.
    #[error("{0}: signature does not verify")]
    BadSignature(&'static str),
    /// A certificate is not valid yet (beyond the allowed clock skew).
    #[error("{0} is not valid yet")]
    NotYetValid(&'static str),
    /// A certificate has expired (beyond the allowed clock skew).
    #[error("{0} has expired")]
    Expired(&'static str),
    /// A shift certificate lasts longer than 12 hours or outlives its identity certificate.
    #[error("shift certificate: {0}")]
    ShiftWindow(&'static str),
    /// An X25519 public key gave an all-zero shared secret (a low-order point).
    #[error("X25519 shared secret is all zeros (low-order public key)")]
    ZeroSharedSecret,
    /// A handshake message has the wrong size or does not authenticate.
    #[error("Noise handshake failed: {0}")]
    Handshake(&'static str),
    /// A transport message with a counter below the next expected one: a replay, to be dropped.
    #[error("replayed message {n} (next expected {expected}); drop it")]
    Replay {
        /// The counter of the message.
        n: u64,
        /// The next expected counter.
        expected: u64,
    },
    /// A transport message with a counter above the next expected one: messages were lost.
    #[error("gap in messages: got {n}, expected {expected}; the conversation must end")]
    Gap {
        /// The counter of the message.
        n: u64,
        /// The next expected counter.
        expected: u64,
    },
    /// A transport message did not authenticate.
    #[error("transport message does not decrypt")]
    Decrypt,
    /// An earlier failure ended this session; nothing more is sent or accepted.
    #[error("session failed earlier; the conversation must end")]
    Poisoned,
    /// The session's nonce counter is exhausted.
    #[error("message counter exhausted")]
    NonceExhausted,
    /// A `bye` was sent or received; the conversation is over.
    #[error("conversation already ended with bye")]
    Ended,
    /// A message does not fit into the largest padding bucket.
    #[error("message of {len} bytes exceeds the maximum of {max}")]
    TooLarge {
        /// The size of the message.
        len: usize,
        /// The largest size accepted.
        max: usize,
    },
    /// Padded plaintext is malformed.
    #[error("bad padding: {0}")]
    Padding(&'static str),
    /// An application message is not valid JSON of PROTOCOL.md §2's table.
    #[error("invalid application message: {0}")]
    Message(String),
    /// HPKE sealing failed (e.g. a low-order recipient key).
    #[error("sealing failed: {0}")]
    Seal(&'static str),
    /// A sealed envelope does not open with this key, label and id.
    #[error("sealed envelope does not open")]
    Open,
    /// The inner plaintext of a referral is malformed.
    #[error("invalid referral envelope: {0}")]
    Referral(&'static str),
}

impl Error {
    /// A stable snake_case name for this error, used in the shared test vectors.
    pub fn name(&self) -> &'static str {
        match self {
            Error::Base64(_) => "base64",
            Error::Length { .. } => "length",
            Error::KeyFileFormat(_) => "key_file_format",
            Error::KeyFileKind { .. } => "key_file_kind",
            Error::CertFormat(_) => "cert_format",
            Error::BadSignature(_) => "bad_signature",
            Error::NotYetValid(_) => "not_yet_valid",
            Error::Expired(_) => "expired",
            Error::ShiftWindow(_) => "shift_window",
            Error::ZeroSharedSecret => "zero_shared_secret",
            Error::Handshake(_) => "handshake",
            Error::Replay { .. } => "replay",
            Error::Gap { .. } => "gap",
            Error::Decrypt => "decrypt",
            Error::Poisoned => "poisoned",
            Error::NonceExhausted => "nonce_exhausted",
            Error::Ended => "ended",
            Error::TooLarge { .. } => "too_large",
            Error::Padding(_) => "padding",
            Error::Message(_) => "message",
            Error::Seal(_) => "seal",
            Error::Open => "open",
            Error::Referral(_) => "referral",
        }
    }
}
