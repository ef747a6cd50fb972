//! An established Noise transport session (PROTOCOL.md §2–§3): the two CipherStates of
//! Noise's Split with implicit counters (rev. 34 §5.1), the replay/gap rule, poisoning after
//! any failure, the end after `bye`, and the six-digit safety code.

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{Error, Result};

/// Label of the safety code derivation (PROTOCOL.md §2).
const SAFETY_CODE_INFO: &[u8] = b"lyt/1 safety code";

/// A CipherState (§5.1): a key (absent before the first MixKey) and an implicit counter.
pub(super) struct CipherState {
    k: Option<Zeroizing<[u8; 32]>>,
    pub(super) n: u64,
}

impl CipherState {
    pub(super) fn new(k: Option<Zeroizing<[u8; 32]>>) -> Self {
        Self { k, n: 0 }
    }

    /// 32 zero bits followed by the little-endian 64-bit counter (§12.3).
    fn nonce(n: u64) -> Nonce {
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&n.to_le_bytes());
        nonce.into()
    }

    pub(super) fn encrypt_with_ad(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let Some(k) = &self.k else {
            return Ok(plaintext.to_vec());
        };
        // 2^64 - 1 is reserved (§5.1); refuse rather than wrap.
        if self.n == u64::MAX {
            return Err(Error::NonceExhausted);
        }
        let aead = ChaCha20Poly1305::new(Key::from_slice(k.as_ref()));
        let msg = Payload {
            msg: plaintext,
            aad: ad,
        };
        // ChaCha20-Poly1305 fails only beyond its 2^38-byte plaintext limit (RFC 8439 §2.8).
        let ct = aead
            .encrypt(&Self::nonce(self.n), msg)
            .map_err(|_| Error::TooLarge {
                len: plaintext.len(),
                max: 1 << 38,
            })?;
        self.n += 1;
        Ok(ct)
    }

    /// Decrypts; the counter advances only on success. `None` on authentication failure.
    pub(super) fn decrypt_with_ad(&mut self, ad: &[u8], ciphertext: &[u8]) -> Option<Vec<u8>> {
        let Some(k) = &self.k else {
            return Some(ciphertext.to_vec());
        };
        if self.n == u64::MAX {
            return None;
        }
        let aead = ChaCha20Poly1305::new(Key::from_slice(k.as_ref()));
        let msg = Payload {
            msg: ciphertext,
            aad: ad,
        };
        let pt = aead.decrypt(&Self::nonce(self.n), msg).ok()?;
        self.n += 1;
        Some(pt)
    }
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// A `bye` was sent or received.
    Ended,
    /// A failure happened; nothing more is accepted.
    Poisoned,
}

/// An established session: transport encryption with implicit counters, PROTOCOL.md §3's
/// replay/gap rule, and poisoning after any failure.
pub struct Session {
    send: CipherState,
    recv: CipherState,
    handshake_hash: [u8; 32],
    initiator: bool,
    state: State,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("initiator", &self.initiator)
            .field("state", &self.state)
            .field("next_send", &self.send.n)
            .field("next_recv", &self.recv.n)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(super) fn new(send: CipherState, recv: CipherState, h: [u8; 32], initiator: bool) -> Self {
        Self {
            send,
            recv,
            handshake_hash: h,
            initiator,
            state: State::Open,
        }
    }

    /// The Noise handshake hash `h`, the same on both sides of one handshake.
    pub fn handshake_hash(&self) -> [u8; 32] {
        self.handshake_hash
    }

    /// Whether this side was the initiator (the visitor).
    pub fn is_initiator(&self) -> bool {
        self.initiator
    }

    /// The six-digit safety code of PROTOCOL.md §2.
    pub fn safety_code(&self) -> String {
        let mut out = [0u8; 4];
        // Four bytes never exceed HKDF's output limit.
        let _ =
            Hkdf::<Sha256>::new(Some(&[]), &self.handshake_hash).expand(SAFETY_CODE_INFO, &mut out);
        format!("{:06}", u32::from_be_bytes(out) % 1_000_000)
    }

    /// The counter the next sent message will carry.
    pub fn next_send_counter(&self) -> u64 {
        self.send.n
    }

    /// The counter of the next message expected from the peer.
    pub fn next_recv_counter(&self) -> u64 {
        self.recv.n
    }

    fn check_open(&self) -> Result<()> {
        match self.state {
            State::Open => Ok(()),
            State::Ended => Err(Error::Ended),
            State::Poisoned => Err(Error::Poisoned),
        }
    }

    pub(super) fn poison(&mut self) {
        self.state = State::Poisoned;
    }

    pub(super) fn end(&mut self) {
        if self.state == State::Open {
            self.state = State::Ended;
        }
    }

    /// Encrypts the next transport message; returns its counter `n` and ciphertext.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<(u64, Vec<u8>)> {
        self.check_open()?;
        let n = self.send.n;
        match self.send.encrypt_with_ad(&[], plaintext) {
            Ok(ct) => Ok((n, ct)),
            Err(e) => {
                self.poison();
                Err(e)
            }
        }
    }

    /// Decrypts message `n`: below the next expected counter is [`Error::Replay`] (drop it,
    /// the session stays usable); above is [`Error::Gap`]; a failure to authenticate is
    /// [`Error::Decrypt`]. Gap and Decrypt poison the session.
    pub fn decrypt(&mut self, n: u64, ciphertext: &[u8]) -> Result<Vec<u8>> {
        self.check_open()?;
        let expected = self.recv.n;
        if n < expected {
            return Err(Error::Replay { n, expected });
        }
        if n > expected {
            self.poison();
            return Err(Error::Gap { n, expected });
        }
        match self.recv.decrypt_with_ad(&[], ciphertext) {
            Some(pt) => Ok(pt),
            None => {
                self.poison();
                Err(Error::Decrypt)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_at(n: u64) -> Session {
        let key = || Some(Zeroizing::new([3u8; 32]));
        let mut send = CipherState::new(key());
        send.n = n;
        Session::new(send, CipherState::new(key()), [0; 32], true)
    }

    /// The reserved counter 2^64-1 is never used: the session refuses and poisons instead.
    #[test]
    fn nonce_exhaustion() {
        let mut s = session_at(u64::MAX - 1);
        assert_eq!(s.encrypt(b"last").unwrap().0, u64::MAX - 1);
        assert_eq!(s.encrypt(b"one more"), Err(Error::NonceExhausted));
        assert_eq!(s.encrypt(b"again"), Err(Error::Poisoned));
    }

    /// The safety code is HKDF-SHA256(h, "", "lyt/1 safety code")[..4] as BE u32 mod 10^6,
    /// zero-padded to six digits.
    #[test]
    fn safety_code_derivation() {
        let s = session_at(0);
        let mut okm = [0u8; 4];
        Hkdf::<Sha256>::new(None, &[0u8; 32])
            .expand(b"lyt/1 safety code", &mut okm)
            .unwrap();
        let want = u32::from_be_bytes(okm) % 1_000_000;
        assert_eq!(s.safety_code(), format!("{want:06}"));
        assert_eq!(s.safety_code().len(), 6);
    }
}
