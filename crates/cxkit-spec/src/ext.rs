//! The `x-cxkit-*` operation extensions more than one tool reads.

use serde_json::Value;

/// `x-cxkit-source`: the list of pages, seeds and evidence an operation cites.
pub const SOURCE: &str = "x-cxkit-source";
/// `x-cxkit-inferred: true`: the part (operation, parameter, body, response) is inferred.
pub const INFERRED: &str = "x-cxkit-inferred";
/// `x-cxkit-handwritten: <why>`: the facade implements the call by hand.
pub const HANDWRITTEN: &str = "x-cxkit-handwritten";
/// `x-cxkit-facade: Type::method`: the facade call that wraps the operation.
pub const FACADE: &str = "x-cxkit-facade";
/// `x-cxkit-server: name`: the host the operation lives on, when not the spec's default.
pub const SERVER: &str = "x-cxkit-server";

/// The cited sources, in order (non-strings skipped; the lint reports them).
pub fn sources(op: &Value) -> Vec<&str> {
    op.get(SOURCE)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Whether a part of an operation (or the operation itself) is marked inferred.
pub fn inferred(part: &Value) -> bool {
    part.get(INFERRED).and_then(Value::as_bool) == Some(true)
}

/// Whether the operation is hand-written in the facade, and why (as written).
pub fn handwritten(op: &Value) -> Option<&Value> {
    op.get(HANDWRITTEN)
}

/// The facade call that wraps the operation, as the spec declares it
/// (`Ejento::stream_agent_response`, `Ejento::sso_login_url(SsoProvider::Google, ..)`).
pub fn facade(op: &Value) -> Option<&str> {
    op.get(FACADE).and_then(Value::as_str)
}

/// Checks the form of an `x-cxkit-facade` value: `Type::method`, optionally followed by an
/// argument sketch in parentheses. Returns the type and the method.
pub fn parse_facade(call: &str) -> Result<(&str, &str), String> {
    let bad = || {
        format!(
            "`{FACADE}` is `{call}`; it must name a facade call as `Type::method` (optionally with \
             arguments sketched in parentheses, `Ejento::sso_login_url(SsoProvider::Google, ..)`)"
        )
    };
    let (ty, rest) = call.split_once("::").ok_or_else(bad)?;
    let (method, args) = match rest.find('(') {
        Some(at) => (&rest[..at], Some(&rest[at..])),
        None => (rest, None),
    };
    let type_ok = ty.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && ty.chars().all(|c| c.is_ascii_alphanumeric());
    let method_ok = method
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && method
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let args_ok = args.is_none_or(|a| a.ends_with(')'));
    if type_ok && method_ok && args_ok {
        Ok((ty, method))
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn facade_calls_have_a_type_and_a_method() {
        assert_eq!(parse_facade("Ejento::refresh"), Ok(("Ejento", "refresh")));
        assert_eq!(
            parse_facade("Ejento::sso_login_url(SsoProvider::Google, ..)"),
            Ok(("Ejento", "sso_login_url"))
        );
        for bad in [
            "refresh",
            "ejento::refresh",
            "Ejento::Refresh",
            "Ejento::",
            "Ejento::a(b",
            "Ej ento::a",
        ] {
            assert!(parse_facade(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn provenance_marks_are_read_as_written() {
        let op = json!({"x-cxkit-source": ["a", 1, "b"], "x-cxkit-inferred": true, "x-cxkit-facade": "P::q"});
        assert_eq!(sources(&op), ["a", "b"]);
        assert!(inferred(&op));
        assert!(!inferred(&json!({"x-cxkit-inferred": "yes"})));
        assert_eq!(facade(&op), Some("P::q"));
    }
}
