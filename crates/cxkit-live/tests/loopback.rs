//! The live check against a loopback server that deviates from its spec on purpose: a renamed
//! path, a missing required field, an undocumented extra field, a type change, a forbidden
//! route and an id nobody lists. Each deviation must be found, only GET requests may arrive, and
//! no secret may be printed or written.

use std::collections::BTreeMap;
use std::path::Path;

use cxkit::Secret;
use cxkit_live::schema::IssueKind;
use cxkit_live::{CheckConfig, Credentials, Outcome, Report, System};
use cxkit_testkit::ejento::{FakeEjento, PASSWORD_OF_USER, USER};

const JSON: &[(&str, &str)] = &[("content-type", "application/json")];
const TOKEN: &str = "live-token-canary-91ab";
const KEY: &str = "live-key-canary-55cd";

const SPEC: &str = r#"openapi: 3.0.3
info: {title: mini, version: '1'}
paths:
  /api/v2/agents:
    get:
      operationId: list_agents
      summary: List agents
      security: [{ejentoToken: [], subscriptionKey: []}, {ejentoToken: []}]
      responses:
        '200':
          description: ok
          content: {application/json: {schema: {$ref: '#/components/schemas/AgentList'}}}
    post:
      operationId: create_agent
      summary: Create an agent
      security: [{ejentoToken: []}]
      responses:
        '200': {description: ok}
  /api/v2/agents/{agent_id}:
    get:
      operationId: get_agent
      summary: Get an agent
      security: [{ejentoToken: []}]
      parameters:
        - {name: agent_id, in: path, required: true, schema: {type: integer}}
      responses:
        '200':
          description: ok
          content: {application/json: {schema: {$ref: '#/components/schemas/AgentEnvelope'}}}
    delete:
      operationId: delete_agent
      summary: Delete an agent
      security: [{ejentoToken: []}]
      parameters:
        - {name: agent_id, in: path, required: true, schema: {type: integer}}
      responses:
        '204': {description: gone}
  /api/v2/agents/{agent_id}/tags:
    get:
      operationId: get_agent_tags
      summary: Get an agent's tags
      security: [{ejentoToken: []}]
      parameters:
        - {name: agent_id, in: path, required: true, schema: {type: integer}}
      responses:
        '200':
          description: ok
          content: {application/json: {schema: {type: object}}}
  /api/v2/users/me:
    get:
      operationId: get_current_user
      summary: Get the current user
      security: [{ejentoToken: []}]
      responses:
        '200':
          description: ok
          content: {application/json: {schema: {$ref: '#/components/schemas/UserEnvelope'}}}
  /api/v2/analytics/cost:
    get:
      operationId: get_cost
      summary: Cost
      security: [{ejentoToken: []}]
      responses:
        '200': {description: ok}
  /api/v2/documents/{document_id}:
    get:
      operationId: get_document
      summary: Get a document
      security: [{ejentoToken: []}]
      parameters:
        - {name: document_id, in: path, required: true, schema: {type: integer}}
      responses:
        '200': {description: ok}
components:
  securitySchemes:
    ejentoToken: {type: http, scheme: bearer}
    subscriptionKey: {type: apiKey, in: header, name: Ocp-Apim-Subscription-Key}
  schemas:
    Agent:
      type: object
      required: [id, name]
      properties:
        id: {type: integer}
        name: {type: string}
        description: {type: string, nullable: true}
    AgentList:
      type: object
      properties:
        success: {type: boolean}
        data:
          type: object
          properties:
            agents: {type: array, items: {$ref: '#/components/schemas/Agent'}}
    AgentEnvelope:
      type: object
      properties:
        data: {$ref: '#/components/schemas/Agent'}
    UserEnvelope:
      type: object
      properties:
        data:
          type: object
          required: [id]
          properties:
            id: {type: integer}
            email: {type: string}
"#;

/// Scripts the deviating deployment: everything the mini spec lists, but not as it says.
fn script_deviations(server: &FakeEjento) {
    // An undocumented extra field (fine for decoding; reported for the curator).
    server.script(
        "GET",
        "/api/v2/agents",
        200,
        JSON,
        r#"{"success":true,"data":{"agents":[{"id":7,"name":"Ada","description":null,"colour":"blue"}]}}"#,
    );
    // A missing required field.
    server.script(
        "GET",
        "/api/v2/agents/7",
        200,
        JSON,
        r#"{"data":{"id":7,"description":"x"}}"#,
    );
    // A renamed path: the server has `/labels`, so `/tags` is not found (nothing scripted).
    server.script("GET", "/api/v2/agents/7/labels", 200, JSON, "{}");
    // A type change.
    server.script(
        "GET",
        "/api/v2/users/me",
        200,
        JSON,
        r#"{"data":{"id":"1","email":"a@b.c"}}"#,
    );
    server.script(
        "GET",
        "/api/v2/analytics/cost",
        403,
        JSON,
        r#"{"success":false,"message":"read-only key"}"#,
    );
}

fn workspace(spec: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("specs")).unwrap();
    std::fs::write(dir.path().join("specs/mini.yaml"), spec).unwrap();
    dir
}

fn token_credentials() -> Credentials {
    Credentials {
        by_scheme: BTreeMap::from([
            ("ejentoToken".to_owned(), Secret::new(TOKEN)),
            ("subscriptionKey".to_owned(), Secret::new(KEY)),
        ]),
    }
}

async fn run(server: &FakeEjento, root: &Path, credentials: Credentials) -> Report {
    cxkit_live::check(CheckConfig {
        system: System::Ejento,
        base_url: server.base_url().to_owned(),
        specs: vec!["specs/mini.yaml".into()],
        root: root.to_owned(),
        credentials,
        date: "2026-11-30".into(),
        params: BTreeMap::new(),
    })
    .await
    .unwrap()
}

fn by_id<'a>(report: &'a Report, id: &str) -> &'a cxkit_live::OperationReport {
    report
        .operations
        .iter()
        .find(|op| op.operation_id == id)
        .unwrap_or_else(|| panic!("{id} is not in the report"))
}

#[tokio::test]
async fn every_deviation_is_found_and_only_gets_are_sent() {
    let server = FakeEjento::start().await;
    script_deviations(&server);
    let root = workspace(SPEC);
    let report = run(&server, root.path(), token_credentials()).await;

    let ids: Vec<&str> = report
        .operations
        .iter()
        .map(|op| op.operation_id.as_str())
        .collect();
    assert!(
        !ids.contains(&"create_agent") && !ids.contains(&"delete_agent"),
        "only GET operations are checked: {ids:?}"
    );

    let list = by_id(&report, "list_agents");
    assert_eq!(list.outcome, Outcome::Ok, "{list:?}");
    assert_eq!(list.undocumented_fields, ["$.data.agents[0].colour"]);

    let agent = by_id(&report, "get_agent");
    assert_eq!(
        agent.requested.as_deref(),
        Some("/api/v2/agents/7"),
        "the id came from the list"
    );
    assert_eq!(agent.outcome, Outcome::DecodeMismatch);
    assert_eq!(agent.issues.len(), 1, "{agent:?}");
    assert_eq!(agent.issues[0].kind, IssueKind::MissingRequired);
    assert_eq!(agent.issues[0].path, "$.data.name");

    let tags = by_id(&report, "get_agent_tags");
    assert_eq!(tags.outcome, Outcome::RouteNotFound);
    assert_eq!(tags.status, Some(404));

    let me = by_id(&report, "get_current_user");
    assert_eq!(me.outcome, Outcome::DecodeMismatch);
    assert_eq!(me.issues[0].kind, IssueKind::TypeMismatch);
    assert_eq!(me.issues[0].path, "$.data.id");
    assert!(me.issues[0].detail.contains("expected integer, got string"));

    assert_eq!(by_id(&report, "get_cost").outcome, Outcome::Forbidden);

    let document = by_id(&report, "get_document");
    assert_eq!(document.outcome, Outcome::Skipped);
    assert!(document.reason.as_deref().unwrap().contains("document_id"));

    // The fake saw GET requests only, each with the credentials as headers.
    let requests = server.requests();
    assert_eq!(requests.len(), 5, "{requests:?}");
    for r in &requests {
        assert_eq!(r.method, "GET", "{} {}", r.method, r.path);
    }
    assert_eq!(requests[0].bearer(), Some(TOKEN));
    assert_eq!(requests[0].header("ocp-apim-subscription-key"), Some(KEY));

    // Neither the report nor its summary holds a secret.
    let written = format!(
        "{}{}",
        serde_json::to_string(&report).unwrap(),
        report.markdown()
    );
    assert!(!written.contains(TOKEN) && !written.contains(KEY));
    assert!(report.markdown().contains("`$.data.name` MissingRequired"));
}

/// A list answer whose first id is `..`: put into `/api/v2/agents/{agent_id}`, URL parsing
/// would resolve it to `/api/v2/` and send the credentials to a path the spec does not name.
/// Such an id is never used; neither is one given as a parameter.
#[tokio::test]
async fn a_dot_segment_id_is_never_put_into_a_path() {
    for given in [None, Some(".")] {
        let server = FakeEjento::start().await;
        server.script(
            "GET",
            "/api/v2/agents",
            200,
            JSON,
            r#"{"success":true,"data":{"agents":[{"id":"..","name":"x"}]}}"#,
        );
        let root = workspace(SPEC);
        let report = cxkit_live::check(CheckConfig {
            system: System::Ejento,
            base_url: server.base_url().to_owned(),
            specs: vec!["specs/mini.yaml".into()],
            root: root.path().to_owned(),
            credentials: token_credentials(),
            date: "2026-11-30".into(),
            params: given
                .map(|v| BTreeMap::from([("agent_id".to_owned(), v.to_owned())]))
                .unwrap_or_default(),
        })
        .await
        .unwrap();
        for id in ["get_agent", "get_agent_tags"] {
            let op = by_id(&report, id);
            assert_eq!(op.outcome, Outcome::Skipped, "{given:?}: {op:?}");
            assert!(op.requested.is_none(), "{given:?}: {op:?}");
        }
        for r in server.requests() {
            assert!(
                r.path.starts_with("/api/v2/agents")
                    || r.path.starts_with("/api/v2/users")
                    || r.path.starts_with("/api/v2/analytics"),
                "{given:?}: a request left the spec's paths: {}",
                r.path
            );
            assert!(!r.path.contains(".."), "{}", r.path);
        }
        assert!(
            server
                .requests()
                .iter()
                .all(|r| r.path != "/api/v2/" && r.path != "/api/v2/tags"),
            "{given:?}"
        );
    }
}

#[tokio::test]
async fn apply_marks_the_ok_operations_with_a_one_line_edit() {
    let server = FakeEjento::start().await;
    script_deviations(&server);
    let root = workspace(SPEC);
    let report = run(&server, root.path(), token_credentials()).await;

    let applied = cxkit_live::apply(root.path(), &report).unwrap();
    assert_eq!(applied.marked, ["specs/mini.yaml: list_agents"]);
    let after = std::fs::read_to_string(root.path().join("specs/mini.yaml")).unwrap();
    let before_lines: Vec<&str> = SPEC.lines().collect();
    let after_lines: Vec<&str> = after.lines().collect();
    assert_eq!(after_lines.len(), before_lines.len() + 1);
    let at = after_lines
        .iter()
        .position(|l| l.trim() == "operationId: list_agents")
        .unwrap();
    assert_eq!(after_lines[at + 1], "      x-cxkit-verified: '2026-11-30'");
    let mut without = after_lines.clone();
    without.remove(at + 1);
    assert_eq!(without, before_lines, "nothing else changed");

    // A later check re-dates the mark instead of adding another.
    let mut later = report.clone();
    later.date = "2026-12-24".into();
    cxkit_live::apply(root.path(), &later).unwrap();
    let again = std::fs::read_to_string(root.path().join("specs/mini.yaml")).unwrap();
    assert_eq!(again.lines().count(), after_lines.len());
    assert!(again.contains("x-cxkit-verified: '2026-12-24'") && !again.contains("2026-11-30"));
    // The mark keeps the spec valid YAML, with the date a string.
    let parsed: serde_json::Value = cxkit_spec::yaml::from_slice(again.as_bytes()).unwrap();
    assert_eq!(
        parsed.pointer("/paths/~1api~1v2~1agents/get/x-cxkit-verified"),
        Some(&serde_json::json!("2026-12-24"))
    );
}

#[test]
fn the_binary_logs_in_checks_and_writes_a_report_without_printing_secrets() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(FakeEjento::start());
    script_deviations(&server);
    let root = workspace(SPEC);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_cxkit-live"))
        .args(["--system", "ejento", "--base-url", server.base_url()])
        .args(["--spec", "specs/mini.yaml", "--root"])
        .arg(root.path())
        .env_remove("EJENTO_ACCESS_TOKEN")
        .env("EJENTO_USERNAME", USER)
        .env("EJENTO_PASSWORD", PASSWORD_OF_USER)
        .env("EJENTO_SUBSCRIPTION_KEY", KEY)
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "deviations exit 2: {printed}"
    );
    let issued = server.last_issued();
    for secret in [
        PASSWORD_OF_USER,
        KEY,
        issued.ejento.as_str(),
        issued.auth_app.as_str(),
    ] {
        assert!(!printed.contains(secret), "a secret was printed: {printed}");
    }
    // The login is the one POST; every checked operation is a GET with the session's token.
    let requests = server.requests();
    let (login, checks) = requests.split_first().unwrap();
    assert_eq!(
        (login.method.as_str(), login.path.as_str()),
        ("POST", cxkit_testkit::ejento::LOGIN)
    );
    assert!(checks.iter().all(|r| r.method == "GET"));
    assert!(
        checks
            .iter()
            .all(|r| r.bearer() == Some(issued.ejento.as_str()))
    );

    let dir = root.path().join("target/verify-live");
    let reports: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        reports.len(),
        2,
        "a JSON report and a markdown summary: {reports:?}"
    );
    for path in &reports {
        let text = std::fs::read_to_string(path).unwrap();
        for secret in [PASSWORD_OF_USER, KEY, issued.ejento.as_str()] {
            assert!(!text.contains(secret));
        }
    }
    drop(server);
}

#[tokio::test]
async fn proto_ids_come_from_params_and_the_token_goes_in_its_header() {
    let server = FakeEjento::start().await;
    server.script(
        "GET",
        "/acme/bot-1/crm/human/eu_1",
        200,
        JSON,
        r#"{"result":{"id":"eu_1","fullname":"Test 1","email":null,"loyalty_tier":"gold"}}"#,
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let report = cxkit_live::check(CheckConfig {
        system: System::Proto,
        base_url: server.base_url().to_owned(),
        specs: Vec::new(),
        root,
        credentials: Credentials {
            by_scheme: BTreeMap::from([("siniticToken".to_owned(), Secret::new(TOKEN))]),
        },
        date: "2026-11-30".into(),
        params: BTreeMap::from([
            ("company_id".to_owned(), "acme".to_owned()),
            ("bot_id".to_owned(), "bot-1".to_owned()),
            ("human_id".to_owned(), "eu_1".to_owned()),
        ]),
    })
    .await
    .unwrap();
    let human = by_id(&report, "get_human");
    assert_eq!(human.spec, "specs/proto.yaml");
    assert_eq!(human.outcome, Outcome::Ok, "{human:?}");
    assert_eq!(human.undocumented_fields, ["$.result.loyalty_tier"]);
    let requests = server.requests();
    assert!(requests.iter().all(|r| r.method == "GET"));
    assert_eq!(requests[0].header("x-sinitic-token"), Some(TOKEN));
}

/// Every registry system the live check takes (each of its APIs' credentials static, with a
/// `live_env` variable), with no line of its own here: its credentials come from the variables
/// the registry names (a missing one is an error naming it), every path parameter of its specs
/// is given, and every request is a GET carrying the key in a header, never in the URL; the
/// report's text holds no key.
#[tokio::test]
async fn every_registry_system_is_checked_with_the_credentials_the_registry_names() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let registry = cxkit_spec::Registry::load(&root).expect("the registry");
    assert!(
        System::parse_in(&root, "platform28")
            .unwrap_err()
            .to_string()
            .contains("proto-messaging"),
        "platform28 has credentials without a live_env variable"
    );
    let systems: Vec<(&str, System)> = registry
        .cli
        .iter()
        .map(|cli| cli.name.as_str())
        .filter_map(|name| match System::parse_in(&root, name) {
            Ok(system @ System::Registry(parsed)) if parsed == name => Some((name, system)),
            _ => None,
        })
        .collect();
    assert!(systems.len() >= 2, "{systems:?}");
    for (name, system) in systems {
        let apis: Vec<_> = registry.apis_of(name).collect();
        let vars: Vec<&str> = apis
            .iter()
            .flat_map(|api| api.live_env.values().map(String::as_str))
            .collect();
        let missing = cxkit_live::registry_credentials(&root, name, |_| None)
            .unwrap_err()
            .to_string();
        assert!(
            vars.iter().any(|v| missing.contains(&format!("set {v}"))),
            "{name}: {missing}"
        );
        let key = format!("live-canary-{name}-8e21");
        let credentials = cxkit_live::registry_credentials(&root, name, |v| {
            vars.contains(&v).then(|| key.clone())
        })
        .expect("every variable is set");

        // Every path parameter of the system's specs, given up front.
        let mut params = BTreeMap::new();
        for api in &apis {
            let spec: serde_json::Value = cxkit_spec::yaml::from_slice(
                &std::fs::read(root.join(&api.spec)).expect("the spec"),
            )
            .expect("a spec");
            for path in spec["paths"].as_object().expect("paths").keys() {
                for param in cxkit_spec::template_params(path) {
                    params.insert(param.to_owned(), format!("{param}-1"));
                }
            }
        }
        let server = FakeEjento::start().await;
        let report = cxkit_live::check(CheckConfig {
            system,
            base_url: server.base_url().to_owned(),
            specs: Vec::new(),
            root: root.clone(),
            credentials,
            date: "2026-12-07".into(),
            params,
        })
        .await
        .unwrap();
        let specs: Vec<&str> = apis.iter().map(|api| api.spec.as_str()).collect();
        assert!(!report.operations.is_empty(), "{name}");
        for op in &report.operations {
            assert!(specs.contains(&op.spec.as_str()), "{name}: {}", op.spec);
        }
        let requests = server.requests();
        assert!(!requests.is_empty(), "{name}: no request");
        for r in &requests {
            assert_eq!(r.method, "GET", "{name}: {} {}", r.method, r.path);
            assert!(!r.url_contains(&key), "{name}: the key in the URL");
            assert!(
                r.header_carries(&key),
                "{name}: the key was not sent to {}",
                r.path
            );
        }
        assert!(
            !report.markdown().contains(&key),
            "{name}: the key in the report"
        );
    }
}
