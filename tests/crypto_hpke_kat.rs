//! RFC 9180 Appendix A.2.1 known-answer test (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
//! ChaCha20Poly1305, base mode), from `testdata/hpke_rfc9180_a21.json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crypto_common;

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use crypto_common::{ExactRng, hex, hex_array, read_json};
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable as _, OpModeR};
use lyt::crypto::{Sealed, StaticKey, hpke_derive_keypair, hpke_open, hpke_seal};

type PrivateKey = <X25519HkdfSha256 as hpke::Kem>::PrivateKey;
type EncappedKey = <X25519HkdfSha256 as hpke::Kem>::EncappedKey;

fn field(v: &serde_json::Value, k: &str) -> Vec<u8> {
    hex(v[k].as_str().unwrap())
}

/// DeriveKeyPair reproduces skEm/pkEm and skRm/pkRm from ikmE and ikmR.
#[test]
fn derive_keypairs() {
    let v = read_json("hpke_rfc9180_a21.json");
    for (ikm, sk, pk) in [("ikmE", "skEm", "pkEm"), ("ikmR", "skRm", "pkRm")] {
        let (secret, public) = hpke_derive_keypair(&field(&v, ikm));
        assert_eq!(
            secret.to_bytes().as_slice(),
            field(&v, sk).as_slice(),
            "{sk}"
        );
        assert_eq!(public.as_slice(), field(&v, pk).as_slice(), "{pk}");
        assert_eq!(secret.public(), public);
    }
}

/// Our seal, fed exactly ikmE as randomness, gives the RFC's enc and first ciphertext; our
/// open recovers the plaintext with skRm; a different aad is refused.
#[test]
fn seal_and_open_first_encryption() {
    let v = read_json("hpke_rfc9180_a21.json");
    let pk_r: [u8; 32] = hex_array(v["pkRm"].as_str().unwrap());
    let sk_r = StaticKey::from_bytes(&hex_array(v["skRm"].as_str().unwrap()));
    let first = &v["encryptions"][0];
    assert_eq!(first["seq"], 0);
    let (info, pt, aad) = (field(&v, "info"), field(first, "pt"), field(first, "aad"));
    let mut rng = ExactRng(field(&v, "ikmE"));
    let sealed = hpke_seal(&pk_r, &info, &aad, &pt, &mut rng).unwrap();
    assert!(rng.0.is_empty(), "seal must consume exactly ikmE");
    assert_eq!(sealed.enc, field(&v, "enc"));
    assert_eq!(sealed.ct, field(first, "ct"));
    assert_eq!(
        hpke_open(&sk_r, &info, &aad, &sealed).unwrap().as_slice(),
        pt.as_slice()
    );
    assert!(hpke_open(&sk_r, &info, b"other", &sealed).is_err());
    let wrong_enc = Sealed {
        enc: field(&v, "pkRm"),
        ct: sealed.ct.clone(),
    };
    assert!(hpke_open(&sk_r, &info, &aad, &wrong_enc).is_err());
}

/// The receiver context (from skRm and enc) opens the consecutive RFC encryptions 0, 1, 2 in
/// order and reproduces every exported value; every listed encryption (0, 1, 2, 4, 255,
/// 256) is reproduced by the raw AEAD under the RFC's key and nonce = base_nonce XOR seq.
#[test]
fn receiver_context_sequence_and_exports() {
    let v = read_json("hpke_rfc9180_a21.json");
    let sk = PrivateKey::from_bytes(&field(&v, "skRm")).unwrap();
    let enc = EncappedKey::from_bytes(&field(&v, "enc")).unwrap();
    let mut ctx = hpke::setup_receiver::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        &sk,
        &enc,
        &field(&v, "info"),
    )
    .unwrap();
    let encryptions = v["encryptions"].as_array().unwrap();
    for (i, e) in encryptions.iter().take(3).enumerate() {
        assert_eq!(e["seq"].as_u64().unwrap(), i as u64);
        let pt = ctx.open(&field(e, "ct"), &field(e, "aad")).unwrap();
        assert_eq!(pt, field(e, "pt"), "seq {i}");
    }
    let key = field(&v, "key");
    let aead = chacha20poly1305::ChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&key));
    let base_nonce = field(&v, "base_nonce");
    for e in encryptions {
        let seq = e["seq"].as_u64().unwrap();
        let mut nonce = base_nonce.clone();
        for (i, b) in seq.to_be_bytes().iter().enumerate() {
            nonce[4 + i] ^= b;
        }
        assert_eq!(nonce, field(e, "nonce"), "nonce of seq {seq}");
        let ct = aead
            .encrypt(
                chacha20poly1305::Nonce::from_slice(&nonce),
                Payload {
                    msg: &field(e, "pt"),
                    aad: &field(e, "aad"),
                },
            )
            .unwrap();
        assert_eq!(ct, field(e, "ct"), "seq {seq}");
    }
    for x in v["exports"].as_array().unwrap() {
        let mut out = vec![0u8; x["L"].as_u64().unwrap() as usize];
        ctx.export(&field(x, "exporter_context"), &mut out).unwrap();
        assert_eq!(out, field(x, "exported_value"));
    }
}
