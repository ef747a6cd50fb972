//! Certificate chains of PROTOCOL.md §1: a counsellor's [`Bundle`] (org root → identity →
//! shift key) and office certificates, verified against the pinned org root at a given time.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::cert::{IdCert, OfficeCert, OfficeKind, Role, ShiftCert};
use super::keys::IdentityKey;
use super::{Error, Result};

/// Allowed clock difference between issuer and verifier, in seconds (±).
pub const CLOCK_SKEW_SECS: u64 = 300;
/// Longest allowed shift certificate (`not_after - not_before`), in seconds: 12 hours.
pub const MAX_SHIFT_SECS: u64 = 12 * 3600;

/// What a counsellor presents: the identity and shift certificates, as JSON
/// `{"id_cert": b64, "shift_cert": b64}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// `IdCert` bytes (body || signature by the org root).
    #[serde(with = "super::b64::bytes")]
    pub id_cert: Vec<u8>,
    /// `ShiftCert` bytes (body || signature by the identity key).
    #[serde(with = "super::b64::bytes")]
    pub shift_cert: Vec<u8>,
}

impl Bundle {
    /// `SHA-256(id_cert || shift_cert)`, bound into the Noise prologue.
    pub fn bundle_hash(&self) -> [u8; 32] {
        Sha256::new()
            .chain_update(&self.id_cert)
            .chain_update(&self.shift_cert)
            .finalize()
            .into()
    }
}

/// A bundle that passed every rule of §1 at some time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBundle {
    /// The verified identity certificate.
    pub id: IdCert,
    /// The verified shift certificate.
    pub shift: ShiftCert,
    /// `SHA-256(id_cert || shift_cert)`.
    pub bundle_hash: [u8; 32],
}

impl VerifiedBundle {
    /// The counsellor's alias, as certified by the org.
    pub fn alias(&self) -> &str {
        &self.id.alias
    }

    /// The counsellor's role.
    pub fn role(&self) -> Role {
        self.id.role
    }

    /// The counsellor identity public key.
    pub fn id_pub(&self) -> [u8; 32] {
        self.id.id_pub
    }

    /// The shift key: the Noise responder static key to use.
    pub fn shift_pub(&self) -> [u8; 32] {
        self.shift.shift_pub
    }
}

/// An office certificate that passed verification.
pub type VerifiedOffice = OfficeCert;

/// Checks `not_before - skew <= now <= not_after + skew`.
fn check_time(not_before: u64, not_after: u64, now: u64, what: &'static str) -> Result<()> {
    if now.saturating_add(CLOCK_SKEW_SECS) < not_before {
        return Err(Error::NotYetValid(what));
    }
    if now > not_after.saturating_add(CLOCK_SKEW_SECS) {
        return Err(Error::Expired(what));
    }
    Ok(())
}

/// Verifies a counsellor bundle against the pinned org root at `now_unix`: the identity
/// certificate's root signature and window, the shift certificate's identity signature and
/// window (both ±[`CLOCK_SKEW_SECS`]), a shift of at most [`MAX_SHIFT_SECS`] lying within
/// the identity certificate's window. Either role may hold a shift certificate.
pub fn verify_bundle(
    org_root_pub: &[u8; 32],
    bundle: &Bundle,
    now_unix: u64,
) -> Result<VerifiedBundle> {
    let id = IdCert::verify(&bundle.id_cert, org_root_pub)?;
    check_time(
        id.not_before,
        id.not_after,
        now_unix,
        "identity certificate",
    )?;
    let shift = ShiftCert::verify(&bundle.shift_cert, &id.id_pub)?;
    if shift.not_after - shift.not_before > MAX_SHIFT_SECS {
        return Err(Error::ShiftWindow("longer than 12 hours"));
    }
    if shift.not_before < id.not_before || shift.not_after > id.not_after {
        return Err(Error::ShiftWindow(
            "outside the identity certificate's validity",
        ));
    }
    check_time(
        shift.not_before,
        shift.not_after,
        now_unix,
        "shift certificate",
    )?;
    Ok(VerifiedBundle {
        id,
        shift,
        bundle_hash: bundle.bundle_hash(),
    })
}

/// Verifies an office certificate against the org root at `now_unix` (±[`CLOCK_SKEW_SECS`]).
pub fn verify_office_cert(
    org_root_pub: &[u8; 32],
    cert: &[u8],
    now_unix: u64,
) -> Result<VerifiedOffice> {
    let office = OfficeCert::verify(cert, org_root_pub)?;
    check_time(
        office.not_before,
        office.not_after,
        now_unix,
        "office certificate",
    )?;
    Ok(office)
}

/// Issues an identity certificate signed by the org `root`.
pub fn issue_id_cert(
    root: &IdentityKey,
    role: Role,
    alias: &str,
    id_pub: &[u8; 32],
    not_before: u64,
    not_after: u64,
    serial: u64,
) -> Result<Vec<u8>> {
    IdCert {
        role,
        alias: alias.to_owned(),
        id_pub: *id_pub,
        not_before,
        not_after,
        serial,
    }
    .sign(root)
}

/// Issues a shift certificate signed by the counsellor `identity`. Refuses a shift longer
/// than [`MAX_SHIFT_SECS`], which no verifier would accept.
pub fn issue_shift_cert(
    identity: &IdentityKey,
    shift_pub: &[u8; 32],
    not_before: u64,
    not_after: u64,
    serial: u64,
) -> Result<Vec<u8>> {
    if not_after.saturating_sub(not_before) > MAX_SHIFT_SECS {
        return Err(Error::ShiftWindow("longer than 12 hours"));
    }
    ShiftCert {
        shift_pub: *shift_pub,
        not_before,
        not_after,
        serial,
    }
    .sign(identity)
}

/// Issues an office certificate signed by the org `root`.
pub fn issue_office_cert(
    root: &IdentityKey,
    kind: OfficeKind,
    office_id: &str,
    display_name: &str,
    recipient_pub: &[u8; 32],
    not_before: u64,
    not_after: u64,
) -> Result<Vec<u8>> {
    OfficeCert {
        kind,
        office_id: office_id.to_owned(),
        display_name: display_name.to_owned(),
        recipient_pub: *recipient_pub,
        not_before,
        not_after,
    }
    .sign(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn bundle(root: &IdentityKey, identity: &IdentityKey) -> Bundle {
        let id_cert = issue_id_cert(
            root,
            Role::Counsellor,
            "Maja",
            &identity.public(),
            NOW - 86_400,
            NOW + 86_400,
            1,
        )
        .unwrap();
        let shift_cert = issue_shift_cert(identity, &[9; 32], NOW - 3600, NOW + 3600, 2).unwrap();
        Bundle {
            id_cert,
            shift_cert,
        }
    }

    /// A good bundle verifies and exposes its alias, keys and hash; its JSON is b64url.
    #[test]
    fn good_bundle() {
        let root = IdentityKey::from_bytes(&[1; 32]);
        let identity = IdentityKey::from_bytes(&[2; 32]);
        let b = bundle(&root, &identity);
        let v = verify_bundle(&root.public(), &b, NOW).unwrap();
        assert_eq!(v.alias(), "Maja");
        assert_eq!(v.shift_pub(), [9; 32]);
        assert_eq!(v.id_pub(), identity.public());
        assert_eq!(v.bundle_hash, b.bundle_hash());
        let json = serde_json::to_string(&b).unwrap();
        assert!(!json.contains('=') && !json.contains('+'));
        assert_eq!(serde_json::from_str::<Bundle>(&json).unwrap(), b);
    }

    /// The skew window is ±300 s, inclusive, at both ends.
    #[test]
    fn skew_edges() {
        assert!(check_time(1000, 2000, 700, "c").is_ok());
        assert_eq!(
            check_time(1000, 2000, 699, "c"),
            Err(Error::NotYetValid("c"))
        );
        assert!(check_time(1000, 2000, 2300, "c").is_ok());
        assert_eq!(check_time(1000, 2000, 2301, "c"), Err(Error::Expired("c")));
    }
}
