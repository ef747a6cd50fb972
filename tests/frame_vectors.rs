//! `testdata/frames.json`: one example of every frame the server can send, and of every frame
//! clients send, as the Rust types serialise them. The TypeScript suite parses each server
//! frame with its strict validator, so the two implementations cannot drift apart. Regenerate
//! with `LYT_WRITE_VECTORS=1 cargo test --test frame_vectors`; otherwise the test asserts the
//! checked-in file is what the code produces.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lyt::protocol::{
    Bundle, CallbackItem, ConvId, CounsellorFrame, ErrorCode, Limits, Sealed, ServerFrame, Skills,
    Tags, TransferTarget, VisitorFrame,
};

fn conv() -> ConvId {
    ConvId([7; 16])
}

fn sealed() -> Sealed {
    Sealed {
        enc: vec![1; 32],
        ct: vec![2; 40],
    }
}

fn bundle() -> Bundle {
    Bundle {
        id_cert: vec![3; 120],
        shift_cert: vec![4; 115],
    }
}

/// The name of a server frame; the match has no wildcard, so a new variant without an
/// example fails to compile here.
fn server_name(f: &ServerFrame) -> &'static str {
    match f {
        ServerFrame::Hello { .. } => "hello",
        ServerFrame::Queued { .. } => "queued",
        ServerFrame::Assigned { .. } => "assigned",
        ServerFrame::Offer { .. } => "offer",
        ServerFrame::Welcome { .. } => "welcome",
        ServerFrame::Resumed { .. } => "resumed",
        ServerFrame::Stored { .. } => "stored",
        ServerFrame::OnBreak { .. } => "on_break",
        ServerFrame::Peer { .. } => "peer",
        ServerFrame::Ended { .. } => "ended",
        ServerFrame::ReferralStored { .. } => "referral_stored",
        ServerFrame::CallLogged { .. } => "call_logged",
        ServerFrame::Callbacks { .. } => "callbacks",
        ServerFrame::CallbackReceived { .. } => "callback_received",
        ServerFrame::Error { .. } => "error",
        ServerFrame::Hs1 { .. } => "hs1",
        ServerFrame::Hs2 { .. } => "hs2",
        ServerFrame::Data { .. } => "data",
    }
}

fn server_frames() -> Vec<ServerFrame> {
    let m: lyt::protocol::Blob = "bm9pc2U".parse().unwrap();
    vec![
        ServerFrame::Hello {
            v: 1,
            limits: Limits {
                max_frame: 65536,
                max_text_chars: 4000,
                ping_s: 20,
                idle_s: 60,
            },
        },
        ServerFrame::Queued {
            conv: conv(),
            position: 3,
            eta_s: 240,
            resume: "cmVzdW1lLXRva2VuLXJlc3VtZS10b2tlbi1yZXN1bWUtdG9r".into(),
        },
        ServerFrame::Assigned {
            conv: conv(),
            bundle: bundle(),
            alias: "Maja".into(),
        },
        ServerFrame::Offer {
            conv: conv(),
            queue: "da/exit".parse().unwrap(),
            waited_s: 42,
            expires_s: 30,
        },
        ServerFrame::Welcome {
            alias: "Maja".into(),
            role: "counsellor".into(),
        },
        ServerFrame::Resumed {
            conv: conv(),
            have: None,
        },
        ServerFrame::Resumed {
            conv: conv(),
            have: Some(6),
        },
        ServerFrame::Stored {
            conv: conv(),
            upto: 15,
        },
        ServerFrame::OnBreak {
            reason: lyt::protocol::BreakReason::MissedOffers,
        },
        ServerFrame::Peer {
            conv: conv(),
            state: lyt::protocol::PeerState::Away,
        },
        ServerFrame::Ended {
            conv: conv(),
            reason: lyt::protocol::EndReason::CounsellorEnded,
        },
        ServerFrame::ReferralStored {
            conv: conv(),
            code: "BRO-4KQ7-9MXC".into(),
        },
        ServerFrame::CallLogged {
            started: 1_700_000_000,
            ended: 1_700_000_600,
        },
        ServerFrame::Callbacks {
            items: vec![CallbackItem {
                id: conv().to_string(),
                queue: "da/phone".parse().unwrap(),
                sealed: sealed(),
                age_s: 12,
            }],
        },
        ServerFrame::CallbackReceived {
            id: conv().to_string(),
        },
        ServerFrame::Error {
            code: ErrorCode::Closed,
            message: "closed now".into(),
            retry_after_s: Some(3600),
        },
        ServerFrame::error(ErrorCode::BadFrame, "unknown variant"),
        ServerFrame::Hs1 {
            conv: conv(),
            m: m.clone(),
        },
        ServerFrame::Hs2 {
            conv: conv(),
            m: m.clone(),
        },
        ServerFrame::Data {
            conv: conv(),
            n: 7,
            m,
        },
    ]
}

fn client_frames() -> Vec<serde_json::Value> {
    let m: lyt::protocol::Blob = "bm9pc2U".parse().unwrap();
    let visitor = [
        VisitorFrame::Join {
            queue: "da/exit".parse().unwrap(),
        },
        VisitorFrame::Hs1 {
            conv: conv(),
            m: m.clone(),
        },
        VisitorFrame::Data {
            conv: conv(),
            n: 0,
            m: m.clone(),
        },
        VisitorFrame::Ack {
            conv: conv(),
            upto: 6,
        },
        VisitorFrame::Resume {
            token: "dG9rZW4".into(),
            conv: conv(),
            upto: Some(6),
        },
        VisitorFrame::Resume {
            token: "dG9rZW4".into(),
            conv: conv(),
            upto: None,
        },
        VisitorFrame::Callback {
            queue: "da/phone".parse().unwrap(),
            id: conv(),
            sealed: sealed(),
        },
        VisitorFrame::Leave {},
    ];
    let counsellor = [
        CounsellorFrame::Auth {
            ticket: "dGlja2V0".into(),
        },
        CounsellorFrame::Duty {
            on: true,
            skills: Some(Skills {
                langs: vec!["da".parse().unwrap()],
                topics: vec!["any".parse().unwrap()],
            }),
            capacity: Some(2),
            bundle: Some(bundle()),
        },
        CounsellorFrame::Duty {
            on: false,
            skills: None,
            capacity: None,
            bundle: None,
        },
        CounsellorFrame::Accept { conv: conv() },
        CounsellorFrame::Decline { conv: conv() },
        CounsellorFrame::Hs2 {
            conv: conv(),
            m: m.clone(),
        },
        CounsellorFrame::Data {
            conv: conv(),
            n: 3,
            m,
        },
        CounsellorFrame::Ack {
            conv: conv(),
            upto: 2,
        },
        CounsellorFrame::Transfer {
            conv: conv(),
            to: TransferTarget {
                queue: Some("en/any".parse().unwrap()),
                alias: None,
            },
        },
        CounsellorFrame::End {
            conv: conv(),
            tags: Tags {
                topic: vec!["exit".parse().unwrap()],
                outcome: Some("referred".parse().unwrap()),
                channel: None,
            },
        },
        CounsellorFrame::Break { on: true },
        CounsellorFrame::Referral {
            conv: conv(),
            id: conv(),
            office_id: "kbh".into(),
            sealed: sealed(),
        },
        CounsellorFrame::CallbackDone {
            id: conv().to_string(),
            tags: Tags::default(),
        },
        CounsellorFrame::CallLog {
            started: 1_790_000_000,
            ended: 1_790_000_600,
            language: Some("da".parse().unwrap()),
            tags: Tags::default(),
        },
    ];
    let mut out: Vec<serde_json::Value> = visitor
        .iter()
        .map(
            |f| serde_json::json!({ "from": "visitor", "json": serde_json::to_string(f).unwrap() }),
        )
        .collect();
    out.extend(counsellor.iter().map(
        |f| serde_json::json!({ "from": "counsellor", "json": serde_json::to_string(f).unwrap() }),
    ));
    out
}

fn generate() -> String {
    let server: Vec<serde_json::Value> = server_frames()
        .iter()
        .map(|f| serde_json::json!({ "t": server_name(f), "json": f.to_json() }))
        .collect();
    let doc = serde_json::json!({
        "note": "generated by tests/frame_vectors.rs; every frame the server sends and clients send",
        "server": server,
        "client": client_frames(),
    });
    serde_json::to_string_pretty(&doc).unwrap() + "\n"
}

/// The checked-in `testdata/frames.json` is exactly what the Rust types produce, every server
/// frame type has an example, and every client example parses back strictly.
#[test]
fn frames_json_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/frames.json");
    let text = generate();
    if std::env::var_os("LYT_WRITE_VECTORS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let names: std::collections::BTreeSet<_> = server_frames().iter().map(server_name).collect();
    assert_eq!(names.len(), 18, "one example of every server frame");
    for c in client_frames() {
        let json = c["json"].as_str().unwrap();
        let ok = match c["from"].as_str().unwrap() {
            "visitor" => lyt::protocol::parse_visitor(json).is_ok(),
            _ => lyt::protocol::parse_counsellor(json).is_ok(),
        };
        assert!(ok, "{json}");
    }
    let on_disk =
        std::fs::read_to_string(&path).expect("testdata/frames.json exists (LYT_WRITE_VECTORS=1)");
    assert_eq!(
        on_disk, text,
        "testdata/frames.json is stale: regenerate with LYT_WRITE_VECTORS=1"
    );
}
