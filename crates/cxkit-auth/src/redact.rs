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

/// Returns `url` with every secret removed: user info, the values of sensitive query pairs, the
/// values of every matrix parameter (`;name=value`) in the path, and path segments that hold a
/// live [`crate::Secret`] ([`scrub_path_secrets`]). `extra` names more parameters to treat as
/// sensitive.
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
    scrub_path_secrets(&url, &[])
}

/// Whether a path segment of `url` holds the value of a live [`crate::Secret`] (see
/// [`crate::scrub_live_secrets`]); for URLs [`may_carry_secrets`] passes as clean, on the paths
/// where one could be printed (an error answer, a failed request).
pub fn path_carries_live_secret(url: &Url) -> bool {
    text_carries_live_secret(url.path())
}

/// Whether `path` (part of a URL's path, as written or percent-decoded) holds the value of a
/// live [`crate::Secret`]; the empty string holds none.
pub(crate) fn text_carries_live_secret(path: &str) -> bool {
    if path.is_empty() {
        return false;
    }
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let live = crate::secret::LiveSecrets::now();
    live.found_in(path) || live.found_in(&decoded)
}

/// Returns `url` with every path segment that is one of `secrets` or holds a live
/// [`crate::Secret`] (as written or percent-decoded) replaced by [`REDACTED`], its matrix
/// parameters kept (their values are [`scrub_url`]'s). A secret can travel as a path parameter
/// (Platform28's session id, which defaults to the login session id).
pub fn scrub_path_secrets(url: &Url, secrets: &[&str]) -> Url {
    // A named secret is a whole segment (a short one could be part of any word); a live one
    // is found anywhere in it.
    let live = crate::secret::LiveSecrets::now();
    let holds =
        |text: &str| secrets.iter().any(|s| !s.is_empty() && text == *s) || live.found_in(text);
    let mut changed = false;
    let path: Vec<String> = url
        .path()
        .split('/')
        .map(|segment| {
            let (value, params) = segment
                .split_once(';')
                .map_or((segment, None), |(v, p)| (v, Some(p)));
            let decoded = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
            if value.is_empty() || !(holds(value) || holds(decoded.as_ref())) {
                return segment.to_owned();
            }
            changed = true;
            match params {
                Some(params) => format!("{REDACTED};{params}"),
                None => REDACTED.to_owned(),
            }
        })
        .collect();
    let mut url = url.clone();
    if changed {
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

    /// A session id in the path: a live secret anywhere in a segment, or a secret named by the
    /// caller however short, takes the segment; matrix parameters and other segments stay.
    #[test]
    fn path_segments_holding_secrets_are_scrubbed() {
        let lsid = crate::Secret::new("Lsid-path-0123");
        let url = Url::parse(&format!(
            "https://h/api/session/{};lsid=x/clone/S1?skip=1",
            lsid.expose()
        ))
        .unwrap();
        assert!(path_carries_live_secret(&url));
        assert_eq!(
            scrub_url(&url, &[]).as_str(),
            "https://h/api/session/REDACTED;lsid=REDACTED/clone/S1?skip=1"
        );
        assert_eq!(
            scrub_path_secrets(&url, &["S1"]).as_str(),
            "https://h/api/session/REDACTED;lsid=x/clone/REDACTED?skip=1"
        );
        // Percent-encoded in the path, as a client writes a value with reserved characters.
        let odd = crate::Secret::new("odd/sess ion-42");
        let url = Url::parse("https://h/api/session/odd%2Fsess%20ion-42").unwrap();
        assert_eq!(
            scrub_path_secrets(&url, &[]).as_str(),
            "https://h/api/session/REDACTED"
        );
        let clean = Url::parse("https://h/api/session/other").unwrap();
        assert!(!path_carries_live_secret(&clean));
        assert_eq!(scrub_path_secrets(&clean, &["S1"]), clean);
        drop((lsid, odd));
    }

    #[test]
    fn unparsable_text_is_replaced() {
        assert_eq!(scrub_url_str("not a url with token=abc", &[]), REDACTED);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// A secret no URL part generated below can contain by chance.
        fn secret() -> impl Strategy<Value = String> {
            "[A-Za-z0-9_~.-]{6,24}".prop_map(|s| format!("Zq{s}"))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn scrubbing_never_panics(text in "\\PC{0,80}", extra in "[a-z]{0,6}") {
                let _ = scrub_url_str(&text, &[&extra]);
                if let Ok(url) = Url::parse(&format!("https://h/{text}")) {
                    let _ = scrub_url(&url, &[&extra]);
                }
            }

            #[test]
            fn planted_secrets_never_survive(
                secret in secret(),
                segments in proptest::collection::vec("[a-z0-9]{1,8}", 1..4),
                plain in proptest::collection::vec(("[a-y]{1,6}", "[a-y0-9]{0,6}"), 0..4),
                name in prop::sample::select(vec!["apiKey", "token", "lsid", "mine", "x_session"]),
                place in 0..3usize,
            ) {
                let mut url = Url::parse("https://h/").unwrap();
                let mut path = segments.join("/");
                match place {
                    0 => {
                        url.query_pairs_mut().extend_pairs(plain.iter().cloned()).append_pair(name, &secret);
                    }
                    1 => path.push_str(&format!(";{name}={secret}")),
                    _ => {
                        url.set_username(&secret).unwrap();
                    }
                }
                url.set_path(&path);
                let out = scrub_url(&url, &["mine"]).to_string();
                prop_assert!(!out.contains(&secret), "{out}");
                // Harmless pairs are kept.
                for (k, v) in &plain {
                    if place == 0 && !is_sensitive_name(k) {
                        let kept = url::form_urlencoded::Serializer::new(String::new())
                            .append_pair(k, v)
                            .finish();
                        prop_assert!(out.contains(&kept), "{out} lost {kept}");
                    }
                }
            }
        }
    }
}
