//! The JSON frames of PROTOCOL.md §3, one enum per direction and endpoint, and the strict
//! parsers that classify failures into invalid JSON (three strikes ⇒ close 1008) and a
//! well-formed frame the relay cannot accept (`bad_frame`, the connection stays open).

use serde::{Deserialize, Serialize};
use serde_json::error::Category;

use super::{Blob, Bundle, ConvId, QueueId, Sealed, Skills, Tags, TransferTarget};

/// A frame sent by a visitor on `/v1/visitor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)]
pub enum VisitorFrame {
    /// Wait in a queue for a counsellor.
    Join { queue: QueueId },
    /// Noise message 1.
    Hs1 { conv: ConvId, m: Blob },
    /// A Noise transport message; `n` is the sender's counter.
    Data { conv: ConvId, n: u64, m: Blob },
    /// Everything from the counsellor up to counter `upto` has arrived.
    Ack { conv: ConvId, upto: u64 },
    /// Take back a conversation after a dropped connection; `upto` is the highest counter
    /// received from the counsellor in this epoch (absent when none was).
    Resume {
        token: String,
        conv: ConvId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        upto: Option<u64>,
    },
    /// A sealed callback request for the phone desk. `id` is 16 random bytes chosen by the
    /// visitor: the HPKE `aad` of the envelope and the request's id (an addition to §3,
    /// without which the phone desk could not open it).
    Callback {
        queue: QueueId,
        id: ConvId,
        sealed: Sealed,
    },
    /// The visitor ends whatever they are in (quick exit sends this without waiting). A
    /// struct variant so that unknown fields are refused like everywhere else.
    Leave {},
}

/// A frame sent by a counsellor on `/v1/counsellor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)]
pub enum CounsellorFrame {
    /// The first frame: a single-use ticket from `POST /v1/auth/ticket`.
    Auth { ticket: String },
    /// Go on or off duty; `skills`, `capacity` and `bundle` are required to go on.
    Duty {
        on: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        skills: Option<Skills>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        capacity: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bundle: Option<Bundle>,
    },
    /// Take an offered conversation.
    Accept { conv: ConvId },
    /// Refuse an offered conversation.
    Decline { conv: ConvId },
    /// Noise message 2.
    Hs2 { conv: ConvId, m: Blob },
    /// A Noise transport message; `n` is the sender's counter.
    Data { conv: ConvId, n: u64, m: Blob },
    /// Everything from the visitor up to counter `upto` has arrived.
    Ack { conv: ConvId, upto: u64 },
    /// Hand the conversation to a queue or a colleague.
    Transfer { conv: ConvId, to: TransferTarget },
    /// End the conversation with anonymous tags.
    End {
        conv: ConvId,
        #[serde(default)]
        tags: Tags,
    },
    /// Take or end a break: no offers while on break.
    Break { on: bool },
    /// A sealed referral for a brobygger office. `id` is the referral id (16 random bytes):
    /// the envelope's HPKE `aad`, inside `R` and under the signature (an addition to §3,
    /// without which the office could not open it).
    Referral {
        conv: ConvId,
        id: ConvId,
        office_id: String,
        sealed: Sealed,
    },
    /// A callback request has been handled.
    CallbackDone {
        id: String,
        #[serde(default)]
        tags: Tags,
    },
    /// A phone call a counsellor took (start and end, Unix seconds, and anonymous tags), so
    /// the statistics cover phone and chat alike. Counted under channel `phone`; answered
    /// with `call_logged` once counted, or an error (an addition to §3).
    CallLog {
        started: u64,
        ended: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<super::Lang>,
        #[serde(default)]
        tags: Tags,
    },
}

/// Limits announced to clients in the server's `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Maximum WebSocket message size in bytes.
    pub max_frame: usize,
    /// Maximum characters of a chat message body.
    pub max_text_chars: usize,
    /// Seconds between server pings.
    pub ping_s: u64,
    /// Seconds of silence after which the server closes the connection.
    pub idle_s: u64,
}

/// A pending callback request as listed to the phone desk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackItem {
    /// Request id.
    pub id: String,
    /// The phone queue.
    pub queue: QueueId,
    /// The sealed request.
    pub sealed: Sealed,
    /// Seconds since it was made.
    pub age_s: u64,
}

/// A frame sent by the server, to a visitor or a counsellor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ServerFrame {
    /// On connect: protocol version and limits.
    Hello { v: u32, limits: Limits },
    /// The visitor's place in the queue; pushed again on every change. `conv` lets a visitor
    /// whose connection drops while waiting resume their place.
    Queued {
        conv: ConvId,
        position: u32,
        eta_s: u64,
        resume: String,
    },
    /// A counsellor took the conversation: start a new handshake.
    Assigned {
        conv: ConvId,
        bundle: Bundle,
        alias: String,
    },
    /// Offered to a counsellor.
    Offer {
        conv: ConvId,
        queue: QueueId,
        waited_s: u64,
        expires_s: u64,
    },
    /// After `auth`: who the counsellor is.
    Welcome { alias: String, role: String },
    /// To a visitor: the conversation was taken back after a dropped connection; what was
    /// missed follows. `have` is the highest `n` of the visitor's `data` the relay has kept
    /// in this epoch (absent: none): the client sends again, unchanged, what it sent after
    /// that. To a counsellor: a parked chat is theirs again, under a new epoch (no `have`).
    Resumed {
        conv: ConvId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        have: Option<u64>,
    },
    /// The relay has kept every `data` this client sent in `conv` up to counter `upto` in
    /// this epoch: a client may forget them (it keeps the rest to send again after a
    /// resume). Sent after every `STORED_EVERY`th frame (`crate::protocol::STORED_EVERY`).
    Stored { conv: ConvId, upto: u64 },
    /// To a counsellor: the server put them on break; `reason` says why (`missed_offers`).
    OnBreak { reason: super::BreakReason },
    /// To a counsellor: the visitor's connection dropped (`away`) or was resumed (`back`).
    Peer {
        conv: ConvId,
        state: super::PeerState,
    },
    /// The conversation ended; `reason` is a stable slug.
    Ended {
        conv: ConvId,
        reason: super::EndReason,
    },
    /// A referral was stored; the code to give the visitor.
    ReferralStored { conv: ConvId, code: String },
    /// To a counsellor: the phone call logged with these times was counted.
    CallLogged { started: u64, ended: u64 },
    /// Pending callback requests for the phone desk.
    Callbacks { items: Vec<CallbackItem> },
    /// To a visitor: their sealed callback request was stored under this id.
    CallbackReceived { id: String },
    /// Something went wrong; see `code`.
    Error {
        code: super::ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_s: Option<u64>,
    },
    /// Relayed Noise message 1.
    Hs1 { conv: ConvId, m: Blob },
    /// Relayed Noise message 2.
    Hs2 { conv: ConvId, m: Blob },
    /// A relayed transport message.
    Data { conv: ConvId, n: u64, m: Blob },
}

impl ServerFrame {
    /// An error frame with a short English message.
    pub fn error(code: super::ErrorCode, message: impl Into<String>) -> Self {
        Self::Error {
            code,
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// The frame as JSON text.
    pub fn to_json(&self) -> String {
        // Serialising these types cannot fail: no maps with non-string keys, no custom
        // serialisers that error.
        serde_json::to_string(self).expect("server frames always serialise")
    }
}

/// Why a client frame was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// Not JSON at all (counts towards the three strikes).
    #[error("invalid JSON")]
    InvalidJson,
    /// JSON, but not a frame this endpoint accepts; the message says why.
    #[error("{0}")]
    Bad(String),
}

fn classify(e: &serde_json::Error) -> FrameError {
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => FrameError::InvalidJson,
        Category::Data => FrameError::Bad(short(e)),
    }
}

/// The serde message without the line/column suffix, bounded in length.
fn short(e: &serde_json::Error) -> String {
    let mut msg = e.to_string();
    if let Some(i) = msg.find(" at line ") {
        msg.truncate(i);
    }
    msg.truncate(msg.floor_char_boundary(200));
    msg
}

/// Frames are JSON objects. serde's derived parsers would also take the array form of a
/// struct (`["join","da/exit"]`); the protocol has no such form, so it is refused up front.
fn require_object(text: &str) -> Result<(), FrameError> {
    match text.trim_start().as_bytes().first() {
        Some(b'{') => Ok(()),
        Some(b'[' | b'"' | b'0'..=b'9' | b'-' | b't' | b'f' | b'n') => {
            serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| classify(&e))?;
            Err(FrameError::Bad("a frame is a JSON object".into()))
        }
        _ => Err(FrameError::InvalidJson),
    }
}

/// Parses a visitor frame strictly.
pub fn parse_visitor(text: &str) -> Result<VisitorFrame, FrameError> {
    require_object(text)?;
    serde_json::from_str(text).map_err(|e| classify(&e))
}

/// Parses a counsellor frame strictly.
pub fn parse_counsellor(text: &str) -> Result<CounsellorFrame, FrameError> {
    require_object(text)?;
    serde_json::from_str(text).map_err(|e| classify(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// End reasons, break reasons and peer states travel as their stable names; a name a
    /// newer server sends parses as `Other` rather than failing the frame.
    #[test]
    fn vocabularies_are_stable_names() {
        use crate::protocol::{BreakReason, EndReason, PeerState};
        let ended: ServerFrame = serde_json::from_str(
            r#"{"t":"ended","conv":"AAAAAAAAAAAAAAAAAAAAAA","reason":"offer_expired"}"#,
        )
        .unwrap();
        assert!(matches!(
            ended,
            ServerFrame::Ended {
                reason: EndReason::OfferExpired,
                ..
            }
        ));
        assert!(ended.to_json().contains(r#""reason":"offer_expired""#));
        let future: ServerFrame = serde_json::from_str(
            r#"{"t":"ended","conv":"AAAAAAAAAAAAAAAAAAAAAA","reason":"some_new_reason"}"#,
        )
        .unwrap();
        assert!(matches!(
            future,
            ServerFrame::Ended {
                reason: EndReason::Other,
                ..
            }
        ));
        for (r, name) in [
            (EndReason::CounsellorEnded, "counsellor_ended"),
            (EndReason::VisitorLeft, "visitor_left"),
            (EndReason::StateLost, "state_lost"),
            (EndReason::CryptoFailed, "crypto_failed"),
        ] {
            assert_eq!(r.as_str(), name);
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{name}\""));
        }
        assert_eq!(BreakReason::MissedOffers.to_string(), "missed_offers");
        assert_eq!(
            serde_json::to_string(&PeerState::Back).unwrap(),
            r#""back""#
        );
    }

    /// Every visitor frame of PROTOCOL.md §3 parses from its documented form.
    #[test]
    fn visitor_frames_parse() {
        let conv = "AAAAAAAAAAAAAAAAAAAAAA";
        for text in [
            r#"{"t":"join","queue":"da/exit"}"#.to_string(),
            format!(r#"{{"t":"hs1","conv":"{conv}","m":"abc_-"}}"#),
            format!(r#"{{"t":"data","conv":"{conv}","n":7,"m":"abc"}}"#),
            format!(r#"{{"t":"ack","conv":"{conv}","upto":7}}"#),
            format!(r#"{{"t":"resume","token":"x","conv":"{conv}","upto":6}}"#),
            r#"{"t":"callback","queue":"da/phone","id":"AAAAAAAAAAAAAAAAAAAAAA","sealed":{"enc":"AAAA","ct":"AAAA"}}"#.into(),
            r#"{"t":"leave"}"#.into(),
        ] {
            parse_visitor(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
    }

    /// Every counsellor frame of PROTOCOL.md §3 parses from its documented form.
    #[test]
    fn counsellor_frames_parse() {
        let conv = "AAAAAAAAAAAAAAAAAAAAAA";
        for text in [
            r#"{"t":"auth","ticket":"abc"}"#.to_string(),
            r#"{"t":"duty","on":true,"skills":{"langs":["da","en"],"topics":["exit","health"]},"capacity":2,"bundle":{"id_cert":"AAAA","shift_cert":"AAAA"}}"#.into(),
            r#"{"t":"duty","on":false}"#.into(),
            format!(r#"{{"t":"accept","conv":"{conv}"}}"#),
            format!(r#"{{"t":"decline","conv":"{conv}"}}"#),
            format!(r#"{{"t":"transfer","conv":"{conv}","to":{{"queue":"en/any"}}}}"#),
            format!(r#"{{"t":"transfer","conv":"{conv}","to":{{"alias":"ali"}}}}"#),
            format!(
                r#"{{"t":"end","conv":"{conv}","tags":{{"topic":["exit"],"outcome":"referred"}}}}"#
            ),
            r#"{"t":"break","on":true}"#.into(),
            format!(
                r#"{{"t":"referral","conv":"{conv}","id":"{conv}","office_id":"kbh","sealed":{{"enc":"AA","ct":"AA"}}}}"#
            ),
            r#"{"t":"call_log","started":1,"ended":2,"language":"da","tags":{"outcome":"advice"}}"#
                .into(),
            r#"{"t":"callback_done","id":"x","tags":{"outcome":"advice"}}"#.into(),
        ] {
            parse_counsellor(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
    }

    /// Unknown fields, unknown types, wrong types and bad values are refused as bad frames;
    /// text that is not JSON is classified as such.
    #[test]
    fn strictness() {
        let bad = [
            r#"{"t":"join","queue":"da/exit","extra":1}"#,
            r#"{"t":"leave","x":1}"#,
            r#"{"t":"nope"}"#,
            r#"{"queue":"da/exit"}"#,
            r#"{"t":"join","queue":"Da/Exit"}"#,
            r#"{"t":"data","conv":"short","n":1,"m":"a"}"#,
            r#"{"t":"data","conv":"AAAAAAAAAAAAAAAAAAAAAA","n":-1,"m":"a"}"#,
            r#"{"t":"data","conv":"AAAAAAAAAAAAAAAAAAAAAA","n":1,"m":"not base64!"}"#,
            r#"[1,2]"#,
            r#"["join","da/exit"]"#,
            r#""join""#,
            "42",
        ];
        for text in bad {
            assert!(
                matches!(parse_visitor(text), Err(FrameError::Bad(_))),
                "{text} -> {:?}",
                parse_visitor(text)
            );
        }
        for text in ["", "{", "not json", r#"{"t":"join""#] {
            assert_eq!(parse_visitor(text), Err(FrameError::InvalidJson), "{text}");
        }
        let tags = r#"{"t":"end","conv":"AAAAAAAAAAAAAAAAAAAAAA","tags":{"note":"free text"}}"#;
        assert!(matches!(parse_counsellor(tags), Err(FrameError::Bad(_))));
    }

    /// Server frames serialise to the documented wire form.
    #[test]
    fn server_frames_serialise() {
        let f = ServerFrame::Queued {
            conv: ConvId([0; 16]),
            position: 3,
            eta_s: 240,
            resume: "tok".into(),
        };
        assert_eq!(
            f.to_json(),
            r#"{"t":"queued","conv":"AAAAAAAAAAAAAAAAAAAAAA","position":3,"eta_s":240,"resume":"tok"}"#
        );
        let e = ServerFrame::error(super::super::ErrorCode::QueueFull, "full");
        assert_eq!(
            e.to_json(),
            r#"{"t":"error","code":"queue_full","message":"full"}"#
        );
    }
}
