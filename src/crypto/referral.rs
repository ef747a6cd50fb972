//! The inner plaintext of a referral envelope (PROTOCOL.md §4): `{"body": b64(R), "sig",
//! "id_cert"}`, where `sig` is the counsellor identity's Ed25519 signature over
//! `"lyt/1 referral" || office_id || referral_id || SHA-256(R)`. Signing the exact bytes of
//! `R` avoids any JSON canonicalisation.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::bundle::CLOCK_SKEW_SECS;
use super::cert::IdCert;
use super::keys::{IdentityKey, verify_signature};
use super::seal::REFERRAL_INFO_PREFIX;
use super::{Error, Result};

/// The inner JSON of a referral envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralEnvelope {
    /// `R`: the UTF-8 JSON of the referral.
    #[serde(with = "super::b64::bytes")]
    pub body: Vec<u8>,
    /// The counsellor's signature, see [`referral_signature_message`].
    #[serde(with = "super::b64::array")]
    pub sig: [u8; 64],
    /// The counsellor's identity certificate.
    #[serde(with = "super::b64::bytes")]
    pub id_cert: Vec<u8>,
}

/// A referral whose signature and identity certificate verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedReferral {
    /// `R`, the referral JSON, exactly as signed.
    pub body: Vec<u8>,
    /// The verified identity certificate of the counsellor who signed it.
    pub signer: IdCert,
}

/// `"lyt/1 referral" || office_id || referral_id || SHA-256(R)`.
pub fn referral_signature_message(office_id: &str, referral_id: &[u8; 16], r: &[u8]) -> Vec<u8> {
    let mut out = REFERRAL_INFO_PREFIX.to_vec();
    out.extend_from_slice(office_id.as_bytes());
    out.extend_from_slice(referral_id);
    out.extend_from_slice(&Sha256::digest(r));
    out
}

/// Signs referral `r` for `office_id` with the counsellor identity key.
pub fn sign_referral(
    identity: &IdentityKey,
    office_id: &str,
    referral_id: &[u8; 16],
    r: &[u8],
) -> [u8; 64] {
    identity.sign(&referral_signature_message(office_id, referral_id, r))
}

/// Verifies a referral signature under the counsellor identity public key.
pub fn verify_referral_signature(
    id_pub: &[u8; 32],
    office_id: &str,
    referral_id: &[u8; 16],
    r: &[u8],
    sig: &[u8; 64],
) -> Result<()> {
    let msg = referral_signature_message(office_id, referral_id, r);
    verify_signature(id_pub, &msg, sig, "referral")
}

/// Builds the inner plaintext JSON: signs `r` and attaches the identity certificate.
pub fn build_referral_plaintext(
    identity: &IdentityKey,
    id_cert: &[u8],
    office_id: &str,
    referral_id: &[u8; 16],
    r: &[u8],
) -> Result<Vec<u8>> {
    let envelope = ReferralEnvelope {
        body: r.to_vec(),
        sig: sign_referral(identity, office_id, referral_id, r),
        id_cert: id_cert.to_vec(),
    };
    serde_json::to_vec(&envelope).map_err(|e| Error::Message(e.to_string()))
}

/// Parses the inner plaintext, verifies the identity certificate against the org root (its
/// validity at `now_unix` ± skew; pass the referral's creation time to open old referrals)
/// and the signature binding `office_id` and `referral_id`.
pub fn open_referral_plaintext(
    org_root_pub: &[u8; 32],
    office_id: &str,
    referral_id: &[u8; 16],
    plaintext: &[u8],
    now_unix: u64,
) -> Result<OpenedReferral> {
    let envelope: ReferralEnvelope =
        serde_json::from_slice(plaintext).map_err(|_| Error::Referral("not the inner JSON"))?;
    let signer = IdCert::verify(&envelope.id_cert, org_root_pub)?;
    if now_unix.saturating_add(CLOCK_SKEW_SECS) < signer.not_before {
        return Err(Error::NotYetValid("identity certificate"));
    }
    if now_unix > signer.not_after.saturating_add(CLOCK_SKEW_SECS) {
        return Err(Error::Expired("identity certificate"));
    }
    verify_referral_signature(
        &signer.id_pub,
        office_id,
        referral_id,
        &envelope.body,
        &envelope.sig,
    )?;
    Ok(OpenedReferral {
        body: envelope.body,
        signer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Role, issue_id_cert};

    /// A referral opens for its office and id, and fails for any other or a changed body.
    #[test]
    fn sign_and_open() {
        let root = IdentityKey::from_bytes(&[1; 32]);
        let me = IdentityKey::from_bytes(&[2; 32]);
        let cert = issue_id_cert(
            &root,
            Role::Counsellor,
            "Maja",
            &me.public(),
            100,
            10_000,
            1,
        )
        .unwrap();
        let pt = build_referral_plaintext(&me, &cert, "kbh-1", &[4; 16], b"{}").unwrap();
        let opened = open_referral_plaintext(&root.public(), "kbh-1", &[4; 16], &pt, 500).unwrap();
        assert_eq!(opened.body, b"{}");
        assert_eq!(opened.signer.alias, "Maja");
        assert!(open_referral_plaintext(&root.public(), "kbh-2", &[4; 16], &pt, 500).is_err());
        assert!(open_referral_plaintext(&root.public(), "kbh-1", &[5; 16], &pt, 500).is_err());
        assert!(open_referral_plaintext(&me.public(), "kbh-1", &[4; 16], &pt, 500).is_err());
        assert!(open_referral_plaintext(&root.public(), "kbh-1", &[4; 16], &pt, 20_000).is_err());
        let mut env: ReferralEnvelope = serde_json::from_slice(&pt).unwrap();
        env.body = b"{ }".to_vec();
        let forged = serde_json::to_vec(&env).unwrap();
        assert_eq!(
            open_referral_plaintext(&root.public(), "kbh-1", &[4; 16], &forged, 500),
            Err(Error::BadSignature("referral"))
        );
    }
}
