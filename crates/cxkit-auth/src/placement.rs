//! Putting a secret on a request, and reading it back (to tell the token source which token the
//! server rejected).

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use reqwest::Request;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};

use crate::{AuthError, Placement, Secret};

/// Characters escaped in a matrix parameter value: everything that would end the value, the
/// segment or the path, plus anything outside printable ASCII.
const MATRIX_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b';')
    .add(b'=')
    .add(b',')
    .add(b'?')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

/// Writes `secret` into `request` at `placement`, replacing any value already there (a replay
/// after a refresh re-applies the new token over the old one).
#[cfg(test)]
pub(crate) fn apply(
    request: &mut Request,
    placement: Placement,
    name: &str,
    secret: &Secret,
) -> Result<(), AuthError> {
    apply_cached(request, placement, name, secret, &HeaderCache::default())
}

/// Writes `secret` into `request` at `placement`, replacing any value already there (a replay
/// after a refresh re-applies the new token over the old one); a header value is reused from
/// `cache` when it was built from this very secret.
pub(crate) fn apply_cached(
    request: &mut Request,
    placement: Placement,
    name: &str,
    secret: &Secret,
    cache: &HeaderCache,
) -> Result<(), AuthError> {
    match placement {
        Placement::Bearer => {
            let value = cache.get_or_build(secret, true, || {
                // One buffer that becomes the header value as is (no formatting, no copy).
                let token = secret.expose().as_bytes();
                let mut text = Vec::with_capacity(7 + token.len());
                text.extend_from_slice(b"Bearer ");
                text.extend_from_slice(token);
                sensitive_value(bytes::Bytes::from(text))
            })?;
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        Placement::Header(_) => {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                AuthError::config(format!("`{name}` is not a valid HTTP header name"))
            })?;
            let value = cache.get_or_build(secret, false, || {
                sensitive_value(bytes::Bytes::copy_from_slice(secret.expose().as_bytes()))
            })?;
            request.headers_mut().insert(name, value);
        }
        Placement::Query(_) => {
            let url = request.url_mut();
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != name)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let mut pairs = url.query_pairs_mut();
            pairs.clear();
            for (k, v) in &kept {
                pairs.append_pair(k, v);
            }
            pairs.append_pair(name, secret.expose());
        }
        Placement::Matrix(_) => {
            let url = request.url_mut();
            let path = url.path().to_owned();
            let (head, last) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
            let mut parts = last.split(';');
            let segment = parts.next().unwrap_or_default();
            let mut rebuilt = format!("{head}/{segment}");
            for param in parts.filter(|p| p.split('=').next() != Some(name)) {
                rebuilt.push(';');
                rebuilt.push_str(param);
            }
            rebuilt.push(';');
            rebuilt.push_str(name);
            rebuilt.push('=');
            rebuilt.extend(utf8_percent_encode(secret.expose(), MATRIX_VALUE));
            url.set_path(&rebuilt);
        }
    }
    Ok(())
}

/// Reads back the secret [`apply`] wrote, if it is there.
pub(crate) fn read(request: &Request, placement: Placement, name: &str) -> Option<Secret> {
    match placement {
        Placement::Bearer => request
            .headers()
            .get(AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")
            .map(Secret::from),
        Placement::Header(_) => request.headers().get(name)?.to_str().ok().map(Secret::from),
        Placement::Query(_) => request
            .url()
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| Secret::new(v.into_owned())),
        Placement::Matrix(_) => {
            let last = request.url().path().rsplit('/').next()?;
            last.split(';').skip(1).find_map(|param| {
                let (k, v) = param.split_once('=')?;
                (k == name).then(|| Secret::new(percent_decode_str(v).decode_utf8_lossy()))
            })
        }
    }
}

/// The header value last built from a credential's secret, reused while its source hands out
/// the same secret (a fixed key, or a cached token until it is refreshed), so a call neither
/// re-validates nor copies the secret, and cloning the value for a retry copies nothing. Keyed by
/// the secret's identity (the cache holds it, so the allocation cannot be reused by another) and
/// by whether the value is a bearer one.
#[derive(Default)]
pub(crate) struct HeaderCache(std::sync::Mutex<Option<(Secret, bool, HeaderValue)>>);

impl std::fmt::Debug for HeaderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeaderCache")
    }
}

impl HeaderCache {
    fn get_or_build(
        &self,
        secret: &Secret,
        bearer: bool,
        build: impl FnOnce() -> Result<HeaderValue, AuthError>,
    ) -> Result<HeaderValue, AuthError> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((held, was_bearer, value)) = &*slot
            && held.is_same(secret)
            && *was_bearer == bearer
        {
            return Ok(value.clone());
        }
        let value = build()?;
        *slot = Some((secret.clone(), bearer, value.clone()));
        Ok(value)
    }
}

fn sensitive_value(text: bytes::Bytes) -> Result<HeaderValue, AuthError> {
    let mut value = HeaderValue::from_maybe_shared(text).map_err(|_| {
        AuthError::config("a credential contains characters that cannot go in an HTTP header")
    })?;
    // Marks the value so that hyper's and reqwest's Debug output print `Sensitive`.
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_cache_follows_the_secret_and_the_placement() {
        let cache = HeaderCache::default();
        let mut r = Request::new(reqwest::Method::GET, "http://127.0.0.1/".parse().unwrap());
        let one = Secret::new("token-one");
        apply_cached(&mut r, Placement::Bearer, "", &one, &cache).unwrap();
        apply_cached(&mut r, Placement::Bearer, "", &one, &cache).unwrap();
        assert_eq!(r.headers()[AUTHORIZATION], "Bearer token-one");
        assert!(r.headers()[AUTHORIZATION].is_sensitive());
        // A refreshed token with the same text is another secret: rebuilt, same bytes.
        let two = Secret::new("token-two");
        apply_cached(&mut r, Placement::Bearer, "", &two, &cache).unwrap();
        assert_eq!(r.headers()[AUTHORIZATION], "Bearer token-two");
        apply_cached(&mut r, Placement::Header("x-key"), "x-key", &two, &cache).unwrap();
        assert_eq!(r.headers()["x-key"], "token-two");
        assert!(r.headers()["x-key"].is_sensitive());
    }

    fn request(url: &str) -> Request {
        Request::new(reqwest::Method::GET, url.parse().unwrap())
    }

    #[test]
    fn matrix_goes_on_the_last_segment_and_replaces_itself() {
        let mut r = request("https://h/api/session/42?x=1");
        apply(
            &mut r,
            Placement::Matrix("lsid"),
            "lsid",
            &Secret::new("a;b=c"),
        )
        .unwrap();
        assert_eq!(
            r.url().as_str(),
            "https://h/api/session/42;lsid=a%3Bb%3Dc?x=1"
        );
        apply(
            &mut r,
            Placement::Matrix("lsid"),
            "lsid",
            &Secret::new("new"),
        )
        .unwrap();
        assert_eq!(r.url().as_str(), "https://h/api/session/42;lsid=new?x=1");
        assert_eq!(
            read(&r, Placement::Matrix("lsid"), "lsid")
                .unwrap()
                .expose(),
            "new"
        );
    }

    #[test]
    fn query_key_is_appended_once_and_other_pairs_are_kept() {
        let mut r = request("https://h/p?skip=0&limit=10");
        apply(
            &mut r,
            Placement::Query("apiKey"),
            "apiKey",
            &Secret::new("k 1"),
        )
        .unwrap();
        apply(
            &mut r,
            Placement::Query("apiKey"),
            "apiKey",
            &Secret::new("k2&"),
        )
        .unwrap();
        assert_eq!(r.url().as_str(), "https://h/p?skip=0&limit=10&apiKey=k2%26");
        assert_eq!(
            read(&r, Placement::Query("apiKey"), "apiKey")
                .unwrap()
                .expose(),
            "k2&"
        );
    }

    #[test]
    fn headers_are_marked_sensitive() {
        let mut r = request("https://h/p");
        apply(&mut r, Placement::Bearer, "", &Secret::new("tok")).unwrap();
        apply(
            &mut r,
            Placement::Header("X-SINITIC-TOKEN"),
            "X-SINITIC-TOKEN",
            &Secret::new("canary-pat-91"),
        )
        .unwrap();
        assert!(r.headers()["authorization"].is_sensitive());
        assert!(r.headers()["x-sinitic-token"].is_sensitive());
        assert_eq!(read(&r, Placement::Bearer, "").unwrap().expose(), "tok");
        assert!(!format!("{r:?}").contains("canary-pat-91"));
    }

    #[test]
    fn a_header_breaking_secret_is_a_config_error_without_the_secret() {
        let mut r = request("https://h/p");
        let err = apply(&mut r, Placement::Bearer, "", &Secret::new("bad\nvalue")).unwrap_err();
        assert!(!err.message().contains("bad"));
    }
}
