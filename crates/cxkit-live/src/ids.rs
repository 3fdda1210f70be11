//! Path ids: harvested from earlier answers, filled into later operations' paths.

use std::collections::BTreeMap;

use serde_json::Value;

/// The names under which an id found in a list answer of `path` is offered to later
/// operations: `/api/v2/agents` -> `agent_id`; `/api/v2/chat-threads` -> `chat_thread_id`;
/// `/api/v2/agent-aliases` -> `agent_alias_id` and `alias_id`; `/api/v2/corpora` -> `corpus_id`.
fn id_names_for(path: &str) -> Vec<String> {
    let Some(noun) = path
        .rsplit('/')
        .find(|segment| !segment.is_empty() && !segment.starts_with('{'))
    else {
        return Vec::new();
    };
    let words: Vec<&str> = noun.split('-').collect();
    let mut names = Vec::new();
    for start in 0..words.len() {
        let stem = words[start..].join("_");
        for singular in singulars(&stem) {
            let name = format!("{singular}_id");
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

fn singulars(plural: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(stem) = plural.strip_suffix("corpora") {
        out.push(format!("{stem}corpus"));
    }
    if let Some(stem) = plural.strip_suffix("ies") {
        out.push(format!("{stem}y"));
    }
    if let Some(stem) = plural.strip_suffix("ses") {
        out.push(format!("{stem}s"));
    }
    if let Some(stem) = plural.strip_suffix('s') {
        out.push(stem.to_owned());
    }
    out.push(plural.to_owned());
    out
}

/// Offers ids from an answer: the first `id` of the first list of objects (under the names of
/// the collection the path names), the `id` of a single record, and every `*_id` field seen.
pub(crate) fn harvest_ids(path: &str, body: &Value, pool: &mut BTreeMap<String, String>) {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) if !s.is_empty() && !is_dot_segment(s) => Some(s.clone()),
            _ => None,
        }
    }
    fn first_list_id(v: &Value) -> Option<String> {
        match v {
            Value::Array(items) => items
                .first()
                .and_then(|first| first.get("id"))
                .and_then(scalar),
            Value::Object(o) => o.values().find_map(first_list_id),
            _ => None,
        }
    }
    fn fields(v: &Value, pool: &mut BTreeMap<String, String>) {
        match v {
            Value::Object(o) => {
                for (k, item) in o {
                    if k.ends_with("_id")
                        && let Some(id) = scalar(item)
                    {
                        pool.entry(k.clone()).or_insert(id);
                    }
                    fields(item, pool);
                }
            }
            Value::Array(items) => items.iter().take(3).for_each(|i| fields(i, pool)),
            _ => {}
        }
    }
    let data = body.get("data").unwrap_or(body);
    let id = first_list_id(data).or_else(|| data.get("id").and_then(scalar));
    if let Some(id) = id {
        for name in id_names_for(path) {
            pool.entry(name).or_insert_with(|| id.clone());
        }
    }
    fields(body, pool);
}

/// What must be escaped inside one path segment (RFC 3986 `pchar` keeps `-`, `_`, `.`, `~`,
/// letters and digits as they are, which ids are made of).
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b';')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Whether `value` is a dot segment (`.` or `..`): put into a path, URL parsing resolves it, and
/// a credentialed GET meant for `/agents/{id}` goes to another path of the host. (Every other
/// character that could end or escape a segment, `%` included, is percent-encoded.)
fn is_dot_segment(value: &str) -> bool {
    value == "." || value == ".."
}

pub(crate) fn fill_path(
    path: &str,
    params: &[String],
    pool: &BTreeMap<String, String>,
) -> Result<String, String> {
    let mut filled = path.to_owned();
    for name in params {
        let value = pool
            .get(name)
            .ok_or_else(|| format!("no `{name}` available from earlier answers"))?;
        if is_dot_segment(value) {
            return Err(format!(
                "the `{name}` given is a dot segment (`{value}`), which would send the request \
                 to another path; refused"
            ));
        }
        let encoded = percent_encoding::utf8_percent_encode(value, PATH_SEGMENT).to_string();
        filled = filled.replace(&format!("{{{name}}}"), &encoded);
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_paths_offer_ids_under_their_singular_names() {
        assert_eq!(id_names_for("/api/v2/agents"), ["agent_id", "agents_id"]);
        assert!(id_names_for("/api/v2/chat-threads").contains(&"chat_thread_id".to_owned()));
        assert!(id_names_for("/api/v2/agent-aliases").contains(&"alias_id".to_owned()));
        assert!(id_names_for("/api/v2/corpora").contains(&"corpus_id".to_owned()));
        assert!(id_names_for("/api/v2/agent-responses").contains(&"agent_response_id".to_owned()));
    }
}
