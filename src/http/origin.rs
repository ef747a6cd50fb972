//! The Origin allowlist. Origins are compared exactly after normalisation (lowercase scheme
//! and host, default port removed), so look-alike hosts, `null`, and a missing Origin are
//! all refused.

use std::collections::HashSet;

use http::HeaderValue;

/// Normalises `scheme://host[:port]`; `None` for anything else (paths, `null`, userinfo).
pub fn normalise(origin: &str) -> Option<String> {
    let origin = origin.trim().to_ascii_lowercase();
    let (scheme, rest) = origin.split_once("://")?;
    if !matches!(scheme, "http" | "https") || rest.is_empty() {
        return None;
    }
    if rest.contains(['/', '?', '#', '@', ' ']) {
        return None;
    }
    let default = if scheme == "https" { ":443" } else { ":80" };
    let host = rest.strip_suffix(default).unwrap_or(rest);
    Some(format!("{scheme}://{host}"))
}

/// The set of allowed origins.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    allowed: HashSet<String>,
}

impl Origins {
    /// From configured entries (already validated by `Config::validate`).
    pub fn new<'a>(entries: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            allowed: entries.into_iter().filter_map(normalise).collect(),
        }
    }

    /// Whether `origin` is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        normalise(origin).is_some_and(|o| self.allowed.contains(&o))
    }

    /// Whether an `Origin` header is present and allowed.
    pub fn allows_header(&self, header: Option<&HeaderValue>) -> bool {
        header
            .and_then(|h| h.to_str().ok())
            .is_some_and(|o| self.allows(o))
    }

    /// The allowed origins, sorted (for the start-up printout).
    pub fn list(&self) -> Vec<String> {
        let mut v: Vec<String> = self.allowed.iter().cloned().collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact matches pass; missing, `null`, look-alike and path-carrying origins fail.
    #[test]
    fn allowlist() {
        let o = Origins::new(["https://example.org", "http://127.0.0.1:8080"]);
        assert!(o.allows("https://example.org"));
        assert!(o.allows("HTTPS://Example.org:443"));
        assert!(o.allows("http://127.0.0.1:8080"));
        for bad in [
            "null",
            "",
            "https://example.org.evil.com",
            "https://evil-example.org",
            "http://example.org",
            "https://example.org/path",
            "https://user@example.org",
            "http://127.0.0.1:8081",
        ] {
            assert!(!o.allows(bad), "{bad}");
        }
        assert!(!o.allows_header(None));
    }
}
