//! Validated scalar types of the wire: conversation ids, queue ids, languages, topics, slugs
//! and bounded base64url text. Each parses from a JSON string and refuses anything else, so a
//! frame that deserialises is a frame the relay can act on.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// True when `s` is non-empty, at most `max` bytes, and made only of `allowed` characters.
fn is_token(s: &str, max: usize, allowed: impl Fn(u8) -> bool) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(allowed)
}

/// The base64url alphabet as a table: every relayed frame's payload is checked against it,
/// a character at a time.
static B64URL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
        b += 1;
    }
    t
};

fn is_b64url_char(b: u8) -> bool {
    B64URL[usize::from(b)]
}

/// A conversation id: 16 random bytes, base64url without padding on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConvId(pub [u8; 16]);

impl ConvId {
    /// A fresh random conversation id.
    pub fn random() -> Self {
        Self(rand::random())
    }
}

impl fmt::Display for ConvId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for ConvId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConvId({self})")
    }
}

impl std::str::FromStr for ConvId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 22 {
            return Err("conv must be 16 bytes in base64url".into());
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| "conv is not base64url".to_string())?;
        let arr: [u8; 16] = bytes
            .try_into()
            .map_err(|_| "conv must be 16 bytes in base64url".to_string())?;
        Ok(Self(arr))
    }
}

impl Serialize for ConvId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ConvId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Declares a validated string newtype that (de)serialises as a JSON string.
macro_rules! string_type {
    ($(#[$doc:meta])* $name:ident, $check:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                let check: fn(&str) -> bool = $check;
                if check(&s) { Ok(Self(s)) } else { Err(format!("invalid {}", $what)) }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::try_from(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn is_lang(s: &str) -> bool {
    (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase())
}

fn is_slug(s: &str) -> bool {
    is_token(s, 32, |b| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
    })
}

string_type!(
    /// A language code: 2–3 lowercase ASCII letters (ISO 639-1 or -3), e.g. `da`.
    Lang, is_lang, "language (2-3 lowercase letters)"
);
string_type!(
    /// A topic: a slug of 1–32 of `a-z 0-9 _ -`, e.g. `exit`; `any` means every topic.
    Topic, is_slug, "topic (1-32 of a-z 0-9 _ -)"
);
string_type!(
    /// A short category value or alias: 1–32 of `a-z 0-9 _ -` (never free text).
    Slug, is_slug, "value (1-32 of a-z 0-9 _ -)"
);
string_type!(
    /// A queue id `lang/topic`, e.g. `da/exit`.
    QueueId,
    |s| s.split_once('/').is_some_and(|(l, t)| is_lang(l) && is_slug(t)),
    "queue (lang/topic, e.g. da/exit)"
);
string_type!(
    /// A base64url (no padding) Noise message, relayed and never decoded by the relay.
    Blob,
    |s| is_token(s, super::MAX_BLOB_CHARS, is_b64url_char),
    "payload (base64url, at most 22000 chars)"
);

impl QueueId {
    /// The language part, e.g. `da`.
    pub fn lang(&self) -> &str {
        self.0.split_once('/').map_or("", |(l, _)| l)
    }

    /// The topic part, e.g. `exit`.
    pub fn topic(&self) -> &str {
        self.0.split_once('/').map_or("", |(_, t)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Queue ids, languages and slugs accept the documented forms and nothing else.
    #[test]
    fn scalar_validation() {
        assert!("da/exit".parse::<QueueId>().is_ok());
        assert!("en/any".parse::<QueueId>().is_ok());
        for bad in [
            "da",
            "DA/exit",
            "da/",
            "/exit",
            "da/ex it",
            "dan1/x",
            "da/exit/x",
        ] {
            assert!(bad.parse::<QueueId>().is_err(), "{bad}");
        }
        assert!("a".repeat(33).parse::<Slug>().is_err());
        assert!("Free text".parse::<Slug>().is_err());
        let q: QueueId = "da/exit".parse().unwrap();
        assert_eq!((q.lang(), q.topic()), ("da", "exit"));
    }

    /// A conversation id round-trips through its wire form and refuses wrong lengths.
    #[test]
    fn conv_id_round_trip() {
        let c = ConvId::random();
        assert_eq!(c.to_string().parse::<ConvId>().unwrap(), c);
        assert!("AAAA".parse::<ConvId>().is_err());
        assert!("A".repeat(22).parse::<ConvId>().is_ok());
        assert!("!".repeat(22).parse::<ConvId>().is_err());
    }
}
