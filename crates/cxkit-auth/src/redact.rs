//! Scrubbing secrets out of URLs before anything prints them.

use url::Url;

/// What a scrubbed value is replaced with.
pub const REDACTED: &str = "REDACTED";

/// Whether a query or matrix parameter name looks like it carries a secret. Used in addition to
/// the names a configured credential registers, so that a secret the caller put into a URL by
/// hand is scrubbed too.
pub fn is_sensitive_name(name: &str) -> bool {
    const MARKERS: [&str; 11] = [
        "key",
        "token",
        "secret",
        "password",
        "passwd",
        "lsid",
        "session",
        "code",
        "auth",
        "sig",
        "credential",
    ];
    let lower = name.to_ascii_lowercase();
    MARKERS.iter().any(|m| lower.contains(m))
}

/// Whether `url` has anywhere a secret could be (user info, a query, a matrix parameter), so
/// that clean URLs, the common case, skip [`scrub_url`]'s copy.
pub fn may_carry_secrets(url: &Url) -> bool {
    !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.path().contains(';')
}

/// Returns `url` with every secret removed: user info, the values of sensitive query pairs, and
/// the values of every matrix parameter (`;name=value`) in the path. `extra` names more
/// parameters to treat as sensitive.
pub fn scrub_url(url: &Url, extra: &[&str]) -> Url {
    let mut url = url.clone();
    let sensitive = |name: &str| is_sensitive_name(name) || extra.contains(&name);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if sensitive(&k) {
                    REDACTED.into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    if url.path().contains(';') {
        let path: Vec<String> = url
            .path()
            .split('/')
            .map(|segment| {
                let mut parts = segment.split(';');
                let mut out = parts.next().unwrap_or_default().to_owned();
                for param in parts {
                    let name = param.split('=').next().unwrap_or_default();
                    out.push(';');
                    out.push_str(name);
                    out.push('=');
                    out.push_str(REDACTED);
                }
                out
            })
            .collect();
        url.set_path(&path.join("/"));
    }
    url
}

/// Like [`scrub_url`], for text that may or may not parse as a URL; text that does not parse is
/// replaced whole, since it cannot be scrubbed reliably.
pub fn scrub_url_str(text: &str, extra: &[&str]) -> String {
    match Url::parse(text) {
        Ok(url) => scrub_url(&url, extra).to_string(),
        Err(_) => REDACTED.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_userinfo_query_secrets_and_matrix_values() {
        let url = Url::parse(
            "https://u:pw@h/api/session/42;lsid=s3cr3t;x=y/clone?apiKey=k3y&skip=2&mine=v",
        )
        .unwrap();
        let out = scrub_url(&url, &["mine"]).to_string();
        assert_eq!(
            out,
            "https://h/api/session/42;lsid=REDACTED;x=REDACTED/clone?apiKey=REDACTED&skip=2&mine=REDACTED"
        );
    }

    #[test]
    fn leaves_clean_urls_alone() {
        let url = Url::parse("https://h/api/v2/agents/5?skip=0&limit=10").unwrap();
        assert_eq!(scrub_url(&url, &[]), url);
        assert!(!may_carry_secrets(
            &Url::parse("https://h/api/v2/agents/5").unwrap()
        ));
        for risky in ["https://h/p?k=v", "https://u@h/p", "https://h/s/1;lsid=x"] {
            assert!(may_carry_secrets(&Url::parse(risky).unwrap()), "{risky}");
        }
    }

    #[test]
    fn unparsable_text_is_replaced() {
        assert_eq!(scrub_url_str("not a url with token=abc", &[]), REDACTED);
    }
}
