//! Golden vectors for the TypeScript implementation. Each test generates a JSON file under
//! `testdata/` from fixed keys; with `LYT_WRITE_VECTORS=1` it (re)writes the file, otherwise
//! it asserts that the checked-in file equals what the code generates today.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crypto_common;

use crypto_common::{ExactRng, TestRng, testdata};
use lyt::crypto::{
    AppMessage, BUCKETS, Bundle, IdentityKey, Initiator, KeyKind, MAX_JSON_LEN, OfficeKind,
    Responder, Role, ShiftCert, StaticKey, b64_encode, build_referral_plaintext, encode_key_file,
    fingerprint, issue_id_cert, issue_office_cert, issue_shift_cert, open_callback, open_referral,
    pad, prologue, referral_signature_message, seal_callback, seal_referral, unpad, verify_bundle,
    verify_office_cert,
};
use rand::RngCore as _;
use serde_json::{Value, json};

const NOW: u64 = 1_800_000_000;
const DAY: u64 = 86_400;

/// Writes or checks `testdata/<name>`.
fn check_or_write(name: &str, value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap() + "\n";
    let path = testdata(name);
    if std::env::var_os("LYT_WRITE_VECTORS").is_some_and(|v| v == "1") {
        std::fs::write(&path, text).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{name} missing: run with LYT_WRITE_VECTORS=1"));
    assert!(
        stored == text,
        "{name} differs from what the code generates; if the change is intended, regenerate with LYT_WRITE_VECTORS=1"
    );
}

fn secret32(label: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    TestRng::new(label.as_bytes()).fill_bytes(&mut out);
    out
}

fn b64(bytes: &[u8]) -> Value {
    Value::String(b64_encode(bytes))
}

/// The fixed keys and certificates every vector file builds on.
struct Fixture {
    root: IdentityKey,
    identity: IdentityKey,
    shift: StaticKey,
    office: StaticKey,
    bundle: Bundle,
    office_cert: Vec<u8>,
}

fn fixture() -> Fixture {
    let root = IdentityKey::from_bytes(&secret32("org root"));
    let identity = IdentityKey::from_bytes(&secret32("counsellor identity"));
    let shift = StaticKey::from_bytes(&secret32("shift key"));
    let office = StaticKey::from_bytes(&secret32("office recipient"));
    let id_cert = issue_id_cert(
        &root,
        Role::Counsellor,
        "Maja",
        &identity.public(),
        NOW - DAY,
        NOW + 365 * DAY,
        42,
    )
    .unwrap();
    let shift_cert =
        issue_shift_cert(&identity, &shift.public(), NOW - 3600, NOW + 8 * 3600, 7).unwrap();
    let office_cert = issue_office_cert(
        &root,
        OfficeKind::Brobygger,
        "kbh-nord",
        "Brobygger København Nord",
        &office.public(),
        NOW - DAY,
        NOW + 730 * DAY,
    )
    .unwrap();
    Fixture {
        root,
        identity,
        shift,
        office,
        bundle: Bundle {
            id_cert,
            shift_cert,
        },
        office_cert,
    }
}

fn bundle_json(b: &Bundle) -> Value {
    serde_json::to_value(b).unwrap()
}

/// Invalid bundles with the error each must give.
fn invalid_bundles(f: &Fixture) -> Vec<(&'static str, Bundle, u64)> {
    let other_root = IdentityKey::from_bytes(&secret32("other root"));
    let mut unsigned = f.bundle.clone();
    let len = unsigned.shift_cert.len();
    unsigned.shift_cert[len - 64..].fill(0);
    let long_shift = ShiftCert {
        shift_pub: f.shift.public(),
        not_before: NOW - 3600,
        not_after: NOW - 3600 + 12 * 3600 + 1,
        serial: 8,
    }
    .sign(&f.identity)
    .unwrap();
    let mut trailing = f.bundle.clone();
    trailing.id_cert.push(0);
    vec![
        (
            "wrong_root",
            Bundle {
                id_cert: issue_id_cert(
                    &other_root,
                    Role::Counsellor,
                    "Maja",
                    &f.identity.public(),
                    NOW - DAY,
                    NOW + DAY,
                    1,
                )
                .unwrap(),
                shift_cert: f.bundle.shift_cert.clone(),
            },
            NOW,
        ),
        ("unsigned_shift", unsigned, NOW),
        ("identity_expired", f.bundle.clone(), NOW + 366 * DAY),
        ("shift_expired", f.bundle.clone(), NOW + 8 * 3600 + 301),
        ("shift_not_yet_valid", f.bundle.clone(), NOW - 3600 - 301),
        (
            "shift_too_long",
            Bundle {
                id_cert: f.bundle.id_cert.clone(),
                shift_cert: long_shift,
            },
            NOW,
        ),
        (
            "office_cert_as_identity",
            Bundle {
                id_cert: f.office_cert.clone(),
                shift_cert: f.bundle.shift_cert.clone(),
            },
            NOW,
        ),
        ("trailing_byte", trailing, NOW),
    ]
}

/// `testdata/certs.json`: keys, certificates, bundle hash, and invalid cases with errors.
#[test]
fn certs_vectors() {
    let f = fixture();
    let verified = verify_bundle(&f.root.public(), &f.bundle, NOW).unwrap();
    let office = verify_office_cert(&f.root.public(), &f.office_cert, NOW).unwrap();
    let invalid: Vec<Value> = invalid_bundles(&f)
        .into_iter()
        .map(|(name, bundle, now)| {
            let err = verify_bundle(&f.root.public(), &bundle, now).unwrap_err();
            json!({ "name": name, "bundle": bundle_json(&bundle), "now": now, "error": err.name() })
        })
        .collect();
    let value = json!({
        "now": NOW,
        "org_root": { "secret": b64(f.root.to_bytes().as_ref()), "public": b64(&f.root.public()), "fingerprint": fingerprint(&f.root.public()),
                      "key_file": encode_key_file(KeyKind::Ed25519Secret, &f.root.to_bytes()).as_str() },
        "counsellor": {
            "identity_secret": b64(f.identity.to_bytes().as_ref()), "identity_public": b64(&f.identity.public()),
            "shift_secret": b64(f.shift.to_bytes().as_ref()), "shift_public": b64(&f.shift.public()),
            "alias": verified.alias(), "role": verified.role() as u8,
            "id_cert": { "not_before": verified.id.not_before, "not_after": verified.id.not_after, "serial": verified.id.serial },
            "shift_cert": { "not_before": verified.shift.not_before, "not_after": verified.shift.not_after, "serial": verified.shift.serial },
            "bundle": bundle_json(&f.bundle), "bundle_hash": b64(&verified.bundle_hash),
        },
        "office": {
            "recipient_secret": b64(f.office.to_bytes().as_ref()), "recipient_public": b64(&f.office.public()),
            "kind": office.kind as u8, "office_id": office.office_id, "display_name": office.display_name,
            "not_before": office.not_before, "not_after": office.not_after, "cert": b64(&f.office_cert),
            "key_file": encode_key_file(KeyKind::X25519Secret, &f.office.to_bytes()).as_str(),
        },
        "invalid_bundles": invalid,
    });
    check_or_write("certs.json", &value);
}

/// One golden session: fixed ephemerals, a handshake and messages each way.
fn session(f: &Fixture, name: &str, conv_id: [u8; 16], texts: &[(&str, &str)]) -> Value {
    let e_i = secret32(&format!("{name} initiator ephemeral"));
    let e_r = secret32(&format!("{name} responder ephemeral"));
    let bundle_hash = f.bundle.bundle_hash();
    let p = prologue(&conv_id, &bundle_hash);
    let (init, msg1) =
        Initiator::new_with_ephemeral(&f.shift.public(), &p, StaticKey::from_bytes(&e_i), &[])
            .unwrap();
    let (mut counsellor, _, msg2) =
        Responder::read_msg1_with_ephemeral(&f.shift, &p, &msg1, StaticKey::from_bytes(&e_r), &[])
            .unwrap();
    let mut visitor = init.read_msg2(&msg2).unwrap();
    assert_eq!(visitor.safety_code(), counsellor.safety_code());
    let mut transport = Vec::new();
    let mut send = |from: &str,
                    msg: AppMessage,
                    visitor: &mut lyt::crypto::Session,
                    counsellor: &mut lyt::crypto::Session| {
        let (tx, rx) = if from == "visitor" {
            (visitor, counsellor)
        } else {
            (counsellor, visitor)
        };
        let json = msg.to_json().unwrap();
        let (n, ct) = tx.send_message(&msg).unwrap();
        let padded = rx.decrypt(n, &ct).unwrap();
        assert_eq!(unpad(&padded).unwrap(), json.as_slice());
        transport.push(json!({ "from": from, "n": n, "json": String::from_utf8(json).unwrap(), "padded": b64(&padded), "ciphertext": b64(&ct) }));
    };
    send(
        "visitor",
        AppMessage::Hello {},
        &mut visitor,
        &mut counsellor,
    );
    for (i, (from, body)) in texts.iter().enumerate() {
        send(
            from,
            AppMessage::Text {
                body: (*body).into(),
                ts: NOW + i as u64,
            },
            &mut visitor,
            &mut counsellor,
        );
    }
    send(
        "counsellor",
        AppMessage::Bye {
            reason: "ended".into(),
        },
        &mut visitor,
        &mut counsellor,
    );
    json!({
        "name": name, "protocol": "Noise_NK_25519_ChaChaPoly_SHA256",
        "responder_static_secret": b64(f.shift.to_bytes().as_ref()), "responder_static_public": b64(&f.shift.public()),
        "initiator_ephemeral_secret": b64(&e_i), "responder_ephemeral_secret": b64(&e_r),
        "conv_id": b64(&conv_id), "bundle_hash": b64(&bundle_hash), "prologue": b64(&p),
        "msg1": b64(&msg1), "msg2": b64(&msg2),
        "handshake_hash": b64(&visitor.handshake_hash()), "safety_code": visitor.safety_code(),
        "transport": transport,
    })
}

/// `testdata/noise_sessions.json`: complete golden sessions.
#[test]
fn noise_session_vectors() {
    let f = fixture();
    let sessions = vec![
        session(
            &f,
            "short",
            [0x01; 16],
            &[
                ("visitor", "Hej, jeg har brug for hjælp."),
                ("counsellor", "Hej, jeg hedder Maja. Fortæl."),
            ],
        ),
        session(
            &f,
            "long",
            [0xa5; 16],
            &[
                ("visitor", &"ø".repeat(600)),
                ("visitor", "…"),
                ("counsellor", &"x".repeat(4000)),
            ],
        ),
    ];
    check_or_write("noise_sessions.json", &json!({ "sessions": sessions }));
}

/// `testdata/padding.json`: padded forms at bucket edges, and malformed inputs.
#[test]
fn padding_vectors() {
    let data: Vec<u8> = (0..MAX_JSON_LEN).map(|i| b'a' + (i % 26) as u8).collect();
    let lens = [0, 1, 2, 254, 255, 1022, 1023, 4094, 4095, MAX_JSON_LEN];
    let valid: Vec<Value> = lens.iter().map(|&n| {
        let padded = pad(&data[..n]).unwrap();
        json!({ "len": n, "data": b64(&data[..n]), "padded_len": padded.len(), "padded": b64(&padded) })
    }).collect();
    let mut nonzero = pad(b"{}").unwrap();
    nonzero[255] = 1;
    let mut past_end = pad(b"{}").unwrap();
    past_end[0..2].copy_from_slice(&255u16.to_be_bytes());
    let not_bucket = vec![0u8; 300];
    let invalid: Vec<Value> = [("nonzero_padding", nonzero), ("length_past_end", past_end), ("not_a_bucket", not_bucket), ("empty", Vec::new())]
        .into_iter()
        .map(|(name, bytes)| json!({ "name": name, "padded": b64(&bytes), "error": unpad(&bytes).unwrap_err().name() }))
        .collect();
    let too_large = pad(&vec![0u8; MAX_JSON_LEN + 1]).unwrap_err();
    check_or_write(
        "padding.json",
        &json!({ "buckets": BUCKETS, "max_json_len": MAX_JSON_LEN, "valid": valid, "invalid": invalid,
        "too_large": { "len": MAX_JSON_LEN + 1, "error": too_large.name() } }),
    );
}

/// `testdata/hpke_seals.json`: a signed referral and a callback request sealed with fixed
/// ephemeral input keying material.
#[test]
fn hpke_seal_vectors() {
    let f = fixture();
    let office_id = "kbh-nord";
    let referral_id = [0x3c; 16];
    let r = br#"{"referral_id":"PDw8PDw8PDw8PDw8PDw8PA","created_at":1800000000,"office_id":"kbh-nord","counsellor_alias":"Maja","contact":"will quote the code","language":"da","needs":["health","housing"],"note":"","safety":"no voicemail","consent":{"text_version":"1","ts":1800000000,"offer_hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}"#;
    let inner =
        build_referral_plaintext(&f.identity, &f.bundle.id_cert, office_id, &referral_id, r)
            .unwrap();
    let ikm_referral = secret32("referral ephemeral ikm");
    let referral = seal_referral(
        office_id,
        &f.office.public(),
        &referral_id,
        &inner,
        &mut ExactRng(ikm_referral.to_vec()),
    )
    .unwrap();
    assert_eq!(
        open_referral(office_id, &f.office, &referral_id, &referral)
            .unwrap()
            .as_slice(),
        inner.as_slice()
    );
    let desk = StaticKey::from_bytes(&secret32("phone desk recipient"));
    let request_id = [0x5a; 16];
    let callback_pt =
        br#"{"phone":"+4512345678","when":"after 16","language":"da","voicemail_ok":false}"#;
    let ikm_callback = secret32("callback ephemeral ikm");
    let callback = seal_callback(
        &desk.public(),
        &request_id,
        callback_pt,
        &mut ExactRng(ikm_callback.to_vec()),
    )
    .unwrap();
    assert_eq!(
        open_callback(&desk, &request_id, &callback)
            .unwrap()
            .as_slice(),
        callback_pt
    );
    let sig_msg = referral_signature_message(office_id, &referral_id, r);
    check_or_write(
        "hpke_seals.json",
        &json!({
            "suite": { "kem": 32, "kdf": 1, "aead": 3, "mode": 0 },
            "org_root_public": b64(&f.root.public()),
            "referral": {
                "recipient_secret": b64(f.office.to_bytes().as_ref()), "recipient_public": b64(&f.office.public()),
                "office_id": office_id, "referral_id": b64(&referral_id),
                "info": b64(&[b"lyt/1 referral".as_slice(), office_id.as_bytes()].concat()), "aad": b64(&referral_id),
                "r": String::from_utf8(r.to_vec()).unwrap(), "signature_message": b64(&sig_msg),
                "signer_public": b64(&f.identity.public()), "id_cert": b64(&f.bundle.id_cert),
                "plaintext": String::from_utf8(inner).unwrap(), "ikm_e": b64(&ikm_referral),
                "sealed": serde_json::to_value(&referral).unwrap(),
            },
            "callback": {
                "recipient_secret": b64(desk.to_bytes().as_ref()), "recipient_public": b64(&desk.public()),
                "request_id": b64(&request_id), "info": b64(b"lyt/1 callback"), "aad": b64(&request_id),
                "plaintext": String::from_utf8(callback_pt.to_vec()).unwrap(), "ikm_e": b64(&ikm_callback),
                "sealed": serde_json::to_value(&callback).unwrap(),
            },
        }),
    );
}
