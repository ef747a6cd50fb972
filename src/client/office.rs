//! A brobygger office's side of referrals (`lyt referral pull`): fetch the office's sealed
//! referrals, open each locally with the office's private key, verify it (the counsellor's
//! identity certificate chains to the pinned org root, their signature binds the office and
//! the referral id, and `R` names the same office, id and counsellor), write it as JSON, and
//! only then acknowledge it, which deletes it on the server.
//!
//! A referral that fails any check is neither written nor acknowledged: it stays on the
//! server (until its retention ends) and is reported with the reason, so a wrong key or a
//! tampered envelope is noticed, not silently dropped.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::ClientError;
use crate::crypto::{self, StaticKey};
use crate::referral::{Referral, StoredReferral};

/// What one `pull` did.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct PullReport {
    /// Referrals opened, verified, saved and acknowledged: (code, file).
    pub saved: Vec<(String, PathBuf)>,
    /// Referrals refused: (code, why). They stay on the server.
    pub refused: Vec<(String, String)>,
}

/// A referral as the office saves it.
#[derive(Debug, Serialize)]
struct SavedReferral<'a> {
    code: &'a str,
    received_at: u64,
    counsellor_alias: &'a str,
    counsellor_cert_serial: u64,
    referral: &'a Referral,
}

/// Where and how to pull.
#[derive(Debug)]
pub struct PullOptions<'a> {
    /// The relay's base URL.
    pub server: &'a str,
    /// This office's id.
    pub office_id: &'a str,
    /// This office's recipient key.
    pub key: &'a StaticKey,
    /// This office's API token.
    pub token: &'a str,
    /// The pinned org root public key.
    pub org_root: &'a [u8; 32],
    /// The directory the referrals are written to.
    pub out_dir: &'a Path,
}

/// Opens and checks one stored referral; the reason is for the office's operator.
fn open_one(o: &PullOptions<'_>, r: &StoredReferral) -> Result<(Referral, crypto::IdCert), String> {
    if r.office_id != o.office_id {
        return Err("it is for another office".into());
    }
    let id: [u8; 16] = crypto::b64_decode(&r.id, "id")
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("its id is malformed")?;
    let plaintext = crypto::open_referral(o.office_id, o.key, &id, &r.sealed).map_err(|_| {
        "cannot open it: the office key is wrong, or the envelope was tampered with or sealed \
         to another office"
            .to_owned()
    })?;
    let opened = crypto::open_referral_plaintext(
        o.org_root,
        o.office_id,
        &id,
        &plaintext,
        r.created_at,
    )
    .map_err(|e| {
        format!(
            "the counsellor's certificate or signature is not valid for this organisation ({e})"
        )
    })?;
    let referral = Referral::parse_bound(&opened.body, o.office_id, &id, &opened.signer.alias)
        .map_err(|e| e.to_string())?;
    Ok((referral, opened.signer))
}

/// Fetches, opens, verifies, saves and acknowledges the office's referrals.
pub async fn pull(o: &PullOptions<'_>) -> Result<PullReport, ClientError> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let res = http
        .get(format!("{}/v1/referrals", o.server.trim_end_matches('/')))
        .bearer_auth(o.token)
        .send()
        .await?;
    let res = super::check(res).await?;
    #[derive(serde::Deserialize)]
    struct List {
        referrals: Vec<StoredReferral>,
    }
    let list: List = res
        .json()
        .await
        .map_err(|e| ClientError::Unexpected(format!("referral list: {e}")))?;
    std::fs::create_dir_all(o.out_dir)?;
    let mut report = PullReport::default();
    let now = crate::keytool::now_unix().unwrap_or(0);
    for r in &list.referrals {
        let (referral, signer) = match open_one(o, r) {
            Ok(ok) => ok,
            Err(why) => {
                report.refused.push((r.code.clone(), why));
                continue;
            }
        };
        let saved = SavedReferral {
            code: &r.code,
            received_at: now,
            counsellor_alias: &signer.alias,
            counsellor_cert_serial: signer.serial,
            referral: &referral,
        };
        let json = serde_json::to_vec_pretty(&saved)
            .map_err(|e| ClientError::Unexpected(e.to_string()))?;
        let path = o.out_dir.join(format!("{}.json", r.code));
        crate::auth::write_atomic(&path, &json)?;
        let ack = http
            .post(format!(
                "{}/v1/referrals/{}/ack",
                o.server.trim_end_matches('/'),
                r.id
            ))
            .bearer_auth(o.token)
            .send()
            .await?;
        super::check(ack).await?;
        report.saved.push((r.code.clone(), path));
    }
    Ok(report)
}
