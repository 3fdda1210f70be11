//! The request id a server (or the API gateway in front of it) gives an answer, so a failed call
//! can be quoted to the vendor's support. Azure API Management (Ejento's gateway) and most
//! stacks send one of a few well-known headers.

use reqwest::header::HeaderMap;

/// The headers read, in order: the common `X-Request-Id`, Azure's `x-ms-request-id` and APIM's
/// `apim-request-id`, the plain `request-id`, `X-Correlation-Id`, and AWS's two spellings.
pub const REQUEST_ID_HEADERS: [&str; 7] = [
    "x-request-id",
    "x-ms-request-id",
    "apim-request-id",
    "request-id",
    "x-correlation-id",
    "x-amzn-requestid",
    "x-amz-request-id",
];

/// The longest request id kept; real ones (UUIDs, trace ids) are far shorter.
const MAX_LEN: usize = 128;

/// The answer's request id, if it sent one that looks like an id: at most 128 characters of
/// letters, digits and `-_.:/+=`. Anything else (a server echoing arbitrary text into the
/// header) is dropped, since the id is printed in errors and recorded in logs; a value equal to
/// a live secret is dropped too.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    let value = REQUEST_ID_HEADERS
        .iter()
        .find_map(|name| headers.get(*name))?
        .to_str()
        .ok()?
        .trim();
    let looks_like_an_id = !value.is_empty()
        && value.len() <= MAX_LEN
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/+=".contains(c));
    (looks_like_an_id && crate::scrub_live_secrets(value) == value).then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("valid header"));
        }
        map
    }

    #[test]
    fn the_first_known_header_wins() {
        let map = headers(&[
            ("apim-request-id", "apim-1"),
            ("x-ms-request-id", "3f1c2a9e-0b7d-4c55-9d1e-2f6a7b8c9d0e"),
        ]);
        assert_eq!(
            request_id(&map).as_deref(),
            Some("3f1c2a9e-0b7d-4c55-9d1e-2f6a7b8c9d0e")
        );
        assert_eq!(request_id(&HeaderMap::new()), None);
    }

    #[test]
    fn text_that_is_not_an_id_is_dropped() {
        for bad in ["", "has spaces in it", "<script>", &"a".repeat(129)] {
            assert_eq!(
                request_id(&headers(&[("x-request-id", bad)])),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn a_live_secret_is_never_taken_for_an_id() {
        let secret = crate::Secret::new("req-id-looking-secret-0123456789");
        let map = headers(&[("x-request-id", secret.expose())]);
        assert_eq!(request_id(&map), None);
    }
}
