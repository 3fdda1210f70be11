//! Security schemes mapped to where their secret goes on the wire.
//!
//! The hooks can apply four placements: `http` `bearer`; `apiKey` in a header; `apiKey` in the
//! query; and `apiKey` in the query marked `x-cxkit-placement: matrix`, a matrix parameter on
//! the last path segment (`/path;name=secret`, Platform28's LSID). Anything else is refused with
//! a message saying what can be used instead.

use serde_json::Value;

/// Where a scheme's secret goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// `Authorization: Bearer <secret>`.
    Bearer,
    /// A request header with this name.
    Header(String),
    /// A query pair with this name.
    Query(String),
    /// A matrix parameter with this name on the last path segment.
    Matrix(String),
}

impl Placement {
    /// The header that carries the secret (lower case), for header placements.
    pub fn header(&self) -> Option<String> {
        match self {
            Placement::Bearer => Some("authorization".to_owned()),
            Placement::Header(name) => Some(name.to_ascii_lowercase()),
            Placement::Query(_) | Placement::Matrix(_) => None,
        }
    }

    /// The URL parameter that carries the secret, for query and matrix placements.
    pub fn url_param(&self) -> Option<&str> {
        match self {
            Placement::Query(name) | Placement::Matrix(name) => Some(name),
            Placement::Bearer | Placement::Header(_) => None,
        }
    }
}

/// The placement of one `components.securitySchemes` entry, or why the hooks cannot apply it.
pub fn placement(name: &str, def: &Value) -> Result<Placement, String> {
    let kind = def.get("type").and_then(Value::as_str);
    let placed_in = def.get("in").and_then(Value::as_str);
    let marked = def.get("x-cxkit-placement").and_then(Value::as_str);
    let param = || {
        def.get("name")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("security scheme `{name}` has no `name`"))
    };
    let refused = || {
        format!(
            "security scheme `{name}` is not one the hooks can apply; use http bearer, \
             apiKey in header, or apiKey in query (optionally with \
             `x-cxkit-placement: matrix`)"
        )
    };
    match (kind, placed_in, marked) {
        (Some("http"), _, None)
            if def
                .get("scheme")
                .and_then(Value::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case("bearer")) =>
        {
            Ok(Placement::Bearer)
        }
        (Some("apiKey"), Some("header"), None) => param().map(Placement::Header),
        (Some("apiKey"), Some("query"), None) => param().map(Placement::Query),
        (Some("apiKey"), Some("query"), Some("matrix")) => param().map(Placement::Matrix),
        _ => Err(refused()),
    }
}

/// Every scheme of a spec in document order, each with its placement or why it has none.
pub fn schemes(doc: &Value) -> Vec<(&str, Result<Placement, String>)> {
    doc.pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, def)| (name.as_str(), placement(name, def)))
        .collect()
}

/// An operation's `security` (or the document's when it has none): alternatives, each the
/// scheme names that must all apply. An empty alternative means no credential is needed.
pub fn requirements<'a>(doc: &'a Value, op: &'a Value) -> Vec<Vec<&'a str>> {
    op.get("security")
        .or_else(|| doc.get("security"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|alt| {
            alt.as_object()
                .into_iter()
                .flat_map(|o| o.keys().map(String::as_str))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_supported_scheme_has_its_placement() {
        let doc = json!({"components": {"securitySchemes": {
            "token": {"type": "http", "scheme": "Bearer"},
            "key": {"type": "apiKey", "in": "header", "name": "X-Key"},
            "q": {"type": "apiKey", "in": "query", "name": "apikey"},
            "lsid": {"type": "apiKey", "in": "query", "name": "lsid", "x-cxkit-placement": "matrix"},
            "basic": {"type": "http", "scheme": "basic"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "c"},
            "nameless": {"type": "apiKey", "in": "header"}
        }}});
        let found = schemes(&doc);
        let of = |name: &str| found.iter().find(|(n, _)| *n == name).unwrap().1.clone();
        assert_eq!(of("token"), Ok(Placement::Bearer));
        assert_eq!(of("key"), Ok(Placement::Header("X-Key".into())));
        assert_eq!(of("q"), Ok(Placement::Query("apikey".into())));
        assert_eq!(of("lsid"), Ok(Placement::Matrix("lsid".into())));
        assert!(
            of("basic")
                .unwrap_err()
                .contains("`basic` is not one the hooks can apply")
        );
        assert!(of("cookie").is_err());
        assert_eq!(
            of("nameless"),
            Err("security scheme `nameless` has no `name`".into())
        );
        assert_eq!(
            Placement::Header("X-Key".into()).header().as_deref(),
            Some("x-key")
        );
        assert_eq!(Placement::Matrix("lsid".into()).url_param(), Some("lsid"));
    }

    #[test]
    fn an_operations_security_replaces_the_documents() {
        let doc = json!({"security": [{"a": []}]});
        assert_eq!(requirements(&doc, &json!({})), vec![vec!["a"]]);
        assert_eq!(
            requirements(&doc, &json!({"security": [{}, {"b": [], "c": []}]})),
            vec![vec![], vec!["b", "c"]]
        );
    }
}
