//! The staff API of docs/console-api.md against a real server: role checks, disabled
//! accounts, TOTP, identity enrolment (a console-made key goes on duty with the certificate
//! demo mode issues), the supervisor's live figures as a chat goes through its life, and
//! account management.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use lyt::client::e2e::CounsellorIdentity;
use lyt::crypto::IdentityKey;
use lyt::protocol::{CounsellorFrame, ErrorCode, Tags};
use serde_json::{Value, json};

/// A logged-in staff member speaking HTTP like the console in a browser would.
struct Staff {
    base: String,
    origin: String,
    cookie: String,
    http: reqwest::Client,
}

async fn login_as(ts: &TestServer, username: &str, password: &str) -> Result<Staff, Value> {
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{}/v1/auth/login", ts.http))
        .header("origin", &ts.origin)
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    if res.status() != 200 {
        let status = res.status().as_u16();
        let mut body: Value = res.json().await.unwrap();
        body["status"] = json!(status);
        return Err(body);
    }
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    Ok(Staff {
        base: ts.http.clone(),
        origin: ts.origin.clone(),
        cookie,
        http,
    })
}

fn password(ts: &TestServer, username: &str) -> String {
    ts.demo
        .accounts
        .iter()
        .find(|a| a.username == username)
        .unwrap()
        .password
        .clone()
}

async fn staff(ts: &TestServer, username: &str) -> Staff {
    login_as(ts, username, &password(ts, username))
        .await
        .unwrap()
}

impl Staff {
    async fn get(&self, path: &str) -> (u16, Value) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("origin", &self.origin)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

/// Counsellors cannot reach supervisor endpoints (403); nobody reaches any staff endpoint
/// without a session (401); a supervisor can; a foreign Origin is refused on POSTs.
#[tokio::test]
async fn role_checks() {
    let ts = start(|_| {}).await;
    let maja = staff(&ts, "maja").await;
    let sofie = staff(&ts, "sofie").await;
    let anonymous = Staff {
        cookie: "lyt_session=nonsense".into(),
        ..staff(&ts, "ali").await
    };
    for path in [
        "/v1/supervisor/snapshot",
        "/v1/supervisor/accounts",
        "/v1/supervisor/live",
    ] {
        assert_eq!(maja.get(path).await.0, 403, "{path}");
        assert_eq!(anonymous.get(path).await.0, 401, "{path}");
    }
    assert_eq!(sofie.get("/v1/supervisor/snapshot").await.0, 200);
    assert_eq!(sofie.get("/v1/supervisor/accounts").await.0, 200);
    let (status, body) = maja
        .post(
            "/v1/supervisor/accounts",
            json!({ "username": "x", "alias": "X", "role": "counsellor" }),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    assert_eq!(
        maja.post(
            "/v1/supervisor/accounts/ali/disabled",
            json!({ "disabled": true })
        )
        .await
        .0,
        403
    );
    for path in [
        "/v1/auth/me",
        "/v1/console/config",
        "/v1/console/colleagues",
    ] {
        assert_eq!(anonymous.get(path).await.0, 401, "{path}");
        assert_eq!(maja.get(path).await.0, 200, "{path}");
    }
    let (_, me) = maja.get("/v1/auth/me").await;
    assert_eq!(me["alias"], "Maja");
    assert_eq!(me["role"], "counsellor");
    let foreign = Staff {
        origin: "https://evil.example".into(),
        ..staff(&ts, "sofie").await
    };
    assert_eq!(
        foreign
            .post(
                "/v1/supervisor/accounts/ali/disabled",
                json!({ "disabled": true })
            )
            .await
            .0,
        403
    );
    // Without a JSON body a POST is refused before it does anything.
    let res = reqwest::Client::new()
        .post(format!("{}/v1/supervisor/accounts/ali/totp_reset", ts.http))
        .header("cookie", &sofie.cookie)
        .header("origin", &ts.origin)
        .body("")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
}

/// A disabled account cannot log in (answered like a wrong password), its sessions end,
/// its console is disconnected and its chat waits for the reconnect rules; enabling it
/// restores login. A supervisor cannot disable themselves.
#[tokio::test]
async fn disabled_accounts_cannot_log_in() {
    let ts = start(|_| {}).await;
    let sofie = staff(&ts, "sofie").await;
    let maja = staff(&ts, "maja").await;
    let (_v, mut c, _conv) = live_pair(&ts, "maja").await;
    let (status, _) = sofie
        .post(
            "/v1/supervisor/accounts/maja/disabled",
            json!({ "disabled": true }),
        )
        .await;
    assert_eq!(status, 204);
    // The console's socket is closed with 1008.
    loop {
        match c.frame(WAIT).await {
            Ok(_) => continue,
            Err(e) => {
                assert!(e.to_string().contains("1008"), "{e}");
                break;
            }
        }
    }
    assert_eq!(maja.get("/v1/auth/me").await.0, 401);
    let refused = login_as(&ts, "maja", &password(&ts, "maja"))
        .await
        .err()
        .unwrap();
    assert_eq!(refused["status"], 401);
    assert_eq!(refused["message"], "wrong username or password");
    let wrong = login_as(&ts, "ali", "wrong").await.err().unwrap();
    assert_eq!(wrong["message"], refused["message"]);
    let (_, list) = sofie.get("/v1/supervisor/accounts").await;
    let row = list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "maja")
        .unwrap()
        .clone();
    assert_eq!(row["disabled"], true);
    assert_eq!(
        sofie
            .post(
                "/v1/supervisor/accounts/maja/disabled",
                json!({ "disabled": false })
            )
            .await
            .0,
        204
    );
    assert!(login_as(&ts, "maja", &password(&ts, "maja")).await.is_ok());
    let (status, body) = sofie
        .post(
            "/v1/supervisor/accounts/sofie/disabled",
            json!({ "disabled": true }),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("conflict")));
    assert_eq!(
        sofie
            .post(
                "/v1/supervisor/accounts/nobody/disabled",
                json!({ "disabled": true })
            )
            .await
            .0,
        404
    );
}

fn totp_code(secret: &str, at: u64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.into()).to_bytes().unwrap();
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes)
        .unwrap()
        .generate(at)
}

/// TOTP over HTTP: setup, confirm, then login needs a code (`totp_required`), a wrong code
/// is refused, a right one works; a supervisor's reset removes it.
#[tokio::test]
async fn totp_login() {
    let ts = start(|_| {}).await;
    let ali = staff(&ts, "ali").await;
    let (status, setup) = ali.post("/v1/auth/totp/setup", json!({})).await;
    assert_eq!(status, 200);
    let secret = setup["secret"].as_str().unwrap().to_owned();
    assert!(setup["uri"].as_str().unwrap().contains(&secret));
    let (status, body) = ali
        .post("/v1/auth/totp/confirm", json!({ "code": "000000" }))
        .await;
    // (one in a million this is the right code; then the next assertion tells)
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_frame")));
    let now = now();
    let (status, _) = ali
        .post(
            "/v1/auth/totp/confirm",
            json!({ "code": totp_code(&secret, now) }),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(ali.get("/v1/auth/me").await.1["totp_enabled"], true);

    let pw = password(&ts, "ali");
    let needs = login_as(&ts, "ali", &pw).await.err().unwrap();
    assert_eq!(needs["status"], 401);
    assert_eq!(needs["totp_required"], true);
    let http = reqwest::Client::new();
    let login = |code: String| {
        http.post(format!("{}/v1/auth/login", ts.http))
            .json(&json!({ "username": "ali", "password": pw, "totp": code }))
            .send()
    };
    let wrong = login("12345x".into()).await.unwrap();
    assert_eq!(wrong.status(), 401);
    // The code of the next step is accepted (clock drift) and cannot be used twice.
    let next = totp_code(&secret, now + 30);
    assert_eq!(login(next.clone()).await.unwrap().status(), 200);
    assert_eq!(login(next).await.unwrap().status(), 401);
    // A wrong password with a right code says nothing about TOTP.
    let res = http
        .post(format!("{}/v1/auth/login", ts.http))
        .json(&json!({ "username": "ali", "password": "wrong", "totp": totp_code(&secret, now) }))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert!(body.get("totp_required").is_none(), "{body}");

    let sofie = staff(&ts, "sofie").await;
    assert_eq!(
        sofie
            .post("/v1/supervisor/accounts/ali/totp_reset", json!({}))
            .await
            .0,
        204
    );
    assert!(login_as(&ts, "ali", &pw).await.is_ok());
}

/// Demo mode certifies an identity key enrolled by the console at once; a shift signed by
/// that key goes on duty and takes a chat. Outside demo mode the certificate comes from a
/// supervisor, who gets a clear refusal for a certificate of another key.
#[tokio::test]
async fn enrolled_identity_goes_on_duty() {
    let ts = start(|_| {}).await;
    let maja = staff(&ts, "maja").await;
    let key = IdentityKey::generate(&mut rand::rngs::OsRng);
    let (status, body) = maja
        .post(
            "/v1/console/identity",
            json!({ "public_key": lyt::crypto::b64_encode(&key.public()) }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let cert = lyt::crypto::b64_decode(body["cert"].as_str().unwrap(), "cert").unwrap();
    assert_eq!(
        body["fingerprint"],
        lyt::crypto::fingerprint(&key.public()).as_str()
    );
    let parsed = lyt::crypto::IdCert::verify(&cert, &ts.demo.org_root_pub).unwrap();
    assert_eq!(parsed.alias, "Maja");
    assert_eq!(parsed.id_pub, key.public());
    let (_, me) = maja.get("/v1/auth/me").await;
    assert_eq!(me["identity"]["cert"], body["cert"]);

    // Bad keys are refused with a clear message.
    for bad in ["", "AAAA", &lyt::crypto::b64_encode(&[0u8; 32])] {
        let (status, body) = maja
            .post("/v1/console/identity", json!({ "public_key": bad }))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("bad_frame")),
            "{bad}"
        );
    }

    // The console's shift: signed by the enrolled key, accepted on duty, takes a chat.
    let identity = CounsellorIdentity::new(key, cert);
    let shift = identity.start_shift(now()).unwrap();
    let mut c = ts.counsellor_connected("maja").await;
    c.send(&duty(1, shift.bundle().clone())).await.unwrap();
    let mut v = ts.visitor().await;
    join(&mut v, "da/exit").await;
    let conv = offer(&mut c).await;
    c.send(&CounsellorFrame::Accept { conv }).await.unwrap();
    assert_eq!(assigned(&mut v).await, conv);

    // A supervisor registering a certificate of another key is told so.
    let sofie = staff(&ts, "sofie").await;
    let other = IdentityKey::generate(&mut rand::rngs::OsRng);
    let root = lyt::demo::org_root_key(&ts.demo.dir).unwrap();
    let wrong = lyt::crypto::issue_id_cert(
        &root,
        lyt::crypto::Role::Counsellor,
        "Maja",
        &other.public(),
        now() - 10,
        now() + 3600,
        7,
    )
    .unwrap();
    let (status, body) = sofie
        .post(
            "/v1/supervisor/accounts/maja/cert",
            json!({ "cert": lyt::crypto::b64_encode(&wrong) }),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("another key"),
        "{body}"
    );
    let (status, body) = sofie
        .post("/v1/supervisor/accounts/maja/cert", json!({ "cert": "!!" }))
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_frame")));
}

/// The supervisor's figures follow a chat through its life: waiting with its longest wait,
/// counsellors by state and load, active chats, and today's contact by its tags; an unknown
/// tag is refused and the chat stays live; an abandoned wait counts.
#[tokio::test]
async fn snapshot_follows_a_chat() {
    let ts = start(|_| {}).await;
    let sofie = staff(&ts, "sofie").await;
    let (_, s) = sofie.get("/v1/supervisor/snapshot").await;
    assert_eq!(s["open"], true);
    assert_eq!(s["counsellors"]["offline"], 3);
    assert_eq!(s["active_chats"], 0);
    assert_eq!(s["today"]["contacts"], 0);

    let mut v = ts.visitor().await;
    join(&mut v, "da/health").await;
    let (_, s) = sofie.get("/v1/supervisor/snapshot").await;
    let health = s["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == "da/health")
        .unwrap()
        .clone();
    assert_eq!(health["waiting"], 1);
    assert!(health["eta_s"].as_u64().unwrap() >= 60);
    assert_eq!(s["today"]["joined"], 1);

    let mut c = ts.counsellor("maja", 1).await;
    let conv = offer(&mut c).await;
    c.send(&CounsellorFrame::Accept { conv }).await.unwrap();
    assigned(&mut v).await;
    let (_, s) = sofie.get("/v1/supervisor/snapshot").await;
    assert_eq!(s["active_chats"], 1);
    assert_eq!(s["counsellors"]["busy"], 1);
    assert_eq!(s["counsellors"]["offline"], 2);
    assert_eq!(s["load"], json!({ "chats": 1, "capacity": 1 }));
    assert_eq!(s["on_duty"][0]["alias"], "Maja");
    assert_eq!(s["on_duty"][0]["state"], "busy");
    assert_eq!(s["today"]["wait_s"]["count"], 1);

    // Free text is not a tag: refused, and the chat goes on.
    let free_text = Tags {
        topic: vec!["married-to-x".parse().unwrap()],
        ..Tags::default()
    };
    c.send(&CounsellorFrame::End {
        conv,
        tags: free_text,
    })
    .await
    .unwrap();
    assert_eq!(error_code(&mut c).await, ErrorCode::BadFrame);
    let tags = Tags {
        topic: vec!["health".parse().unwrap(), "exit".parse().unwrap()],
        outcome: Some("advice".parse().unwrap()),
        channel: None,
    };
    c.send(&CounsellorFrame::End { conv, tags }).await.unwrap();
    assert_eq!(ended(&mut c).await, "counsellor_ended");

    // An abandoned wait.
    let mut v2 = ts.visitor().await;
    c.send(&CounsellorFrame::Break { on: true }).await.unwrap();
    join(&mut v2, "da/exit").await;
    v2.send(&lyt::protocol::VisitorFrame::Leave {})
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (_, s) = sofie.get("/v1/supervisor/snapshot").await;
    let today = &s["today"];
    assert_eq!(today["contacts"], 1);
    assert_eq!(today["by_channel"]["chat"], 1);
    assert_eq!(today["by_topic"]["health"], 1);
    assert_eq!(today["by_topic"]["exit"], 1);
    assert_eq!(today["by_outcome"]["advice"], 1);
    assert_eq!(today["joined"], 2);
    assert_eq!(today["abandoned"], 1);
    assert_eq!(today["abandon_rate"], 0.5);
    assert_eq!(s["counsellors"]["on_break"], 1);
    assert_eq!(s["active_chats"], 0);
    // Nothing about a visitor: no conversation id anywhere in the snapshot.
    assert!(!s.to_string().contains(&conv.to_string()));

    // `/metrics` on the internal listener carries the same figures.
    let metrics = reqwest::get(format!("http://{}/metrics", ts.server.internal_addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "lyt_contacts_total{channel=\"chat\",outcome=\"advice\"} 1",
        "lyt_contact_topics_total{topic=\"health\"} 1",
        "lyt_counsellors{state=\"on_break\"} 1",
        "lyt_counsellors{state=\"offline\"} 2",
        "lyt_queue_waiting{queue=\"da/exit\"} 0",
        "lyt_queue_longest_wait_seconds{queue=\"da/exit\"} 0",
        "lyt_counsellor_load{of=\"capacity\"} 1",
        "lyt_abandoned_total 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing `{line}` in\n{metrics}"
        );
    }
}

/// `GET /v1/supervisor/live` streams snapshots as Server-Sent Events, and stops when the
/// session ends.
#[tokio::test]
async fn live_stream_sends_snapshots() {
    let ts = start(|_| {}).await;
    let sofie = staff(&ts, "sofie").await;
    let mut res = sofie
        .http
        .get(format!("{}/v1/supervisor/live", ts.http))
        .header("cookie", &sofie.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(WAIT, res.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(text.starts_with("event: snapshot\ndata: {"), "{text}");
    let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    let snapshot: Value = serde_json::from_str(data).unwrap();
    assert!(snapshot["queues"].is_array());
    // Logging out ends the stream at its next tick.
    sofie.post("/v1/auth/logout", json!({})).await;
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = res.chunk().await {}
    })
    .await;
    assert!(end.is_ok(), "the stream did not end after logout");
}

/// A supervisor adds an account (the generated password works once given out), resets its
/// password, and is refused duplicate names and bad input with clear messages.
#[tokio::test]
async fn supervisor_manages_accounts() {
    let ts = start(|_| {}).await;
    let sofie = staff(&ts, "sofie").await;
    let (status, body) = sofie
        .post(
            "/v1/supervisor/accounts",
            json!({ "username": "lea", "alias": "Lea", "role": "counsellor" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let pw = body["password"].as_str().unwrap().to_owned();
    assert!(pw.len() >= 16);
    let lea = login_as(&ts, "lea", &pw).await.unwrap();
    assert_eq!(lea.get("/v1/auth/me").await.1["alias"], "Lea");
    assert_eq!(lea.get("/v1/supervisor/snapshot").await.0, 403);

    for (body, code) in [
        (
            json!({ "username": "lea", "alias": "Other", "role": "counsellor" }),
            409,
        ),
        (
            json!({ "username": "x2", "alias": "lea", "role": "counsellor" }),
            409,
        ),
        (
            json!({ "username": "Bad Name", "alias": "B", "role": "counsellor" }),
            400,
        ),
        (
            json!({ "username": "ok", "alias": "", "role": "counsellor" }),
            400,
        ),
    ] {
        let (status, answer) = sofie.post("/v1/supervisor/accounts", body.clone()).await;
        assert_eq!(status, code, "{body} → {answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    let (status, body) = sofie
        .post("/v1/supervisor/accounts/lea/password_reset", json!({}))
        .await;
    assert_eq!(status, 200);
    let new_pw = body["password"].as_str().unwrap();
    assert_eq!(lea.get("/v1/auth/me").await.0, 401, "old sessions end");
    assert!(login_as(&ts, "lea", &pw).await.is_err());
    assert!(login_as(&ts, "lea", new_pw).await.is_ok());
}

/// Colleagues on duty are listed for transfers, without the caller; the console
/// configuration carries the tag vocabulary, canned responses and the org root.
#[tokio::test]
async fn console_config_and_colleagues() {
    let ts = start(|_| {}).await;
    let maja = staff(&ts, "maja").await;
    let (_, cfg) = maja.get("/v1/console/config").await;
    assert_eq!(
        cfg["org_root"],
        lyt::crypto::b64_encode(&ts.demo.org_root_pub).as_str()
    );
    let topics = cfg["tags"]["topics"].as_array().unwrap();
    assert!(topics.contains(&json!("exit")) && topics.contains(&json!("any")));
    assert!(
        cfg["tags"]["outcomes"]
            .as_array()
            .unwrap()
            .contains(&json!("advice"))
    );
    assert_eq!(cfg["tags"]["channels"], json!(["chat", "phone"]));
    assert!(!cfg["canned"]["da"].as_array().unwrap().is_empty());
    assert_eq!(cfg["queues"][0]["id"], "da/exit");

    let _ali = ts.counsellor("ali", 2).await;
    let _maja_ws = ts.counsellor("maja", 2).await;
    let (_, list) = maja.get("/v1/console/colleagues").await;
    assert_eq!(
        list["colleagues"],
        json!([{ "alias": "Ali", "available": true }])
    );
}

/// A logged phone call counts as a phone contact with its language and tags; impossible
/// times and free-text tags are refused. The day's counts are saved in the data directory
/// at shutdown, and `lyt stats export` turns them into CSV (small counts suppressed when
/// public).
#[tokio::test]
async fn phone_calls_count_and_export() {
    let ts = start(|_| {}).await;
    let sofie = staff(&ts, "sofie").await;
    let mut c = ts.counsellor_connected("ali").await;
    let t = now();
    let tags = Tags {
        topic: vec!["exit".parse().unwrap()],
        outcome: Some("advice".parse().unwrap()),
        channel: None,
    };
    for (started, ended) in [
        (t - 100, t - 200),
        (t - 100_000, t - 99_000),
        (t - 10, t + 3600),
    ] {
        c.send(&CounsellorFrame::CallLog {
            started,
            ended,
            language: None,
            tags: tags.clone(),
        })
        .await
        .unwrap();
        assert_eq!(
            error_code(&mut c).await,
            ErrorCode::BadFrame,
            "{started}..{ended}"
        );
    }
    for _ in 0..3 {
        c.send(&CounsellorFrame::CallLog {
            started: t - 600,
            ended: t - 60,
            language: Some("da".parse().unwrap()),
            tags: tags.clone(),
        })
        .await
        .unwrap();
        // Counted, and the console is told so.
        assert_eq!(
            c.frame(WAIT).await.unwrap(),
            lyt::protocol::ServerFrame::CallLogged {
                started: t - 600,
                ended: t - 60
            }
        );
    }
    c.send(&CounsellorFrame::CallLog {
        started: t - 600,
        ended: t - 60,
        language: Some("en".parse().unwrap()),
        tags: Tags::default(),
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, s) = sofie.get("/v1/supervisor/snapshot").await;
    assert_eq!(s["today"]["by_channel"]["phone"], 4);
    assert_eq!(s["today"]["by_language"]["da"], 3);
    assert_eq!(s["today"]["by_outcome"]["untagged"], 1);

    let date = s["today"]["date"].as_str().unwrap().to_owned();
    let dir = ts.demo.dir.clone();
    let _keep = ts.stop().await;
    let csv = lyt::stats::export_csv(&dir, &date, &date, false).unwrap();
    assert!(
        csv.lines().any(|l| l == format!("{date},channel,phone,4")),
        "{csv}"
    );
    let public = lyt::stats::export_csv(&dir, &date, &date, true).unwrap();
    assert!(
        public
            .lines()
            .any(|l| l == format!("{date},language,en,<3")),
        "{public}"
    );
    assert!(
        public.lines().any(|l| l == format!("{date},language,da,3")),
        "{public}"
    );
}

/// The console and the dashboard are served with the staff CSP (own script, style and
/// connections only, never framed), `no-store`, and only their own assets under their path.
#[tokio::test]
async fn staff_pages_are_served_with_their_policy() {
    let ts = start(|_| {}).await;
    for page in ["console", "dashboard"] {
        let res = reqwest::get(format!("{}/{page}/", ts.http)).await.unwrap();
        assert_eq!(res.status(), 200, "{page}");
        let h = res.headers().clone();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(h["x-frame-options"], "DENY");
        let html = res.text().await.unwrap();
        assert!(
            html.contains(&format!("{page}.js")),
            "{page}.html loads its script"
        );
        for (file, ok) in [
            (format!("{page}.js"), 200),
            (format!("{page}.css"), 200),
            ("widget.js".to_owned(), 404),
            (format!("{page}.html"), 404),
        ] {
            let res = reqwest::get(format!("{}/{page}/{file}", ts.http))
                .await
                .unwrap();
            assert_eq!(res.status(), ok, "/{page}/{file}");
        }
    }
}
