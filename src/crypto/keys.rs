//! Long-term keys: the Ed25519 [`IdentityKey`] (org root, counsellor identity), the X25519
//! [`StaticKey`] (shift key, office recipient, Noise ephemerals), the checked X25519 function,
//! human fingerprints and the text key-file format.
//!
//! Key file (UTF-8 text): any number of `#` comment lines and blank lines, and exactly one
//! line `<label>:<base64url-nopad of 32 bytes>`, where the label is `lyt-ed25519-secret` or
//! `lyt-x25519-secret` (see [`KeyKind`]).

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use rand::{CryptoRng, RngCore};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::b64::{b64_decode, b64_encode};
use super::{Error, Result};

/// An Ed25519 signing key (RFC 8032): the org root or a counsellor identity.
/// Zeroized on drop; `Debug` shows only the fingerprint of the public key.
pub struct IdentityKey(SigningKey);

impl IdentityKey {
    /// Generates a new key from a cryptographic RNG.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self(SigningKey::generate(rng))
    }

    /// Restores a key from its 32-byte secret seed.
    pub fn from_bytes(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    /// The 32-byte secret seed, in a container that wipes itself.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The 32-byte public key.
    pub fn public(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// Signs `message` (pure Ed25519, deterministic).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

impl std::fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "IdentityKey(pub {}, secret ***)",
            fingerprint(&self.public())
        )
    }
}

/// Verifies an Ed25519 signature with `verify_strict`: it refuses non-canonical signatures
/// and small-order public keys. `what` names the signed object in the error.
pub fn verify_signature(
    public: &[u8; 32],
    message: &[u8],
    signature: &[u8; 64],
    what: &'static str,
) -> Result<()> {
    let key = VerifyingKey::from_bytes(public).map_err(|_| Error::BadSignature(what))?;
    let sig = ed25519_dalek::Signature::from_bytes(signature);
    key.verify_strict(message, &sig)
        .map_err(|_| Error::BadSignature(what))
}

/// An X25519 secret key (RFC 7748): a shift key, an office recipient key or a Noise
/// ephemeral. Zeroized on drop; `Debug` shows only the public key's fingerprint.
pub struct StaticKey(StaticSecret);

impl StaticKey {
    /// Generates a new key from a cryptographic RNG.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(bytes.as_mut());
        Self::from_bytes(&bytes)
    }

    /// Restores a key from its 32 secret bytes (clamped by X25519 when used).
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(StaticSecret::from(*bytes))
    }

    /// The 32 secret bytes, in a container that wipes itself.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The 32-byte public key.
    pub fn public(&self) -> [u8; 32] {
        PublicKey::from(&self.0).to_bytes()
    }
}

impl std::fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "StaticKey(pub {}, secret ***)",
            fingerprint(&self.public())
        )
    }
}

/// X25519(secret, public), refusing an all-zero result (a low-order or zero public key,
/// RFC 7748 §6.1), as PROTOCOL.md §2 requires of both implementations.
pub fn x25519(secret: &StaticKey, public: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>> {
    let shared = secret.0.diffie_hellman(&PublicKey::from(*public));
    let out = Zeroizing::new(shared.to_bytes());
    if bool::from(out.ct_eq(&[0u8; 32])) {
        return Err(Error::ZeroSharedSecret);
    }
    Ok(out)
}

/// A short, human-comparable fingerprint of a 32-byte public key: the first 10 bytes of
/// SHA-256("lyt/1 fingerprint" || key) as 20 lowercase hex digits in five groups of four,
/// e.g. `3f2a 9c01 77de 4b10 a2c9` (80 bits: enough against a second preimage made for it).
pub fn fingerprint(public: &[u8; 32]) -> String {
    let digest = Sha256::new()
        .chain_update(b"lyt/1 fingerprint")
        .chain_update(public)
        .finalize();
    let hex: Vec<String> = digest[..10]
        .chunks(2)
        .map(|pair| format!("{:02x}{:02x}", pair[0], pair[1]))
        .collect();
    hex.join(" ")
}

/// The kinds of secret key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// An Ed25519 secret seed ([`IdentityKey`]): org root, counsellor identity.
    Ed25519Secret,
    /// An X25519 secret ([`StaticKey`]): office recipient.
    X25519Secret,
}

impl KeyKind {
    /// The label before the colon in a key file.
    pub fn label(self) -> &'static str {
        match self {
            KeyKind::Ed25519Secret => "lyt-ed25519-secret",
            KeyKind::X25519Secret => "lyt-x25519-secret",
        }
    }

    fn from_label(label: &str) -> Option<Self> {
        [KeyKind::Ed25519Secret, KeyKind::X25519Secret]
            .into_iter()
            .find(|kind| kind.label() == label)
    }
}

/// Encodes a secret key as a key file: a comment line, then `<label>:<b64url>`.
/// The returned string holds the secret; it is wiped when dropped.
pub fn encode_key_file(kind: KeyKind, secret: &[u8; 32]) -> Zeroizing<String> {
    let comment = match kind {
        KeyKind::Ed25519Secret => "# lyt Ed25519 secret key (signing). Keep it secret.",
        KeyKind::X25519Secret => "# lyt X25519 secret key (decryption). Keep it secret.",
    };
    let encoded = Zeroizing::new(b64_encode(secret));
    Zeroizing::new(format!(
        "{comment}\n{}:{}\n",
        kind.label(),
        encoded.as_str()
    ))
}

/// Decodes a key file of kind `expected`. A wrong kind, corrupt base64 or a wrong length each
/// give their own error.
pub fn decode_key_file(text: &str, expected: KeyKind) -> Result<Zeroizing<[u8; 32]>> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'));
    let line = lines
        .next()
        .ok_or(Error::KeyFileFormat("no key line found"))?;
    if lines.next().is_some() {
        return Err(Error::KeyFileFormat("more than one key line"));
    }
    let (label, value) = line
        .split_once(':')
        .ok_or(Error::KeyFileFormat("expected <label>:<base64url>"))?;
    match KeyKind::from_label(label) {
        Some(kind) if kind == expected => {}
        Some(kind) => {
            return Err(Error::KeyFileKind {
                expected: expected.label(),
                found: kind.label().to_owned(),
            });
        }
        None if label.starts_with("lyt-") => {
            return Err(Error::KeyFileKind {
                expected: expected.label(),
                found: label.chars().take(32).collect(),
            });
        }
        None => return Err(Error::KeyFileFormat("label does not start with lyt-")),
    }
    let bytes = Zeroizing::new(b64_decode(value, "key file")?);
    let mut out = Zeroizing::new([0u8; 32]);
    if bytes.len() != out.len() {
        return Err(Error::Length {
            what: "key file",
            expected: 32,
            got: bytes.len(),
        });
    }
    out.copy_from_slice(&bytes);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Key files round-trip and each kind of damage gets its own error.
    #[test]
    fn key_file_round_trip_and_errors() {
        let secret = [7u8; 32];
        let file = encode_key_file(KeyKind::Ed25519Secret, &secret);
        assert!(file.starts_with("# "));
        assert_eq!(
            *decode_key_file(&file, KeyKind::Ed25519Secret).unwrap(),
            secret
        );
        assert!(matches!(
            decode_key_file(&file, KeyKind::X25519Secret),
            Err(Error::KeyFileKind { .. })
        ));
        let corrupt = file.replace(":", ":*");
        assert_eq!(
            decode_key_file(&corrupt, KeyKind::Ed25519Secret),
            Err(Error::Base64("key file"))
        );
        let short = format!("lyt-ed25519-secret:{}", b64_encode(&[1u8; 31]));
        assert!(matches!(
            decode_key_file(&short, KeyKind::Ed25519Secret),
            Err(Error::Length { got: 31, .. })
        ));
        assert!(matches!(
            decode_key_file("hello", KeyKind::Ed25519Secret),
            Err(Error::KeyFileFormat(_))
        ));
        assert!(matches!(
            decode_key_file("", KeyKind::Ed25519Secret),
            Err(Error::KeyFileFormat(_))
        ));
    }

    /// Debug output of secret keys never contains the secret bytes.
    #[test]
    fn debug_hides_secrets() {
        let key = IdentityKey::from_bytes(&[0xab; 32]);
        let shown = format!("{key:?}");
        assert!(shown.contains("***") && !shown.contains("abab") && !shown.contains("171"));
        let key = StaticKey::from_bytes(&[0xab; 32]);
        assert!(format!("{key:?}").contains("***"));
    }

    /// The all-zero public key and a low-order point are refused by the DH wrapper.
    #[test]
    fn x25519_refuses_low_order() {
        let key = StaticKey::from_bytes(&[9u8; 32]);
        assert_eq!(x25519(&key, &[0u8; 32]), Err(Error::ZeroSharedSecret));
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(x25519(&key, &one), Err(Error::ZeroSharedSecret));
        let other = StaticKey::from_bytes(&[3u8; 32]);
        assert_eq!(
            *x25519(&key, &other.public()).unwrap(),
            *x25519(&other, &key.public()).unwrap()
        );
    }

    /// Signatures verify, and fail under another key or message.
    #[test]
    fn sign_verify() {
        let key = IdentityKey::from_bytes(&[1u8; 32]);
        let sig = key.sign(b"m");
        assert!(verify_signature(&key.public(), b"m", &sig, "t").is_ok());
        assert!(verify_signature(&key.public(), b"n", &sig, "t").is_err());
        let other = IdentityKey::from_bytes(&[2u8; 32]).public();
        assert!(verify_signature(&other, b"m", &sig, "t").is_err());
        assert_eq!(fingerprint(&key.public()).len(), 24);
    }
}
