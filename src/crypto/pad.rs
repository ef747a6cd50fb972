//! Application plaintext padding of PROTOCOL.md §2: `u16 len || json || zeros` to the
//! smallest bucket of 256, 1024, 4096 or 16384 bytes, so ciphertext sizes reveal little.

use subtle::ConstantTimeEq as _;

use super::{Error, Result};

/// The padded sizes, smallest first.
pub const BUCKETS: [usize; 4] = [256, 1024, 4096, 16384];
/// The largest JSON that fits: the largest bucket minus the 2-byte length.
pub const MAX_JSON_LEN: usize = 16384 - 2;

/// Pads `json` to the smallest bucket that holds it; refuses anything over [`MAX_JSON_LEN`].
pub fn pad(json: &[u8]) -> Result<Vec<u8>> {
    let too_large = Error::TooLarge {
        len: json.len(),
        max: MAX_JSON_LEN,
    };
    let size = BUCKETS
        .into_iter()
        .find(|&bucket| json.len() + 2 <= bucket)
        .ok_or(too_large.clone())?;
    let len = u16::try_from(json.len()).map_err(|_| too_large)?;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(json);
    out.resize(size, 0);
    Ok(out)
}

/// Returns the JSON inside padded plaintext; refuses a size that is not a bucket, a length
/// past the end and non-zero padding.
pub fn unpad(padded: &[u8]) -> Result<&[u8]> {
    if !BUCKETS.contains(&padded.len()) {
        return Err(Error::Padding("size is not a padding bucket"));
    }
    let (len, rest) = padded.split_at(2);
    let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    if len > rest.len() {
        return Err(Error::Padding("length past the end"));
    }
    let (json, padding) = rest.split_at(len);
    let zeros = vec![0u8; padding.len()];
    if !bool::from(padding.ct_eq(&zeros)) {
        return Err(Error::Padding("non-zero padding"));
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length from 0 to the maximum round-trips into the smallest fitting bucket.
    #[test]
    fn every_length_round_trips() {
        let data: Vec<u8> = (0..MAX_JSON_LEN).map(|i| (i % 251) as u8 + 1).collect();
        for len in 0..=MAX_JSON_LEN {
            let padded = pad(&data[..len]).unwrap();
            let want = BUCKETS.into_iter().find(|b| len + 2 <= *b).unwrap();
            assert_eq!(padded.len(), want, "len {len}");
            assert_eq!(unpad(&padded).unwrap(), &data[..len]);
        }
        assert!(matches!(
            pad(&vec![b'x'; MAX_JSON_LEN + 1]),
            Err(Error::TooLarge { .. })
        ));
    }

    /// Bucket edges: 254 bytes fit in 256, 255 need 1024.
    #[test]
    fn bucket_edges() {
        assert_eq!(pad(&[1; 254]).unwrap().len(), 256);
        assert_eq!(pad(&[1; 255]).unwrap().len(), 1024);
    }

    /// Non-bucket sizes, lengths past the end and non-zero padding are refused.
    #[test]
    fn malformed_refused() {
        let mut p = pad(b"{}").unwrap();
        assert!(unpad(&p[..255]).is_err());
        assert!(unpad(&[]).is_err());
        p[255] = 1;
        assert_eq!(unpad(&p), Err(Error::Padding("non-zero padding")));
        let mut p = pad(b"{}").unwrap();
        p[0] = 1;
        assert_eq!(unpad(&p), Err(Error::Padding("length past the end")));
        p[0] = 0;
        p[1] = 254;
        assert_eq!(unpad(&p).unwrap().len(), 254);
    }
}
