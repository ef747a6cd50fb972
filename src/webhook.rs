//! Office webhooks: when a sealed referral is stored for an office that configured one
//! (`referrals.webhooks.<office> = "https://…"`), lyt POSTs `{"event":"referral_waiting",
//! "office_id":"…"}` to it — no code, no id, nothing of the referral — so the office knows
//! to run `lyt referral pull`. Up to three attempts (after 0, 2 and 10 seconds), each with a
//! 10-second timeout; a failure is logged with the office id only (the pull works
//! regardless). HTTPS uses Mozilla's CA roots (rustls); plain `http://` is accepted for an
//! office's own network.

use std::sync::OnceLock;
use std::time::Duration;

/// Delays before each attempt.
const ATTEMPTS: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_secs(2),
    Duration::from_secs(10),
];
/// Time allowed for one attempt.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Checks a configured webhook URL: `http` or `https`, with a host, no user info.
pub fn check_url(url: &str) -> Result<(), String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(u.scheme(), "https" | "http") {
        return Err("must be an https:// (or http://) URL".into());
    }
    if u.host().is_none() {
        return Err("has no host".into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not carry a user or password".into());
    }
    Ok(())
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    })
}

/// Tells `office_id` at `url` that a referral is waiting; true when it answered 2xx.
pub async fn notify(url: &str, office_id: &str) -> bool {
    let body = serde_json::json!({ "event": "referral_waiting", "office_id": office_id });
    for delay in ATTEMPTS {
        tokio::time::sleep(delay).await;
        match client().post(url).json(&body).send().await {
            Ok(res) if res.status().is_success() => return true,
            Ok(res) => {
                tracing::warn!(
                    office = office_id,
                    status = res.status().as_u16(),
                    "office webhook refused"
                );
            }
            Err(e) => {
                tracing::warn!(
                    office = office_id,
                    timeout = e.is_timeout(),
                    connect = e.is_connect(),
                    "office webhook unreachable"
                );
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_url("https://office.example/hook").is_ok());
        assert!(check_url("http://10.0.0.5:8080/lyt").is_ok());
        assert!(check_url("ftp://office.example/").is_err());
        assert!(check_url("https://user:pw@office.example/").is_err());
        assert!(check_url("not a url").is_err());
    }
}
