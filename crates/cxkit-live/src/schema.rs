//! Validates a JSON body against a spec's response schema the way the generated client would
//! decode it: `$ref`s resolved within the spec, `nullable` honoured, `required` fields present,
//! types as declared, closed enums and `additionalProperties: false` enforced. Undocumented
//! extra fields of open objects do not break decoding; they are collected separately so a
//! curator can add them.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How deep the walk descends before it gives up (a self-referencing schema).
const MAX_DEPTH: usize = 64;

/// One way a body deviates from its schema.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Issue {
    /// What is wrong.
    pub kind: IssueKind,
    /// The JSON path of the value, e.g. `$.data.agents[0].id`.
    pub path: String,
    /// What the schema expects and what the body holds.
    pub detail: String,
}

/// The kinds of deviation that break decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// A `required` property is absent.
    MissingRequired,
    /// The value has another JSON type than the schema's (including `null` where not
    /// `nullable`).
    TypeMismatch,
    /// A string outside the schema's closed `enum`.
    EnumMismatch,
    /// A property the schema forbids (`additionalProperties: false`).
    ForbiddenField,
}

/// The result of one validation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings {
    /// Deviations that make decoding fail.
    pub issues: Vec<Issue>,
    /// Properties the schema does not document, on objects that allow them (paths).
    pub undocumented: Vec<String>,
}

/// Validates `value` against `schema`, resolving `$ref`s in `doc`.
pub fn validate(doc: &Value, schema: &Value, value: &Value) -> Findings {
    let mut walk = Walk {
        doc,
        issues: Vec::new(),
        undocumented: Vec::new(),
        seen: BTreeSet::new(),
    };
    walk.check(schema, value, "$", 0);
    Findings {
        issues: walk.issues,
        undocumented: walk.undocumented,
    }
}

/// Follows local `$ref`s: the shared resolver's lenient form (`cxkit_spec::refs`); a reference
/// that cannot be followed is returned as written, a schema with no type, which accepts any
/// value (the lint reports it).
pub use cxkit_spec::refs::resolve_or_self as resolve;

struct Walk<'a> {
    doc: &'a Value,
    issues: Vec<Issue>,
    undocumented: Vec<String>,
    /// Issue keys with array indexes replaced by `[*]`, so a list of 500 items with the same
    /// deviation is reported once (at its first occurrence).
    seen: BTreeSet<(IssueKind, String)>,
}

/// `$.a[3].b` -> `$.a[*].b`.
fn generic_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[*]");
            }
            ']' => in_index = false,
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl Walk<'_> {
    fn issue(&mut self, kind: IssueKind, path: &str, detail: String) {
        if self.seen.insert((kind, generic_path(path))) {
            self.issues.push(Issue {
                kind,
                path: path.to_owned(),
                detail,
            });
        }
    }

    fn extra(&mut self, path: String) {
        let generic = generic_path(&path);
        if !self.undocumented.iter().any(|p| generic_path(p) == generic) {
            self.undocumented.push(path);
        }
    }

    fn check(&mut self, schema: &Value, value: &Value, path: &str, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let schema = resolve(self.doc, schema);
        if !schema.is_object() {
            return;
        }
        let nullable = schema.get("nullable").and_then(Value::as_bool) == Some(true);
        if value.is_null() {
            let typed = schema.get("type").is_some()
                || schema.get("properties").is_some()
                || schema.get("allOf").is_some();
            if typed && !nullable {
                self.issue(
                    IssueKind::TypeMismatch,
                    path,
                    "null, but the schema is not `nullable`".into(),
                );
            }
            return;
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            self.check_all_of(schema, all, value, path, depth);
            return;
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(branches) = schema.get(key).and_then(Value::as_array) {
                self.check_one_of(branches, value, path, depth);
                return;
            }
        }
        let declared = schema.get("type").and_then(Value::as_str);
        let kind = declared.or_else(|| {
            (schema.get("properties").is_some() || schema.get("required").is_some())
                .then_some("object")
        });
        let actual = json_type(value);
        match kind {
            None => {}
            Some("object") => match value.as_object() {
                Some(object) => self.check_object(schema, object, path, depth),
                None => self.mismatch("object", actual, path),
            },
            Some("array") => match value.as_array() {
                Some(items) => {
                    let item_schema = schema.get("items").unwrap_or(&Value::Null);
                    for (i, item) in items.iter().enumerate() {
                        self.check(item_schema, item, &format!("{path}[{i}]"), depth + 1);
                    }
                }
                None => self.mismatch("array", actual, path),
            },
            Some("integer") if actual != "integer" => self.mismatch("integer", actual, path),
            Some("number") if !value.is_number() => self.mismatch("number", actual, path),
            Some("boolean") if !value.is_boolean() => self.mismatch("boolean", actual, path),
            Some("string") => match value.as_str() {
                None => self.mismatch("string", actual, path),
                Some(text) => {
                    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
                        && !allowed.iter().any(|a| a.as_str() == Some(text))
                    {
                        self.issue(
                            IssueKind::EnumMismatch,
                            path,
                            format!("`{text}` is not one of the schema's enum values"),
                        );
                    }
                }
            },
            Some(_) => {}
        }
    }

    fn mismatch(&mut self, expected: &str, actual: &str, path: &str) {
        self.issue(
            IssueKind::TypeMismatch,
            path,
            format!("expected {expected}, got {actual}"),
        );
    }

    fn check_object(
        &mut self,
        schema: &Value,
        object: &serde_json::Map<String, Value>,
        path: &str,
        depth: usize,
    ) {
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(name) {
                self.issue(
                    IssueKind::MissingRequired,
                    &format!("{path}.{name}"),
                    "a required property is missing".into(),
                );
            }
        }
        let additional = schema.get("additionalProperties");
        for (name, item) in object {
            let here = format!("{path}.{name}");
            match properties.and_then(|p| p.get(name)) {
                Some(property) => self.check(property, item, &here, depth + 1),
                None => match additional {
                    Some(Value::Bool(false)) => self.issue(
                        IssueKind::ForbiddenField,
                        &here,
                        "the schema has `additionalProperties: false`".into(),
                    ),
                    Some(extra) if extra.is_object() => {
                        self.check(extra, item, &here, depth + 1);
                    }
                    // A free-form object (no `properties`) documents no field names.
                    _ if properties.is_some_and(|p| !p.is_empty()) => self.extra(here),
                    _ => {}
                },
            }
        }
    }

    /// `allOf`: every part must hold, and a property is documented if any part names it.
    fn check_all_of(
        &mut self,
        schema: &Value,
        parts: &[Value],
        value: &Value,
        path: &str,
        depth: usize,
    ) {
        let mut merged = serde_json::Map::new();
        let mut properties = serde_json::Map::new();
        let mut required = Vec::new();
        // The parts, nested `allOf`s flattened, then the schema itself (its own keys win); an
        // `allOf` that contains itself is read one level deep.
        let layers = cxkit_spec::refs::object_layers(self.doc, schema).unwrap_or_else(|_| {
            std::iter::once(schema)
                .chain(parts.iter().map(|p| resolve(self.doc, p)))
                .collect()
        });
        for &part in layers.iter().skip(1).chain(layers.first()) {
            if let Some(p) = part.get("properties").and_then(Value::as_object) {
                properties.extend(p.clone());
            }
            if let Some(r) = part.get("required").and_then(Value::as_array) {
                required.extend(r.iter().cloned());
            }
            for key in ["type", "nullable", "additionalProperties"] {
                if let Some(v) = part.get(key) {
                    merged.insert(key.to_owned(), v.clone());
                }
            }
        }
        if properties.is_empty() && required.is_empty() {
            for part in parts {
                self.check(part, value, path, depth + 1);
            }
            return;
        }
        merged.insert("type".into(), Value::String("object".into()));
        merged.insert("properties".into(), Value::Object(properties));
        merged.insert("required".into(), Value::Array(required));
        self.check(&Value::Object(merged), value, path, depth + 1);
    }

    /// `oneOf`/`anyOf`: the value must match one branch; the closest branch's findings count.
    fn check_one_of(&mut self, branches: &[Value], value: &Value, path: &str, depth: usize) {
        let mut best: Option<Findings> = None;
        for branch in branches {
            let mut walk = Walk {
                doc: self.doc,
                issues: Vec::new(),
                undocumented: Vec::new(),
                seen: BTreeSet::new(),
            };
            walk.check(branch, value, path, depth + 1);
            let findings = Findings {
                issues: walk.issues,
                undocumented: walk.undocumented,
            };
            if best
                .as_ref()
                .is_none_or(|b| findings.issues.len() < b.issues.len())
            {
                best = Some(findings);
            }
        }
        if let Some(best) = best {
            for i in best.issues {
                self.issue(i.kind, &i.path, i.detail);
            }
            for p in best.undocumented {
                self.extra(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc() -> Value {
        json!({"components": {"schemas": {
            "Agent": {"type": "object", "required": ["id", "name"], "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "status": {"type": "string", "enum": ["on", "off"]},
                "description": {"type": "string", "nullable": true},
                "tags": {"type": "array", "items": {"type": "string"}}
            }},
            "Envelope": {"type": "object", "properties": {
                "data": {"type": "object", "properties": {
                    "agents": {"type": "array", "items": {"$ref": "#/components/schemas/Agent"}}
                }}
            }},
            "Closed": {"type": "object", "additionalProperties": false, "properties": {"a": {"type": "string"}}}
        }}})
    }

    #[test]
    fn finds_each_kind_of_deviation_with_its_path() {
        let doc = doc();
        let schema = json!({"$ref": "#/components/schemas/Envelope"});
        let body = json!({"data": {"agents": [
            {"id": 1, "name": "a", "description": null, "tags": ["x"]},
            {"id": "2", "status": "paused", "extra": 1, "tags": [3]},
            {"id": "3", "name": "c"}
        ]}});
        let found = validate(&doc, &schema, &body);
        let got: Vec<(IssueKind, &str)> = found
            .issues
            .iter()
            .map(|i| (i.kind, i.path.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (IssueKind::MissingRequired, "$.data.agents[1].name"),
                (IssueKind::TypeMismatch, "$.data.agents[1].id"),
                (IssueKind::EnumMismatch, "$.data.agents[1].status"),
                (IssueKind::TypeMismatch, "$.data.agents[1].tags[0]"),
            ],
            "each deviation once, at its first occurrence"
        );
        assert_eq!(found.undocumented, ["$.data.agents[1].extra"]);
    }

    #[test]
    fn nullable_closed_objects_and_all_of_are_honoured() {
        let doc = doc();
        let closed = json!({"$ref": "#/components/schemas/Closed"});
        let found = validate(&doc, &closed, &json!({"a": "x", "b": 1}));
        assert_eq!(found.issues[0].kind, IssueKind::ForbiddenField);
        let found = validate(&doc, &json!({"type": "string"}), &Value::Null);
        assert_eq!(found.issues[0].kind, IssueKind::TypeMismatch);
        let all_of = json!({"allOf": [{"$ref": "#/components/schemas/Agent"}, {"properties": {"more": {"type": "boolean"}}}]});
        let found = validate(&doc, &all_of, &json!({"id": 1, "name": "n", "more": true}));
        assert_eq!(found, Findings::default());
        let free = json!({"type": "object"});
        assert_eq!(validate(&doc, &free, &json!({"x": 1})), Findings::default());
    }

    /// A part of an `allOf` that is itself an `allOf` is read through (its required fields
    /// checked, its properties documented), and an `allOf` containing itself ends.
    #[test]
    fn nested_all_of_is_read_through_and_a_circular_one_ends() {
        let doc = json!({"components": {"schemas": {
            "Agent": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}},
            "Named": {"allOf": [{"$ref": "#/components/schemas/Agent"}, {"required": ["name"], "properties": {"name": {"type": "string"}}}]},
            "Loop": {"allOf": [{"$ref": "#/components/schemas/Loop"}, {"properties": {"a": {"type": "string"}}}]}
        }}});
        let nested = json!({"allOf": [{"$ref": "#/components/schemas/Named"}, {"properties": {"more": {"type": "boolean"}}}]});
        let found = validate(&doc, &nested, &json!({"name": "n", "more": true}));
        let got: Vec<(IssueKind, &str)> = found
            .issues
            .iter()
            .map(|i| (i.kind, i.path.as_str()))
            .collect();
        assert_eq!(got, [(IssueKind::MissingRequired, "$.id")]);
        assert!(found.undocumented.is_empty(), "{:?}", found.undocumented);
        let found = validate(
            &doc,
            &json!({"$ref": "#/components/schemas/Loop"}),
            &json!({"a": "x"}),
        );
        assert!(found.issues.is_empty(), "{found:?}");
    }
}
