//! A spec document, its operations, and the problem report every check produces.

use std::fmt;
use std::path::Path;

use serde_json::Value;

/// One thing wrong with a spec (or another input file), reported as
/// `specs/FILE: operation ID: what and how to fix it`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The file's path as the user knows it (`specs/ejento-auth.yaml`).
    pub file: String,
    /// The operation (its `operationId`, or `METHOD /path` when it has none), if the problem
    /// belongs to one.
    pub operation: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.operation {
            Some(op) => write!(f, "{}: operation {op}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for Problem {}

/// A spec as plain JSON, so every extension and mistake is seen exactly as written.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The path as reported in problems, relative to the workspace root.
    pub file: String,
    /// The raw bytes (the generated files' headers carry their hash).
    pub bytes: Vec<u8>,
    /// The document as JSON.
    pub doc: Value,
}

/// The HTTP methods a path item may hold, lower case as in OpenAPI.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

impl Spec {
    /// Reads and parses `root/file`; a missing file or broken YAML is one problem naming it.
    pub fn load(root: &Path, file: &str) -> Result<Spec, Problem> {
        let problem = |message: String| Problem {
            file: file.to_owned(),
            operation: None,
            message,
        };
        let bytes = std::fs::read(root.join(file))
            .map_err(|e| problem(format!("cannot read the spec: {e}")))?;
        Spec::parse(file, bytes).map_err(problem)
    }

    /// Parses spec bytes (duplicate keys refused, see [`crate::yaml`]).
    pub fn parse(file: &str, bytes: Vec<u8>) -> Result<Spec, String> {
        let doc = crate::yaml::from_slice(&bytes)?;
        if !doc.is_object() {
            return Err(
                "the document is not a mapping; an OpenAPI spec starts with `openapi: 3.0.3`"
                    .into(),
            );
        }
        Ok(Spec {
            file: file.to_owned(),
            bytes,
            doc,
        })
    }

    /// A problem in this spec.
    pub fn problem(&self, operation: Option<&str>, message: impl Into<String>) -> Problem {
        Problem {
            file: self.file.clone(),
            operation: operation.map(str::to_owned),
            message: message.into(),
        }
    }

    /// Every operation: (path, method, operation object), in document order.
    pub fn operations(&self) -> Vec<(&str, &str, &Value)> {
        let mut out = Vec::new();
        let Some(paths) = self.doc.get("paths").and_then(Value::as_object) else {
            return out;
        };
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, op) in item {
                if METHODS.contains(&method.as_str()) {
                    out.push((path.as_str(), method.as_str(), op));
                }
            }
        }
        out
    }

    /// An operation's parameters as written (`$ref`s unresolved): its path item's shared ones
    /// first, then its own.
    pub fn raw_parameters<'a>(
        &'a self,
        path: &str,
        op: &'a Value,
    ) -> impl Iterator<Item = &'a Value> {
        let shared = self
            .doc
            .get("paths")
            .and_then(|p| p.get(path))
            .and_then(|item| item.get("parameters"))
            .and_then(Value::as_array);
        let own = op.get("parameters").and_then(Value::as_array);
        shared.into_iter().chain(own).flatten()
    }

    /// An operation's parameters resolved, in spec order, the operation's own replacing a path
    /// item's of the same `in` and `name` (OpenAPI's rule).
    pub fn parameters<'a>(
        &'a self,
        path: &str,
        op: &'a Value,
    ) -> Result<Vec<&'a Value>, crate::RefError> {
        let mut out: Vec<&Value> = Vec::new();
        for raw in self.raw_parameters(path, op) {
            let p = self.try_resolve(raw)?;
            let key = |v: &Value| (v.get("name").cloned(), v.get("in").cloned());
            out.retain(|q| key(q) != key(p));
            out.push(p);
        }
        Ok(out)
    }

    /// Follows `$ref`s from `value` (see [`crate::refs::resolve`]).
    pub fn try_resolve<'a>(&'a self, value: &'a Value) -> Result<&'a Value, crate::RefError> {
        crate::refs::resolve(&self.doc, value)
    }

    /// Follows `$ref`s from `value`, or returns what could not be followed as written (see
    /// [`crate::refs::resolve_or_self`]).
    pub fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        crate::refs::resolve_or_self(&self.doc, value)
    }
}

/// The names of a path template's parameters, in order.
///
/// ```
/// let names: Vec<&str> = cxkit_spec::template_params("/a/{x}/b/{y}").collect();
/// assert_eq!(names, ["x", "y"]);
/// ```
pub fn template_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('{').skip(1).filter_map(|s| s.split('}').next())
}

/// How an operation is named in problems: its `operationId`, or `METHOD /path` without one.
pub fn op_label(path: &str, method: &str, op: &Value) -> String {
    op.get("operationId")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{} {path}", method.to_uppercase()))
}
