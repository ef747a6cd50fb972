//! End-to-end cryptography of PROTOCOL.md §1, §2 and §4: keys and key files, certificates and
//! bundles, the Noise NK session, application padding and messages, and sealed envelopes.
//!
//! Pure functions and types: no I/O, no clock (callers pass `now_unix`), no printing. Secret
//! types do not implement `Debug` revealing bytes and are zeroized on drop.

mod b64;
mod bundle;
mod cert;
mod error;
mod keys;
mod message;
mod noise;
mod pad;
mod reader;
mod referral;
mod seal;
mod session;

pub use b64::{b64_decode, b64_encode};
pub use bundle::{
    Bundle, CLOCK_SKEW_SECS, MAX_SHIFT_SECS, VerifiedBundle, VerifiedOffice, issue_id_cert,
    issue_office_cert, issue_shift_cert, verify_bundle, verify_office_cert,
};
pub use cert::{
    IdCert, MAX_ALIAS_LEN, MAX_OFFICE_ID_LEN, MAX_OFFICE_NAME_LEN, OfficeCert, OfficeKind, Role,
    ShiftCert,
};
pub use error::{Error, Result};
pub use keys::{
    IdentityKey, KeyKind, StaticKey, decode_key_file, encode_key_file, fingerprint,
    verify_signature, x25519,
};
pub use message::{AppMessage, MAX_TEXT_CHARS, Received, offer_hash};
pub use noise::{
    HANDSHAKE_MSG_LEN, Initiator, PROLOGUE_LEN, PROTOCOL_NAME, Responder, TAG_LEN, prologue,
};
pub use pad::{BUCKETS, MAX_JSON_LEN, pad, unpad};
pub use referral::{
    OpenedReferral, ReferralEnvelope, build_referral_plaintext, open_referral_plaintext,
    referral_signature_message, sign_referral, verify_referral_signature,
};
pub use seal::{
    CALLBACK_INFO, REFERRAL_INFO_PREFIX, Sealed, open_callback, open_referral, seal_callback,
    seal_referral,
};
#[doc(hidden)]
pub use seal::{derive_keypair as hpke_derive_keypair, open as hpke_open, seal as hpke_seal};
pub use session::Session;
