//! A synthetic spec of any size, for timing generation (`cargo xtask bench`) and for checking
//! that it scales: the shapes of the real specs (a path parameter, a query parameter, a named
//! JSON request body and response per operation, one shared error schema), repeated.

use std::fmt::Write;

/// A lint-clean OpenAPI 3.0.3 document with `operations` operations (half GET, half POST) and
/// about two named schemas per operation.
pub fn spec_yaml(operations: usize) -> String {
    let mut out = String::from(
        "openapi: 3.0.3\ninfo:\n  title: Synthetic\n  version: 0.1.0\n\
         components:\n  securitySchemes:\n    token:\n      type: http\n      scheme: bearer\n  schemas:\n\
         \x20   Failure:\n      type: object\n      properties:\n        detail: {type: string}\n",
    );
    for i in 0..operations {
        let _ = write!(
            out,
            "    Item{i}:\n      type: object\n      required: [id, name]\n      properties:\n\
             \x20       id: {{type: string}}\n        name: {{type: string}}\n\
             \x20       count: {{type: integer, format: int64}}\n        tags: {{type: array, items: {{type: string}}}}\n\
             \x20       created: {{type: string}}\n"
        );
        if i % 2 == 1 {
            let _ = write!(
                out,
                "    Item{i}Create:\n      type: object\n      required: [name]\n      properties:\n\
                 \x20       name: {{type: string}}\n        note: {{type: string}}\n"
            );
        }
    }
    out.push_str("paths:\n");
    for i in 0..operations {
        let (method, body) = if i % 2 == 0 {
            ("get", String::new())
        } else {
            (
                "post",
                format!(
                    "      requestBody:\n        required: true\n        content:\n          application/json:\n\
                     \x20           schema: {{$ref: '#/components/schemas/Item{i}Create'}}\n"
                ),
            )
        };
        let _ = write!(
            out,
            "  /groups/{{group_id}}/items{i}:\n    {method}:\n      operationId: op_{i}\n      summary: Operation {i}\n\
             \x20     x-cxkit-source: ['https://example.invalid/synthetic']\n\
             \x20     tags: [Group {g}]\n      security: [{{token: []}}]\n      parameters:\n\
             \x20       - {{name: group_id, in: path, required: true, schema: {{type: string}}}}\n\
             \x20       - {{name: limit, in: query, schema: {{type: integer, format: int64}}}}\n\
             {body}      responses:\n        '200':\n          description: The item.\n          content:\n\
             \x20           application/json:\n              schema: {{$ref: '#/components/schemas/Item{i}'}}\n\
             \x20       '404':\n          description: Not found.\n          content:\n            application/json:\n\
             \x20             schema: {{$ref: '#/components/schemas/Failure'}}\n",
            g = i / 50,
        );
    }
    out
}
