//! Sealed envelopes of PROTOCOL.md §4: HPKE (RFC 9180) base mode with
//! DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305 (suite 0x0020/0x0001/0x0003)
//! to an office's certified recipient key, via the `hpke` crate. Referrals use
//! `info = "lyt/1 referral" || office_id`, `aad = referral_id`; callback requests use
//! `info = "lyt/1 callback"`, `aad = request_id`.

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable as _, Kem as _, OpModeR, OpModeS, Serializable as _};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::keys::StaticKey;
use super::{Error, Result};

/// The `info` prefix of a referral envelope; the office id follows.
pub const REFERRAL_INFO_PREFIX: &[u8] = b"lyt/1 referral";
/// The `info` of a callback request envelope.
pub const CALLBACK_INFO: &[u8] = b"lyt/1 callback";

type Kem = X25519HkdfSha256;
type EncappedKey = <Kem as hpke::Kem>::EncappedKey;
type PublicKey = <Kem as hpke::Kem>::PublicKey;
type PrivateKey = <Kem as hpke::Kem>::PrivateKey;

/// An HPKE envelope, JSON `{"enc": b64, "ct": b64}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    /// The encapsulated ephemeral public key (32 bytes).
    #[serde(with = "super::b64::bytes")]
    pub enc: Vec<u8>,
    /// The ciphertext with its 16-byte tag.
    #[serde(with = "super::b64::bytes")]
    pub ct: Vec<u8>,
}

/// Adapts a `rand` 0.8 RNG to the `rand_core` 0.9 traits that `hpke` 0.13 expects.
struct RngAdapter<'a, R>(&'a mut R);

impl<R: RngCore + CryptoRng> hpke::rand_core::RngCore for RngAdapter<'_, R> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }
}

impl<R: RngCore + CryptoRng> hpke::rand_core::CryptoRng for RngAdapter<'_, R> {}

fn referral_info(office_id: &str) -> Vec<u8> {
    [REFERRAL_INFO_PREFIX, office_id.as_bytes()].concat()
}

/// Single-shot HPKE base-mode seal with any `info` and `aad` (the building block of the
/// labelled functions; public for the RFC 9180 known-answer test).
#[doc(hidden)]
pub fn seal<R: RngCore + CryptoRng>(
    recipient_pub: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Sealed> {
    let pk = PublicKey::from_bytes(recipient_pub).map_err(|_| Error::Seal("bad recipient key"))?;
    let (enc, ct) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, Kem, _>(
        &OpModeS::Base,
        &pk,
        info,
        plaintext,
        aad,
        &mut RngAdapter(rng),
    )
    .map_err(|_| Error::Seal("recipient key is invalid or low-order"))?;
    Ok(Sealed {
        enc: enc.to_bytes().to_vec(),
        ct,
    })
}

/// Single-shot HPKE base-mode open with any `info` and `aad` (see [`seal`]).
#[doc(hidden)]
pub fn open(
    recipient: &StaticKey,
    info: &[u8],
    aad: &[u8],
    sealed: &Sealed,
) -> Result<Zeroizing<Vec<u8>>> {
    let sk = PrivateKey::from_bytes(recipient.to_bytes().as_ref()).map_err(|_| Error::Open)?;
    let enc = EncappedKey::from_bytes(&sealed.enc).map_err(|_| Error::Open)?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeR::Base,
        &sk,
        &enc,
        info,
        &sealed.ct,
        aad,
    )
    .map(Zeroizing::new)
    .map_err(|_| Error::Open)
}

/// Seals a referral's inner plaintext to an office.
pub fn seal_referral<R: RngCore + CryptoRng>(
    office_id: &str,
    office_recipient_pub: &[u8; 32],
    referral_id: &[u8; 16],
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Sealed> {
    let info = referral_info(office_id);
    seal(office_recipient_pub, &info, referral_id, plaintext, rng)
}

/// Opens a referral with the office's recipient key; fails on any other office id or id.
pub fn open_referral(
    office_id: &str,
    office_recipient: &StaticKey,
    referral_id: &[u8; 16],
    sealed: &Sealed,
) -> Result<Zeroizing<Vec<u8>>> {
    open(
        office_recipient,
        &referral_info(office_id),
        referral_id,
        sealed,
    )
}

/// Seals a callback request to the phone desk.
pub fn seal_callback<R: RngCore + CryptoRng>(
    desk_recipient_pub: &[u8; 32],
    request_id: &[u8; 16],
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Sealed> {
    seal(
        desk_recipient_pub,
        CALLBACK_INFO,
        request_id,
        plaintext,
        rng,
    )
}

/// Opens a callback request with the phone desk's recipient key.
pub fn open_callback(
    desk_recipient: &StaticKey,
    request_id: &[u8; 16],
    sealed: &Sealed,
) -> Result<Zeroizing<Vec<u8>>> {
    open(desk_recipient, CALLBACK_INFO, request_id, sealed)
}

/// The deterministic KEM key pair of RFC 9180 §7.1.3 `DeriveKeyPair(ikm)`, for test vectors.
#[doc(hidden)]
pub fn derive_keypair(ikm: &[u8]) -> (StaticKey, [u8; 32]) {
    let (sk, pk) = Kem::derive_keypair(ikm);
    let mut bytes = Zeroizing::new([0u8; 32]);
    bytes.copy_from_slice(&sk.to_bytes());
    let mut public = [0u8; 32];
    public.copy_from_slice(&pk.to_bytes());
    (StaticKey::from_bytes(&bytes), public)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A referral opens only with the right key, office id and referral id, untampered.
    #[test]
    fn referral_round_trip_and_binding() {
        let mut rng = rand::thread_rng();
        let office = StaticKey::generate(&mut rng);
        let sealed = seal_referral("kbh-1", &office.public(), &[1; 16], b"R", &mut rng).unwrap();
        assert_eq!(
            open_referral("kbh-1", &office, &[1; 16], &sealed)
                .unwrap()
                .as_slice(),
            b"R"
        );
        assert_eq!(
            open_referral("kbh-2", &office, &[1; 16], &sealed),
            Err(Error::Open)
        );
        assert_eq!(
            open_referral("kbh-1", &office, &[2; 16], &sealed),
            Err(Error::Open)
        );
        let other = StaticKey::generate(&mut rng);
        assert_eq!(
            open_referral("kbh-1", &other, &[1; 16], &sealed),
            Err(Error::Open)
        );
        assert_eq!(open_callback(&office, &[1; 16], &sealed), Err(Error::Open));
        let mut bad = sealed.clone();
        bad.ct[0] ^= 1;
        assert_eq!(
            open_referral("kbh-1", &office, &[1; 16], &bad),
            Err(Error::Open)
        );
        let json = serde_json::to_string(&sealed).unwrap();
        assert_eq!(serde_json::from_str::<Sealed>(&json).unwrap(), sealed);
    }

    /// A callback round-trips; sealing to a low-order key is refused.
    #[test]
    fn callback_and_low_order() {
        let mut rng = rand::thread_rng();
        let desk = StaticKey::generate(&mut rng);
        let sealed = seal_callback(&desk.public(), &[3; 16], b"{}", &mut rng).unwrap();
        assert_eq!(
            open_callback(&desk, &[3; 16], &sealed).unwrap().as_slice(),
            b"{}"
        );
        assert!(matches!(
            seal_callback(&[0; 32], &[3; 16], b"{}", &mut rng),
            Err(Error::Seal(_))
        ));
    }
}
