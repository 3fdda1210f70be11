//! Spec prose made into documentation that rustdoc renders as written: the descriptions and
//! summaries the generated methods and types are documented with, and the text of each crate's
//! `OPERATIONS.md` (which the crate's docs include).
//!
//! Two things in the specs' prose read wrong there. A bare URL is plain text, not a link
//! (rustdoc's `bare_urls` lint); it is written as an autolink, `<https://...>`. And a `<`
//! before a word (`integer <int64>`, quoted from a vendor page) opens an HTML tag that never
//! closes (`invalid_html_tags`); it is escaped, `\<`. Code spans (between backquotes) are left
//! as they are, and so are URLs already in an autolink or a Markdown link.

use serde_json::Value;

use crate::provenance::is_url;

/// `text` with every bare URL an autolink and every tag-like `<` escaped, outside code spans.
pub fn doc_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut in_code = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '`' {
            in_code = !in_code;
        } else if !in_code && is_url(rest) {
            let url = &rest[..url_len(rest)];
            if out.ends_with('<') || out.ends_with("](") {
                out.push_str(url);
            } else {
                out.push('<');
                out.push_str(url);
                out.push('>');
            }
            rest = &rest[url.len()..];
            continue;
        } else if !in_code && c == '<' {
            let after = &rest[1..];
            let autolink = is_url(after);
            // Not twice: text already made into documentation stays as it is.
            let escaped = out.ends_with('\\');
            if !autolink
                && !escaped
                && after.starts_with(|n: char| n.is_ascii_alphabetic() || n == '/')
            {
                out.push('\\');
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The length of the URL `s` starts with: up to a space, a quote, a bracket or a separator,
/// less the punctuation that ends a sentence.
fn url_len(s: &str) -> usize {
    let end = s
        .find(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '"' | '\'' | '<' | '>' | '(' | ')' | ',' | ';' | '`' | '|'
                )
        })
        .unwrap_or(s.len());
    s[..end].trim_end_matches(['.', ':', '!', '?']).len()
}

/// Applies [`doc_text`] to every `description` and `summary` of an OpenAPI document, where
/// progenitor takes documentation from. Examples, defaults, enumerations and extensions are
/// data, not prose, and are left alone.
pub fn apply(doc: &mut Value) {
    match doc {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match (key.as_str(), &mut *value) {
                    ("description" | "summary", Value::String(text)) => *text = doc_text(text),
                    ("example" | "examples" | "default" | "enum", _) => {}
                    (key, _) if key.starts_with("x-") => {}
                    _ => apply(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(apply),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_urls_become_autolinks_and_nothing_else_moves() {
        assert_eq!(
            doc_text("The page (https://api.ejento.ai/legacy-get-agent): `GET /x`."),
            "The page (<https://api.ejento.ai/legacy-get-agent>): `GET /x`."
        );
        assert_eq!(
            doc_text("a revision of https://docs.proto.cx/docs/authentication-api; then"),
            "a revision of <https://docs.proto.cx/docs/authentication-api>; then"
        );
        assert_eq!(
            doc_text("see https://a.example/b#c."),
            "see <https://a.example/b#c>."
        );
        // Already a link, or code: unchanged.
        for text in [
            "<https://a.example/b>",
            "[the page](https://a.example/b)",
            "`curl https://a.example/b`",
            "no URL at all, 100% plain",
        ] {
            assert_eq!(doc_text(text), text);
        }
    }

    #[test]
    fn tag_like_angle_brackets_are_escaped_outside_code() {
        assert_eq!(
            doc_text(r#"("agent_id integer <int32> required")"#),
            r#"("agent_id integer \<int32> required")"#
        );
        assert_eq!(
            doc_text("`Vec<String>` and a < b"),
            "`Vec<String>` and a < b"
        );
        // Written once: text already made into documentation does not change again.
        let once = doc_text(r#"see https://a.example, "integer <int64>""#);
        assert_eq!(doc_text(&once), once);
    }

    /// The documentation lines of a generated Rust file: `///` lines and the lines of
    /// `/** ... */` blocks.
    fn doc_lines(source: &str) -> Vec<&str> {
        let mut lines = Vec::new();
        let mut in_block = false;
        for line in source.lines() {
            let trimmed = line.trim_start();
            if let Some(rest) = trimmed.strip_prefix("///") {
                lines.push(rest);
            } else if let Some(rest) = trimmed.strip_prefix("/**") {
                in_block = !rest.contains("*/");
                lines.push(rest.split("*/").next().unwrap_or_default());
            } else if in_block {
                in_block = !line.contains("*/");
                lines.push(line.split("*/").next().unwrap_or_default());
            }
        }
        lines
    }

    /// What rustdoc renders from the generated crates (their methods' and types' documentation,
    /// and the `OPERATIONS.md` it includes) has no bare URL and no stray tag left: every line
    /// is as `doc_text` would write it.
    #[test]
    fn the_generated_documentation_is_written_for_rustdoc() {
        let root = crate::workspace_root().unwrap();
        let registry = cxkit_spec::Registry::load(&root).unwrap();
        let mut checked = 0;
        for api in &registry.api {
            for (file, markdown) in [
                ("src/generated.rs", false),
                ("src/lib.rs", false),
                ("OPERATIONS.md", true),
            ] {
                let path = format!("{}/{file}", api.dir);
                let text = std::fs::read_to_string(root.join(&path)).unwrap();
                let lines = if markdown {
                    text.lines().collect()
                } else {
                    doc_lines(&text)
                };
                for line in lines {
                    assert_eq!(doc_text(line), line, "{path}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 1_000, "{checked} lines");
    }

    #[test]
    fn only_prose_keys_of_a_document_change() {
        let mut doc = serde_json::json!({
            "paths": {"/x": {"get": {
                "summary": "Get https://a.example",
                "description": "integer <int64>",
                "parameters": [{"name": "id", "description": "see https://b.example"}],
                "x-cxkit-source": ["https://c.example"],
                "responses": {"200": {"description": "ok", "content": {"application/json": {
                    "example": {"description": "https://d.example"},
                    "schema": {"properties": {"description": {"type": "string"}}}
                }}}}
            }}}
        });
        apply(&mut doc);
        let op = &doc["paths"]["/x"]["get"];
        assert_eq!(op["summary"], "Get <https://a.example>");
        assert_eq!(op["description"], "integer \\<int64>");
        assert_eq!(
            op["parameters"][0]["description"],
            "see <https://b.example>"
        );
        assert_eq!(op["x-cxkit-source"][0], "https://c.example");
        let content = &op["responses"]["200"]["content"]["application/json"];
        assert_eq!(content["example"]["description"], "https://d.example");
        assert_eq!(
            content["schema"]["properties"]["description"]["type"],
            "string"
        );
    }
}
