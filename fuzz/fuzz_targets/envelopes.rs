//! Sealed envelopes: no input opens under the office or phone-desk key (the fuzzer cannot
//! forge HPKE), and the inner referral plaintext and `R` parsers never panic.
#![no_main]

use lyt::crypto::{Sealed, StaticKey, open_callback, open_referral, open_referral_plaintext};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let key = StaticKey::from_bytes(&[3; 32]);
    let root = lyt::crypto::IdentityKey::from_bytes(&[7; 32]).public();
    if data.len() >= 32 {
        let sealed = Sealed {
            enc: data[..32].to_vec(),
            ct: data[32..].to_vec(),
        };
        assert!(
            open_referral("kbh", &key, &[4; 16], &sealed).is_err(),
            "forged referral"
        );
        assert!(
            open_callback(&key, &[4; 16], &sealed).is_err(),
            "forged callback"
        );
    }
    let _ = serde_json::from_slice::<Sealed>(data);
    assert!(
        open_referral_plaintext(&root, "kbh", &[4; 16], data, 1_800_000_000).is_err(),
        "a referral signed under a root nobody holds"
    );
    let _ = lyt::referral::Referral::parse_bound(data, "kbh", &[4; 16], "Maja");
});
