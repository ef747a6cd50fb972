//! The application messages of PROTOCOL.md §2 (the JSON inside the padding), and the
//! [`Session`] helpers that encode, pad and encrypt them, or decrypt, unpad and parse them.
//! After `bye` in either direction the session refuses everything.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::pad::{pad, unpad};
use super::session::Session;
use super::{Error, Result};

/// Longest `text` body, in Unicode scalar values (chars).
pub const MAX_TEXT_CHARS: usize = 4000;

/// One application message; JSON with the kind in `"k"`, unknown fields refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case", deny_unknown_fields)]
pub enum AppMessage {
    /// Key confirmation: the visitor's first message, and only that. (A struct variant, not
    /// a unit one, so that serde's `deny_unknown_fields` applies to it too.)
    Hello {},
    /// A chat message.
    Text {
        /// The text, at most [`MAX_TEXT_CHARS`] chars.
        body: String,
        /// Sender's clock, Unix seconds.
        ts: u64,
    },
    /// Typing indicator.
    Typing {
        /// Whether the sender is typing.
        on: bool,
    },
    /// Read receipt for all messages up to counter `upto`.
    Read {
        /// The highest counter read.
        upto: u64,
    },
    /// The counsellor proposes a referral; the widget shows exactly these fields.
    ReferralOffer {
        /// The office's certified id.
        office_id: String,
        /// The office's certified display name.
        office_name: String,
        /// The referral fields the office would receive.
        fields: Vec<String>,
    },
    /// The visitor's answer to an offer.
    ReferralConsent {
        /// [`offer_hash`] of the offer's exact unpadded JSON, b64url.
        #[serde(with = "super::b64::array")]
        offer_hash: [u8; 32],
        /// Whether the visitor agrees.
        yes: bool,
    },
    /// The code to show at the office's reception.
    ReferralCode {
        /// The referral code, e.g. `BRO-4KQ7-9MXC`.
        code: String,
        /// The office's display name.
        office_name: String,
        /// The office's address.
        address: String,
        /// The office's opening hours.
        hours: String,
    },
    /// Explicit end of the conversation.
    Bye {
        /// Why the sender ended.
        reason: String,
    },
}

impl AppMessage {
    /// Checks bounds that JSON types cannot express.
    fn validate(&self) -> Result<()> {
        match self {
            AppMessage::Text { body, .. } if body.chars().count() > MAX_TEXT_CHARS => Err(
                Error::Message(format!("text body longer than {MAX_TEXT_CHARS} chars")),
            ),
            _ => Ok(()),
        }
    }

    /// Parses and validates the JSON of one message.
    pub fn from_json(json: &[u8]) -> Result<Self> {
        // serde would also take the array form of a struct variant; messages are objects.
        if json.first() != Some(&b'{') {
            return Err(Error::Message("a message is a JSON object".into()));
        }
        let msg: AppMessage =
            serde_json::from_slice(json).map_err(|e| Error::Message(e.to_string()))?;
        msg.validate()?;
        Ok(msg)
    }

    /// The JSON of this message, validated.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        self.validate()?;
        serde_json::to_vec(self).map_err(|e| Error::Message(e.to_string()))
    }
}

/// `SHA-256` of the exact unpadded JSON bytes of a `referral_offer`, as received.
pub fn offer_hash(offer_json: &[u8]) -> [u8; 32] {
    Sha256::digest(offer_json).into()
}

/// A received application message with the exact JSON it came in (for [`offer_hash`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The parsed message.
    pub message: AppMessage,
    /// The exact unpadded JSON bytes.
    pub json: Vec<u8>,
}

impl Session {
    /// Encodes, pads and encrypts `msg`; returns the counter `n` and the ciphertext. Sending
    /// `bye` ends the session.
    pub fn send_message(&mut self, msg: &AppMessage) -> Result<(u64, Vec<u8>)> {
        let json = Zeroizing::new(msg.to_json()?);
        let padded = Zeroizing::new(pad(&json)?);
        let out = self.encrypt(&padded)?;
        if matches!(msg, AppMessage::Bye { .. }) {
            self.end();
        }
        Ok(out)
    }

    /// Decrypts, unpads and parses message `n`. The responder's first message must be
    /// `hello` and `hello` is refused anywhere else; a received `bye` ends the session.
    /// Any error but [`Error::Replay`] poisons the session.
    pub fn receive_message(&mut self, n: u64, ciphertext: &[u8]) -> Result<Received> {
        let padded = Zeroizing::new(self.decrypt(n, ciphertext)?);
        let parsed = unpad(&padded).and_then(|json| {
            let message = AppMessage::from_json(json)?;
            let must_be_hello = !self.is_initiator() && n == 0;
            if must_be_hello != (message == AppMessage::Hello {}) {
                return Err(Error::Message(
                    "hello must be exactly the first visitor message".into(),
                ));
            }
            Ok(Received {
                message,
                json: json.to_vec(),
            })
        });
        match parsed {
            Ok(received) => {
                if matches!(received.message, AppMessage::Bye { .. }) {
                    self.end();
                }
                Ok(received)
            }
            Err(e) => {
                self.poison();
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The array form serde would accept for struct variants is refused: messages are
    /// objects, as the TypeScript implementation also requires.
    #[test]
    fn array_form_is_refused() {
        for json in [
            &br#"["hello"]"#[..],
            br#"["text","a",5]"#,
            br#" {"k":"hello"}"#,
        ] {
            assert!(
                AppMessage::from_json(json).is_err(),
                "{}",
                String::from_utf8_lossy(json)
            );
        }
        assert!(AppMessage::from_json(br#"{"k":"hello"}"#).is_ok());
    }

    /// The wire JSON uses "k" tags and snake_case names, and refuses unknown fields/kinds.
    #[test]
    fn json_shape_is_strict() {
        assert_eq!(AppMessage::Hello {}.to_json().unwrap(), br#"{"k":"hello"}"#);
        let text = AppMessage::Text {
            body: "hej".into(),
            ts: 5,
        };
        assert_eq!(
            text.to_json().unwrap(),
            br#"{"k":"text","body":"hej","ts":5}"#
        );
        assert!(AppMessage::from_json(br#"{"k":"hello","x":1}"#).is_err());
        assert!(AppMessage::from_json(br#"{"k":"text","body":"a","ts":1,"x":2}"#).is_err());
        assert!(AppMessage::from_json(br#"{"k":"nope"}"#).is_err());
        assert!(AppMessage::from_json(br#"{"k":"text","body":"a"}"#).is_err());
        let consent = AppMessage::ReferralConsent {
            offer_hash: [0xff; 32],
            yes: true,
        };
        let json = consent.to_json().unwrap();
        assert_eq!(AppMessage::from_json(&json).unwrap(), consent);
    }

    /// A text body of 4000 chars is accepted and 4001 refused, counting chars not bytes.
    #[test]
    fn text_limit() {
        let ok = AppMessage::Text {
            body: "ø".repeat(4000),
            ts: 0,
        };
        assert!(AppMessage::from_json(&ok.to_json().unwrap()).is_ok());
        let json = format!(r#"{{"k":"text","body":"{}","ts":0}}"#, "ø".repeat(4001));
        assert!(AppMessage::from_json(json.as_bytes()).is_err());
        let long = AppMessage::Text {
            body: "a".repeat(4001),
            ts: 0,
        };
        assert!(long.to_json().is_err());
    }
}
