//! Noise NK against the cacophony test vector (byte-exact) and against `snow` in both roles.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crypto_common;

use crypto_common::{hex, hex_array, read_json};
use lyt::crypto::{Initiator, Responder, StaticKey, prologue};

const NAME: &str = "Noise_NK_25519_ChaChaPoly_SHA256";

/// Our initiator and responder reproduce the cacophony NK vector byte for byte: both
/// handshake messages, the handshake hash and every transport message.
#[test]
fn cacophony_nk_vector() {
    let data = read_json("noise_nk_cacophony.json");
    let vectors = data["vectors"].as_array().unwrap();
    assert!(!vectors.is_empty());
    for v in vectors {
        assert_eq!(v["protocol_name"], NAME);
        let s = |k: &str| v[k].as_str().unwrap();
        let msgs = v["messages"].as_array().unwrap();
        let payload = |i: usize| hex(msgs[i]["payload"].as_str().unwrap());
        let ciphertext = |i: usize| hex(msgs[i]["ciphertext"].as_str().unwrap());

        let rs: [u8; 32] = hex_array(s("init_remote_static"));
        let resp_static = StaticKey::from_bytes(&hex_array(s("resp_static")));
        assert_eq!(resp_static.public(), rs);
        let init_e = StaticKey::from_bytes(&hex_array(s("init_ephemeral")));
        let resp_e = StaticKey::from_bytes(&hex_array(s("resp_ephemeral")));

        let (init, msg1) =
            Initiator::new_with_ephemeral(&rs, &hex(s("init_prologue")), init_e, &payload(0))
                .unwrap();
        assert_eq!(msg1, ciphertext(0), "message 1");
        let (mut resp, p1, msg2) = Responder::read_msg1_with_ephemeral(
            &resp_static,
            &hex(s("resp_prologue")),
            &msg1,
            resp_e,
            &payload(1),
        )
        .unwrap();
        assert_eq!(p1.as_slice(), payload(0).as_slice());
        assert_eq!(msg2, ciphertext(1), "message 2");
        let (mut init, p2) = init.read_msg2_with_payload(&msg2).unwrap();
        assert_eq!(p2.as_slice(), payload(1).as_slice());
        let h = hex(s("handshake_hash"));
        assert_eq!(init.handshake_hash().as_slice(), h.as_slice());
        assert_eq!(resp.handshake_hash().as_slice(), h.as_slice());

        for i in 2..msgs.len() {
            let (sender, receiver) = if i % 2 == 0 {
                (&mut init, &mut resp)
            } else {
                (&mut resp, &mut init)
            };
            let (n, ct) = sender.encrypt(&payload(i)).unwrap();
            assert_eq!(ct, ciphertext(i), "transport message {i}");
            assert_eq!(receiver.decrypt(n, &ct).unwrap(), payload(i));
        }
    }
}

fn lyt_prologue() -> [u8; 53] {
    prologue(&[0x11; 16], &[0x22; 32])
}

/// A snow initiator completes the lyt handshake with our responder; messages flow both ways.
#[test]
fn snow_initiator_our_responder() {
    let mut rng = rand::thread_rng();
    let shift = StaticKey::generate(&mut rng);
    let p = lyt_prologue();
    let mut snow_init = snow::Builder::new(NAME.parse().unwrap())
        .remote_public_key(&shift.public())
        .unwrap()
        .prologue(&p)
        .unwrap()
        .build_initiator()
        .unwrap();
    let mut buf = [0u8; 1024];
    let len = snow_init.write_message(&[], &mut buf).unwrap();
    let (mut ours, msg2) = Responder::read_msg1(&shift, &p, &buf[..len], &mut rng).unwrap();
    let mut out = [0u8; 1024];
    snow_init.read_message(&msg2, &mut out).unwrap();
    assert_eq!(snow_init.get_handshake_hash(), ours.handshake_hash());
    let mut snow_t = snow_init.into_transport_mode().unwrap();
    for i in 0..3u64 {
        let len = snow_t.write_message(b"from snow", &mut buf).unwrap();
        assert_eq!(ours.decrypt(i, &buf[..len]).unwrap(), b"from snow");
        let (n, ct) = ours.encrypt(b"from lyt").unwrap();
        assert_eq!(n, i);
        let len = snow_t.read_message(&ct, &mut out).unwrap();
        assert_eq!(&out[..len], b"from lyt");
    }
}

/// Our initiator completes the lyt handshake with a snow responder; messages flow both ways.
#[test]
fn our_initiator_snow_responder() {
    let mut rng = rand::thread_rng();
    let shift = StaticKey::generate(&mut rng);
    let p = lyt_prologue();
    let secret = shift.to_bytes();
    let mut snow_resp = snow::Builder::new(NAME.parse().unwrap())
        .local_private_key(secret.as_ref())
        .unwrap()
        .prologue(&p)
        .unwrap()
        .build_responder()
        .unwrap();
    let (init, msg1) = Initiator::new(&shift.public(), &p, &mut rng).unwrap();
    let mut buf = [0u8; 1024];
    let mut out = [0u8; 1024];
    snow_resp.read_message(&msg1, &mut out).unwrap();
    let len = snow_resp.write_message(&[], &mut buf).unwrap();
    let mut ours = init.read_msg2(&buf[..len]).unwrap();
    assert_eq!(snow_resp.get_handshake_hash(), ours.handshake_hash());
    let mut snow_t = snow_resp.into_transport_mode().unwrap();
    for i in 0..3u64 {
        let (n, ct) = ours.encrypt(b"visitor").unwrap();
        assert_eq!(n, i);
        let len = snow_t.read_message(&ct, &mut out).unwrap();
        assert_eq!(&out[..len], b"visitor");
        let len = snow_t.write_message(b"counsellor", &mut buf).unwrap();
        assert_eq!(ours.decrypt(i, &buf[..len]).unwrap(), b"counsellor");
    }
}

/// A snow initiator with a different prologue is refused by our responder.
#[test]
fn snow_with_other_prologue_refused() {
    let mut rng = rand::thread_rng();
    let shift = StaticKey::generate(&mut rng);
    let mut snow_init = snow::Builder::new(NAME.parse().unwrap())
        .remote_public_key(&shift.public())
        .unwrap()
        .prologue(&prologue(&[0x11; 16], &[0x23; 32]))
        .unwrap()
        .build_initiator()
        .unwrap();
    let mut buf = [0u8; 1024];
    let len = snow_init.write_message(&[], &mut buf).unwrap();
    assert!(Responder::read_msg1(&shift, &lyt_prologue(), &buf[..len], &mut rng).is_err());
}
