//! Reading a spec, and the problem report every check produces: the shared model
//! (`cxkit_spec`), plus the typed OpenAPI view only the generator needs.

pub use cxkit_spec::{METHODS, Problem, Spec, op_label};

/// The document as typed OpenAPI, for progenitor (once the lint passes).
pub fn openapi(spec: &Spec) -> Result<openapiv3::OpenAPI, Problem> {
    openapi_from(spec, spec.doc.clone())
}

/// [`openapi`] of `doc`, a changed copy of the spec's document (its prose made into
/// documentation, say: [`crate::doc_text::apply`]).
pub fn openapi_from(spec: &Spec, doc: serde_json::Value) -> Result<openapiv3::OpenAPI, Problem> {
    serde_json::from_value(doc).map_err(|e| spec.problem(
        None,
        format!("not a valid OpenAPI 3.0 document ({e}); compare the named field with the OpenAPI 3.0.3 specification"),
    ))
}
