//! The NK session under an adversarial network: the input is a script of sends and
//! deliveries, where a delivery may pick any earlier message (replay, reorder, drop by
//! never delivering) and may flip a bit. The receiver must never yield a plaintext other
//! than the one sent under that counter, never out of order, never after a gap or a
//! tampered message (the session is poisoned then).
#![no_main]

use lyt::crypto::{Initiator, Responder, StaticKey, prologue};

libfuzzer_sys::fuzz_target!(|script: &[u8]| {
    let s = StaticKey::from_bytes(&[1; 32]);
    let p = prologue(&[2; 16], &[3; 32]);
    let (initiator, msg1) =
        Initiator::new_with_ephemeral(&s.public(), &p, StaticKey::from_bytes(&[4; 32]), &[])
            .expect("handshake message 1");
    let (mut receiver, _, msg2) =
        Responder::read_msg1_with_ephemeral(&s, &p, &msg1, StaticKey::from_bytes(&[5; 32]), &[])
            .expect("handshake message 2");
    let mut sender = initiator.read_msg2(&msg2).expect("handshake done");

    let mut sent: Vec<(u64, Vec<u8>, Vec<u8>)> = Vec::new();
    let mut next = 0u64;
    let mut poisoned = false;
    for op in script.chunks(2) {
        let (kind, arg) = (op[0], op.get(1).copied().unwrap_or(0));
        if kind % 3 == 0 || sent.is_empty() {
            let pt = vec![arg; usize::from(kind % 48)];
            let (n, ct) = sender.encrypt(&pt).expect("sending never fails here");
            sent.push((n, ct, pt));
            continue;
        }
        let (n, ct, pt) = &sent[usize::from(arg) % sent.len()];
        let tamper = kind % 3 == 2;
        let mut ct = ct.clone();
        if tamper {
            let i = usize::from(kind) % ct.len();
            ct[i] ^= 1 << (arg % 8);
        }
        match receiver.decrypt(*n, &ct) {
            Ok(got) => {
                assert!(!poisoned, "plaintext after the session was poisoned");
                assert!(!tamper, "a tampered message opened");
                assert_eq!(*n, next, "out of order");
                assert_eq!(&got, pt, "a wrong plaintext");
                next += 1;
            }
            Err(_) => {
                if *n >= next {
                    // A gap or a failed decryption: nothing may open after it.
                    poisoned = poisoned || *n > next || tamper;
                }
            }
        }
    }
});
