//! Reading YAML into JSON while rejecting duplicate mapping keys.
//!
//! serde_yaml_ng reads a mapping with a repeated key into a JSON object by keeping the last
//! value, so the first of two identical paths (or properties) would vanish without a word. This
//! reader checks every key against its siblings as it is read; the error then carries the
//! position of the repeated key and the path of mappings leading to it.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// How a duplicate key's error starts; the key and a backtick follow.
const DUPLICATE: &str = "duplicate key `";

/// Parses YAML into JSON. Errors are messages saying where and what: a duplicate key names the
/// key, the mapping it is in and the lines of both entries.
pub fn from_slice(bytes: &[u8]) -> Result<Value, String> {
    match serde_yaml_ng::from_slice::<Unique>(bytes) {
        Ok(Unique(value)) => Ok(value),
        Err(e) => Err(describe(&e, &String::from_utf8_lossy(bytes))),
    }
}

fn describe(e: &serde_yaml_ng::Error, text: &str) -> String {
    let message = e.to_string();
    let Some(at) = message.find(DUPLICATE) else {
        return format!("not valid YAML: {message}; fix the syntax at that position");
    };
    let key = message[at + DUPLICATE.len()..]
        .split('`')
        .next()
        .unwrap_or_default();
    // serde_yaml_ng prefixes the path of mappings leading to the error (`paths: ...`) and
    // places the error at the start of the mapping holding the key.
    let within = message[..at].trim_end().trim_end_matches(':');
    let within = if within.is_empty() {
        "at the top level".to_owned()
    } else {
        format!("in `{within}`")
    };
    let lines = e
        .location()
        .map(|l| key_lines(text, l.line(), l.column(), key))
        .unwrap_or_default();
    let lines = match lines.as_slice() {
        [] => e
            .location()
            .map(|l| format!(" (the mapping starting at line {})", l.line()))
            .unwrap_or_default(),
        [one] => format!(" (line {one})"),
        many => format!(
            " (lines {})",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    };
    format!(
        "duplicate key `{key}` {within}{lines}; YAML keeps only the last, so the earlier entry would be silently dropped: merge them into one"
    )
}

/// The 1-based lines of a block mapping that start with `key:`, for the mapping whose first key
/// sits at `line`/`column` (1-based).
fn key_lines(text: &str, line: usize, column: usize, key: &str) -> Vec<usize> {
    let indent = column.saturating_sub(1);
    let forms = [
        format!("{key}:"),
        format!("\"{key}\":"),
        format!("'{key}':"),
    ];
    let mut found = Vec::new();
    for (i, l) in text.lines().enumerate().skip(line.saturating_sub(1)) {
        let body = l.trim_start();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let lead = l.len() - body.len();
        // The first line may hold the key after a `- ` (a mapping inside a sequence).
        let first = i + 1 == line;
        if lead < indent && !first {
            break;
        }
        let at = l.get(indent..).unwrap_or_default();
        if (lead == indent || first) && forms.iter().any(|f| at.starts_with(f.as_str())) {
            found.push(i + 1);
        }
    }
    found
}

/// A JSON value read with duplicate keys rejected.
struct Unique(Value);

impl<'de> de::Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut seen = BTreeSet::new();
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(NewKey(&mut seen))? {
            let Unique(value) = map.next_value()?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// A mapping key, which must differ from every key read before it in the same mapping.
struct NewKey<'a>(&'a mut BTreeSet<String>);

impl<'de> DeserializeSeed<'de> for NewKey<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        let key = <String as de::Deserialize>::deserialize(d)?;
        if !self.0.insert(key.clone()) {
            return Err(de::Error::custom(format_args!("{DUPLICATE}{key}`")));
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_key_is_refused_with_the_key_its_mapping_and_both_lines() {
        let text = "paths:\n  /a:\n    get:\n      operationId: one\n  /b:\n    get: {}\n  /a:\n    post: {}\n";
        let e = from_slice(text.as_bytes()).unwrap_err();
        assert!(e.starts_with("duplicate key `/a` in `paths`"), "{e}");
        assert!(e.contains("(lines 2 and 7)"), "{e}");
        assert!(e.contains("silently dropped"), "{e}");
    }

    #[test]
    fn a_duplicate_at_the_top_level_says_so() {
        let e = from_slice(b"a: 1\nb: 2\na: 3\n").unwrap_err();
        assert!(e.starts_with("duplicate key `a` at the top level"), "{e}");
    }

    #[test]
    fn the_same_key_in_sibling_mappings_is_fine_and_values_keep_their_types() {
        let v = from_slice(b"x: {a: 1, b: [true, 2.5, null]}\ny: {a: 'two'}\n").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"x": {"a": 1, "b": [true, 2.5, null]}, "y": {"a": "two"}})
        );
    }

    #[test]
    fn broken_yaml_is_a_message_not_a_panic() {
        let e = from_slice(b"a: [1, 2\n").unwrap_err();
        assert!(e.starts_with("not valid YAML"), "{e}");
    }
}
