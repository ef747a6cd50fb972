//! The canary run (SECURITY.md, "Tests that prove it"): many whole sessions — 30 visitors
//! with two counsellors, encrypted chats, reconnects, bad frames, callbacks, a referral and
//! its office pull, failed logins, a supervisor creating an account — where every message
//! text, typed username and password, resume token, ticket, office token, client address and
//! user agent is a canary. lyt runs at `trace` and behind a trusted proxy header, so each
//! request carries a canary `X-Forwarded-For` address that lyt does read. Afterwards no canary
//! is found in anything lyt logged or wrote to its data directory (statistics, referrals,
//! `staff.json`, which holds password hashes only).
//!
//! The run is done twice: in memory, and as a node on a real `redis-server` (started on a
//! free port); then a dump of every key in Redis is searched too, and each key must carry a
//! TTL. (Its own test binary: it installs the global logger.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::redis_server;

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use lyt::client::e2e::Chat;
use lyt::client::e2e::VisitorHandshake;
use lyt::client::{ConnectOptions, WsClient};
use lyt::crypto::{self, AppMessage};
use lyt::demo::BROBYGGER_ID;
use lyt::protocol::{ConvId, CounsellorFrame, ServerFrame, Skills, Tags, VisitorFrame};
use lyt::referral::{Consent, Referral, WILL_QUOTE_CODE};
use redis_server::RedisServer;
use serde_json::{Value, json};

/// Every canary starts with this (any case): one search finds them all.
const MARK: &str = "canary";
/// The mark in base64url, as a relay that logged raw blobs would show it.
const MARK_B64: &str = "Q0FOQVJZ";
const AGENT: &str = "CanaryAgent/9.9 (canary)";
/// The socket source address of every visitor (the peer lyt sees under the proxy header).
const SOURCE: &str = "127.0.0.77";
const VISITORS: usize = 30;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The canary client address of visitor `i`: documentation ranges, IPv4 and IPv6.
fn address(i: usize) -> String {
    if i.is_multiple_of(3) {
        format!("2001:db8:77::{i:x}")
    } else {
        format!("203.0.113.{}", i + 1)
    }
}

/// Secrets and identifiers met during the run that are not canaries by name (tokens the
/// server made, demo passwords): each must not be found either.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: &str, value: impl Into<String>) {
        self.0.push((what.to_owned(), value.into()));
    }
}

/// Where lyt may have written something: (name, contents).
type Places = Vec<(String, String)>;

/// Every file under `dir`, as text.
fn files(dir: &Path, places: &mut Places) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, places);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            places.push((
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
}

fn assert_clean(places: &Places, secrets: &Secrets) {
    let mut canaries: Vec<(String, String)> = vec![
        ("canary mark".into(), MARK.into()),
        ("canary mark in base64url".into(), MARK_B64.into()),
        ("visitor source address".into(), SOURCE.into()),
        ("forwarded IPv4 addresses".into(), "203.0.113.".into()),
        ("forwarded IPv6 addresses".into(), "2001:db8:77".into()),
    ];
    canaries.extend(secrets.0.iter().cloned());
    let mut hits = Vec::new();
    for (place, text) in places {
        let lower = text.to_lowercase();
        for (what, canary) in &canaries {
            if lower.contains(&canary.to_lowercase()) {
                hits.push(format!("{what} ({canary}) in {place}"));
            }
        }
    }
    assert!(hits.is_empty(), "canary hits:\n{}", hits.join("\n"));
}

/// Connection options of visitor `i`: canary source, forwarded address and user agent.
fn visitor_opts(ts: &TestServer, i: usize) -> ConnectOptions {
    ConnectOptions {
        origin: Some(ts.origin.clone()),
        source: Some(SOURCE.parse().unwrap()),
        headers: vec![
            ("user-agent".into(), AGENT.into()),
            ("x-forwarded-for".into(), address(i)),
        ],
        ..ConnectOptions::default()
    }
}

async fn visitor(ts: &TestServer, i: usize) -> WsClient {
    let mut v = WsClient::connect(&format!("{}/v1/visitor", ts.ws), &visitor_opts(ts, i))
        .await
        .unwrap();
    assert!(matches!(
        v.frame(WAIT).await.unwrap(),
        ServerFrame::Hello { .. }
    ));
    v
}

/// The next frame that is not a callback-list update (every connected counsellor gets
/// those whenever the list changes).
async fn frame(c: &mut WsClient) -> ServerFrame {
    loop {
        match c.frame(WAIT).await.unwrap() {
            ServerFrame::Callbacks { .. } => {}
            other => return other,
        }
    }
}

fn text(body: String) -> AppMessage {
    AppMessage::Text { body, ts: now() }
}

/// Sends `msg` from one end and checks the other end reads it.
async fn say(
    from: &mut WsClient,
    chat: &mut Chat,
    to: &mut WsClient,
    peer: &mut Chat,
    msg: &AppMessage,
    counsellor: bool,
) {
    let conv = chat.conv();
    let (n, m) = chat.seal(msg).unwrap();
    if counsellor {
        from.send(&CounsellorFrame::Data { conv, n, m })
            .await
            .unwrap();
    } else {
        from.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
    }
    let ServerFrame::Data { n, m, .. } = frame(to).await else {
        panic!("expected data")
    };
    assert_eq!(peer.open(n, &m).unwrap().as_ref(), Some(msg));
}

/// The end-to-end handshake of an accepted chat and the visitor's first message, `hello`.
async fn handshake(
    ts: &TestServer,
    v: &mut WsClient,
    c: &mut Counsellor,
    conv: ConvId,
) -> (Chat, Chat) {
    let ServerFrame::Assigned { bundle, .. } = frame(v).await else {
        panic!("expected assigned")
    };
    let (hs, m) = VisitorHandshake::start(&ts.demo.org_root_pub, conv, &bundle, now()).unwrap();
    v.send(&VisitorFrame::Hs1 { conv, m }).await.unwrap();
    let ServerFrame::Hs1 { m, .. } = frame(&mut c.ws).await else {
        panic!("expected hs1")
    };
    let (mut c_chat, m) = c.shift.accept(conv, &m).unwrap();
    c.send(&CounsellorFrame::Hs2 { conv, m }).await.unwrap();
    let ServerFrame::Hs2 { m, .. } = frame(v).await else {
        panic!("expected hs2")
    };
    let mut v_chat = hs.finish(&m).unwrap();
    say(
        v,
        &mut v_chat,
        &mut c.ws,
        &mut c_chat,
        &AppMessage::Hello {},
        false,
    )
    .await;
    (v_chat, c_chat)
}

/// A counsellor on duty for one language, with a ticket kept as a secret.
async fn counsellor(
    ts: &TestServer,
    username: &str,
    lang: &str,
    secrets: &mut Secrets,
) -> Counsellor {
    let ticket = ts.login(username).await.ticket().await.unwrap();
    secrets.add("ticket", ticket.clone());
    let opts = ConnectOptions {
        headers: vec![
            ("user-agent".into(), AGENT.into()),
            ("x-forwarded-for".into(), "203.0.113.200".into()),
        ],
        ..ts.opts()
    };
    let mut ws = WsClient::connect(&format!("{}/v1/counsellor", ts.ws), &opts)
        .await
        .unwrap();
    assert!(matches!(
        ws.frame(WAIT).await.unwrap(),
        ServerFrame::Hello { .. }
    ));
    ws.send(&CounsellorFrame::Auth { ticket }).await.unwrap();
    assert!(matches!(
        ws.frame(WAIT).await.unwrap(),
        ServerFrame::Welcome { .. }
    ));
    let shift = ts.shift(username);
    ws.send(&CounsellorFrame::Duty {
        on: true,
        skills: Some(Skills {
            langs: vec![lang.parse().unwrap()],
            topics: vec!["any".parse().unwrap()],
        }),
        capacity: Some(1),
        bundle: Some(shift.bundle().clone()),
    })
    .await
    .unwrap();
    Counsellor { ws, shift }
}

/// Visitor `i`'s whole chat with `c` in `queue`: join, handshake, canary messages both ways;
/// every fifth drops and resumes; every fourth sends bad frames; the counsellor ends it with
/// tags. Returns the resume token.
async fn chat(ts: &TestServer, c: &mut Counsellor, i: usize, queue: &str) -> String {
    let mut v = visitor(ts, i).await;
    let (_, token) = join_with_token(&mut v, queue).await;
    let ServerFrame::Offer { conv, .. } = frame(&mut c.ws).await else {
        panic!("expected offer")
    };
    c.send(&CounsellorFrame::Accept { conv }).await.unwrap();
    let (mut v_chat, mut c_chat) = handshake(ts, &mut v, c, conv).await;
    for k in 0..3 {
        let msg = text(format!(
            "CANARY-visitor-{i}-{k}: the man who keeps my passport"
        ));
        say(&mut v, &mut v_chat, &mut c.ws, &mut c_chat, &msg, false).await;
        let msg = text(format!(
            "CANARY-counsellor-{i}-{k}: you can call us at any time"
        ));
        say(&mut c.ws, &mut c_chat, &mut v, &mut v_chat, &msg, true).await;
    }
    if i.is_multiple_of(5) {
        // The visitor's connection drops; the chat resumes on a new one.
        v.close().await.unwrap();
        assert!(matches!(frame(&mut c.ws).await, ServerFrame::Peer { .. }));
        let mut again = visitor(ts, i).await;
        again
            .send(&VisitorFrame::Resume {
                token: token.clone(),
                conv,
                upto: Some(2),
            })
            .await
            .unwrap();
        assert!(
            matches!(frame(&mut again).await, ServerFrame::Resumed { conv: got, have: Some(_) } if got == conv)
        );
        assert!(matches!(frame(&mut c.ws).await, ServerFrame::Peer { .. }));
        v = again;
        let msg = text(format!("CANARY-after-resume-{i}"));
        say(&mut v, &mut v_chat, &mut c.ws, &mut c_chat, &msg, false).await;
    }
    if i.is_multiple_of(4) {
        // Bad frames carrying canaries: invalid JSON, an unknown type, a bad field, a forged
        // resume token, a canary queue. Each gets an error; two strikes stay under the limit.
        for bad in [
            format!("{{CANARY-invalid-json-{i}"),
            format!(r#"{{"t":"CANARY-type-{i}"}}"#),
            format!(r#"{{"t":"data","conv":"{conv}","n":"CANARY-n-{i}","m":"x"}}"#),
            format!(r#"{{"t":"join","queue":"canary/{i}"}}"#),
            format!(r#"{{"t":"resume","token":"CANARY-token-{i}","conv":"{conv}"}}"#),
        ] {
            v.send_text(bad).await.unwrap();
            assert!(matches!(frame(&mut v).await, ServerFrame::Error { .. }));
        }
        // Raw canary bytes where the relay expects ciphertext: relayed, never logged.
        let m = URL_SAFE_NO_PAD
            .encode(format!("CANARY-raw-blob-{i}"))
            .parse()
            .unwrap();
        v.send(&VisitorFrame::Data { conv, n: 99, m })
            .await
            .unwrap();
        let ServerFrame::Data { n, m, .. } = frame(&mut c.ws).await else {
            panic!("expected data")
        };
        assert!(c_chat.open(n, &m).is_err(), "not a message of the chat");
    }
    c.send(&CounsellorFrame::End {
        conv,
        tags: Tags {
            topic: vec!["exit".parse().unwrap()],
            outcome: Some("advice".parse().unwrap()),
            channel: Some("chat".parse().unwrap()),
        },
    })
    .await
    .unwrap();
    assert!(matches!(frame(&mut c.ws).await, ServerFrame::Ended { .. }));
    assert!(matches!(frame(&mut v).await, ServerFrame::Ended { .. }));
    token
}

/// The demo phone desk's recipient key and the brobygger office's, from `/v1/offices`.
async fn office_keys(ts: &TestServer) -> ([u8; 32], [u8; 32]) {
    let body: Value = reqwest::get(format!("{}/v1/offices", ts.http))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = |kind: &str| {
        let o = body["offices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == kind)
            .unwrap();
        let cert = crypto::b64_decode(o["cert"].as_str().unwrap(), "cert").unwrap();
        crypto::verify_office_cert(&ts.demo.org_root_pub, &cert, now())
            .unwrap()
            .recipient_pub
    };
    (key("phone_desk"), key("brobygger"))
}

/// Three sealed callback requests with canary phone numbers, handled by `c`.
async fn callbacks(ts: &TestServer, c: &mut Counsellor, desk: &[u8; 32]) {
    for k in 0..3 {
        let mut v = visitor(ts, 100 + k).await;
        let id = ConvId::random();
        let plain = format!(r#"{{"phone":"+45 CANARY {k}","when":"evening","language":"da"}}"#);
        let sealed =
            crypto::seal_callback(desk, &id.0, plain.as_bytes(), &mut rand::rngs::OsRng).unwrap();
        v.send(&VisitorFrame::Callback {
            queue: "da/phone".parse().unwrap(),
            id,
            sealed,
        })
        .await
        .unwrap();
        assert!(matches!(
            v.frame(WAIT).await.unwrap(),
            ServerFrame::CallbackReceived { .. }
        ));
    }
    let items = loop {
        if let ServerFrame::Callbacks { items } = c.frame(WAIT).await.unwrap()
            && items.len() == 3
        {
            break items;
        }
    };
    for item in items {
        c.send(&CounsellorFrame::CallbackDone {
            id: item.id,
            tags: Tags {
                channel: Some("phone".parse().unwrap()),
                outcome: Some("callback".parse().unwrap()),
                ..Tags::default()
            },
        })
        .await
        .unwrap();
    }
    loop {
        if let ServerFrame::Callbacks { items } = c.frame(WAIT).await.unwrap()
            && items.is_empty()
        {
            break;
        }
    }
}

/// A consented referral with canary contents, sealed by `c` (Maja) to the demo office,
/// stored by the relay; the code goes to the visitor inside the chat.
async fn referral(ts: &TestServer, c: &mut Counsellor, office: &[u8; 32], secrets: &mut Secrets) {
    let mut v = visitor(ts, 200).await;
    let (_, token) = join_with_token(&mut v, "da/exit").await;
    secrets.add("resume token", token);
    let ServerFrame::Offer { conv, .. } = frame(&mut c.ws).await else {
        panic!("expected offer")
    };
    c.send(&CounsellorFrame::Accept { conv }).await.unwrap();
    let (mut v_chat, mut c_chat) = handshake(ts, &mut v, c, conv).await;
    let offer = AppMessage::ReferralOffer {
        office_id: BROBYGGER_ID.into(),
        office_name: "Brobygger København (DEMO)".into(),
        fields: vec!["needs: CANARY housing".into()],
    };
    say(&mut c.ws, &mut c_chat, &mut v, &mut v_chat, &offer, true).await;
    let offer_hash = crypto::offer_hash(&serde_json::to_vec(&offer).unwrap());
    let consent = AppMessage::ReferralConsent {
        offer_hash,
        yes: true,
    };
    say(&mut v, &mut v_chat, &mut c.ws, &mut c_chat, &consent, false).await;
    let (key, cert) = lyt::demo::identity(&ts.demo.dir, "maja").unwrap();
    let id: [u8; 16] = rand::random();
    let r = Referral {
        referral_id: crypto::b64_encode(&id),
        created_at: now(),
        office_id: BROBYGGER_ID.into(),
        counsellor_alias: "Maja".into(),
        contact: WILL_QUOTE_CODE.into(),
        language: "da".into(),
        interpreter: false,
        needs: vec!["housing".into()],
        note: "CANARY referral note: lives at the back of the massage parlour".into(),
        safety: "CANARY never call after 18".into(),
        consent: Consent {
            text_version: 1,
            ts: now(),
            offer_hash: crypto::b64_encode(&offer_hash),
        },
    };
    let body = serde_json::to_vec(&r).unwrap();
    let plain = crypto::build_referral_plaintext(&key, &cert, BROBYGGER_ID, &id, &body).unwrap();
    let sealed =
        crypto::seal_referral(BROBYGGER_ID, office, &id, &plain, &mut rand::rngs::OsRng).unwrap();
    c.send(&CounsellorFrame::Referral {
        conv,
        id: ConvId(id),
        office_id: BROBYGGER_ID.into(),
        sealed,
    })
    .await
    .unwrap();
    let ServerFrame::ReferralStored { code, .. } = frame(&mut c.ws).await else {
        panic!("expected referral_stored")
    };
    let msg = text(format!("CANARY your code is {code}"));
    say(&mut c.ws, &mut c_chat, &mut v, &mut v_chat, &msg, true).await;
    v.send(&VisitorFrame::Leave {}).await.unwrap();
    assert!(matches!(frame(&mut c.ws).await, ServerFrame::Ended { .. }));
}

/// Failed logins with canary usernames and passwords (and a real name with a canary
/// password), from canary addresses with a canary user agent.
async fn failed_logins(ts: &TestServer) {
    let http = reqwest::Client::new();
    for (k, username) in ["CANARY-user-1", "canary.user@example.org", "maja", "sofie"]
        .iter()
        .enumerate()
    {
        let res = http
            .post(format!("{}/v1/auth/login", ts.http))
            .header("origin", &ts.origin)
            .header("user-agent", AGENT)
            .header("x-forwarded-for", address(50 + k))
            .json(&json!({ "username": username, "password": format!("CANARY-password-{k}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{username}");
    }
}

/// The supervisor creates an account and resets its password: `staff.json` gets hashes.
async fn supervisor_work(ts: &TestServer, secrets: &mut Secrets) {
    let http = reqwest::Client::new();
    let sofie = ts
        .demo
        .accounts
        .iter()
        .find(|a| a.username == "sofie")
        .unwrap();
    let res = http
        .post(format!("{}/v1/auth/login", ts.http))
        .header("origin", &ts.origin)
        .header("x-forwarded-for", "203.0.113.201")
        .json(&json!({ "username": "sofie", "password": sofie.password }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    secrets.add(
        "session token",
        cookie.split_once('=').unwrap().1.to_owned(),
    );
    let post = async |path: &str, body: Value| -> Value {
        let res = http
            .post(format!("{}{path}", ts.http))
            .header("origin", &ts.origin)
            .header("cookie", &cookie)
            .header("x-forwarded-for", "203.0.113.201")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.unwrap()
    };
    let made = post(
        "/v1/supervisor/accounts",
        json!({ "username": "lea", "alias": "Lea", "role": "counsellor" }),
    )
    .await;
    secrets.add("new account's password", made["password"].as_str().unwrap());
    let reset = post("/v1/supervisor/accounts/lea/password_reset", json!({})).await;
    secrets.add("reset password", reset["password"].as_str().unwrap());
}

/// The whole run at `trace`, in memory and then as a node on Redis, then the search: the
/// log, the data directories, and a dump of every key in Redis (each of which must carry a
/// TTL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_canary_in_logs_or_data() {
    let capture = Capture::default();
    let writer = capture.clone();
    lyt::logging::init("trace", move || writer.clone(), false).unwrap();
    let mut secrets = Secrets::default();
    let mut places = run(None, &mut secrets).await;
    let redis = RedisServer::start();
    places.extend(run(Some(redis.url()), &mut secrets).await);
    places.push(("a dump of Redis".into(), redis_dump(&redis).await));

    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("counsellor connected") && log.contains("frame refused"),
        "the log records the sessions"
    );
    assert!(
        log.contains("one node of many"),
        "the second run was on Redis"
    );
    places.push(("the log at trace".into(), log));
    assert_clean(&places, &secrets);
}

/// Every key in Redis with its value (of any type), as text; asserts each has a TTL.
async fn redis_dump(redis: &RedisServer) -> String {
    let mut con = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys = redis.assert_every_key_has_a_ttl().await;
    assert!(!keys.is_empty(), "the run used Redis");
    let mut out = String::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut con)
            .await
            .unwrap();
        let value: redis::Value = match kind.as_str() {
            "string" => redis::cmd("GET")
                .arg(&key)
                .query_async(&mut con)
                .await
                .unwrap(),
            "hash" => redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut con)
                .await
                .unwrap(),
            "zset" => redis::cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query_async(&mut con)
                .await
                .unwrap(),
            "stream" => redis::cmd("XRANGE")
                .arg(&key)
                .arg("-")
                .arg("+")
                .query_async(&mut con)
                .await
                .unwrap(),
            other => panic!("unexpected type {other} of {key}"),
        };
        out.push_str(&format!("{key} = {value:?}\n"));
    }
    out
}

/// One whole run against a fresh server (a node on Redis at `redis`, if given); returns the
/// places it wrote.
async fn run(redis: Option<String>, secrets: &mut Secrets) -> Places {
    let ts = start(|c| {
        c.rate.trusted_proxy_header = Some("x-forwarded-for".into());
        let data = c.demo_dir.with_file_name("data");
        std::fs::create_dir_all(&data).unwrap();
        c.data_dir = Some(data);
        c.redis.url = redis.map(lyt::config::Secret::new);
    })
    .await;
    let data_dir = ts.demo.dir.with_file_name("data");
    for a in &ts.demo.accounts {
        secrets.add("demo password", a.password.clone());
    }
    let (desk, office) = office_keys(&ts).await;
    let mut maja = counsellor(&ts, "maja", "da", secrets).await;
    let mut ali = counsellor(&ts, "ali", "en", secrets).await;

    // Two counsellors, each with their own language, take 15 visitors each at the same time.
    let (mut maja_tokens, ali_tokens) = tokio::join!(
        async {
            let mut tokens = Vec::new();
            for i in (0..VISITORS).step_by(2) {
                tokens.push(chat(&ts, &mut maja, i, "da/exit").await);
            }
            tokens
        },
        async {
            let mut tokens = Vec::new();
            for i in (1..VISITORS).step_by(2) {
                tokens.push(chat(&ts, &mut ali, i, "en/any").await);
            }
            tokens
        }
    );
    maja_tokens.extend(ali_tokens);
    assert_eq!(maja_tokens.len(), VISITORS);
    for t in maja_tokens {
        secrets.add("resume token", t);
    }

    callbacks(&ts, &mut maja, &desk).await;
    referral(&ts, &mut maja, &office, secrets).await;
    failed_logins(&ts).await;
    supervisor_work(&ts, secrets).await;

    // The stored referral as it waits for its office, then the office pulls it.
    let mut places = Places::new();
    files(&data_dir, &mut places);
    assert!(
        places.iter().any(|(p, _)| p.contains("referrals")),
        "the referral is stored: {:?}",
        places.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    let (office_key, office_token) = lyt::demo::brobygger(&ts.demo.dir).unwrap();
    secrets.add("office token", office_token.clone());
    let out = tempfile::tempdir().unwrap();
    let report = lyt::client::office::pull(&lyt::client::office::PullOptions {
        server: &ts.http,
        office_id: BROBYGGER_ID,
        key: &office_key,
        token: &office_token,
        org_root: &ts.demo.org_root_pub,
        out_dir: out.path(),
    })
    .await
    .unwrap();
    assert_eq!(report.saved.len(), 1, "{report:?}");
    let opened = std::fs::read_to_string(&report.saved[0].1).unwrap();
    assert!(
        opened.contains("CANARY referral note"),
        "the office reads it"
    );

    drop((maja, ali));
    let dir = ts.stop().await;

    // What lyt wrote once stopped: staff.json (hashes only) and the day's statistics.
    files(&data_dir, &mut places);
    let staff = std::fs::read_to_string(data_dir.join("staff.json")).unwrap();
    assert!(
        staff.contains("$argon2id$") && staff.contains("lea"),
        "staff.json holds the accounts' hashes: {staff}"
    );
    assert!(
        places
            .iter()
            .any(|(p, t)| p.contains("stats") && t.contains("advice")),
        "the statistics were saved"
    );
    drop(dir);
    places
}

/// The search itself finds a canary wherever it is, in any case, and a secret by value.
#[test]
fn the_search_finds_what_it_looks_for() {
    let mut secrets = Secrets::default();
    secrets.add("token", "tok-123");
    for text in [
        "a Canary b",
        "x Q0FOQVJZ",
        "127.0.0.77",
        "for=203.0.113.5",
        "tok-123",
    ] {
        let places = vec![("log".to_owned(), text.to_owned())];
        let found = std::panic::catch_unwind(|| assert_clean(&places, &secrets));
        assert!(found.is_err(), "{text} not found");
    }
    assert_clean(
        &vec![("log".to_owned(), "nothing here".to_owned())],
        &secrets,
    );
}
