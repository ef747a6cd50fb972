//! SECURITY.md's key-substitution matrix: every substituted, expired, mis-signed or
//! mismatched chain is refused before any plaintext is exchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lyt::crypto::{
    Bundle, Error, IdCert, IdentityKey, Initiator, OfficeKind, Responder, Role, ShiftCert,
    StaticKey, issue_id_cert, issue_office_cert, issue_shift_cert, prologue, verify_bundle,
};

const NOW: u64 = 1_800_000_000;
const DAY: u64 = 86_400;

/// A counsellor: identity key, shift key and bundle, certified by `root`.
struct Counsellor {
    identity: IdentityKey,
    shift: StaticKey,
    bundle: Bundle,
}

fn counsellor(root: &IdentityKey, seed: u8, role: Role) -> Counsellor {
    let identity = IdentityKey::from_bytes(&[seed; 32]);
    let shift = StaticKey::from_bytes(&[seed.wrapping_add(100); 32]);
    let alias = format!("C{seed}");
    let id_cert = issue_id_cert(
        root,
        role,
        &alias,
        &identity.public(),
        NOW - DAY,
        NOW + DAY,
        1,
    )
    .unwrap();
    let shift_cert =
        issue_shift_cert(&identity, &shift.public(), NOW - 3600, NOW + 3600, 2).unwrap();
    Counsellor {
        identity,
        shift,
        bundle: Bundle {
            id_cert,
            shift_cert,
        },
    }
}

fn root() -> IdentityKey {
    IdentityKey::from_bytes(&[1; 32])
}

fn with_shift(c: &Counsellor, nb: u64, na: u64) -> Bundle {
    let shift_cert = ShiftCert {
        shift_pub: c.shift.public(),
        not_before: nb,
        not_after: na,
        serial: 3,
    }
    .sign(&c.identity)
    .unwrap();
    Bundle {
        id_cert: c.bundle.id_cert.clone(),
        shift_cert,
    }
}

/// The whole visitor ↔ counsellor flow: the visitor verifies the presented bundle, then
/// handshakes with the counsellor, who uses its own key and bundle hash.
fn visit(root_pub: &[u8; 32], presented: &Bundle, real: &Counsellor) -> Result<(), Error> {
    let mut rng = rand::thread_rng();
    let conv = [7u8; 16];
    let verified = verify_bundle(root_pub, presented, NOW)?;
    let p_visitor = prologue(&conv, &verified.bundle_hash);
    let p_counsellor = prologue(&conv, &real.bundle.bundle_hash());
    let (init, m1) = Initiator::new(&verified.shift_pub(), &p_visitor, &mut rng)?;
    let (_, m2) = Responder::read_msg1(&real.shift, &p_counsellor, &m1, &mut rng)?;
    init.read_msg2(&m2).map(|_| ())
}

/// The honest chain works, for a counsellor and for a supervisor.
#[test]
fn honest_chain_accepted() {
    let r = root();
    for role in [Role::Counsellor, Role::Supervisor] {
        let c = counsellor(&r, 2, role);
        visit(&r.public(), &c.bundle, &c).unwrap();
        assert_eq!(
            verify_bundle(&r.public(), &c.bundle, NOW).unwrap().role(),
            role
        );
    }
}

/// A shift certificate with its signature zeroed (an unsigned shift key) is refused.
#[test]
fn unsigned_shift_key() {
    let r = root();
    let c = counsellor(&r, 2, Role::Counsellor);
    let mut b = c.bundle.clone();
    let len = b.shift_cert.len();
    b.shift_cert[len - 64..].fill(0);
    assert_eq!(
        visit(&r.public(), &b, &c),
        Err(Error::BadSignature("shift certificate"))
    );
}

/// A shift key signed by someone else's identity key is refused.
#[test]
fn shift_signed_by_other_identity() {
    let r = root();
    let c = counsellor(&r, 2, Role::Counsellor);
    let attacker = IdentityKey::from_bytes(&[66; 32]);
    let mut b = c.bundle.clone();
    b.shift_cert = issue_shift_cert(&attacker, &[9; 32], NOW - 60, NOW + 60, 1).unwrap();
    assert_eq!(
        visit(&r.public(), &b, &c),
        Err(Error::BadSignature("shift certificate"))
    );
}

/// A chain issued by another root is refused.
#[test]
fn wrong_root() {
    let r = root();
    let other = IdentityKey::from_bytes(&[3; 32]);
    let c = counsellor(&other, 2, Role::Counsellor);
    assert_eq!(
        visit(&r.public(), &c.bundle, &c),
        Err(Error::BadSignature("identity certificate"))
    );
}

/// An expired or not-yet-valid identity certificate is refused.
#[test]
fn identity_outside_window() {
    let r = root();
    let c = counsellor(&r, 2, Role::Counsellor);
    for (nb, na, want) in [
        (
            NOW - 2 * DAY,
            NOW - 301,
            Error::Expired("identity certificate"),
        ),
        (
            NOW + 301,
            NOW + DAY,
            Error::NotYetValid("identity certificate"),
        ),
    ] {
        let id_cert =
            issue_id_cert(&r, Role::Counsellor, "C", &c.identity.public(), nb, na, 1).unwrap();
        let b = Bundle {
            id_cert,
            shift_cert: c.bundle.shift_cert.clone(),
        };
        assert_eq!(visit(&r.public(), &b, &c), Err(want));
    }
}

/// An expired or not-yet-valid shift certificate is refused; one within skew is accepted.
#[test]
fn shift_outside_window() {
    let r = root();
    let c = counsellor(&r, 2, Role::Counsellor);
    let expired = with_shift(&c, NOW - 7200, NOW - 301);
    assert_eq!(
        visit(&r.public(), &expired, &c),
        Err(Error::Expired("shift certificate"))
    );
    let future = with_shift(&c, NOW + 301, NOW + 3600);
    assert_eq!(
        visit(&r.public(), &future, &c),
        Err(Error::NotYetValid("shift certificate"))
    );
    let edge = with_shift(&c, NOW - 7200, NOW - 300);
    assert!(verify_bundle(&r.public(), &edge, NOW).is_ok());
}

/// A shift longer than 12 h, or outside its identity's validity, is refused.
#[test]
fn shift_too_long_or_outside_identity() {
    let r = root();
    let c = counsellor(&r, 2, Role::Counsellor);
    let long = with_shift(&c, NOW - 3600, NOW - 3600 + 12 * 3600 + 1);
    assert!(matches!(
        visit(&r.public(), &long, &c),
        Err(Error::ShiftWindow(_))
    ));
    let exact = with_shift(&c, NOW - 3600, NOW - 3600 + 12 * 3600);
    assert!(verify_bundle(&r.public(), &exact, NOW).is_ok());
    let outlives = with_shift(&c, NOW + DAY - 3600, NOW + DAY + 1);
    assert!(matches!(
        verify_bundle(&r.public(), &outlives, NOW + DAY),
        Err(Error::ShiftWindow(_))
    ));
    assert!(issue_shift_cert(&c.identity, &[9; 32], NOW, NOW + 12 * 3600 + 1, 1).is_err());
}

/// A root-signed office certificate in place of an identity certificate is refused, and an
/// identity certificate in place of a shift certificate too.
#[test]
fn wrong_certificate_types() {
    let r = root();
    let c = counsellor(&r, 2, Role::Counsellor);
    let office = issue_office_cert(
        &r,
        OfficeKind::Brobygger,
        "kbh-1",
        "Brobygger",
        &c.shift.public(),
        NOW - DAY,
        NOW + DAY,
    )
    .unwrap();
    let b = Bundle {
        id_cert: office,
        shift_cert: c.bundle.shift_cert.clone(),
    };
    assert!(matches!(
        visit(&r.public(), &b, &c),
        Err(Error::CertFormat(_))
    ));
    let b = Bundle {
        id_cert: c.bundle.id_cert.clone(),
        shift_cert: c.bundle.id_cert.clone(),
    };
    assert!(visit(&r.public(), &b, &c).is_err());
}

/// A root-signed identity certificate with an unknown role byte is refused.
#[test]
fn unknown_role() {
    let r = root();
    let c = counsellor(&r, 2, Role::Counsellor);
    let mut body = IdCert::parse(&c.bundle.id_cert).unwrap().body().unwrap();
    body[8] = 3;
    let sig = r.sign(&body);
    body.extend_from_slice(&sig);
    let b = Bundle {
        id_cert: body,
        shift_cert: c.bundle.shift_cert.clone(),
    };
    assert_eq!(
        visit(&r.public(), &b, &c),
        Err(Error::CertFormat("unknown role"))
    );
}

/// The relay presents another counsellor's valid chain: the visitor accepts the bundle, but
/// the handshake with the real counsellor fails (other key and bundle hash).
#[test]
fn other_counsellors_valid_chain() {
    let r = root();
    let a = counsellor(&r, 2, Role::Counsellor);
    let b = counsellor(&r, 3, Role::Counsellor);
    assert!(verify_bundle(&r.public(), &b.bundle, NOW).is_ok());
    assert!(matches!(
        visit(&r.public(), &b.bundle, &a),
        Err(Error::Handshake(_))
    ));
}

/// Same shift key, but a different (re-issued, valid) identity certificate: the bundle hash
/// differs, so the prologues differ and the handshake fails.
#[test]
fn bundle_hash_mismatch() {
    let r = root();
    let a = counsellor(&r, 2, Role::Counsellor);
    let reissued = issue_id_cert(
        &r,
        Role::Counsellor,
        "C2",
        &a.identity.public(),
        NOW - DAY,
        NOW + DAY,
        9,
    )
    .unwrap();
    let b = Bundle {
        id_cert: reissued,
        shift_cert: a.bundle.shift_cert.clone(),
    };
    assert!(verify_bundle(&r.public(), &b, NOW).is_ok());
    assert!(matches!(
        visit(&r.public(), &b, &a),
        Err(Error::Handshake(_))
    ));
}

/// An altered prologue (another conversation id) fails the handshake, as does a tampered
/// message 2 at the visitor.
#[test]
fn altered_prologue_and_tampered_msg2() {
    let mut rng = rand::thread_rng();
    let r = root();
    let c = counsellor(&r, 2, Role::Counsellor);
    let h = c.bundle.bundle_hash();
    let (_, m1) = Initiator::new(&c.shift.public(), &prologue(&[1; 16], &h), &mut rng).unwrap();
    let refused = Responder::read_msg1(&c.shift, &prologue(&[2; 16], &h), &m1, &mut rng);
    assert!(matches!(refused, Err(Error::Handshake(_))));
    let p = prologue(&[1; 16], &h);
    let (init, m1) = Initiator::new(&c.shift.public(), &p, &mut rng).unwrap();
    let (_, mut m2) = Responder::read_msg1(&c.shift, &p, &m1, &mut rng).unwrap();
    m2[40] ^= 1;
    assert!(matches!(init.read_msg2(&m2), Err(Error::Handshake(_))));
}
