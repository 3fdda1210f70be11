//! Calls shaped as the vendor's own reference pages show them, over real HTTP on loopback: the
//! path, query and body each page documents, its sample answer decoded as the page prints it, and
//! the V2-Legacy calls (`legacy_*`) sent exactly as their pages show them (no `X-API-Version`).

use crate::support;

use cxkit::clients::ejento_platform::types;
use cxkit::{Ejento, Secret};
use cxkit_testkit::ejento::{FakeEjento, PASSWORD_OF_USER, USER};

const JSON: &[(&str, &str)] = &[("content-type", "application/json")];

async fn session(server: &FakeEjento) -> Ejento {
    let ejento = Ejento::builder()
        .config(&support::no_retries())
        .base_url(server.base_url())
        .build()
        .unwrap();
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    ejento
}

/// The single request of `requests` (those the server got on one path).
fn only<T>(mut requests: Vec<T>) -> T {
    assert_eq!(requests.len(), 1, "one request");
    requests.remove(0)
}

/// "Get Token Data" (https://ejentoapi.apidog.io/get-token-data): `GET /api/v2/token-counts/`
/// with the page's query names, and `data.token_usage` a list of lists of daily counts.
#[tokio::test]
async fn token_data_uses_the_documented_path_query_and_nested_answer() {
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    let page_sample = r#"{"success":true,"message":"Overall token usage data retrieved successfully",
        "data":{"token_usage":[[
            {"date":"2024-05-01","prompt_tokens":35820,"completion_tokens":12450,"total_tokens":48270},
            {"date":"2024-05-02","prompt_tokens":42530,"completion_tokens":15640,"total_tokens":58170}]]}}"#;
    server.script("GET", "/api/v2/token-counts/", 200, JSON, page_sample);

    let answer = ejento
        .platform()
        .get_token_data()
        .type_("range")
        .start_date("2024-03-01")
        .end_date("2024-03-31")
        .bucket_type("week")
        .time_series(true)
        .limit(10)
        .send()
        .await
        .unwrap()
        .into_inner();

    let days = &answer.data.unwrap().token_usage[0];
    assert_eq!(days.len(), 2);
    assert_eq!(days[1].date.as_deref(), Some("2024-05-02"));
    assert_eq!(days[1].total_tokens, Some(58170));
    let query = only(server.requests_to("/api/v2/token-counts/"))
        .query
        .unwrap_or_default();
    for pair in [
        "type=range",
        "start_date=2024-03-01",
        "end_date=2024-03-31",
        "bucket_type=week",
        "time_series=true",
        "limit=10",
    ] {
        assert!(query.contains(pair), "{pair} in {query}");
    }
}

/// "Edit Tool" (https://api.ejento.ai/legacy-edit-tool): `PUT /v2/api/tool/{tool_id}` with the
/// page's JSON body, no `X-API-Version`; the answer's tool decodes with the page's fields and its
/// headers stay out of Debug output.
#[tokio::test]
async fn legacy_edit_tool_is_sent_as_its_page_shows_it() {
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    let page_sample = r#"{"success":true,"message":"Tool updated successfully.","data":{"id":70,
        "name":"user Trials Tool 2","description":"user Trials Tool Description 2","org":1,
        "tool_type":"api","created_by":"user@example.com","is_enabled":true,"is_default":false,
        "connection":false,"headers":{"X-Api-Key":"tool-credential"},"system_prompt":"ABC","base_template":1}}"#;
    server.script("PUT", "/v2/api/tool/70", 200, JSON, page_sample);

    let tool = ejento
        .platform()
        .legacy_update_tool()
        .tool_id(70)
        .body(
            types::LegacyToolUpdate::builder()
                .name("user Trials Tool 2".to_owned())
                .tool_type("api".to_owned())
                .is_enabled(true)
                .is_draft(false)
                .is_default(false)
                .base_template_id(1)
                .system_prompt("ABC".to_owned()),
        )
        .send()
        .await
        .unwrap()
        .into_inner()
        .data
        .unwrap();

    assert_eq!(tool.org, Some(1));
    assert_eq!(tool.base_template, Some(1));
    assert_eq!(tool.connection, Some(false));
    assert_eq!(tool.system_prompt.as_deref(), Some("ABC"));
    let shown = format!("{tool:?}");
    assert!(!shown.contains("tool-credential"), "{shown}");
    let sent = only(server.requests_to("/v2/api/tool/70"));
    assert_eq!(sent.method, "PUT");
    assert_eq!(sent.header("x-api-version"), None, "a legacy call opts out");
    let body: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(body["base_template_id"], 1);
    assert_eq!(body["is_draft"], false);
    assert_eq!(body["system_prompt"], "ABC");
}

/// "Create Agent By Configure" (https://ejentoapi.apidog.io/legacy-create-agent-by-configure):
/// `POST /v2/api/agent` with a form-urlencoded body.
#[tokio::test]
async fn legacy_create_agent_posts_the_pages_form() {
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    let page_sample = r#"{"success":true,"message":"Agent created successfully","data":{"id":1302,
        "agent_name":"User API testing","domain":"This is an API testing agent","access":"Only me",
        "status":"Live","chunk_count":32,"project":254,"llm_config":null,"cloned_from":null}}"#;
    server.script("POST", "/v2/api/agent", 200, JSON, page_sample);

    let agent = ejento
        .platform()
        .legacy_create_agent()
        .body(
            types::LegacyAgentCreateForm::builder()
                .user_id(247)
                .project_id(254)
                .name("User API testing".to_owned())
                .type_("QnA".to_owned())
                .create_email_alias(true)
                .access("Only me".to_owned())
                .llm_model("gpt40".to_owned()),
        )
        .send()
        .await
        .unwrap()
        .into_inner()
        .data
        .unwrap();

    assert_eq!(agent.id, Some(1302));
    assert_eq!(agent.project, Some(serde_json::json!(254)));
    // The page's `"cloned_from": null` is a field of Agent (untyped: a set value is not shown).
    assert_eq!(agent.cloned_from, None);
    let sent = only(server.requests_to("/v2/api/agent"));
    assert_eq!(
        sent.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(sent.header("x-api-version"), None);
    for pair in [
        "user_id=247",
        "project_id=254",
        "type=QnA",
        "create_email_alias=true",
        "access=Only+me",
        "llm_model=gpt40",
    ] {
        assert!(sent.body.contains(pair), "{pair} in {}", sent.body);
    }
}

/// "Create Recent Agent" (https://api.ejento.ai/legacy-create-recent-agent): no body, 201 with the
/// record and its agent.
#[tokio::test]
async fn legacy_create_recent_agent_decodes_the_201_record() {
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    let page_sample = r#"{"success":true,"message":"Recent Agent created successfully","data":{"id":1937,
        "agent":{"id":1251,"agent_name":"Policy Whisperer","alias":"PolicyWhisperer_1251-dev@ejento.ai",
        "access":"Only team","status":"Live"}}}"#;
    server.script("POST", "/v2/api/agent/1251/recent", 201, JSON, page_sample);

    let record = ejento
        .platform()
        .legacy_create_recent_agent()
        .agent_id(1251)
        .send()
        .await
        .unwrap()
        .into_inner()
        .data
        .unwrap();

    assert_eq!(record.id, Some(1937));
    assert_eq!(
        record.agent.unwrap().agent_name.as_deref(),
        Some("Policy Whisperer")
    );
    let sent = only(server.requests_to("/v2/api/agent/1251/recent"));
    assert!(sent.body.is_empty(), "no body: {}", sent.body);
    assert_eq!(sent.header("x-api-version"), None);
}

/// "Get agent history with pagination" (https://api.ejento.ai/get-agent-history-with-pagination-18417486e0):
/// `page` / `items_per_page`, and `data.history_records` with the counts beside them.
#[tokio::test]
async fn agent_history_pages_with_items_per_page_and_history_records() {
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    let page_sample = r#"{"success":true,"message":"Agent history fetched successfully","data":{
        "history_records":[{"history_id":1,"history_date":"2024-03-20T10:00:00Z",
        "history_change_reason":"Initial checkpoint","agent_name":"Test Agent","access":"Public",
        "agent_type":{"id":1,"name":"QnA"},
        "llm_config":{"id":47,"model_deployment":["gpt-4.1"],"model_name":"GPT 4.1","is_enabled":true,"is_default":false},
        "character_voice":{"id":1,"voice_name":"Default Voice","voice_identifier":"en-US-JennyNeural","gender":"Female"},
        "instructions":["instruction1","instruction2"],"modified_by":"user@example.com"}],
        "total_records":1,"current_page":1,"total_pages":1}}"#;
    server.script("GET", "/api/v2/agents/7/history", 200, JSON, page_sample);

    let data = ejento
        .platform()
        .get_agent_history()
        .agent_id(7)
        .page(2)
        .items_per_page(10)
        .send()
        .await
        .unwrap()
        .into_inner()
        .data
        .unwrap();

    assert_eq!(data.total_pages, Some(1));
    let record = &data.history_records[0];
    assert_eq!(record.history_id, Some(1));
    assert_eq!(record.instructions, ["instruction1", "instruction2"]);
    assert_eq!(
        record.llm_config.as_ref().unwrap().model_deployment,
        ["gpt-4.1"]
    );
    assert_eq!(
        record
            .character_voice
            .as_ref()
            .unwrap()
            .voice_identifier
            .as_deref(),
        Some("en-US-JennyNeural")
    );
    let query = only(server.requests_to("/api/v2/agents/7/history"))
        .query
        .unwrap_or_default();
    assert!(query.contains("items_per_page=10"), "{query}");
    assert!(query.contains("page=2"), "{query}");
}

/// "Update an Agent" (https://api.ejento.ai/update-an-agent-18417483e0): the page's JSON body, and
/// its answer with `character_voice` and `project` as objects.
#[tokio::test]
async fn update_agent_sends_the_pages_body_and_decodes_its_answer() {
    let server = FakeEjento::start().await;
    let ejento = session(&server).await;
    let page_sample = r#"{"success":true,"message":"string","data":{"id":7,"agent_name":"New Agent Test",
        "character_voice":{"id":1,"voice_name":"v","voice_identifier":"en-US-JennyNeural",
        "voice_type":"azure_ai_speech","gender":"male","created_by":0,"organization":0},
        "project":{"id":1,"project_name":"p","team":{"id":2,"team_name":"t"}}}}"#;
    server.script("PUT", "/api/v2/agents/7", 200, JSON, page_sample);

    let agent = ejento
        .platform()
        .update_agent()
        .agent_id(7)
        .body(
            types::AgentUpdate::builder()
                .name("New Agent Test".to_owned())
                .type_("QnA".to_owned())
                .llm_config_id(1)
                .reasoning_mode("react".to_owned())
                .requested_tools(
                    [("Rag Tool".to_owned(), true)]
                        .into_iter()
                        .collect::<std::collections::HashMap<_, _>>(),
                )
                .character_voice_id("1".to_owned()),
        )
        .send()
        .await
        .unwrap()
        .into_inner()
        .data
        .unwrap();

    assert_eq!(
        agent.character_voice.unwrap().voice_type.as_deref(),
        Some("azure_ai_speech")
    );
    assert_eq!(agent.project.unwrap()["team"]["team_name"], "t");
    let body: serde_json::Value =
        serde_json::from_str(&only(server.requests_to("/api/v2/agents/7")).body).unwrap();
    assert_eq!(body["requested_tools"]["Rag Tool"], true);
    assert_eq!(body["character_voice_id"], "1");
    assert_eq!(body["llm_config_id"], 1);
}
