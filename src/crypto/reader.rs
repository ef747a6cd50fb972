//! A bounds-checked cursor over untrusted certificate bytes: every read returns a
//! `Result`, nothing ever reads past the end or panics.

use super::{Error, Result};

/// A cursor over a certificate body that never reads past the end.
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(body: &'a [u8], magic: &[u8]) -> Result<Self> {
        let rest = body.strip_prefix(magic).ok_or(Error::CertFormat(
            "wrong magic (not this kind of certificate)",
        ))?;
        Ok(Self { rest })
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.rest.len() < n {
            return Err(Error::CertFormat("truncated"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        <[u8; N]>::try_from(self.take(N)?).map_err(|_| Error::CertFormat("truncated"))
    }

    pub(super) fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub(super) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(super) fn string(&mut self) -> Result<String> {
        let len = u16::from_be_bytes(self.array()?);
        let bytes = self.take(usize::from(len))?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Error::CertFormat("string is not UTF-8"))
    }

    pub(super) fn finish(self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::CertFormat("trailing bytes"))
        }
    }
}
