//! The end-to-end part of the Rust client: a counsellor's identity and shift keys, the
//! visitor's and counsellor's halves of the Noise NK handshake, and an encrypted `Chat` that
//! turns application messages into `data` frames and back. Built on `crate::crypto` only;
//! the socket stays with the caller.

use crate::crypto::{
    self, AppMessage, Bundle, IdentityKey, Initiator, Received, Responder, Session, StaticKey,
    VerifiedBundle,
};
use crate::protocol::{Blob, ConvId};

/// Seconds a shift certificate is valid: the protocol's maximum of 12 hours.
pub const SHIFT_SECS: u64 = crypto::MAX_SHIFT_SECS;

/// Why an end-to-end step failed: the conversation must end (`crypto_failed`).
#[derive(Debug, thiserror::Error)]
pub enum E2eError {
    /// A crypto check failed.
    #[error("crypto: {0}")]
    Crypto(#[from] crypto::Error),
    /// A payload was not valid base64url.
    #[error("payload is not base64url")]
    Encoding,
}

fn blob(bytes: &[u8]) -> Blob {
    // base64url text of at most 22,000 characters is a valid Blob; our payloads are bounded
    // by the 16 KiB padding bucket.
    crypto::b64_encode(bytes)
        .parse()
        .expect("base64url of a bounded payload is a valid blob")
}

fn unblob(m: &Blob) -> Result<Vec<u8>, E2eError> {
    crypto::b64_decode(m.as_str(), "m").map_err(|_| E2eError::Encoding)
}

/// A counsellor's long-term identity: the key and the org-signed identity certificate.
pub struct CounsellorIdentity {
    key: IdentityKey,
    id_cert: Vec<u8>,
}

impl CounsellorIdentity {
    /// From a key and its certificate.
    pub fn new(key: IdentityKey, id_cert: Vec<u8>) -> Self {
        Self { key, id_cert }
    }

    /// Starts a shift at `now`: a fresh X25519 shift key, certified by the identity key for
    /// 12 hours.
    pub fn start_shift(&self, now: u64) -> Result<Shift, E2eError> {
        let key = StaticKey::generate(&mut rand::rngs::OsRng);
        let shift_cert = crypto::issue_shift_cert(
            &self.key,
            &key.public(),
            now,
            now + SHIFT_SECS,
            rand::random(),
        )?;
        let bundle = Bundle {
            id_cert: self.id_cert.clone(),
            shift_cert,
        };
        Ok(Shift { key, bundle })
    }

    /// The inner plaintext of a referral (PROTOCOL.md §4): `r` signed with the identity key
    /// for `office_id` and `referral_id`, with the identity certificate attached.
    pub fn referral_plaintext(
        &self,
        office_id: &str,
        referral_id: &[u8; 16],
        r: &[u8],
    ) -> Result<Vec<u8>, E2eError> {
        Ok(crypto::build_referral_plaintext(
            &self.key,
            &self.id_cert,
            office_id,
            referral_id,
            r,
        )?)
    }
}

/// A shift: the Noise static key of the responder and the bundle that vouches for it.
pub struct Shift {
    key: StaticKey,
    bundle: Bundle,
}

impl Shift {
    /// The bundle sent in `duty` and forwarded to visitors in `assigned`.
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    /// The counsellor's half of the handshake: reads the visitor's `hs1` and returns the chat
    /// and the `hs2` payload to send back.
    pub fn accept(&self, conv: ConvId, msg1: &Blob) -> Result<(Chat, Blob), E2eError> {
        let prologue = crypto::prologue(&conv.0, &self.bundle.bundle_hash());
        let (session, msg2) =
            Responder::read_msg1(&self.key, &prologue, &unblob(msg1)?, &mut rand::rngs::OsRng)?;
        Ok((Chat { conv, session }, blob(&msg2)))
    }
}

/// The visitor's half of the handshake, between sending `hs1` and receiving `hs2`.
pub struct VisitorHandshake {
    conv: ConvId,
    initiator: Initiator,
    verified: VerifiedBundle,
}

impl VisitorHandshake {
    /// Verifies the counsellor's bundle against the pinned org root at `now`, and returns the
    /// handshake and the `hs1` payload. Any failure means: do not talk to this counsellor.
    pub fn start(
        org_root: &[u8; 32],
        conv: ConvId,
        bundle: &Bundle,
        now: u64,
    ) -> Result<(Self, Blob), E2eError> {
        let verified = crypto::verify_bundle(org_root, bundle, now)?;
        let prologue = crypto::prologue(&conv.0, &verified.bundle_hash);
        let (initiator, msg1) =
            Initiator::new(&verified.shift_pub(), &prologue, &mut rand::rngs::OsRng)?;
        Ok((
            Self {
                conv,
                initiator,
                verified,
            },
            blob(&msg1),
        ))
    }

    /// The counsellor's certified alias.
    pub fn alias(&self) -> &str {
        self.verified.alias()
    }

    /// Reads `hs2`: the key confirmation. The chat is ready; send `hello` first.
    pub fn finish(self, msg2: &Blob) -> Result<Chat, E2eError> {
        let session = self.initiator.read_msg2(&unblob(msg2)?)?;
        Ok(Chat {
            conv: self.conv,
            session,
        })
    }
}

/// An established end-to-end encrypted conversation.
pub struct Chat {
    conv: ConvId,
    session: Session,
}

impl Chat {
    /// The conversation.
    pub fn conv(&self) -> ConvId {
        self.conv
    }

    /// The six-digit safety code both sides can compare.
    pub fn safety_code(&self) -> String {
        self.session.safety_code()
    }

    /// Encrypts a message: the counter `n` and payload `m` of a `data` frame.
    pub fn seal(&mut self, msg: &AppMessage) -> Result<(u64, Blob), E2eError> {
        let (n, ct) = self.session.send_message(msg)?;
        Ok((n, blob(&ct)))
    }

    /// Decrypts a `data` frame. `Ok(None)` for a replay of something already received (to be
    /// ignored); an error means the conversation must end.
    pub fn open(&mut self, n: u64, m: &Blob) -> Result<Option<AppMessage>, E2eError> {
        Ok(self.open_received(n, m)?.map(|r| r.message))
    }

    /// As [`Chat::open`], keeping the exact JSON the message came in (to check a
    /// `referral_consent`'s `offer_hash`).
    pub fn open_received(&mut self, n: u64, m: &Blob) -> Result<Option<Received>, E2eError> {
        match self.session.receive_message(n, &unblob(m)?) {
            Ok(received) => Ok(Some(received)),
            Err(crypto::Error::Replay { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
