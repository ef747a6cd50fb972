//! The certificate byte layouts of PROTOCOL.md §1 — [`IdCert`], [`ShiftCert`],
//! [`OfficeCert`] — with strict parsing: exact magic, exact lengths, no trailing bytes,
//! bounded UTF-8 strings. A certificate is `body || Ed25519 signature(64) over body`.
//! Validity rules across certificates live in `bundle`.

use super::keys::{IdentityKey, verify_signature};
use super::reader::Reader;
use super::{Error, Result};

/// Magic prefix of an identity certificate body.
const ID_MAGIC: &[u8] = b"lyt-id/1";
/// Magic prefix of a shift certificate body.
const SHIFT_MAGIC: &[u8] = b"lyt-shift/1";
/// Magic prefix of an office certificate body.
const OFFICE_MAGIC: &[u8] = b"lyt-office/1";
/// Length of an Ed25519 signature.
const SIG_LEN: usize = 64;

/// Maximum alias length in bytes (1..=64 bytes of UTF-8, no control characters).
pub const MAX_ALIAS_LEN: usize = 64;
/// Maximum office id length (1..=64 bytes of ASCII `a-z A-Z 0-9 - _ .`).
pub const MAX_OFFICE_ID_LEN: usize = 64;
/// Maximum office display name length in bytes (1..=128 bytes of UTF-8, no control chars).
pub const MAX_OFFICE_NAME_LEN: usize = 128;

/// What a counsellor identity may do. Both roles may take chats with a shift certificate;
/// a supervisor additionally sees aggregate dashboards (enforced by the relay, not here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A counsellor (byte 1).
    Counsellor = 1,
    /// A supervisor (byte 2).
    Supervisor = 2,
}

impl Role {
    fn from_byte(byte: u8) -> Result<Self> {
        match byte {
            1 => Ok(Role::Counsellor),
            2 => Ok(Role::Supervisor),
            _ => Err(Error::CertFormat("unknown role")),
        }
    }
}

/// What an office certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficeKind {
    /// A brobygger office that receives referrals (byte 1).
    Brobygger = 1,
    /// The phone desk that receives callback requests (byte 2).
    PhoneDesk = 2,
}

impl OfficeKind {
    fn from_byte(byte: u8) -> Result<Self> {
        match byte {
            1 => Ok(OfficeKind::Brobygger),
            2 => Ok(OfficeKind::PhoneDesk),
            _ => Err(Error::CertFormat("unknown office kind")),
        }
    }
}

/// An identity certificate: the org root vouches for a counsellor's Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdCert {
    /// Counsellor or supervisor.
    pub role: Role,
    /// The name shown to visitors.
    pub alias: String,
    /// The counsellor identity public key (signs shift certs and referrals).
    pub id_pub: [u8; 32],
    /// Start of validity, Unix seconds.
    pub not_before: u64,
    /// End of validity, Unix seconds.
    pub not_after: u64,
    /// Issuer-chosen serial number.
    pub serial: u64,
}

/// A shift certificate: a counsellor identity vouches for a ≤ 12 h X25519 shift key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftCert {
    /// The Noise responder static key for this shift.
    pub shift_pub: [u8; 32],
    /// Start of validity, Unix seconds.
    pub not_before: u64,
    /// End of validity, Unix seconds.
    pub not_after: u64,
    /// Issuer-chosen serial number.
    pub serial: u64,
}

/// An office certificate: the org root vouches for an office's HPKE recipient key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeCert {
    /// Brobygger office or phone desk.
    pub kind: OfficeKind,
    /// Stable identifier, bound into HPKE `info` and referral signatures.
    pub office_id: String,
    /// The name shown to people.
    pub display_name: String,
    /// The X25519 HPKE recipient public key.
    pub recipient_pub: [u8; 32],
    /// Start of validity, Unix seconds.
    pub not_before: u64,
    /// End of validity, Unix seconds.
    pub not_after: u64,
}

impl IdCert {
    /// The body bytes (what the root signs).
    pub fn body(&self) -> Result<Vec<u8>> {
        check_alias(&self.alias)?;
        check_window(self.not_before, self.not_after)?;
        let mut out = ID_MAGIC.to_vec();
        out.push(self.role as u8);
        put_str(&mut out, &self.alias);
        out.extend_from_slice(&self.id_pub);
        for v in [self.not_before, self.not_after, self.serial] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        Ok(out)
    }

    /// `body || signature` signed by `root`.
    pub fn sign(&self, root: &IdentityKey) -> Result<Vec<u8>> {
        sign_body(self.body()?, root)
    }

    /// Parses the structure only; the signature is NOT checked (use [`IdCert::verify`]).
    pub fn parse(cert: &[u8]) -> Result<Self> {
        let (body, _) = split(cert)?;
        let mut r = Reader::new(body, ID_MAGIC)?;
        let role = Role::from_byte(r.u8()?)?;
        let alias = r.string()?;
        check_alias(&alias)?;
        let cert = IdCert {
            role,
            alias,
            id_pub: r.array()?,
            not_before: r.u64()?,
            not_after: r.u64()?,
            serial: r.u64()?,
        };
        r.finish()?;
        check_window(cert.not_before, cert.not_after)?;
        Ok(cert)
    }

    /// Checks the signature under `root_pub`, then parses. No time check.
    pub fn verify(cert: &[u8], root_pub: &[u8; 32]) -> Result<Self> {
        check_signature(cert, root_pub, "identity certificate")?;
        Self::parse(cert)
    }
}

impl ShiftCert {
    /// The body bytes (what the identity key signs).
    pub fn body(&self) -> Result<Vec<u8>> {
        check_window(self.not_before, self.not_after)?;
        let mut out = SHIFT_MAGIC.to_vec();
        out.extend_from_slice(&self.shift_pub);
        for v in [self.not_before, self.not_after, self.serial] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        Ok(out)
    }

    /// `body || signature` signed by the counsellor `identity`.
    pub fn sign(&self, identity: &IdentityKey) -> Result<Vec<u8>> {
        sign_body(self.body()?, identity)
    }

    /// Parses the structure only; the signature is NOT checked.
    pub fn parse(cert: &[u8]) -> Result<Self> {
        let (body, _) = split(cert)?;
        let mut r = Reader::new(body, SHIFT_MAGIC)?;
        let cert = ShiftCert {
            shift_pub: r.array()?,
            not_before: r.u64()?,
            not_after: r.u64()?,
            serial: r.u64()?,
        };
        r.finish()?;
        check_window(cert.not_before, cert.not_after)?;
        Ok(cert)
    }

    /// Checks the signature under `id_pub`, then parses. No time check.
    pub fn verify(cert: &[u8], id_pub: &[u8; 32]) -> Result<Self> {
        check_signature(cert, id_pub, "shift certificate")?;
        Self::parse(cert)
    }
}

impl OfficeCert {
    /// The body bytes (what the root signs).
    pub fn body(&self) -> Result<Vec<u8>> {
        check_office_id(&self.office_id)?;
        check_display(&self.display_name, MAX_OFFICE_NAME_LEN, "bad office name")?;
        check_window(self.not_before, self.not_after)?;
        let mut out = OFFICE_MAGIC.to_vec();
        out.push(self.kind as u8);
        put_str(&mut out, &self.office_id);
        put_str(&mut out, &self.display_name);
        out.extend_from_slice(&self.recipient_pub);
        for v in [self.not_before, self.not_after] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        Ok(out)
    }

    /// `body || signature` signed by `root`.
    pub fn sign(&self, root: &IdentityKey) -> Result<Vec<u8>> {
        sign_body(self.body()?, root)
    }

    /// Parses the structure only; the signature is NOT checked.
    pub fn parse(cert: &[u8]) -> Result<Self> {
        let (body, _) = split(cert)?;
        let mut r = Reader::new(body, OFFICE_MAGIC)?;
        let kind = OfficeKind::from_byte(r.u8()?)?;
        let office_id = r.string()?;
        check_office_id(&office_id)?;
        let display_name = r.string()?;
        check_display(&display_name, MAX_OFFICE_NAME_LEN, "bad office name")?;
        let cert = OfficeCert {
            kind,
            office_id,
            display_name,
            recipient_pub: r.array()?,
            not_before: r.u64()?,
            not_after: r.u64()?,
        };
        r.finish()?;
        check_window(cert.not_before, cert.not_after)?;
        Ok(cert)
    }

    /// Checks the signature under `root_pub`, then parses. No time check.
    pub fn verify(cert: &[u8], root_pub: &[u8; 32]) -> Result<Self> {
        check_signature(cert, root_pub, "office certificate")?;
        Self::parse(cert)
    }
}

fn sign_body(mut body: Vec<u8>, key: &IdentityKey) -> Result<Vec<u8>> {
    let sig = key.sign(&body);
    body.extend_from_slice(&sig);
    Ok(body)
}

fn split(cert: &[u8]) -> Result<(&[u8], [u8; SIG_LEN])> {
    let body_len = cert
        .len()
        .checked_sub(SIG_LEN)
        .ok_or(Error::CertFormat("shorter than a signature"))?;
    let (body, sig) = cert.split_at(body_len);
    let sig = <[u8; SIG_LEN]>::try_from(sig).map_err(|_| Error::CertFormat("signature"))?;
    Ok((body, sig))
}

fn check_signature(cert: &[u8], signer: &[u8; 32], what: &'static str) -> Result<()> {
    let (body, sig) = split(cert)?;
    verify_signature(signer, body, &sig, what)
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Callers have checked the length against a bound far below u16::MAX.
    let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn check_window(not_before: u64, not_after: u64) -> Result<()> {
    if not_after <= not_before {
        return Err(Error::CertFormat("not_after is not after not_before"));
    }
    Ok(())
}

fn check_alias(alias: &str) -> Result<()> {
    check_display(alias, MAX_ALIAS_LEN, "bad alias")
}

fn check_display(s: &str, max: usize, err: &'static str) -> Result<()> {
    if s.is_empty() || s.len() > max || s.chars().any(char::is_control) {
        return Err(Error::CertFormat(err));
    }
    Ok(())
}

fn check_office_id(id: &str) -> Result<()> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    if id.is_empty() || id.len() > MAX_OFFICE_ID_LEN || !id.bytes().all(allowed) {
        return Err(Error::CertFormat("bad office id"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_cert() -> IdCert {
        IdCert {
            role: Role::Counsellor,
            alias: "Maja".into(),
            id_pub: [5; 32],
            not_before: 1000,
            not_after: 2000,
            serial: 7,
        }
    }

    /// The identity body has the exact layout of PROTOCOL.md §1.
    #[test]
    fn id_layout() {
        let body = id_cert().body().unwrap();
        assert_eq!(&body[..8], b"lyt-id/1");
        assert_eq!(body[8], 1);
        assert_eq!(&body[9..11], &[0, 4]);
        assert_eq!(&body[11..15], b"Maja");
        assert_eq!(body.len(), 8 + 1 + 2 + 4 + 32 + 24);
        assert_eq!(&body[body.len() - 8..], &7u64.to_be_bytes());
    }

    /// Certificates round-trip and any truncation, extension or bit flip is refused.
    #[test]
    fn round_trip_and_tamper() {
        let root = IdentityKey::from_bytes(&[1; 32]);
        let cert = id_cert().sign(&root).unwrap();
        assert_eq!(IdCert::verify(&cert, &root.public()).unwrap(), id_cert());
        for cut in 0..cert.len() {
            assert!(IdCert::verify(&cert[..cut], &root.public()).is_err());
        }
        let mut longer = cert.clone();
        longer.push(0);
        assert!(IdCert::verify(&longer, &root.public()).is_err());
        for i in 0..cert.len() * 8 {
            let mut bad = cert.clone();
            bad[i / 8] ^= 1 << (i % 8);
            assert!(IdCert::verify(&bad, &root.public()).is_err(), "bit {i}");
        }
    }

    /// Trailing bytes inside a signed body are refused even with a valid signature.
    #[test]
    fn trailing_bytes_refused() {
        let root = IdentityKey::from_bytes(&[1; 32]);
        let mut body = id_cert().body().unwrap();
        body.push(0);
        let sig = root.sign(&body);
        body.extend_from_slice(&sig);
        assert_eq!(
            IdCert::verify(&body, &root.public()),
            Err(Error::CertFormat("trailing bytes"))
        );
    }

    /// Alias, office id and name bounds are enforced when encoding.
    #[test]
    fn bounds() {
        let mut c = id_cert();
        c.alias = "x".repeat(MAX_ALIAS_LEN);
        assert!(c.body().is_ok());
        c.alias.push('x');
        assert!(c.body().is_err());
        c.alias = String::new();
        assert!(c.body().is_err());
        c.alias = "a\nb".into();
        assert!(c.body().is_err());
        let office = OfficeCert {
            kind: OfficeKind::Brobygger,
            office_id: "kbh-1".into(),
            display_name: "Brobygger København".into(),
            recipient_pub: [2; 32],
            not_before: 1,
            not_after: 2,
        };
        let root = IdentityKey::from_bytes(&[1; 32]);
        let signed = office.sign(&root).unwrap();
        assert_eq!(OfficeCert::verify(&signed, &root.public()).unwrap(), office);
        assert!(IdCert::verify(&signed, &root.public()).is_err());
        let bad = OfficeCert {
            office_id: "kbh 1".into(),
            ..office
        };
        assert!(bad.body().is_err());
    }
}
