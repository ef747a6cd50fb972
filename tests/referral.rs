//! Brobygger referrals end to end (#8): the offer and consent travel inside the encrypted
//! chat, the counsellor seals the referral to the office's certified key, the relay stores
//! only the envelope and hands out a code, and the office pulls, opens, verifies and
//! acknowledges it. Refusals: wrong key, tampered envelope, a counsellor certificate from
//! another root, a referral sealed to another office; nothing lost on restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use lyt::client::office::{PullOptions, PullReport, pull};
use lyt::crypto::{self, AppMessage, IdentityKey, Sealed, StaticKey};
use lyt::demo::BROBYGGER_ID;
use lyt::protocol::{ConvId, CounsellorFrame, ErrorCode, ServerFrame, VisitorFrame};
use lyt::referral::{Consent, Referral, WILL_QUOTE_CODE};

/// The demo brobygger office's recipient public key, from its certificate in `/v1/offices`.
async fn office_pub(ts: &TestServer) -> [u8; 32] {
    let offices: serde_json::Value = reqwest::get(format!("{}/v1/offices", ts.http))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entry = offices["offices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == BROBYGGER_ID)
        .unwrap()
        .clone();
    assert_eq!(entry["kind"], "brobygger");
    assert_eq!(entry["municipality"], "København");
    assert!(!entry["reception_hours"].as_str().unwrap().is_empty());
    let cert = crypto::b64_decode(entry["cert"].as_str().unwrap(), "cert").unwrap();
    crypto::verify_office_cert(&ts.demo.org_root_pub, &cert, now())
        .unwrap()
        .recipient_pub
}

fn referral(id: &[u8; 16], office: &str, alias: &str, offer_hash: &[u8; 32]) -> Referral {
    Referral {
        referral_id: crypto::b64_encode(id),
        created_at: now(),
        office_id: office.into(),
        counsellor_alias: alias.into(),
        contact: WILL_QUOTE_CODE.into(),
        language: "da".into(),
        interpreter: true,
        needs: vec!["health".into(), "social".into(), "bisidder".into()],
        note: "Wants to meet in the morning.".into(),
        safety: "no voicemail".into(),
        consent: Consent {
            text_version: 1,
            ts: now(),
            offer_hash: crypto::b64_encode(offer_hash),
        },
    }
}

/// Signs and seals `r` as the counsellor `(key, cert)` to `office` at `recipient`.
fn seal(
    key: &IdentityKey,
    cert: &[u8],
    office: &str,
    recipient: &[u8; 32],
    id: &[u8; 16],
    r: &Referral,
) -> Sealed {
    let body = serde_json::to_vec(r).unwrap();
    let plaintext = crypto::build_referral_plaintext(key, cert, office, id, &body).unwrap();
    crypto::seal_referral(office, recipient, id, &plaintext, &mut rand::rngs::OsRng).unwrap()
}

/// A well-formed referral from the demo counsellor Maja to the demo office: its id and
/// envelope.
fn maja_referral(ts: &TestServer, recipient: &[u8; 32]) -> ([u8; 16], Sealed) {
    let (key, cert) = lyt::demo::identity(&ts.demo.dir, "maja").unwrap();
    let id: [u8; 16] = rand::random();
    let r = referral(&id, BROBYGGER_ID, "Maja", &[1; 32]);
    (id, seal(&key, &cert, BROBYGGER_ID, recipient, &id, &r))
}

async fn pull_as(
    ts: &TestServer,
    key: &StaticKey,
    token: &str,
    out: &std::path::Path,
) -> PullReport {
    pull(&PullOptions {
        server: &ts.http,
        office_id: BROBYGGER_ID,
        key,
        token,
        org_root: &ts.demo.org_root_pub,
        out_dir: out,
    })
    .await
    .unwrap()
}

/// The code with the office's address and reception hours, as the console sends it.
fn code_message(code: &str) -> AppMessage {
    AppMessage::ReferralCode {
        code: code.into(),
        office_name: "Brobygger København (DEMO)".into(),
        address: "Demogade 1, 1000 København K (DEMO)".into(),
        hours: "Mon-Thu 10-15 (DEMO)".into(),
    }
}

async fn stored_code(c: &mut Counsellor) -> Result<String, ErrorCode> {
    match c.frame(WAIT).await.unwrap() {
        ServerFrame::ReferralStored { code, .. } => Ok(code),
        ServerFrame::Error { code, .. } => Err(code),
        other => panic!("unexpected {other:?}"),
    }
}

/// The whole hand-off: offer and consent inside the encrypted chat, sealed referral, code to
/// the visitor, the office pulls and opens it; acknowledged referrals are gone.
#[tokio::test]
async fn full_referral() {
    let ts = start(|_| {}).await;
    let recipient = office_pub(&ts).await;
    let (mut v, mut c, mut v_chat, mut c_chat) = encrypted_pair(&ts, "maja").await;
    let conv = c_chat.conv();

    // The offer, shown by the widget exactly as sent; the visitor answers yes with its hash.
    let offer = AppMessage::ReferralOffer {
        office_id: BROBYGGER_ID.into(),
        office_name: "Brobygger København (DEMO)".into(),
        fields: vec![
            "needs: health, social, bisidder".into(),
            "contact: will quote the code".into(),
        ],
    };
    let (n, m) = c_chat.seal(&offer).unwrap();
    c.send(&CounsellorFrame::Data { conv, n, m }).await.unwrap();
    let ServerFrame::Data { n, m, .. } = v.frame(WAIT).await.unwrap() else {
        panic!("expected data")
    };
    assert_eq!(v_chat.open(n, &m).unwrap(), Some(offer.clone()));
    let offer_hash = crypto::offer_hash(&serde_json::to_vec(&offer).unwrap());
    let (n, m) = v_chat
        .seal(&AppMessage::ReferralConsent {
            offer_hash,
            yes: true,
        })
        .unwrap();
    v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
    let ServerFrame::Data { n, m, .. } = c.frame(WAIT).await.unwrap() else {
        panic!("expected data")
    };
    assert!(matches!(
        c_chat.open(n, &m).unwrap(),
        Some(AppMessage::ReferralConsent { yes: true, .. })
    ));

    // Seal and submit: the relay stores only the envelope and answers with a code.
    let (key, cert) = lyt::demo::identity(&ts.demo.dir, "maja").unwrap();
    let id: [u8; 16] = rand::random();
    let r = referral(&id, BROBYGGER_ID, "Maja", &offer_hash);
    let sealed = seal(&key, &cert, BROBYGGER_ID, &recipient, &id, &r);
    c.send(&CounsellorFrame::Referral {
        conv,
        id: ConvId(id),
        office_id: BROBYGGER_ID.into(),
        sealed: sealed.clone(),
    })
    .await
    .unwrap();
    let code = stored_code(&mut c).await.unwrap();
    assert!(
        lyt::referral::normalise_code(&code) == Some(code.clone()),
        "{code}"
    );
    // The same referral twice is refused.
    c.send(&CounsellorFrame::Referral {
        conv,
        id: ConvId(id),
        office_id: BROBYGGER_ID.into(),
        sealed,
    })
    .await
    .unwrap();
    assert_eq!(stored_code(&mut c).await, Err(ErrorCode::Conflict));
    // Nothing readable on disk: the stored file holds the envelope, never R's contents.
    let on_disk = std::fs::read_to_string(
        ts.demo
            .dir
            .join("referrals")
            .join(format!("{}.json", crypto::b64_encode(&id))),
    )
    .unwrap();
    assert!(!on_disk.contains("morning") && !on_disk.contains("voicemail"));

    // The code goes to the visitor inside the chat.
    let (n, m) = c_chat.seal(&code_message(&code)).unwrap();
    c.send(&CounsellorFrame::Data { conv, n, m }).await.unwrap();
    let ServerFrame::Data { n, m, .. } = v.frame(WAIT).await.unwrap() else {
        panic!("expected data")
    };
    assert_eq!(v_chat.open(n, &m).unwrap(), Some(code_message(&code)));

    // The office pulls: opened, verified, written, acknowledged.
    let (office_key, token) = lyt::demo::brobygger(&ts.demo.dir).unwrap();
    let out = tempfile::tempdir().unwrap();
    let report = pull_as(&ts, &office_key, &token, out.path()).await;
    assert!(report.refused.is_empty(), "{report:?}");
    assert_eq!(report.saved.len(), 1);
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report.saved[0].1).unwrap()).unwrap();
    assert_eq!(saved["code"], code.as_str());
    assert_eq!(saved["counsellor_alias"], "Maja");
    assert_eq!(saved["referral"], serde_json::to_value(&r).unwrap());
    assert_eq!(
        pull_as(&ts, &office_key, &token, out.path()).await,
        PullReport::default()
    );
}

/// Each refusal the issue names leaves the referral on the server and says why.
#[tokio::test]
async fn refusals() {
    let ts = start(|_| {}).await;
    let recipient = office_pub(&ts).await;
    let (_v, mut c, _vc, c_chat) = encrypted_pair(&ts, "maja").await;
    let conv = c_chat.conv();
    let (key, cert) = lyt::demo::identity(&ts.demo.dir, "maja").unwrap();
    let hash = [7; 32];
    let mut submit = async |sealed: Sealed, id: [u8; 16]| {
        c.send(&CounsellorFrame::Referral {
            conv,
            id: ConvId(id),
            office_id: BROBYGGER_ID.into(),
            sealed,
        })
        .await
        .unwrap();
        stored_code(&mut c).await.unwrap()
    };

    // 1. A tampered envelope.
    let id: [u8; 16] = rand::random();
    let mut tampered = seal(
        &key,
        &cert,
        BROBYGGER_ID,
        &recipient,
        &id,
        &referral(&id, BROBYGGER_ID, "Maja", &hash),
    );
    tampered.ct[3] ^= 1;
    let tampered_code = submit(tampered, id).await;
    // 2. Re-sealed to another office (its info binding differs).
    let id: [u8; 16] = rand::random();
    let other = seal(
        &key,
        &cert,
        "bro-aarhus",
        &recipient,
        &id,
        &referral(&id, "bro-aarhus", "Maja", &hash),
    );
    let other_code = submit(other, id).await;
    // 3. A counsellor certificate not signed by this organisation.
    let rogue_root = IdentityKey::generate(&mut rand::rngs::OsRng);
    let rogue_key = IdentityKey::generate(&mut rand::rngs::OsRng);
    let rogue_cert = crypto::issue_id_cert(
        &rogue_root,
        crypto::Role::Counsellor,
        "Maja",
        &rogue_key.public(),
        now() - 10,
        now() + 3600,
        1,
    )
    .unwrap();
    let id: [u8; 16] = rand::random();
    let rogue = seal(
        &rogue_key,
        &rogue_cert,
        BROBYGGER_ID,
        &recipient,
        &id,
        &referral(&id, BROBYGGER_ID, "Maja", &hash),
    );
    let rogue_code = submit(rogue, id).await;
    // 4. R names another office than the one it is sealed and signed for.
    let id: [u8; 16] = rand::random();
    let mislabelled = seal(
        &key,
        &cert,
        BROBYGGER_ID,
        &recipient,
        &id,
        &referral(&id, "bro-aarhus", "Maja", &hash),
    );
    let mislabelled_code = submit(mislabelled, id).await;
    // 5. A good one.
    let id: [u8; 16] = rand::random();
    let good = seal(
        &key,
        &cert,
        BROBYGGER_ID,
        &recipient,
        &id,
        &referral(&id, BROBYGGER_ID, "Maja", &hash),
    );
    let good_code = submit(good, id).await;

    // With the wrong key nothing opens, and nothing is acknowledged.
    let (office_key, token) = lyt::demo::brobygger(&ts.demo.dir).unwrap();
    let wrong_key = StaticKey::generate(&mut rand::rngs::OsRng);
    let out = tempfile::tempdir().unwrap();
    let report = pull_as(&ts, &wrong_key, &token, out.path()).await;
    assert!(report.saved.is_empty());
    assert_eq!(report.refused.len(), 5);
    assert!(
        report
            .refused
            .iter()
            .all(|(_, why)| why.contains("office key is wrong"))
    );

    let report = pull_as(&ts, &office_key, &token, out.path()).await;
    let why = |code: &str| {
        report
            .refused
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, w)| w.clone())
            .unwrap_or_default()
    };
    assert!(why(&tampered_code).contains("tampered"), "{report:?}");
    assert!(why(&other_code).contains("another office"), "{report:?}");
    assert!(
        why(&rogue_code).contains("not valid for this organisation"),
        "{report:?}"
    );
    assert!(
        why(&mislabelled_code).contains("another office"),
        "{report:?}"
    );
    assert_eq!(report.saved.len(), 1);
    assert_eq!(report.saved[0].0, good_code);
    // The refused ones stay on the server.
    assert_eq!(
        pull_as(&ts, &office_key, &token, out.path())
            .await
            .refused
            .len(),
        4
    );
}

/// The relay refuses referrals outside a live chat of this counsellor, to unknown offices or
/// to the phone desk; the office API needs the office's token and only acknowledges its own.
#[tokio::test]
async fn relay_and_office_api_checks() {
    let ts = start(|_| {}).await;
    let recipient = office_pub(&ts).await;
    let (_v, mut c, _vc, c_chat) = encrypted_pair(&ts, "maja").await;
    let (id, sealed) = maja_referral(&ts, &recipient);
    for (conv, office, expected) in [
        (ConvId::random(), BROBYGGER_ID, ErrorCode::NotFound),
        (c_chat.conv(), "nowhere", ErrorCode::NotFound),
        (c_chat.conv(), lyt::demo::PHONE_DESK_ID, ErrorCode::NotFound),
    ] {
        c.send(&CounsellorFrame::Referral {
            conv,
            id: ConvId(id),
            office_id: office.into(),
            sealed: sealed.clone(),
        })
        .await
        .unwrap();
        assert_eq!(stored_code(&mut c).await, Err(expected), "{office}");
    }

    let http = reqwest::Client::new();
    let list = |token: Option<&str>| {
        let mut req = http.get(format!("{}/v1/referrals", ts.http));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    assert_eq!(list(None).await.unwrap().status(), 401);
    assert_eq!(list(Some("wrong")).await.unwrap().status(), 401);
    let (_, token) = lyt::demo::brobygger(&ts.demo.dir).unwrap();
    assert_eq!(list(Some(&token)).await.unwrap().status(), 200);
    let ack = http
        .post(format!(
            "{}/v1/referrals/{}/ack",
            ts.http,
            crypto::b64_encode(&[9; 16])
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ack.status(), 404);
}

/// A restart of lyt loses no unacknowledged referral.
#[tokio::test]
async fn restart_keeps_referrals() {
    let ts = start(|_| {}).await;
    let recipient = office_pub(&ts).await;
    let (_v, mut c, _vc, c_chat) = encrypted_pair(&ts, "maja").await;
    let (id, sealed) = maja_referral(&ts, &recipient);
    c.send(&CounsellorFrame::Referral {
        conv: c_chat.conv(),
        id: ConvId(id),
        office_id: BROBYGGER_ID.into(),
        sealed,
    })
    .await
    .unwrap();
    let code = stored_code(&mut c).await.unwrap();
    let demo_dir = ts.demo.dir.clone();
    let _keep = ts.stop().await;

    let mut config = lyt::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        internal: "127.0.0.1:0".parse().unwrap(),
        demo: true,
        demo_dir: demo_dir.clone(),
        ..lyt::Config::default()
    };
    let demo = lyt::demo::provision(&mut config).unwrap();
    let server = lyt::Server::start(config).await.unwrap();
    let http = format!("http://127.0.0.1:{}", server.public_addr.port());
    let (office_key, token) = lyt::demo::brobygger(&demo_dir).unwrap();
    let out = tempfile::tempdir().unwrap();
    let report = pull(&PullOptions {
        server: &http,
        office_id: BROBYGGER_ID,
        key: &office_key,
        token: &token,
        org_root: &demo.org_root_pub,
        out_dir: out.path(),
    })
    .await
    .unwrap();
    assert_eq!(report.saved.len(), 1, "{report:?}");
    assert_eq!(report.saved[0].0, code);
    server.shutdown();
    server.wait().await;
}

/// An office with a webhook is told that a referral waits — its id and nothing of the
/// referral — and then pulls it; an office whose webhook is down still gets its referral by
/// pulling.
#[tokio::test]
async fn webhook_tells_the_office_and_nothing_more() {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, String)>(4);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/lyt-hook", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/lyt-hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let tx = tx.clone();
            async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                tx.send((ct, body)).await.unwrap();
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let ts = start(move |c| {
        c.referrals.webhooks.insert(BROBYGGER_ID.into(), hook);
    })
    .await;
    let recipient = office_pub(&ts).await;
    let (_v, mut c, _vc, c_chat) = encrypted_pair(&ts, "maja").await;
    let (id, sealed) = maja_referral(&ts, &recipient);
    let ct = sealed.ct.clone();
    c.send(&CounsellorFrame::Referral {
        conv: c_chat.conv(),
        id: ConvId(id),
        office_id: BROBYGGER_ID.into(),
        sealed,
    })
    .await
    .unwrap();
    let code = stored_code(&mut c).await.unwrap();
    let (content_type, body) = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(content_type, "application/json");
    let got: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        got,
        serde_json::json!({"event": "referral_waiting", "office_id": BROBYGGER_ID})
    );
    for secret in [
        code.clone(),
        lyt::crypto::b64_encode(&id),
        lyt::crypto::b64_encode(&ct),
    ] {
        assert!(!body.contains(&secret), "the webhook carries {secret}");
    }
    let (office_key, token) = lyt::demo::brobygger(&ts.demo.dir).unwrap();
    let out = tempfile::tempdir().unwrap();
    let report = pull_as(&ts, &office_key, &token, out.path()).await;
    assert_eq!(report.saved.len(), 1);
    assert_eq!(report.saved[0].0, code);
}

/// A webhook URL that is not http(s) stops the start with a message naming the setting.
#[tokio::test]
async fn a_bad_webhook_url_is_refused_at_start() {
    let mut config = lyt::Config::default();
    config
        .referrals
        .webhooks
        .insert("kbh".into(), "ftp://office.example/".into());
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("referrals.webhooks.kbh"), "{err}");
}
