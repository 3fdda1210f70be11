//! Generator snapshot tests: each fixture under `tests/fixtures/ok/` exercises one tricky
//! construct (its leading YAML comment says which), must pass the lint, and is generated exactly
//! as `cargo xtask generate` would.
//!
//! What is snapshotted: a full generated file is ~400 lines even for one operation, nearly all
//! of it progenitor boilerplate that is identical for every spec (the `Client` constructors, the
//! `ConversionError` module, the per-type builder structs). Snapshotting that nine times would
//! bury the interesting lines, so:
//! - `form_body` is snapshotted in full, once, to pin the whole file's shape (header, settings
//!   such as the inner `cxkit_auth::Auth` type, the 15 s timeout and expected hooks, the
//!   `SECURITY` table and the `ClientHooks` impl at the end);
//! - every fixture (including `form_body`) is snapshotted as a *digest*: verbatim excerpts of
//!   the generated text, re-printed by prettyplease from the parsed file: the do-not-edit
//!   header, the list of generated client methods, the data types of `mod types` (structs,
//!   enums, aliases; not their builders), each operation builder's `send` (where body encoding,
//!   the response type, status matching and error types show), and the `SECURITY` table.
//!
//! Review a changed snapshot as you would review the generated client itself.

use xtask::codegen;
use xtask::lint;
use xtask::spec::Spec;
use xtask::systems::System;

/// Reads, lints (must be clean) and generates `tests/fixtures/ok/<name>.yaml`.
fn generate(name: &str) -> String {
    let spec_path: &'static str =
        Box::leak(format!("xtask/tests/fixtures/ok/{name}.yaml").into_boxed_str());
    let bytes = std::fs::read(
        xtask::workspace_root()
            .expect("workspace root")
            .join(spec_path),
    )
    .expect("fixture exists");
    let text = String::from_utf8(bytes.clone()).expect("fixture is UTF-8");
    assert!(
        text.starts_with("# Exercises: "),
        "{spec_path} must start with a `# Exercises: ...` comment"
    );
    let spec = Spec::parse(spec_path, bytes).expect("fixture parses");
    let problems: Vec<String> = lint::lint(&spec, &[])
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        problems.is_empty(),
        "fixture must pass the lint:\n{}",
        problems.join("\n")
    );
    let system = System {
        name: "fixture",
        spec: spec_path,
        output: "unused/generated.rs",
    };
    let first = codegen::generate(&system, &spec).unwrap_or_else(|p| panic!("{p:?}"));
    let again = codegen::generate(&system, &spec).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(first, again, "generation must be deterministic");
    first
}

/// The reviewable excerpt of a generated file; see the module docs.
fn digest(generated: &str) -> String {
    let header: String = generated
        .lines()
        .take_while(|l| l.starts_with("//"))
        .map(|l| format!("{l}\n"))
        .collect();
    let file = syn::parse_file(generated).expect("generated code parses");

    let mut methods = Vec::new();
    let mut types = Vec::new();
    let mut sends = Vec::new();
    let mut security = Vec::new();
    for item in &file.items {
        match item {
            syn::Item::Impl(imp) if imp.trait_.is_none() && is_named(&imp.self_ty, "Client") => {
                for member in &imp.items {
                    if let syn::ImplItem::Fn(f) = member {
                        let name = f.sig.ident.to_string();
                        if name != "new" && name != "new_with_client" {
                            let output = &f.sig.output;
                            let output = quote::quote!(#output)
                                .to_string()
                                .replace(" :: ", "::")
                                .replace(" < ", "<")
                                .replace(" >", ">");
                            methods.push(format!("{name}(&self) {output}"));
                        }
                    }
                }
            }
            syn::Item::Mod(m) if m.ident == "types" => {
                for inner in module_items(m) {
                    if matches!(
                        inner,
                        syn::Item::Struct(_) | syn::Item::Enum(_) | syn::Item::Type(_)
                    ) {
                        types.push(inner.clone());
                    }
                }
            }
            syn::Item::Mod(m) if m.ident == "builder" => {
                for inner in module_items(m) {
                    if let syn::Item::Impl(imp) = inner
                        && imp.trait_.is_none()
                    {
                        let mut only_send = imp.clone();
                        only_send
                            .items
                            .retain(|i| matches!(i, syn::ImplItem::Fn(f) if f.sig.ident == "send"));
                        if !only_send.items.is_empty() {
                            sends.push(syn::Item::Impl(only_send));
                        }
                    }
                }
            }
            syn::Item::Static(s) if s.ident == "SECURITY" => security.push(item.clone()),
            _ => {}
        }
    }
    let print = |items: Vec<syn::Item>| {
        prettyplease::unparse(&syn::File {
            shebang: None,
            attrs: Vec::new(),
            items,
        })
    };
    format!(
        "{header}\n// ---- client methods ----\n{}\n\n// ---- types ----\n{}\n// ---- send ----\n{}\n// ---- security ----\n{}",
        methods.join("\n"),
        print(types),
        print(sends),
        print(security),
    )
}

fn is_named(ty: &syn::Type, name: &str) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.is_ident(name))
}

fn module_items(m: &syn::ItemMod) -> &[syn::Item] {
    m.content
        .as_ref()
        .map(|(_, items)| &items[..])
        .unwrap_or(&[])
}

macro_rules! digest_snapshot {
    ($name:ident) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(digest(&generate(stringify!($name))));
        }
    };
}

digest_snapshot!(form_body);
digest_snapshot!(security_alternatives);
digest_snapshot!(query_and_matrix_keys);
digest_snapshot!(handwritten_multipart);
digest_snapshot!(event_stream);
digest_snapshot!(idempotent_post);
digest_snapshot!(nullable_required);
digest_snapshot!(no_content_204);
digest_snapshot!(shared_success_statuses);

/// The lines of an operation's `send` that match a success status, as prettyplease prints them.
fn status_arms(out: &str, builder: &str) -> Vec<String> {
    let at = out
        .find(&format!("impl<'a> {builder}<'a>"))
        .unwrap_or_else(|| panic!("builder {builder}"));
    let send = &out[at..];
    let end = send
        .find("_ => Err(Error::UnexpectedResponse")
        .expect("the last arm");
    send[..end]
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('2') && l.split(" =>").next().is_some_and(|p| p.ends_with("u16")))
        .map(str::to_owned)
        .collect()
}

// The lint used to refuse several success statuses; sharing one shape, they generate one
// success type and an arm for each status (the fixture fails the lint without the change).
#[test]
fn shared_success_statuses_are_all_decoded() {
    let out = generate("shared_success_statuses");
    assert_eq!(
        status_arms(&out, "CreateThing"),
        [
            "200u16 => super::response_value(response).await,",
            "201u16 => super::response_value(response).await,",
        ]
    );
    assert_eq!(
        status_arms(&out, "TouchThing"),
        [
            "202u16 => Ok(ResponseValue::empty(response)),",
            "204u16 => Ok(ResponseValue::empty(response)),",
        ]
    );
    assert!(
        out.contains("Result<ResponseValue<types::CreateThingResponse>, Error<types::Problem>>"),
        "one success type"
    );
}

#[test]
fn form_body_full_file() {
    insta::assert_snapshot!(generate("form_body"));
}

/// The `OperationDef` of `id` in the `SECURITY` table.
fn security_entry<'a>(out: &'a str, id: &str) -> &'a str {
    out.split("::cxkit_auth::OperationDef {")
        .skip(1)
        .find(|e| e.trim_start().starts_with(&format!("id: \"{id}\",")))
        .unwrap_or_else(|| panic!("`{id}` is in SECURITY"))
}

// Plain assertions on the properties the snapshots exist for, so a careless snapshot accept
// cannot lose them.

#[test]
fn handwritten_operation_is_only_in_the_security_table() {
    let out = generate("handwritten_multipart");
    assert!(out.contains("pub fn list_files(&self)"));
    assert!(!out.contains("fn upload_file"), "no generated method");
    assert!(!out.contains("UploadFile"), "no generated builder");
    assert!(
        !out.contains("multipart/form-data"),
        "progenitor never saw the body"
    );
    let entry = security_entry(&out, "upload_file");
    assert!(entry.contains("method: \"POST\""));
    assert!(entry.contains("security: &[&[\"token\"]]"));
    assert!(entry.contains("handwritten: true"));
}

#[test]
fn security_alternatives_keep_their_order_and_empty_forms() {
    let out = generate("security_alternatives");
    // Alternatives keep the spec's order; names inside one alternative (all of which apply)
    // come out sorted, as the spec is read into an ordered JSON map.
    assert!(out.contains("security: &[&[\"subscriptionKey\", \"token\"], &[\"token\"]]"));
    assert!(
        out.contains("security: &[&[]]"),
        "`[{{}}]`: one empty alternative"
    );
    assert!(out.contains("security: &[],"), "`[]`: no alternatives");
    assert!(out.contains("Placement::Header(\"Ocp-Apim-Subscription-Key\")"));
}

#[test]
fn query_and_matrix_schemes_are_placed_not_parameters() {
    let out = generate("query_and_matrix_keys");
    assert!(out.contains("Placement::Query(\"apiKey\")"));
    assert!(out.contains("Placement::Matrix(\"lsid\")"));
    assert!(!out.contains("fn lsid"), "the LSID is no method argument");
    assert!(
        !out.contains("fn api_key"),
        "the API key is no method argument"
    );
}

#[test]
fn event_stream_returns_raw_bytes() {
    let out = generate("event_stream");
    assert!(out.contains("Result<ResponseValue<ByteStream>, Error<()>>"));
}

#[test]
fn idempotency_follows_method_and_marker() {
    let out = generate("idempotent_post");
    let idempotent = |id: &str| security_entry(&out, id).contains("idempotent: true");
    assert!(idempotent("search"), "marked POST");
    assert!(!idempotent("create_item"), "plain POST");
    assert!(idempotent("get_item"), "GET");
}

#[test]
fn api_version_follows_the_spec_and_the_operation() {
    let out = generate("api_version");
    let version = |id: &str| {
        let entry = security_entry(&out, id);
        entry[entry.find("api_version:").expect("api_version is emitted")..]
            .lines()
            .next()
            .unwrap()
            .to_owned()
    };
    assert!(
        version("get_item").contains(r#"Some("2.0")"#),
        "inherits info"
    );
    assert!(version("legacy_get_item").contains("None"), "opts out");
    assert!(
        version("preview_get_item").contains(r#"Some("2.1")"#),
        "own pin"
    );
}

#[test]
fn no_content_success_is_unit() {
    let out = generate("no_content_204");
    assert!(out.contains("Result<ResponseValue<()>, Error<()>>"));
    assert!(out.contains("204u16 => Ok(ResponseValue::empty(response))"));
}

#[test]
fn required_nullable_must_be_present_optional_may_be_absent() {
    let out = generate("nullable_required");
    let field = |name: &str| {
        let at = out
            .find(&format!("pub {name}: "))
            .unwrap_or_else(|| panic!("field {name}"));
        // The field's attribute line(s) just above it.
        let before = &out[..at];
        let start = before
            .rfind(",\n")
            .or_else(|| before.rfind("{\n"))
            .unwrap_or(0);
        out[start..at + out[at..].find(',').expect("field ends")].to_owned()
    };
    let email = field("email");
    assert!(email.contains("deserialize_with = \"::std::option::Option::deserialize\""));
    assert!(
        !email.contains("skip_serializing_if"),
        "sent as null, never left out"
    );
    assert!(email.contains("::std::option::Option<::std::string::String>"));
    assert!(field("notes").contains("skip_serializing_if"));
    assert!(field("fullname").contains("pub fullname: ::std::string::String"));
    assert!(
        field("id").contains("pub id: i64"),
        "minimum 2 is no NonZero"
    );
    assert!(
        out.contains("Error<types::ApiError>"),
        "one shared error schema"
    );
}

#[test]
fn security_table_is_sorted_by_operation_id() {
    for name in [
        "idempotent_post",
        "security_alternatives",
        "handwritten_multipart",
    ] {
        let out = generate(name);
        let ids: Vec<&str> = out
            .split("::cxkit_auth::OperationDef {")
            .skip(1)
            .filter_map(|e| e.split("id: \"").nth(1)?.split('"').next())
            .collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(
            ids, sorted,
            "{name}: `ApiSecurity::operation` binary-searches"
        );
    }
}

/// A spec progenitor panics on (two success shapes; the lint would have stopped it, so this
/// calls `codegen::generate` directly) yields one problem per guilty operation, not a crash, and
/// leaves the generatable operation out of the blame.
#[test]
fn progenitor_panic_is_blamed_on_the_operations() {
    let file = "xtask/tests/fixtures/panic/success_shapes.yaml";
    let bytes = std::fs::read(xtask::workspace_root().expect("workspace root").join(file))
        .expect("fixture exists");
    let spec = Spec::parse(file, bytes).expect("fixture parses");
    assert_eq!(
        lint::lint(&spec, &[]).len(),
        2,
        "the lint rejects both operations"
    );
    let system = System {
        name: "panic",
        spec: file,
        output: "unused/generated.rs",
    };
    let problems: Vec<String> = codegen::generate(&system, &spec)
        .expect_err("progenitor cannot generate it")
        .iter()
        .map(ToString::to_string)
        .collect();
    let line = |op: &str| {
        format!(
            "{file}: operation {op}: progenitor panicked: assertion failed: response_types.len() <= 1; see specs/README.md rule 4 for what progenitor 0.15.1 can generate"
        )
    };
    assert_eq!(problems, [line("json_or_empty"), line("two_shapes")]);
}

digest_snapshot!(secrets);

/// The nth `impl ::std::fmt::Debug for <name>` block onwards (to the end of its module), without
/// whitespace.
fn debug_impl(out: &str, name: &str, nth: usize) -> String {
    let head = format!("::std::fmt::Debug for {name} ");
    let at = out
        .match_indices(&head)
        .nth(nth)
        .unwrap_or_else(|| panic!("no redacting Debug #{nth} for {name}"))
        .0;
    let end = at + out[at..].find("\n    }\n").expect("impl ends");
    squeeze(&out[at..end])
}

/// Text without whitespace, so assertions do not depend on where prettyplease breaks lines.
fn squeeze(text: &str) -> String {
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    squeezed.replace(",)", ")")
}

/// The derive line just above `pub struct <name>` (the first one, in `types`, or the nth).
fn derive_of(out: &str, name: &str, nth: usize) -> String {
    let at = out
        .match_indices(&format!("pub struct {name}"))
        .nth(nth)
        .unwrap_or_else(|| panic!("struct {name}"))
        .0;
    let start = out[..at].rfind("#[derive(").expect("derived");
    out[start..at].to_owned()
}

#[test]
fn secrets_have_a_redacting_debug_and_nothing_else_changes() {
    let out = generate("secrets");
    for (name, nth) in [
        ("Login", 0),
        ("Login", 1),
        ("Session", 0),
        ("LoginNewPassword", 0),
    ] {
        let derive = derive_of(&out, name, nth);
        assert!(!derive.contains("Debug"), "{name}#{nth}: {derive}");
    }
    assert!(
        !derive_of(&out, "UpdateSession", 0).contains("Debug"),
        "the operation builder holding the secret parameter"
    );
    // `types::builder` comes first in the file, then the data types' impls.
    let login = debug_impl(&out, "Login", 1);
    assert!(
        login.contains(&squeeze(r#".field("username", &self.username)"#)),
        "{login}"
    );
    assert!(
        login.contains(&squeeze(r#".field("password", &"<redacted>")"#)),
        "{login}"
    );
    assert!(
        login.contains(&squeeze(
            r#".field("one_time_code", &self.one_time_code.as_ref().map(|_| "<redacted>"))"#
        )),
        "an absent optional secret still shows as None: {login}"
    );
    assert!(
        login.contains(&squeeze(
            r#".field("new_password", &self.new_password.as_ref().map(|_| "<redacted>"))"#
        )),
        "{login}"
    );
    assert!(
        login.contains(&squeeze(
            r#".field("key", &self.key.as_ref().map(|_| "<redacted>"))"#
        )),
        "a `$ref` to a secret schema is secret: {login}"
    );
    let builder = debug_impl(&out, "Login", 0);
    assert!(
        builder.contains(&squeeze(
            r#".field("password", &self.password.as_ref().map(|_| "<redacted>"))"#
        )),
        "the builder keeps its error message and hides the value: {builder}"
    );
    assert!(
        builder.contains(&squeeze(r#".field("username", &self.username)"#)),
        "{builder}"
    );
    let newtype = debug_impl(&out, "LoginNewPassword", 0);
    assert!(
        newtype.contains(&squeeze(
            r#"f.debug_tuple("LoginNewPassword").field(&"<redacted>").finish()"#
        )),
        "{newtype}"
    );
    let session = debug_impl(&out, "Session", 0);
    assert!(
        session.contains(&squeeze(r#".field("user", &self.user)"#)),
        "{session}"
    );
    assert!(
        session.contains(&squeeze(
            r#".field("session_id", &self.session_id.as_ref().map(|_| "<redacted>"))"#
        )),
        "{session}"
    );
    let op = debug_impl(&out, "UpdateSession<'a>", 0);
    assert!(
        op.contains(&squeeze(
            r#".field("session_id", &self.session_id.as_ref().map(|_| "<redacted>"))"#
        )),
        "{op}"
    );
    assert!(
        op.contains(&squeeze(r#".field("note", &self.note)"#)),
        "{op}"
    );
    assert!(
        op.contains(&squeeze(r#".field("body", &self.body)"#)),
        "the body prints its own redacting Debug: {op}"
    );
    // Types without secrets keep their derived Debug.
    assert!(!out.contains("impl ::std::fmt::Debug for Error"));
}

/// The synthetic spec `cargo xtask bench` times is lint-clean and generates, with one client
/// method per operation (a small one here; the bench times 500 and 2,000 operations).
#[test]
fn synthetic_spec_lints_and_generates() {
    let spec = Spec::parse(
        "synthetic.yaml",
        xtask::synthetic::spec_yaml(6).into_bytes(),
    )
    .expect("parses");
    assert_eq!(lint::lint(&spec, &[]), []);
    let system = System {
        name: "synthetic",
        spec: "synthetic.yaml",
        output: "unused/generated.rs",
    };
    let out = codegen::generate(&system, &spec).unwrap_or_else(|p| panic!("{p:?}"));
    for i in 0..6 {
        assert!(out.contains(&format!("pub fn op_{i}(&self)")), "op_{i}");
    }
    assert!(out.contains("pub struct Item5Create"));
}
