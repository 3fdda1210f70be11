//! Rejection tests: each fixture under `tests/fixtures/bad/` breaks one curation rule (its
//! leading YAML comment says which), and the lint must report exactly the expected lines, in the
//! `specs/FILE: operation ID: what is wrong and how to fix it` form `cargo xtask` prints. All
//! problems of a spec come back at once, sorted.

use xtask::lint;
use xtask::spec::Spec;

/// The lint's problem lines for `tests/fixtures/bad/<name>.yaml`, given these seed titles.
fn problems(name: &str, seed_titles: &[&str]) -> Vec<String> {
    let file = format!("xtask/tests/fixtures/bad/{name}.yaml");
    let bytes = std::fs::read(xtask::workspace_root().expect("workspace root").join(&file))
        .expect("fixture exists");
    assert!(
        bytes.starts_with(b"# Rejects"),
        "{file} must start with a `# Rejects...` comment"
    );
    let spec = Spec::parse(&file, bytes).expect("fixture parses");
    let titles: Vec<String> = seed_titles.iter().map(|t| (*t).to_owned()).collect();
    lint::lint(&spec, &titles)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// `file: operation OP: message` for the fixture `name`.
fn op_line(name: &str, op: &str, message: &str) -> String {
    format!("xtask/tests/fixtures/bad/{name}.yaml: operation {op}: {message}")
}

/// `file: message` for the fixture `name`.
fn file_line(name: &str, message: &str) -> String {
    format!("xtask/tests/fixtures/bad/{name}.yaml: {message}")
}

#[test]
fn duplicate_operation_id() {
    assert_eq!(
        problems("duplicate_operation_id", &[]),
        [op_line(
            "duplicate_operation_id",
            "get_thing",
            "`operationId` `get_thing` is used by 2 operations; operation ids must be unique"
        )]
    );
}

#[test]
fn json_200_and_empty_204_names_file_and_operation() {
    let found = problems("json_200_and_empty_204", &[]);
    assert_eq!(
        found,
        [op_line(
            "json_200_and_empty_204",
            "get_thing",
            "has 2 success responses (200, 204); progenitor needs exactly one success shape: keep one status, or give several 2xx statuses the same content (the same schema, or no content for all) and the generated call accepts each of them"
        )]
    );
    assert!(found[0].starts_with(
        "xtask/tests/fixtures/bad/json_200_and_empty_204.yaml: operation get_thing: "
    ));
}

#[test]
fn default_response() {
    assert_eq!(
        problems("default_response", &[]),
        [op_line(
            "default_response",
            "get_thing",
            "has a `default` response; progenitor treats it as both success and error and panics next to a typed 200, so list explicit status codes instead"
        )]
    );
}

#[test]
fn multipart_without_handwritten() {
    assert_eq!(
        problems("multipart_not_handwritten", &[]),
        [op_line(
            "multipart_not_handwritten",
            "upload_file",
            "request media type `multipart/form-data` cannot be generated; mark the operation `x-cxkit-handwritten: <why>` and implement it in the facade"
        )]
    );
}

#[test]
fn optional_path_parameter() {
    assert_eq!(
        problems("optional_path_parameter", &[]),
        [op_line(
            "optional_path_parameter",
            "get_thing",
            "path parameter `thingId` must be `required: true` (progenitor panics on optional path parameters)"
        )]
    );
}

#[test]
fn matrix_path_parameter() {
    assert_eq!(
        problems("matrix_path_parameter", &[]),
        [op_line(
            "matrix_path_parameter",
            "get_session",
            "path parameter `lsid` has style `matrix`; only `simple` can be generated (send matrix parameters through a security scheme with `x-cxkit-placement: matrix`)"
        )]
    );
}

#[test]
fn object_query_parameters() {
    let message = |name: &str| {
        format!(
            "query parameter `{name}` is an object; progenitor panics on those, so split it into primitive parameters"
        )
    };
    assert_eq!(
        problems("object_query_parameter", &[]),
        [
            op_line("object_query_parameter", "list_things", &message("filter")),
            op_line("object_query_parameter", "list_things", &message("filters")),
        ]
    );
}

#[test]
fn additional_properties_false() {
    assert_eq!(
        problems("additional_properties_false", &[]),
        [file_line(
            "additional_properties_false",
            "at `#/components/schemas/Thing`: `additionalProperties: false` makes decoding fail on any new server field; remove it"
        )]
    );
}

#[test]
fn schema_enum_but_not_parameter_enum() {
    assert_eq!(
        problems("enum", &[]),
        [file_line(
            "enum",
            "at `#/components/schemas/Thing/properties/state`: `enum` makes generated types reject any value the server adds later; use a plain string and list the values in `description`"
        )]
    );
}

#[test]
fn integer_with_minimum_one_whatever_its_format() {
    let message = |prop: &str| {
        format!(
            "at `#/components/schemas/Page/properties/{prop}`: an integer whose smallest allowed value is 1 becomes a NonZero type (NonZeroU64) whatever its `format`; drop `minimum` and say \"at least 1\" in `description`"
        )
    };
    assert_eq!(
        problems("integer_minimum_one", &[]),
        [
            file_line("integer_minimum_one", &message("count")),
            file_line("integer_minimum_one", &message("index")),
        ]
    );
}

#[test]
fn missing_operation_id_summary_tags_security() {
    let name = "missing_operation_fields";
    assert_eq!(
        problems(name, &[]),
        [
            op_line(
                name,
                "GET /nameless",
                "has no `operationId`; add a stable snake_case one (it becomes the method name)"
            ),
            op_line(
                name,
                "bare_operation",
                "has no `summary`; use the title from specs/seeds/operations.tsv verbatim"
            ),
            op_line(
                name,
                "bare_operation",
                "has no `tags`; tag it with its group in the vendor's docs"
            ),
            op_line(
                name,
                "bare_operation",
                "has no operation-level `security`; list its requirements, or `[{}]` when it needs no credential"
            ),
        ]
    );
}

#[test]
fn security_naming_an_undefined_scheme() {
    assert_eq!(
        problems("undefined_security_scheme", &[]),
        [op_line(
            "undefined_security_scheme",
            "get_thing",
            "`security` names `tokn`, which is not in `components.securitySchemes`; define it or fix the name"
        )]
    );
}

#[test]
fn seed_coverage() {
    let name = "seed_coverage";
    assert_eq!(
        problems(name, &["Get a thing", "Delete a thing"]),
        [
            file_line(
                name,
                "2 operations share the summary `Get a thing`; each seed title belongs to exactly one operation"
            ),
            file_line(
                name,
                "no operation has the seed title `Delete a thing` (specs/seeds/operations.tsv) as its summary; add it, with the title verbatim"
            ),
        ]
    );
    // Without seed titles the same spec is clean: coverage is the only fault.
    assert_eq!(problems(name, &[]), Vec::<String>::new());
}

#[test]
fn seed_titles_are_read_per_spec_from_the_tsv() {
    let tsv = "spec\tgroup\tsummary\tseed\n\
               seed_coverage\tThings\tGet a thing\ts.txt\n\
               other\tThings\tNot ours\tr.txt\n\
               seed_coverage\tThings\tDelete a thing\ts.txt\n";
    assert_eq!(
        lint::seed_titles(tsv, "seed_coverage"),
        ["Get a thing", "Delete a thing"]
    );
}

#[test]
fn several_faults_are_all_reported_at_once() {
    let name = "several_faults";
    let op = |m: &str| op_line(name, "updateThing", m);
    assert_eq!(
        problems(name, &[]),
        [
            file_line(
                name,
                "`info.version` is missing; every spec states its title and version"
            ),
            file_line(
                name,
                "security scheme `basicAuth` is not one the hooks can apply; use http bearer, apiKey in header, or apiKey in query (optionally with `x-cxkit-placement: matrix`)"
            ),
            op("`operationId` `updateThing` is not snake_case; use lower-case words joined by `_`"),
            op(
                "answers `303`, a redirect, which the client does not follow; mark the operation `x-cxkit-handwritten` and read the `Location` in the facade"
            ),
            op(
                "cookie parameter `session` cannot be generated; send it as a header or describe it in the facade"
            ),
            op(
                "error responses `400` and `500` have different bodies; progenitor panics on mixed error kinds, so give every error response the same JSON schema"
            ),
            op(
                "form field `tags` is an array; progenitor's form encoding fails on arrays at run time"
            ),
            op(
                "path `/things/{thingId}` uses `{thingId}` but declares no path parameter `thingId`"
            ),
        ]
    );
}

#[test]
fn operations_without_a_followable_source() {
    let name = "source_missing_or_unknown";
    let how = "page URLs (http/https) or `evidence/<file>.md#<operation_id>` (a document under specs/evidence/ and one of its headings)";
    let unknown = |entry: &str| {
        op_line(
            name,
            "unknown_entries",
            &format!(
                "`x-cxkit-source` entry `{entry}` is neither a page URL nor `evidence/<file>.md[#<anchor>]`; cite specs/evidence/... or the page"
            ),
        )
    };
    let outside = |entry: &str| {
        op_line(
            name,
            "unknown_entries",
            &format!(
                "`x-cxkit-source` entry `{entry}` points outside the repository; cite specs/evidence/... instead (`evidence/<file>.md#<operation_id>`, the evidence file saying what that document establishes)"
            ),
        )
    };
    let unresolved = |entry: &str, why: &str| {
        op_line(
            name,
            "unknown_entries",
            &format!("`x-cxkit-source` entry `{entry}` {why}"),
        )
    };
    assert_eq!(
        problems(name, &[]),
        [
            op_line(
                name,
                "empty_source",
                &format!("has an empty `x-cxkit-source`; list where its facts come from: {how}")
            ),
            op_line(
                name,
                "missing_source",
                &format!("has no `x-cxkit-source`; list where its facts come from: {how}")
            ),
            op_line(
                name,
                "scalar_source",
                &format!("`x-cxkit-source` must be a list of strings: {how}")
            ),
            unresolved(
                "evidence/nowhere.md",
                "names `specs/evidence/nowhere.md`, which does not exist; write the evidence file (a heading per operation, what the document establishes in our own words) or fix the name"
            ),
            unresolved(
                "evidence/seed-000-ejento-access-guide.md#no_such_operation",
                "names the anchor `#no_such_operation`, but `specs/evidence/seed-000-ejento-access-guide.md` has no heading for it; add `## no_such_operation` with what the document establishes"
            ),
            unknown("https://"),
            outside("notes/diary.md"),
            outside("seeds/999_nowhere.txt"),
            unknown("vendors.md"),
            op_line(
                name,
                "unknown_entries",
                &format!("`x-cxkit-source` holds `42`, which is not a string; use {how}")
            ),
        ]
    );
}

#[test]
fn every_bad_fixture_has_a_test() {
    let dir = xtask::workspace_root()
        .expect("workspace root")
        .join("xtask/tests/fixtures/bad");
    let this = include_str!("reject.rs");
    for entry in std::fs::read_dir(dir).expect("fixtures/bad exists") {
        let name = entry.expect("readable").file_name();
        let stem = name.to_string_lossy().trim_end_matches(".yaml").to_owned();
        assert!(
            this.contains(&format!("\"{stem}\"")),
            "fixtures/bad/{stem}.yaml is not used by any test in reject.rs"
        );
    }
}

#[test]
fn operation_ids_that_shadow_client_calls_or_are_keywords() {
    let name = "colliding_operation_ids";
    let shadow = |id: &str| {
        op_line(
            name,
            id,
            &format!(
                "`operationId` `{id}` clashes with the generated client's own `{id}` method; rename the operation"
            ),
        )
    };
    let keyword = |id: &str| {
        op_line(
            name,
            id,
            &format!(
                "`operationId` `{id}` is a Rust keyword, which progenitor renames (so the hooks would look up a name the security table does not have); rename the operation, e.g. `{id}_item`"
            ),
        )
    };
    assert_eq!(
        problems(name, &[]),
        [
            shadow("client"),
            shadow("exec"),
            keyword("match"),
            shadow("post"),
            shadow("pre"),
            keyword("type"),
        ]
    );
}

#[test]
fn schemas_that_must_contain_themselves() {
    let name = "ref_cycles";
    let cycle = |start: &str, path: &str| {
        file_line(
            name,
            &format!(
                "at `#/components/schemas/{start}`: the schema contains itself ({path}) with no step that can end it, so no finite value exists and the generated type does not compile or overflows the stack when decoding; make one step an optional or nullable property, or an array"
            ),
        )
    };
    assert_eq!(
        problems(name, &[]),
        [
            cycle("Child", "Child -> Parent -> Child"),
            cycle("Loop", "Loop -> Loop"),
            cycle("Ping", "Ping -> Pong -> Ping"),
        ]
    );
}

#[test]
fn dangling_refs_name_the_missing_reference() {
    let name = "dangling_refs";
    let op = |m: &str| op_line(name, "put_thing", m);
    assert_eq!(
        problems(name, &[]),
        [
            file_line(
                name,
                "at `#/components/schemas/Thing/properties/owner`: `$ref` `#/components/schemas/Owner` names nothing in the spec (only references inside the file, `#/components/...`, are read); define it or fix the reference"
            ),
            op(
                "`requestBody`'s `$ref` `#/components/requestBodies/Thing` names nothing in the spec; define it or fix the reference"
            ),
            op(
                "a parameter's `$ref` `#/components/parameters/ThingId` names nothing in the spec; define it or fix the reference"
            ),
            op(
                "path `/things/{thingId}` uses `{thingId}` but declares no path parameter `thingId`"
            ),
            op(
                "response `404`'s `$ref` `#/components/responses/NotFound` names nothing in the spec; define it or fix the reference"
            ),
        ]
    );
}

#[test]
fn duplicate_keys_are_rejected_with_their_lines() {
    let name = "duplicate_keys";
    let file = &format!("xtask/tests/fixtures/bad/{name}.yaml");
    let root = xtask::workspace_root().expect("workspace root");
    let err = Spec::parse(
        file,
        std::fs::read(root.join(file)).expect("fixture exists"),
    )
    .expect_err("a path is listed twice");
    assert_eq!(
        err,
        "duplicate key `/things` in `paths` (lines 7 and 25); YAML keeps only the last, so the earlier entry would be silently dropped: merge them into one"
    );
    // Loaded as `cargo xtask` loads it, the problem names the file.
    let problem = Spec::load(&root, file).expect_err("a path is listed twice");
    assert_eq!(problem.to_string(), format!("{file}: {err}"));
}

#[test]
fn secret_in_an_inline_object() {
    assert_eq!(
        problems("inline_secret", &[]),
        [file_line(
            "inline_secret",
            "at `#/paths/~1login/post/requestBody/content/application~1json/schema/properties/password`: `format: password` (a secret, whose generated `Debug` is redacted) is only honoured on a property of a schema under `components/schemas`, on such a schema itself, or on a parameter's schema; move this object into `components/schemas` and `$ref` it"
        )]
    );
}
