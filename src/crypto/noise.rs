//! `Noise_NK_25519_ChaChaPoly_SHA256` (Noise Protocol Framework rev. 34, §5 processing rules,
//! §7.5 pattern NK) for PROTOCOL.md §2: the visitor is the initiator, the counsellor's shift
//! key the responder static key. Built directly on X25519 (RFC 7748), ChaCha20-Poly1305
//! (RFC 8439) and SHA-256 with Noise's HKDF (= RFC 5869 with `ck` as salt and empty info).
//!
//! ```text
//! NK:
//!   <- s
//!   ...
//!   -> e, es
//!   <- e, ee
//! ```

use hkdf::Hkdf;
use rand::{CryptoRng, RngCore};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::keys::{StaticKey, x25519};
use super::session::{CipherState, Session};
use super::{Error, Result};

/// The Noise protocol name; exactly 32 bytes, so it is `h`'s initial value unhashed (§5.2).
pub const PROTOCOL_NAME: &[u8; 32] = b"Noise_NK_25519_ChaChaPoly_SHA256";
/// Length of the lyt prologue: `"lyt/1" || conv_id[16] || bundle_hash[32]`.
pub const PROLOGUE_LEN: usize = 5 + 16 + 32;
/// Length of a ChaCha20-Poly1305 tag.
pub const TAG_LEN: usize = 16;
/// Length of each lyt handshake message (`e` + tag of the empty payload).
pub const HANDSHAKE_MSG_LEN: usize = 32 + TAG_LEN;

/// The lyt prologue, binding the conversation and the counsellor's certificate bundle.
pub fn prologue(conv_id: &[u8; 16], bundle_hash: &[u8; 32]) -> [u8; PROLOGUE_LEN] {
    let mut out = [0u8; PROLOGUE_LEN];
    out[..5].copy_from_slice(b"lyt/1");
    out[5..21].copy_from_slice(conv_id);
    out[21..].copy_from_slice(bundle_hash);
    out
}

/// Noise HKDF with two outputs (§4.3): `HKDF(ck, ikm)` = RFC 5869 extract-and-expand with
/// salt `ck` and empty info.
fn hkdf2(ck: &[u8; 32], ikm: &[u8]) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
    let mut okm = Zeroizing::new([0u8; 64]);
    // 64 bytes is far below HKDF-SHA256's 255 * 32 limit, so expand cannot fail.
    let _ = Hkdf::<Sha256>::new(Some(ck), ikm).expand(&[], okm.as_mut());
    let (mut a, mut b) = (Zeroizing::new([0u8; 32]), Zeroizing::new([0u8; 32]));
    a.copy_from_slice(&okm[..32]);
    b.copy_from_slice(&okm[32..]);
    (a, b)
}

/// A SymmetricState (§5.2).
struct SymmetricState {
    ck: Zeroizing<[u8; 32]>,
    h: [u8; 32],
    cipher: CipherState,
}

impl SymmetricState {
    /// InitializeSymmetric(protocol_name), MixHash(prologue), then NK's pre-message `<- s`.
    fn new(prologue: &[u8], responder_static: &[u8; 32]) -> Self {
        let mut state = Self {
            ck: Zeroizing::new(*PROTOCOL_NAME),
            h: *PROTOCOL_NAME,
            cipher: CipherState::new(None),
        };
        state.mix_hash(prologue);
        state.mix_hash(responder_static);
        state
    }

    fn mix_hash(&mut self, data: &[u8]) {
        self.h = Sha256::new()
            .chain_update(self.h)
            .chain_update(data)
            .finalize()
            .into();
    }

    fn mix_key(&mut self, ikm: &[u8]) {
        let (ck, k) = hkdf2(&self.ck, ikm);
        self.ck = ck;
        self.cipher = CipherState::new(Some(k));
    }

    fn encrypt_and_hash(&mut self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let ct = self.cipher.encrypt_with_ad(&self.h, plaintext)?;
        self.mix_hash(&ct);
        Ok(ct)
    }

    fn decrypt_and_hash(&mut self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let pt = self
            .cipher
            .decrypt_with_ad(&self.h, ciphertext)
            .ok_or(Error::Handshake(
                "message does not authenticate (wrong key or prologue)",
            ))?;
        self.mix_hash(ciphertext);
        Ok(Zeroizing::new(pt))
    }

    /// Split (§5.2): the initiator→responder and responder→initiator cipher states.
    fn split(self) -> (CipherState, CipherState, [u8; 32]) {
        let (k1, k2) = hkdf2(&self.ck, &[]);
        (
            CipherState::new(Some(k1)),
            CipherState::new(Some(k2)),
            self.h,
        )
    }
}

/// Splits a handshake message into the peer's ephemeral key and the rest.
fn split_ephemeral(msg: &[u8]) -> Result<([u8; 32], &[u8])> {
    if msg.len() < HANDSHAKE_MSG_LEN {
        return Err(Error::Handshake("message too short"));
    }
    let (e, rest) = msg.split_at(32);
    let e = <[u8; 32]>::try_from(e).map_err(|_| Error::Handshake("message too short"))?;
    Ok((e, rest))
}

/// The visitor's side between sending message 1 and receiving message 2.
pub struct Initiator {
    sym: SymmetricState,
    e: StaticKey,
}

impl std::fmt::Debug for Initiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Initiator { awaiting message 2, .. }")
    }
}

impl Initiator {
    /// Starts a handshake to `responder_static_pub` (the verified shift key); returns the
    /// state and message 1 (`e, es`, empty payload, [`HANDSHAKE_MSG_LEN`] bytes).
    pub fn new<R: RngCore + CryptoRng>(
        responder_static_pub: &[u8; 32],
        prologue: &[u8],
        rng: &mut R,
    ) -> Result<(Self, Vec<u8>)> {
        Self::new_with_ephemeral(
            responder_static_pub,
            prologue,
            StaticKey::generate(rng),
            &[],
        )
    }

    /// Test vectors only: [`Initiator::new`] with a given ephemeral key and payload.
    #[doc(hidden)]
    pub fn new_with_ephemeral(
        responder_static_pub: &[u8; 32],
        prologue: &[u8],
        e: StaticKey,
        payload: &[u8],
    ) -> Result<(Self, Vec<u8>)> {
        let mut sym = SymmetricState::new(prologue, responder_static_pub);
        let e_pub = e.public();
        sym.mix_hash(&e_pub);
        sym.mix_key(x25519(&e, responder_static_pub)?.as_ref());
        let mut msg = e_pub.to_vec();
        msg.extend(sym.encrypt_and_hash(payload)?);
        Ok((Self { sym, e }, msg))
    }

    /// Reads message 2 (`e, ee`, which must carry an empty payload) and completes the
    /// handshake. Success is the visitor's key confirmation.
    pub fn read_msg2(self, msg2: &[u8]) -> Result<Session> {
        if msg2.len() != HANDSHAKE_MSG_LEN {
            return Err(Error::Handshake("message 2 has the wrong length"));
        }
        Ok(self.read_msg2_with_payload(msg2)?.0)
    }

    /// Test vectors only: [`Initiator::read_msg2`] returning the handshake payload.
    #[doc(hidden)]
    pub fn read_msg2_with_payload(mut self, msg2: &[u8]) -> Result<(Session, Zeroizing<Vec<u8>>)> {
        let (re, rest) = split_ephemeral(msg2)?;
        self.sym.mix_hash(&re);
        self.sym.mix_key(x25519(&self.e, &re)?.as_ref());
        let payload = self.sym.decrypt_and_hash(rest)?;
        let (c1, c2, h) = self.sym.split();
        Ok((Session::new(c1, c2, h, true), payload))
    }
}

/// The counsellor's side: reading message 1 and answering with message 2 is one step, so
/// it keeps no state of its own and is never constructed.
pub struct Responder {
    _never: (),
}

impl Responder {
    /// Reads message 1 with the shift key `s`, and returns the session and message 2
    /// (`e, ee`, empty payload). Fails on a wrong key, prologue, length or payload.
    pub fn read_msg1<R: RngCore + CryptoRng>(
        s: &StaticKey,
        prologue: &[u8],
        msg1: &[u8],
        rng: &mut R,
    ) -> Result<(Session, Vec<u8>)> {
        if msg1.len() != HANDSHAKE_MSG_LEN {
            return Err(Error::Handshake("message 1 has the wrong length"));
        }
        let e = StaticKey::generate(rng);
        let (session, _, msg2) = Self::read_msg1_with_ephemeral(s, prologue, msg1, e, &[])?;
        Ok((session, msg2))
    }

    /// Test vectors only: [`Responder::read_msg1`] with a given ephemeral key and payload;
    /// returns the session, message 1's payload and message 2.
    #[doc(hidden)]
    pub fn read_msg1_with_ephemeral(
        s: &StaticKey,
        prologue: &[u8],
        msg1: &[u8],
        e: StaticKey,
        payload: &[u8],
    ) -> Result<(Session, Zeroizing<Vec<u8>>, Vec<u8>)> {
        let mut sym = SymmetricState::new(prologue, &s.public());
        let (re, rest) = split_ephemeral(msg1)?;
        sym.mix_hash(&re);
        sym.mix_key(x25519(s, &re)?.as_ref());
        let payload1 = sym.decrypt_and_hash(rest)?;
        let e_pub = e.public();
        sym.mix_hash(&e_pub);
        sym.mix_key(x25519(&e, &re)?.as_ref());
        let mut msg2 = e_pub.to_vec();
        msg2.extend(sym.encrypt_and_hash(payload)?);
        let (c1, c2, h) = sym.split();
        Ok((Session::new(c2, c1, h, false), payload1, msg2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Session, Session) {
        let mut rng = rand::thread_rng();
        let s = StaticKey::generate(&mut rng);
        let p = prologue(&[1; 16], &[2; 32]);
        let (init, m1) = Initiator::new(&s.public(), &p, &mut rng).unwrap();
        let (resp, m2) = Responder::read_msg1(&s, &p, &m1, &mut rng).unwrap();
        (init.read_msg2(&m2).unwrap(), resp)
    }

    /// Both sides agree on the handshake hash and safety code, and messages flow both ways.
    #[test]
    fn handshake_and_transport() {
        let (mut v, mut c) = pair();
        assert_eq!(v.handshake_hash(), c.handshake_hash());
        assert_eq!(v.safety_code(), c.safety_code());
        assert_eq!(v.safety_code().len(), 6);
        let (n, ct) = v.encrypt(b"hi").unwrap();
        assert_eq!(n, 0);
        assert_eq!(c.decrypt(n, &ct).unwrap(), b"hi");
        let (n, ct) = c.encrypt(b"yo").unwrap();
        assert_eq!(v.decrypt(n, &ct).unwrap(), b"yo");
    }

    /// A replay is a distinct, harmless error; a gap or a bad tag poisons the session.
    #[test]
    fn replay_gap_poison() {
        let (mut v, mut c) = pair();
        let (n0, ct0) = v.encrypt(b"a").unwrap();
        c.decrypt(n0, &ct0).unwrap();
        assert_eq!(
            c.decrypt(n0, &ct0),
            Err(Error::Replay { n: 0, expected: 1 })
        );
        let (_, _) = v.encrypt(b"b").unwrap();
        let (n2, ct2) = v.encrypt(b"c").unwrap();
        assert_eq!(c.decrypt(n2, &ct2), Err(Error::Gap { n: 2, expected: 1 }));
        assert_eq!(c.decrypt(1, &ct2), Err(Error::Poisoned));
        assert_eq!(c.encrypt(b"x"), Err(Error::Poisoned));
    }

    /// A wrong responder key or an altered prologue fails at the responder, before any data.
    #[test]
    fn wrong_key_or_prologue() {
        let mut rng = rand::thread_rng();
        let s = StaticKey::generate(&mut rng);
        let other = StaticKey::generate(&mut rng);
        let p = prologue(&[1; 16], &[2; 32]);
        let (_, m1) = Initiator::new(&other.public(), &p, &mut rng).unwrap();
        assert!(matches!(
            Responder::read_msg1(&s, &p, &m1, &mut rng),
            Err(Error::Handshake(_))
        ));
        let (_, m1) = Initiator::new(&s.public(), &p, &mut rng).unwrap();
        let q = prologue(&[1; 16], &[3; 32]);
        assert!(Responder::read_msg1(&s, &q, &m1, &mut rng).is_err());
        assert!(Responder::read_msg1(&s, &p, &m1[..47], &mut rng).is_err());
    }

    /// A low-order responder key or ephemeral gives the all-zero DH error.
    #[test]
    fn low_order_refused() {
        let mut rng = rand::thread_rng();
        let p = prologue(&[1; 16], &[2; 32]);
        assert!(matches!(
            Initiator::new(&[0; 32], &p, &mut rng),
            Err(Error::ZeroSharedSecret)
        ));
        let s = StaticKey::generate(&mut rng);
        let m1 = [0u8; HANDSHAKE_MSG_LEN];
        assert!(matches!(
            Responder::read_msg1(&s, &p, &m1, &mut rng),
            Err(Error::ZeroSharedSecret)
        ));
    }
}
