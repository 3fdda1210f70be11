//! Writes one call per operation of every spec into `OUT_DIR`, so the conformance suite can never
//! fall out of step with the specs: an operation added to a spec gets a call on the next build,
//! and a call that no longer matches the generated client fails to compile.
//!
//! For each spec (`specs/NAME.yaml`) it writes `NAME.rs` (NAME in snake case) holding:
//!
//! - `CALLS`: for every operation the generated client has a method for, a function that calls
//!   it through the builder: first with the required parameters and a body holding the required
//!   properties only (what is left out must really be left out), then, when the spec allows
//!   more, with every parameter and property (each must be serialized as the spec says). Bodies
//!   are values synthesized from the schema and decoded into the generated request type, so our
//!   types must accept every valid value before it is sent;
//! - `FACADE`: the operations the test calls through the cxkit facade instead (hand-written
//!   ones, `x-cxkit-handwritten`, and SSE streams, whose answer the facade parses), with
//!   `FACADE_BODIES`, their synthesized JSON bodies.
//!
//! The output depends only on the spec bytes: operations are sorted by `operationId` and object
//! keys are written in a fixed order.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use heck::{ToPascalCase, ToSnakeCase};
use serde_json::{Map, Value, json};

/// A spec and the path of its generated crate inside `cxkit::clients`.
struct System {
    spec: &'static str,
    module: &'static str,
}

const SYSTEMS: &[System] = &[
    System {
        spec: "specs/ejento-auth.yaml",
        module: "ejento_auth",
    },
    System {
        spec: "specs/ejento-platform.yaml",
        module: "ejento_platform",
    },
    System {
        spec: "specs/proto.yaml",
        module: "proto",
    },
    System {
        spec: "specs/proto-developer.yaml",
        module: "proto_developer",
    },
    System {
        spec: "specs/proto-messaging.yaml",
        module: "proto_messaging",
    },
    System {
        spec: "specs/platform28.yaml",
        module: "platform28",
    },
];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// How deep optional properties are filled in; required ones always are.
const MAX_OPTIONAL_DEPTH: usize = 6;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("../..");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    println!("cargo::rerun-if-changed=build.rs");
    for system in SYSTEMS {
        let path = root.join(system.spec);
        println!("cargo::rerun-if-changed={}", path.display());
        let bytes =
            std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let doc: Value = serde_yaml_ng::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", system.spec));
        let code = generate(system, &doc).unwrap_or_else(|e| {
            panic!(
                "{}: {e}\n(tests/conformance/build.rs synthesizes one call per operation; \
                 teach it the construct or simplify the spec)",
                system.spec
            )
        });
        std::fs::write(out.join(format!("{}.rs", system.module)), code)
            .unwrap_or_else(|e| panic!("cannot write into OUT_DIR: {e}"));
    }
}

/// One operation, as the generator needs it.
struct Operation<'a> {
    id: String,
    doc: &'a Value,
    path_item: &'a Value,
    op: &'a Value,
}

impl Operation<'_> {
    fn handwritten(&self) -> bool {
        self.op.get("x-cxkit-handwritten").is_some()
    }

    /// Whether a success answer is an SSE stream (the facade parses those).
    fn streams(&self) -> bool {
        self.op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(code, _)| code.starts_with('2'))
            .filter_map(|(_, r)| resolve(self.doc, r).ok())
            .filter_map(|r| r.get("content").and_then(Value::as_object))
            .any(|content| content.contains_key("text/event-stream"))
    }

    /// Path-item and operation parameters (the operation's win), resolved, in spec order.
    fn parameters(&self) -> Result<Vec<&Value>, String> {
        let mut params: Vec<&Value> = Vec::new();
        for list in [self.path_item.get("parameters"), self.op.get("parameters")] {
            for p in list.and_then(Value::as_array).into_iter().flatten() {
                let p = resolve(self.doc, p)?;
                let key = |v: &Value| (v.get("name").cloned(), v.get("in").cloned());
                params.retain(|q| key(q) != key(p));
                params.push(p);
            }
        }
        Ok(params)
    }

    /// The request body's media type and schema, if any.
    fn body(&self) -> Result<Option<(&str, &Value)>, String> {
        let Some(body) = self.op.get("requestBody") else {
            return Ok(None);
        };
        let body = resolve(self.doc, body)?;
        let content = body
            .get("content")
            .and_then(Value::as_object)
            .ok_or("requestBody has no content")?;
        let (media, media_type) = content.iter().next().ok_or("requestBody has no content")?;
        let schema = media_type
            .get("schema")
            .ok_or_else(|| format!("requestBody `{media}` has no schema"))?;
        Ok(Some((media.as_str(), schema)))
    }
}

fn operations(doc: &Value) -> Result<Vec<Operation<'_>>, String> {
    let mut ops = Vec::new();
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .ok_or("no paths")?;
    for (path, item) in paths {
        let Some(methods) = item.as_object() else {
            continue;
        };
        for (method, op) in methods {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{} {path} has no operationId", method.to_uppercase()))?;
            ops.push(Operation {
                id: id.to_owned(),
                doc,
                path_item: item,
                op,
            });
        }
    }
    ops.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(ops)
}

fn generate(system: &System, doc: &Value) -> Result<String, String> {
    let ops = operations(doc)?;
    let mut calls = String::new();
    let mut table = String::new();
    let mut facade = String::new();
    let mut facade_bodies = String::new();
    let mut uses_types = false;
    for op in &ops {
        let label = |e: String| format!("operation {}: {e}", op.id);
        if op.handwritten() || op.streams() {
            writeln!(facade, "    {:?},", op.id).unwrap();
            if let Some((media, schema)) = op.body().map_err(label)?
                && media == "application/json"
            {
                let value = sample(doc, schema, Fill::All, &mut Vec::new()).map_err(label)?;
                writeln!(facade_bodies, "    ({:?}, {:?}),", op.id, value.to_string()).unwrap();
            }
            continue;
        }
        let (function, used_types) = call_function(system, op).map_err(label)?;
        uses_types |= used_types;
        calls.push_str(&function);
        writeln!(
            table,
            "    Call {{ id: {:?}, run: call_{} }},",
            op.id,
            method_name(&op.id)
        )
        .unwrap();
    }
    let types = if uses_types {
        format!("use cxkit::clients::{}::types;\n", system.module)
    } else {
        String::new()
    };
    Ok(format!(
        "// @generated by tests/conformance/build.rs from {spec}. Do not edit: change the spec.\n\
         \n\
         use cxkit::clients::{module}::Client;\n\
         {types}\
         \n\
         #[allow(unused_imports)]\n\
         use crate::{{Call, CallFuture, Failure, request_body}};\n\
         \n\
         /// The spec, relative to the workspace root.\n\
         pub const SPEC: &str = {spec:?};\n\
         \n\
         /// One call per operation of the generated client, sorted by `operationId`.\n\
         pub const CALLS: &[Call<Client>] = &[\n{table}];\n\
         \n\
         /// The operations the test calls through the facade (hand-written, or SSE streams).\n\
         pub const FACADE: &[&str] = &[\n{facade}];\n\
         \n\
         /// Synthesized JSON request bodies of the `FACADE` operations.\n\
         pub const FACADE_BODIES: &[(&str, &str)] = &[\n{facade_bodies}];\n\
         {calls}",
        spec = system.spec,
        module = system.module,
    ))
}

/// How much of what the spec allows a request carries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fill {
    /// Required parameters and properties only: checks that what is left out is really left
    /// out (no `null` for an absent optional field, no empty query pair).
    Required,
    /// Every parameter and property: checks how each one is serialized.
    All,
}

impl Fill {
    fn label(self) -> &'static str {
        match self {
            Fill::Required => "the request with required values only",
            Fill::All => "the request with every parameter and property",
        }
    }
}

/// The function calling one operation, and whether it names a generated type. It sends the
/// request with required values only, then (when the spec allows more) the full one.
fn call_function(system: &System, op: &Operation<'_>) -> Result<(String, bool), String> {
    let mut used_types = false;
    let mut requests: Vec<(Fill, String)> = Vec::new();
    for fill in [Fill::Required, Fill::All] {
        let (code, used) = request(system, op, fill)?;
        used_types |= used;
        if requests.iter().all(|(_, other)| *other != code) {
            requests.push((fill, code));
        }
    }
    let single = requests.len() == 1;
    let mut body = String::new();
    for (fill, code) in requests {
        write!(
            body,
            "\n        let during = {:?};\n        {code}\n            \
             .send()\n            \
             .await\n            \
             .map(|_| ())\n            \
             .map_err(|e| Failure::from(cxkit::Error::from(e)).during(during))?;",
            if single { "the request" } else { fill.label() }
        )
        .unwrap();
    }
    let function = format!(
        "\nfn call_{name}(client: &Client) -> CallFuture<'_> {{\n    \
             Box::pin(async move {{{body}\n        \
                 Ok(())\n    \
             }})\n\
         }}\n",
        name = method_name(&op.id),
    );
    Ok((function, used_types))
}

/// The statements building one request (up to, not including, `.send()`), and whether they
/// name a generated type.
fn request(system: &System, op: &Operation<'_>, fill: Fill) -> Result<(String, bool), String> {
    let mut builder = format!("client.{}()", method_name(&op.id));
    for param in op.parameters()? {
        let name = param
            .get("name")
            .and_then(Value::as_str)
            .ok_or("a parameter has no name")?;
        let required = param.get("required").and_then(Value::as_bool) == Some(true);
        if fill == Fill::Required && !required {
            continue;
        }
        let schema = param
            .get("schema")
            .ok_or_else(|| format!("parameter `{name}` has no schema"))?;
        // A parameter present gets its full value (an empty list would be no parameter).
        let value = sample(op.doc, schema, Fill::All, &mut Vec::new())?;
        let literal = rust_literal(op.doc, schema, &value)?;
        write!(builder, ".{}({literal})", method_name(name)).unwrap();
    }
    let Some((media, schema)) = op.body()? else {
        return Ok((builder, false));
    };
    match media {
        "application/json" | "application/x-www-form-urlencoded" | "text/plain" => {}
        other => return Err(format!("request media type `{other}` is not supported")),
    }
    let mut value = sample(op.doc, schema, fill, &mut Vec::new())?;
    // An empty form is no body at all on the wire: a form with no required field is sent with
    // its optional ones, so that the request still carries the body the spec requires.
    if media == "application/x-www-form-urlencoded"
        && value.as_object().is_some_and(|fields| fields.is_empty())
    {
        value = sample(op.doc, schema, Fill::All, &mut Vec::new())?;
    }
    let resolved = resolve(op.doc, schema)?;
    let named = match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => Some(type_name(ref_name(reference)?)),
        None if is_object(resolved) => Some(type_name(&format!("{}-body", op.id))),
        None => None,
    };
    Ok(match named {
        Some(name) => (
            format!(
                "let body = request_body::<types::{name}>({:?}, {:?})\n            \
                 .map_err(|e| e.during(during))?;\n        \
                 {builder}.body(body)",
                format!("{}::types::{name}", system.module),
                value.to_string()
            ),
            true,
        ),
        None => {
            let literal = rust_literal(op.doc, schema, &value)?;
            (format!("{builder}.body({literal})"), false)
        }
    })
}

/// How progenitor names a method or builder setter (typify's `sanitize` in snake case).
fn method_name(name: &str) -> String {
    let cleaned: String = name
        .replace('\'', "")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let snake = cleaned.to_snake_case();
    if is_keyword(&snake) {
        format!("{snake}_")
    } else {
        snake
    }
}

/// How typify names a type (its `sanitize` in Pascal case).
fn type_name(name: &str) -> String {
    let cleaned: String = name
        .replace('\'', "")
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    let pascal = cleaned.to_pascal_case();
    if is_keyword(&pascal) {
        format!("{pascal}_")
    } else {
        pascal
    }
}

fn is_keyword(ident: &str) -> bool {
    matches!(
        ident,
        "abstract"
            | "as"
            | "async"
            | "await"
            | "become"
            | "box"
            | "break"
            | "const"
            | "continue"
            | "crate"
            | "do"
            | "dyn"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "final"
            | "fn"
            | "for"
            | "gen"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "macro"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "override"
            | "priv"
            | "pub"
            | "ref"
            | "return"
            | "Self"
            | "self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "try"
            | "type"
            | "typeof"
            | "unsafe"
            | "unsized"
            | "use"
            | "virtual"
            | "where"
            | "while"
            | "yield"
    )
}

fn ref_name(reference: &str) -> Result<&str, String> {
    reference
        .rsplit('/')
        .next()
        .filter(|_| reference.starts_with("#/components/"))
        .ok_or_else(|| format!("`$ref: {reference}` is not a local component"))
}

/// Follows `$ref`s to a local component.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> Result<&'a Value, String> {
    let mut current = value;
    for _ in 0..16 {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            return Ok(current);
        };
        let pointer = reference
            .strip_prefix('#')
            .ok_or_else(|| format!("`$ref: {reference}` is not local"))?;
        current = doc
            .pointer(pointer)
            .ok_or_else(|| format!("`$ref: {reference}` points nowhere"))?;
    }
    Err("a `$ref` chain is too long".into())
}

fn schema_type(schema: &Value) -> Option<&str> {
    schema.get("type").and_then(Value::as_str).or_else(|| {
        (schema.get("properties").is_some() || schema.get("additionalProperties").is_some())
            .then_some("object")
    })
}

fn is_object(schema: &Value) -> bool {
    schema_type(schema) == Some("object") || schema.get("allOf").is_some()
}

/// A value that satisfies `schema`: every required property and, with [`Fill::All`], every
/// optional one down to `MAX_OPTIONAL_DEPTH` and one item per array (with [`Fill::Required`],
/// arrays have their minimum length); formats and length bounds honoured. `stack` holds the
/// schemas being expanded, to stop at recursion.
fn sample(
    doc: &Value,
    schema: &Value,
    fill: Fill,
    stack: &mut Vec<String>,
) -> Result<Value, String> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        if stack.iter().any(|s| s == reference) {
            return Err(format!("`{reference}` requires itself"));
        }
        stack.push(reference.to_owned());
        let value = sample(doc, resolve(doc, schema)?, fill, stack);
        stack.pop();
        return value;
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return Ok(first.clone());
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in parts {
            match sample(doc, part, fill, stack)? {
                Value::Object(o) => merged.extend(o),
                _ => return Err("`allOf` of a non-object".into()),
            }
        }
        return Ok(Value::Object(merged));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = schema
            .get(key)
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            return sample(doc, first, fill, stack);
        }
    }
    if schema.get("pattern").is_some() {
        return schema
            .get("example")
            .cloned()
            .ok_or_else(|| "a `pattern` without an `example` cannot be synthesized".into());
    }
    match schema_type(schema) {
        Some("object") => {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            // BTreeMap: the same key order whatever serde_json's map type is.
            let mut object = BTreeMap::new();
            for (name, property) in schema
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                // A request never carries what the server owns.
                if property.get("readOnly").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                let is_required = required.contains(&name.as_str());
                let skip_optional = fill == Fill::Required
                    || stack.len() > MAX_OPTIONAL_DEPTH
                    || recurses(property, stack);
                if !is_required && skip_optional {
                    continue;
                }
                object.insert(name.clone(), sample(doc, property, fill, stack)?);
            }
            let properties = schema.get("properties");
            if let Some(name) = required
                .iter()
                .find(|name| properties.and_then(|p| p.get(**name)).is_none())
            {
                return Err(format!("required property `{name}` is not declared"));
            }
            Ok(Value::Object(object.into_iter().collect()))
        }
        Some("array") => {
            let items = schema.get("items").ok_or("an array without `items`")?;
            let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            let max = schema.get("maxItems").and_then(Value::as_u64);
            let count = if fill == Fill::Required || recurses(items, stack) || max == Some(0) {
                min
            } else {
                min.max(1)
            };
            (0..count)
                .map(|_| sample(doc, items, fill, stack))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        Some("string") => sample_string(schema),
        Some("integer") => {
            let mut n: i64 = 1;
            if let Some(min) = schema.get("minimum").and_then(Value::as_i64) {
                let exclusive = schema.get("exclusiveMinimum") == Some(&json!(true));
                n = n.max(if exclusive { min + 1 } else { min });
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_i64) {
                let exclusive = schema.get("exclusiveMaximum") == Some(&json!(true));
                n = n.min(if exclusive { max - 1 } else { max });
            }
            Ok(json!(n))
        }
        Some("number") => {
            let mut n: f64 = 1.5;
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
                n = n.max(min + 0.5);
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
                n = n.min(max - 0.5);
            }
            Ok(json!(n))
        }
        Some("boolean") => Ok(json!(true)),
        // No type: any JSON value is valid.
        None => Ok(json!("x")),
        Some(other) => Err(format!("schema type `{other}` is not supported")),
    }
}

/// Whether expanding `schema` would re-enter a schema on `stack`.
fn recurses(schema: &Value, stack: &[String]) -> bool {
    let reference = schema
        .get("$ref")
        .or_else(|| schema.get("items").and_then(|i| i.get("$ref")))
        .and_then(Value::as_str);
    reference.is_some_and(|r| stack.iter().any(|s| s == r))
}

fn sample_string(schema: &Value) -> Result<Value, String> {
    let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = schema
        .get("maxLength")
        .and_then(Value::as_u64)
        .map(|m| m as usize);
    let format = schema.get("format").and_then(Value::as_str);
    let pad = |base: &str| "x".repeat(min.saturating_sub(base.len()));
    let text = match format {
        Some("email") => {
            let domain = "@example.com";
            format!(
                "{}{domain}",
                "a".repeat(min.saturating_sub(domain.len()).max(1))
            )
        }
        Some("uri" | "url") => {
            let base = "https://example.com/";
            format!("{base}{}", pad(base))
        }
        Some("date-time") => "2024-01-01T00:00:00Z".to_owned(),
        Some("date") => "2024-01-01".to_owned(),
        Some("time") => "00:00:00Z".to_owned(),
        Some("uuid") => "00000000-0000-4000-8000-000000000000".to_owned(),
        Some("ipv4") => "127.0.0.1".to_owned(),
        Some("ipv6") => "::1".to_owned(),
        Some("hostname") => "example.com".to_owned(),
        Some("byte") => "eA==".to_owned(),
        _ => "x".repeat(min.max(1)),
    };
    let length = text.chars().count();
    if length < min || max.is_some_and(|m| length > m) {
        return Err(format!(
            "cannot synthesize a `{}` string of length {min}..{}",
            format.unwrap_or("plain"),
            max.map(|m| m.to_string()).unwrap_or_default()
        ));
    }
    Ok(Value::String(text))
}

/// A Rust expression for a parameter or a bare body: what the generated builder's setter
/// converts from (`i64` for integers, `String` for strings, `Vec` of those for arrays).
fn rust_literal(doc: &Value, schema: &Value, value: &Value) -> Result<String, String> {
    let schema = resolve(doc, schema)?;
    Ok(match (schema_type(schema), value) {
        (Some("integer"), Value::Number(n)) => {
            let suffix = match schema.get("format").and_then(Value::as_str) {
                Some("int32") => "i32",
                Some("uint32") => "u32",
                Some("uint64") => "u64",
                _ => "i64",
            };
            format!("{n}_{suffix}")
        }
        (Some("number"), Value::Number(n)) => format!("{:?}_f64", n.as_f64().unwrap_or(1.5)),
        (Some("boolean"), Value::Bool(b)) => b.to_string(),
        (Some("string"), Value::String(s)) => format!("{s:?}.to_owned()"),
        (Some("array"), Value::Array(items)) => {
            let item_schema = schema.get("items").ok_or("an array without `items`")?;
            let items = items
                .iter()
                .map(|item| rust_literal(doc, item_schema, item))
                .collect::<Result<Vec<_>, _>>()?;
            format!("vec![{}]", items.join(", "))
        }
        _ => {
            return Err(format!(
                "no Rust literal for `{value}` of schema `{schema}`"
            ));
        }
    })
}
