//! `cargo xtask changes` on fixture spec pairs (`tests/fixtures/changes/<case>/{old,new}.yaml`,
//! described in that directory's README): every change found, and how it is classified.

use std::path::Path;

use xtask::changes::{self, Change};
use xtask::spec::Spec;
use xtask::systems::System;

fn load(case: &str, which: &str) -> Spec {
    let file = format!("tests/fixtures/changes/{case}/{which}.yaml");
    Spec::load(Path::new(env!("CARGO_MANIFEST_DIR")), &file).expect("fixture parses")
}

fn diff(case: &str) -> Vec<Change> {
    changes::diff(&load(case, "old").doc, &load(case, "new").doc)
}

/// (operation, breaking, what), for exact comparison.
fn triples(case: &str) -> Vec<(String, bool, String)> {
    diff(case)
        .into_iter()
        .map(|c| (c.operation, c.breaking, c.what))
        .collect()
}

fn expect(case: &str, want: &[(&str, bool, &str)]) {
    let got = triples(case);
    let want: Vec<(String, bool, String)> = want
        .iter()
        .map(|(o, b, w)| ((*o).to_owned(), *b, (*w).to_owned()))
        .collect();
    assert_eq!(got, want, "case {case}:\n{got:#?}");
}

#[test]
fn removing_or_moving_an_operation_breaks_and_adding_one_does_not() {
    expect(
        "operations",
        &[
            (
                "delete_thing",
                true,
                "operation removed (was `DELETE /things/{id}`)",
            ),
            (
                "get_thing",
                true,
                "moved from `GET /things/{id}` to `GET /items/{id}`",
            ),
            ("create_thing", false, "operation added (`POST /things`)"),
        ],
    );
}

#[test]
fn parameters_removed_required_or_retyped_break_and_optional_ones_do_not() {
    expect(
        "parameters",
        &[
            (
                "list_things",
                true,
                "parameter `tenant` (path): type changed from `string` to `integer`",
            ),
            (
                "list_things",
                true,
                "parameter `cursor` (query) made required",
            ),
            ("list_things", true, "parameter `legacy` (query) removed"),
            (
                "list_things",
                true,
                "parameter `limit` (query): type changed from `integer` to `integer(int64)`",
            ),
            (
                "list_things",
                true,
                "required parameter `region` (query) added",
            ),
            (
                "list_things",
                false,
                "parameter `sort` (query) made optional",
            ),
            (
                "list_things",
                false,
                "optional parameter `page` (query) added",
            ),
        ],
    );
}

#[test]
fn response_fields_removed_or_retyped_break_and_added_ones_do_not() {
    expect(
        "response_fields",
        &[
            (
                "list_owners",
                true,
                "response 200: type `Owner` replaced by `Person`",
            ),
            (
                "get_thing",
                true,
                "response 200, field `name`: made optional",
            ),
            ("get_thing", true, "response 200: field `obsolete` removed"),
            (
                "get_thing",
                true,
                "response 200, field `size`: type changed from `integer(int32)` to `string`",
            ),
            (
                "get_thing",
                true,
                "response 200, field `state`: enum value \"archived\" added",
            ),
            (
                "get_thing",
                false,
                "response 200: field `tags[].color` added",
            ),
            ("get_thing", false, "response 200: field `created_at` added"),
        ],
    );
}

#[test]
fn request_fields_required_or_removed_break_and_optional_ones_do_not() {
    expect(
        "request_fields",
        &[
            (
                "login",
                true,
                "request body media type changed from `application/json` to `application/x-www-form-urlencoded`",
            ),
            ("create_thing", true, "request body: field `colour` removed"),
            (
                "create_thing",
                true,
                "request body, field `kind`: enum value \"huge\" removed",
            ),
            (
                "create_thing",
                true,
                "request body: required field `owner` added",
            ),
            (
                "touch_thing",
                true,
                "request body added (`application/json`)",
            ),
            (
                "create_thing",
                false,
                "request body, field `kind`: enum value \"medium\" added",
            ),
            (
                "create_thing",
                false,
                "request body: optional field `note` added",
            ),
        ],
    );
}

#[test]
fn descriptions_and_examples_are_not_api_changes() {
    expect("unchanged", &[]);
}

/// The report `cargo xtask changes` prints: grouped by system, breaking first.
#[test]
fn report_groups_by_system_and_classification() {
    // Each report compares a fixture's old spec (or nothing, for a new spec) with its new one.
    let report = |name: &'static str, case: &str, old: bool| {
        let system = System {
            name,
            spec: "specs/fixture.yaml",
            output: "unused",
        };
        let old = old.then(|| load(case, "old").bytes);
        changes::compare(&system, old, &load(case, "new"), "v0.1.0").expect("compares")
    };
    let reports = vec![
        report("params", "parameters", true),
        report("same", "unchanged", true),
        report("fresh", "operations", false),
    ];
    insta::assert_snapshot!(changes::render(&reports, "v0.1.0"));
}

/// `--since` with something that is not a revision is an error naming the fix.
#[test]
fn an_unknown_revision_is_a_clear_error() {
    let root = xtask::workspace_root().expect("workspace root");
    let err = changes::spec_at(&root, "no-such-revision-xyz", "specs/proto.yaml")
        .expect_err("not a revision");
    assert!(
        err.to_string().contains("pass a commit, tag or branch"),
        "{err}"
    );
}
