//! base64url without padding, the encoding of every binary field in lyt's JSON, and serde
//! adapters for it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{Error, Result};

/// Encodes bytes as base64url without padding.
pub fn b64_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding; `what` names the field in the error.
pub fn b64_decode(text: &str, what: &'static str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(text.as_bytes())
        .map_err(|_| Error::Base64(what))
}

/// Decodes base64url into exactly `N` bytes.
pub(crate) fn b64_decode_array<const N: usize>(text: &str, what: &'static str) -> Result<[u8; N]> {
    let bytes = b64_decode(text, what)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| Error::Length {
        what,
        expected: N,
        got: bytes.len(),
    })
}

/// `#[serde(with = "b64::bytes")]` for `Vec<u8>` fields.
pub(crate) mod bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::b64_encode(v))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::b64_decode(&text, "field").map_err(serde::de::Error::custom)
    }
}

/// `#[serde(with = "b64::array")]` for `[u8; N]` fields.
pub(crate) mod array {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer, const N: usize>(
        v: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::b64_encode(v))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::b64_decode_array(&text, "field").map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Round-trips bytes and refuses padding and the standard alphabet.
    #[test]
    fn strict_url_safe_no_pad() {
        let data = [0xfbu8, 0xff, 0x00];
        assert_eq!(b64_encode(&data), "-_8A");
        assert_eq!(b64_decode("-_8A", "x").unwrap(), data);
        assert_eq!(b64_decode("+/8A", "x"), Err(Error::Base64("x")));
        assert_eq!(b64_decode("AA==", "x"), Err(Error::Base64("x")));
        assert!(matches!(
            b64_decode_array::<2>("AAAA", "x"),
            Err(Error::Length {
                expected: 2,
                got: 3,
                ..
            })
        ));
    }
}
