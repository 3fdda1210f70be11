//! Reading a spec, and the problem report every check produces.

use std::fmt;
use std::path::Path;

/// One thing wrong with a spec, reported as `specs/FILE: operation ID: what and how to fix it`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The spec's path as the user knows it (`specs/ejento-auth.yaml`).
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

/// A spec read twice over: as plain JSON (so the lint sees every extension and mistake exactly
/// as written) and, once the lint passes, as typed OpenAPI for progenitor.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The path as reported in problems.
    pub file: String,
    /// The raw bytes, for the header's hash.
    pub bytes: Vec<u8>,
    /// The document as JSON.
    pub doc: serde_json::Value,
}

impl Spec {
    /// Reads and parses a spec; a missing file or broken YAML is one problem naming the file.
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

    /// Parses spec bytes.
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

    /// The document as typed OpenAPI.
    pub fn openapi(&self) -> Result<openapiv3::OpenAPI, Problem> {
        serde_json::from_value(self.doc.clone()).map_err(|e| self.problem(
            None,
            format!("not a valid OpenAPI 3.0 document ({e}); compare the named field with the OpenAPI 3.0.3 specification"),
        ))
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
    pub fn operations(&self) -> Vec<(&str, &str, &serde_json::Value)> {
        let mut out = Vec::new();
        let Some(paths) = self.doc.get("paths").and_then(|p| p.as_object()) else {
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
        op: &'a serde_json::Value,
    ) -> impl Iterator<Item = &'a serde_json::Value> {
        let shared = self
            .doc
            .get("paths")
            .and_then(|p| p.get(path))
            .and_then(|item| item.get("parameters"))
            .and_then(serde_json::Value::as_array);
        let own = op.get("parameters").and_then(serde_json::Value::as_array);
        shared.into_iter().chain(own).flatten()
    }
}

/// The HTTP methods a path item may hold, lower case as in OpenAPI.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// How an operation is named in problems: its `operationId`, or `METHOD /path` without one.
pub fn op_label(path: &str, method: &str, op: &serde_json::Value) -> String {
    op.get("operationId")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{} {path}", method.to_uppercase()))
}
