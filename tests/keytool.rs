//! The org key tools end to end on real files: key creation, certificate issuing and showing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lyt::crypto::{
    IdCert, IdentityKey, KeyKind, OfficeCert, b64_decode, b64_encode, decode_key_file,
};
use lyt::keytool::{
    CertCommand, KeysCommand, OfficeKindArg, RoleArg, run_cert_to, run_keys_to, write_secret_file,
};

fn org_init(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let path = dir.join("org-root.key");
    let mut out = Vec::new();
    run_keys_to(KeysCommand::OrgInit { out: path.clone() }, &mut out).unwrap();
    (path, String::from_utf8(out).unwrap())
}

fn cert_file_bytes(path: &std::path::Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap();
    let line = text.lines().find(|l| !l.starts_with('#')).unwrap();
    b64_decode(line, "cert").unwrap()
}

/// `keys org-init` writes a 0600 key file, prints its public key, and never overwrites.
#[test]
fn org_init_mode_and_no_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let (path, out) = org_init(dir.path());
    let seed = decode_key_file(
        &std::fs::read_to_string(&path).unwrap(),
        KeyKind::Ed25519Secret,
    )
    .unwrap();
    let public = b64_encode(&IdentityKey::from_bytes(&seed).public());
    assert!(out.contains(&public), "{out}");
    assert!(!out.contains(&b64_encode(seed.as_ref())), "secret printed");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let before = std::fs::read(&path).unwrap();
    let again = run_keys_to(KeysCommand::OrgInit { out: path.clone() }, &mut Vec::new());
    assert!(format!("{:#}", again.unwrap_err()).contains("must not exist"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// `write_secret_file` refuses to overwrite an existing file.
#[test]
fn write_secret_file_refuses_existing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    write_secret_file(&path, b"one").unwrap();
    assert!(write_secret_file(&path, b"two").is_err());
    assert_eq!(std::fs::read(&path).unwrap(), b"one");
}

/// A counsellor certificate verifies under the org root and `cert show` prints its alias,
/// role and a valid signature.
#[test]
fn counsellor_cert_issue_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let (org_key, _) = org_init(dir.path());
    let seed = decode_key_file(
        &std::fs::read_to_string(&org_key).unwrap(),
        KeyKind::Ed25519Secret,
    )
    .unwrap();
    let root_pub = IdentityKey::from_bytes(&seed).public();
    let id_pub = IdentityKey::from_bytes(&[9; 32]).public();
    let out_path = dir.path().join("maja.cert");
    let cmd = CertCommand::Counsellor {
        org_key: org_key.clone(),
        alias: "Maja".into(),
        id_pub: b64_encode(&id_pub),
        role: RoleArg::Supervisor,
        days: 30,
        serial: Some(17),
        out: out_path.clone(),
    };
    run_cert_to(cmd, &mut Vec::new()).unwrap();
    let cert = IdCert::verify(&cert_file_bytes(&out_path), &root_pub).unwrap();
    assert_eq!(
        (cert.alias.as_str(), cert.serial, cert.id_pub),
        ("Maja", 17, id_pub)
    );
    assert_eq!(cert.not_after - cert.not_before, 30 * 86_400);
    let mut shown = Vec::new();
    let show = CertCommand::Show {
        file: out_path,
        org_pub: Some(b64_encode(&root_pub)),
    };
    run_cert_to(show, &mut shown).unwrap();
    let shown = String::from_utf8(shown).unwrap();
    for want in [
        "identity certificate",
        "Maja",
        "supervisor",
        "serial:       17",
        "valid (org root)",
        " UTC",
    ] {
        assert!(shown.contains(want), "missing {want:?} in\n{shown}");
    }
}

/// An office certificate is issued from an office key's public key and shown with its kind.
#[test]
fn office_cert_issue_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let (org_key, _) = org_init(dir.path());
    let office_key = dir.path().join("office.key");
    let mut out = Vec::new();
    run_keys_to(
        KeysCommand::OfficeInit {
            out: office_key.clone(),
        },
        &mut out,
    )
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    let public = out
        .lines()
        .find_map(|l| l.strip_prefix("public key:"))
        .unwrap()
        .trim()
        .to_owned();
    let cert_path = dir.path().join("office.cert");
    let cmd = CertCommand::Office {
        org_key,
        office_id: "kbh-nord".into(),
        name: "Brobygger Nord".into(),
        kind: OfficeKindArg::PhoneDesk,
        recipient_pub: public.clone(),
        days: 10,
        out: cert_path.clone(),
    };
    run_cert_to(cmd, &mut Vec::new()).unwrap();
    let office = OfficeCert::parse(&cert_file_bytes(&cert_path)).unwrap();
    assert_eq!(b64_encode(&office.recipient_pub), public);
    let mut shown = Vec::new();
    run_cert_to(
        CertCommand::Show {
            file: cert_path,
            org_pub: None,
        },
        &mut shown,
    )
    .unwrap();
    let shown = String::from_utf8(shown).unwrap();
    assert!(
        shown.contains("kbh-nord") && shown.contains("phone desk"),
        "{shown}"
    );
    let mut shown = Vec::new();
    run_cert_to(
        CertCommand::Show {
            file: office_key.clone(),
            org_pub: None,
        },
        &mut shown,
    )
    .unwrap();
    let shown = String::from_utf8(shown).unwrap();
    let secret = decode_key_file(
        &std::fs::read_to_string(&office_key).unwrap(),
        KeyKind::X25519Secret,
    )
    .unwrap();
    assert!(
        shown.contains("X25519") && shown.contains(&public),
        "{shown}"
    );
    assert!(
        !shown.contains(&b64_encode(secret.as_ref())),
        "secret shown"
    );
}

/// A corrupt, mismatched or missing org key file gives a clear error naming the problem.
#[test]
fn bad_key_files_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let office_key = dir.path().join("office.key");
    run_keys_to(
        KeysCommand::OfficeInit {
            out: office_key.clone(),
        },
        &mut Vec::new(),
    )
    .unwrap();
    let corrupt = dir.path().join("corrupt.key");
    std::fs::write(&corrupt, "# x\nlyt-ed25519-secret:not*base64\n").unwrap();
    let issue = |org_key: std::path::PathBuf| {
        let cmd = CertCommand::Counsellor {
            org_key,
            alias: "A".into(),
            id_pub: b64_encode(&[9; 32]),
            role: RoleArg::Counsellor,
            days: 1,
            serial: None,
            out: dir.path().join("never.cert"),
        };
        format!("{:#}", run_cert_to(cmd, &mut Vec::new()).unwrap_err())
    };
    let wrong_kind = issue(office_key);
    assert!(
        wrong_kind.contains("expected lyt-ed25519-secret, found lyt-x25519-secret"),
        "{wrong_kind}"
    );
    let bad_b64 = issue(corrupt);
    assert!(bad_b64.contains("base64"), "{bad_b64}");
    let missing = issue(dir.path().join("nope.key"));
    assert!(missing.contains("cannot read"), "{missing}");
    assert!(!dir.path().join("never.cert").exists());
}

/// A bad public key argument and an out-of-range validity are refused before any file is
/// written.
#[test]
fn bad_arguments_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (org_key, _) = org_init(dir.path());
    let cmd = |id_pub: String, days: u64| CertCommand::Counsellor {
        org_key: org_key.clone(),
        alias: "A".into(),
        id_pub,
        role: RoleArg::Counsellor,
        days,
        serial: None,
        out: dir.path().join("c.cert"),
    };
    let short = format!(
        "{:#}",
        run_cert_to(cmd(b64_encode(&[1; 31]), 1), &mut Vec::new()).unwrap_err()
    );
    assert!(short.contains("32 bytes"), "{short}");
    assert!(run_cert_to(cmd(b64_encode(&[1; 32]), 366), &mut Vec::new()).is_err());
    assert!(!dir.path().join("c.cert").exists());
}
