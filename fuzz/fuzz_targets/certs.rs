//! Certificates: parsing never panics, a parsed certificate's body re-encodes to exactly the
//! bytes that were signed (one encoding per certificate), and nothing verifies under a root
//! whose secret the fuzzer does not have.
#![no_main]

use lyt::crypto::{IdCert, IdentityKey, OfficeCert, ShiftCert};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let root = IdentityKey::from_bytes(&[7; 32]).public();
    let signed = data.len().saturating_sub(64);
    if let Ok(c) = IdCert::parse(data) {
        assert_eq!(
            c.body().expect("a parsed certificate encodes"),
            &data[..signed]
        );
    }
    if let Ok(c) = ShiftCert::parse(data) {
        assert_eq!(
            c.body().expect("a parsed certificate encodes"),
            &data[..signed]
        );
    }
    if let Ok(c) = OfficeCert::parse(data) {
        assert_eq!(
            c.body().expect("a parsed certificate encodes"),
            &data[..signed]
        );
    }
    assert!(
        IdCert::verify(data, &root).is_err(),
        "forged identity certificate"
    );
    assert!(
        OfficeCert::verify(data, &root).is_err(),
        "forged office certificate"
    );
    assert!(
        ShiftCert::verify(data, &root).is_err(),
        "forged shift certificate"
    );
});
