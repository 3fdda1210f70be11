//! The one `$ref` resolver, with one semantics for every caller:
//!
//! - only local references are read: `#` followed by a JSON pointer into the same document
//!   (`#/components/schemas/Agent`); anything else is [`RefError::NotLocal`];
//! - a chain (`A: {$ref: B}`, `B: {$ref: C}`) is followed to the first value that is not a
//!   reference; siblings of `$ref` are ignored, as OpenAPI 3.0 says;
//! - a chain that comes back to a reference it already followed is [`RefError::Cycle`] (never a
//!   hang, never a depth guess); a pointer that names nothing is [`RefError::Dangling`].
//!
//! Recursion through nesting (`A.items: {$ref: A}`) is not a cycle of references: callers that
//! walk into a schema's parts keep their own stack, as [`object_layers`] does for `allOf`.
//! [`resolve_or_self`] is the lenient form for tools that report bad references elsewhere (the
//! lint): what cannot be followed is returned as written.

use std::fmt;

use serde_json::Value;

/// Why a `$ref` could not be followed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefError {
    /// The reference is not `#/...` inside this document.
    NotLocal(String),
    /// The pointer names nothing in the document.
    Dangling(String),
    /// Following references comes back to one already followed; the chain, in order.
    Cycle(Vec<String>),
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefError::NotLocal(r) => write!(
                f,
                "`$ref: {r}` is not local; only references inside the file (`#/components/...`) are read"
            ),
            RefError::Dangling(r) => write!(f, "`$ref: {r}` names nothing in the spec"),
            RefError::Cycle(chain) => write!(
                f,
                "`$ref`s refer to each other in a circle ({}), so they name no schema",
                chain.join(" -> ")
            ),
        }
    }
}

impl std::error::Error for RefError {}

/// The reference a value makes, if it is a `$ref` object.
pub fn reference(value: &Value) -> Option<&str> {
    value.get("$ref").and_then(Value::as_str)
}

/// The last segment of a reference: `#/components/schemas/Agent` -> `Agent`.
pub fn ref_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// Follows `$ref`s from `value` to the first value that is not one (see the module docs).
pub fn resolve<'a>(doc: &'a Value, value: &'a Value) -> Result<&'a Value, RefError> {
    let mut current = value;
    let mut followed: Vec<&str> = Vec::new();
    while let Some(r) = reference(current) {
        if followed.contains(&r) {
            let mut chain: Vec<String> = followed.iter().map(|s| (*s).to_owned()).collect();
            chain.push(r.to_owned());
            return Err(RefError::Cycle(chain));
        }
        followed.push(r);
        let pointer = r
            .strip_prefix('#')
            .ok_or_else(|| RefError::NotLocal(r.to_owned()))?;
        current = doc
            .pointer(pointer)
            .ok_or_else(|| RefError::Dangling(r.to_owned()))?;
    }
    Ok(current)
}

/// [`resolve`], or, when a reference cannot be followed, the last value reached (the `$ref`
/// object as written): for tools that report bad references elsewhere.
pub fn resolve_or_self<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    let mut current = value;
    let mut followed: Vec<&str> = Vec::new();
    while let Some(r) = reference(current) {
        if followed.contains(&r) {
            return current;
        }
        followed.push(r);
        match r.strip_prefix('#').and_then(|pointer| doc.pointer(pointer)) {
            Some(target) => current = target,
            None => return current,
        }
    }
    current
}

/// An object schema as its `allOf` composes it: the schema itself (resolved) followed by every
/// member of its `allOf`, resolved and flattened depth first. A member that comes back to a
/// schema already on the way (`A: {allOf: [{$ref: A}]}`) is a [`RefError::Cycle`].
pub fn object_layers<'a>(doc: &'a Value, schema: &'a Value) -> Result<Vec<&'a Value>, RefError> {
    fn walk<'a>(
        doc: &'a Value,
        schema: &'a Value,
        stack: &mut Vec<String>,
        out: &mut Vec<&'a Value>,
    ) -> Result<(), RefError> {
        let pushed = match reference(schema) {
            Some(r) if stack.iter().any(|s| s == r) => {
                let mut chain = stack.clone();
                chain.push(r.to_owned());
                return Err(RefError::Cycle(chain));
            }
            Some(r) => {
                stack.push(r.to_owned());
                true
            }
            None => false,
        };
        let resolved = resolve(doc, schema)?;
        out.push(resolved);
        for member in resolved
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            walk(doc, member, stack, out)?;
        }
        if pushed {
            stack.pop();
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(doc, schema, &mut Vec::new(), &mut out)?;
    Ok(out)
}

/// The properties of an object schema through its `allOf` ([`object_layers`]), in order of
/// first appearance; a later layer's schema for the same name replaces an earlier one.
pub fn properties<'a>(
    doc: &'a Value,
    schema: &'a Value,
) -> Result<Vec<(&'a str, &'a Value)>, RefError> {
    let mut out: Vec<(&str, &Value)> = Vec::new();
    for layer in object_layers(doc, schema)? {
        for (name, prop) in layer
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            match out.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = prop,
                None => out.push((name.as_str(), prop)),
            }
        }
    }
    Ok(out)
}

/// The `required` names of an object schema through its `allOf`, sorted and deduplicated.
pub fn required<'a>(doc: &'a Value, schema: &'a Value) -> Result<Vec<&'a str>, RefError> {
    let mut out: Vec<&str> = object_layers(doc, schema)?
        .into_iter()
        .filter_map(|layer| layer.get("required").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "components": {
                "schemas": {
                    "Agent": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
                    "Alias": {"$ref": "#/components/schemas/Agent"},
                    "AliasOfAlias": {"$ref": "#/components/schemas/Alias"},
                    "Loop1": {"$ref": "#/components/schemas/Loop2"},
                    "Loop2": {"$ref": "#/components/schemas/Loop1"},
                    "Self": {"$ref": "#/components/schemas/Self"},
                    "Secretive": {"allOf": [
                        {"$ref": "#/components/schemas/AliasOfAlias"},
                        {"required": ["password"], "properties": {"password": {"type": "string", "format": "password"}, "name": {"type": "string", "maxLength": 3}}}
                    ]},
                    "Nested": {"allOf": [{"$ref": "#/components/schemas/Secretive"}, {"properties": {"more": {"type": "boolean"}}}]},
                    "AllOfItself": {"allOf": [{"$ref": "#/components/schemas/AllOfItself"}]},
                    "Tree": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}}}}
                }
            }
        })
    }

    fn r(name: &str) -> Value {
        json!({"$ref": format!("#/components/schemas/{name}")})
    }

    #[test]
    fn chains_are_followed_to_the_schema() {
        let doc = doc();
        let agent = &doc["components"]["schemas"]["Agent"];
        assert_eq!(resolve(&doc, &r("AliasOfAlias")), Ok(agent));
        // Not a reference: itself.
        assert_eq!(resolve(&doc, agent), Ok(agent));
    }

    #[test]
    fn cycles_of_references_are_errors_naming_the_chain_not_hangs() {
        let doc = doc();
        assert_eq!(
            resolve(&doc, &r("Loop1")),
            Err(RefError::Cycle(vec![
                "#/components/schemas/Loop1".into(),
                "#/components/schemas/Loop2".into(),
                "#/components/schemas/Loop1".into(),
            ]))
        );
        assert!(matches!(resolve(&doc, &r("Self")), Err(RefError::Cycle(c)) if c.len() == 2));
        assert!(
            resolve(&doc, &r("Loop1"))
                .unwrap_err()
                .to_string()
                .contains("Loop1 -> #/components/schemas/Loop2")
        );
        // The lenient form stops where the circle closes.
        assert!(reference(resolve_or_self(&doc, &r("Loop1"))).is_some());
    }

    #[test]
    fn dangling_and_foreign_references_are_told_apart() {
        let doc = doc();
        assert_eq!(
            resolve(&doc, &r("Nope")),
            Err(RefError::Dangling("#/components/schemas/Nope".into()))
        );
        let foreign = json!({"$ref": "other.yaml#/components/schemas/Agent"});
        assert_eq!(
            resolve(&doc, &foreign),
            Err(RefError::NotLocal(
                "other.yaml#/components/schemas/Agent".into()
            ))
        );
        // The lenient form returns what it could not follow, as written.
        assert_eq!(resolve_or_self(&doc, &foreign), &foreign);
        assert_eq!(resolve_or_self(&doc, &r("Nope")), &r("Nope"));
    }

    #[test]
    fn all_of_layers_merge_properties_and_required_through_references() {
        let doc = doc();
        let nested = r("Nested");
        let props = properties(&doc, &nested).unwrap();
        let names: Vec<&str> = props.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["id", "name", "password", "more"]);
        // The later layer's `name` wins.
        assert_eq!(props[1].1["maxLength"], 3);
        assert_eq!(required(&doc, &r("Nested")).unwrap(), ["id", "password"]);
        // A schema without allOf is its own single layer.
        assert_eq!(object_layers(&doc, &r("Agent")).unwrap().len(), 1);
    }

    #[test]
    fn an_all_of_that_contains_itself_is_a_cycle_and_nesting_is_not() {
        let doc = doc();
        assert!(matches!(
            object_layers(&doc, &r("AllOfItself")),
            Err(RefError::Cycle(_))
        ));
        // Recursion through `items` is an ordinary recursive type.
        let tree = r("Tree");
        assert_eq!(
            properties(&doc, &tree).unwrap().len(),
            1,
            "Tree has one property"
        );
    }
}
