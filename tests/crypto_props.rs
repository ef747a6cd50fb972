//! Property tests of the transport: bit flips, replays, reordering and data after `bye` are
//! never accepted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lyt::crypto::{AppMessage, Error, Initiator, Responder, Session, StaticKey, prologue};
use proptest::prelude::*;

fn pair() -> (Session, Session) {
    let mut rng = rand::thread_rng();
    let s = StaticKey::generate(&mut rng);
    let p = prologue(&[1; 16], &[2; 32]);
    let (init, m1) = Initiator::new(&s.public(), &p, &mut rng).unwrap();
    let (resp, m2) = Responder::read_msg1(&s, &p, &m1, &mut rng).unwrap();
    (init.read_msg2(&m2).unwrap(), resp)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Flipping any single bit of a transport ciphertext is refused and ends the session.
    #[test]
    fn bit_flip_refused(pt in proptest::collection::vec(any::<u8>(), 0..300), bit in any::<usize>()) {
        let (mut v, mut c) = pair();
        let (n, mut ct) = v.encrypt(&pt).unwrap();
        let bit = bit % (ct.len() * 8);
        ct[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(c.decrypt(n, &ct), Err(Error::Decrypt));
        let (n1, ct1) = v.encrypt(b"next").unwrap();
        prop_assert_eq!(c.decrypt(n1, &ct1), Err(Error::Poisoned));
    }

    /// Flipping any bit of handshake message 1 makes the responder refuse it.
    #[test]
    fn handshake_bit_flip_refused(bit in 0usize..(48 * 8)) {
        let mut rng = rand::thread_rng();
        let s = StaticKey::generate(&mut rng);
        let p = prologue(&[1; 16], &[2; 32]);
        let (_, mut m1) = Initiator::new(&s.public(), &p, &mut rng).unwrap();
        m1[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(Responder::read_msg1(&s, &p, &m1, &mut rng).is_err());
    }

    /// Replaying any earlier message gives the replay error and leaves the session usable.
    #[test]
    fn replay_refused(count in 1usize..8, pick in any::<usize>()) {
        let (mut v, mut c) = pair();
        let sent: Vec<(u64, Vec<u8>)> = (0..count).map(|i| v.encrypt(&[i as u8]).unwrap()).collect();
        for (n, ct) in &sent {
            c.decrypt(*n, ct).unwrap();
        }
        let (n, ct) = &sent[pick % count];
        prop_assert_eq!(c.decrypt(*n, ct), Err(Error::Replay { n: *n, expected: count as u64 }));
        let (n, ct) = v.encrypt(b"after").unwrap();
        prop_assert_eq!(c.decrypt(n, &ct).unwrap(), b"after".to_vec());
    }

    /// Delivering a later message first is a gap that ends the session; a forged counter on
    /// the right ciphertext does not decrypt either.
    #[test]
    fn reordering_refused(skip in 1usize..5) {
        let (mut v, mut c) = pair();
        let sent: Vec<(u64, Vec<u8>)> = (0..=skip).map(|i| v.encrypt(&[i as u8]).unwrap()).collect();
        let (n, ct) = &sent[skip];
        prop_assert_eq!(c.decrypt(*n, ct), Err(Error::Gap { n: *n, expected: 0 }));
        prop_assert_eq!(c.decrypt(0, &sent[0].1), Err(Error::Poisoned));
        let (mut v3, mut c3) = pair();
        let (_, first) = v3.encrypt(b"a").unwrap();
        let (_, second) = v3.encrypt(b"b").unwrap();
        prop_assert_eq!(c3.decrypt(0, &second), Err(Error::Decrypt));
        prop_assert_eq!(c3.decrypt(0, &first), Err(Error::Poisoned));
    }

    /// After a `bye` in either direction, neither side sends nor accepts anything more.
    #[test]
    fn nothing_after_bye(texts in proptest::collection::vec(".{0,40}", 0..4), visitor_ends in any::<bool>()) {
        let (mut v, mut c) = pair();
        let (n, ct) = v.send_message(&AppMessage::Hello {}).unwrap();
        c.receive_message(n, &ct).unwrap();
        for body in &texts {
            let (n, ct) = v.send_message(&AppMessage::Text { body: body.clone(), ts: 1 }).unwrap();
            prop_assert_eq!(&c.receive_message(n, &ct).unwrap().message, &AppMessage::Text { body: body.clone(), ts: 1 });
        }
        let (ender, other) = if visitor_ends { (&mut v, &mut c) } else { (&mut c, &mut v) };
        let (n, bye) = ender.send_message(&AppMessage::Bye { reason: "done".into() }).unwrap();
        prop_assert_eq!(ender.send_message(&AppMessage::Typing { on: true }), Err(Error::Ended));
        let got_bye = matches!(other.receive_message(n, &bye).unwrap().message, AppMessage::Bye { .. });
        prop_assert!(got_bye);
        prop_assert_eq!(other.send_message(&AppMessage::Typing { on: true }), Err(Error::Ended));
        prop_assert_eq!(other.decrypt(n + 1, b"anything"), Err(Error::Ended));
    }
}

/// The counsellor refuses a first message that is not `hello`, and `hello` later on.
#[test]
fn hello_must_come_first_and_only_first() {
    let (mut v, mut c) = pair();
    let (n, ct) = v.send_message(&AppMessage::Typing { on: true }).unwrap();
    assert!(matches!(c.receive_message(n, &ct), Err(Error::Message(_))));
    let (mut v, mut c) = pair();
    let (n, ct) = v.send_message(&AppMessage::Hello {}).unwrap();
    c.receive_message(n, &ct).unwrap();
    let (n, ct) = v.send_message(&AppMessage::Hello {}).unwrap();
    assert!(matches!(c.receive_message(n, &ct), Err(Error::Message(_))));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Parsers of untrusted bytes return errors, never panic, on arbitrary input.
    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), text in ".{0,200}") {
        use lyt::crypto::{IdCert, OfficeCert, ShiftCert, KeyKind, Sealed, Bundle};
        let _ = IdCert::parse(&bytes);
        let _ = ShiftCert::parse(&bytes);
        let _ = OfficeCert::parse(&bytes);
        let _ = IdCert::verify(&bytes, &[0x11; 32]);
        let _ = lyt::crypto::unpad(&bytes);
        let _ = AppMessage::from_json(&bytes);
        let _ = AppMessage::from_json(text.as_bytes());
        let _ = lyt::crypto::decode_key_file(&text, KeyKind::Ed25519Secret);
        let _ = serde_json::from_str::<Bundle>(&text);
        let _ = serde_json::from_str::<Sealed>(&text);
        let _ = lyt::crypto::open_referral_plaintext(&[0x11; 32], "o", &[0; 16], &bytes, 0);
        let _ = lyt::crypto::verify_bundle(&[0x11; 32], &Bundle { id_cert: bytes.clone(), shift_cert: bytes.clone() }, 0);
        let key = StaticKey::from_bytes(&[7; 32]);
        let sealed = Sealed { enc: bytes.iter().copied().take(32).collect(), ct: bytes.clone() };
        prop_assert!(lyt::crypto::open_callback(&key, &[0; 16], &sealed).is_err());
        let mut rng = rand::thread_rng();
        prop_assert!(Responder::read_msg1(&key, b"p", &bytes, &mut rng).is_err());
    }
}
