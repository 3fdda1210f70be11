//! The V2-Legacy calls and the page-shown answers of the agent-response and chat-thread groups,
//! against FakeEjento: the answers are shaped like the vendor pages' samples (our own values),
//! and each call goes to the path its page documents.

use cxkit::{Ejento, Error, Secret};
use cxkit_testkit::ejento::{PASSWORD_OF_USER, USER};
use cxkit_testkit::{FakeEjento, Reply};
use serde_json::json;

async fn logged_in(fake: &FakeEjento) -> Ejento {
    let ejento = Ejento::builder().base_url(fake.base_url()).build().unwrap();
    ejento
        .login_password(USER, &Secret::new(PASSWORD_OF_USER))
        .await
        .unwrap();
    ejento
}

/// A stored agent response as the V2-Legacy agent-response pages show one.
fn stored_response(id: i64) -> serde_json::Value {
    json!({
        "id": id,
        "comments": [{"comment": "checked", "created_by": "a@b.c", "created_on": "2025-02-01T10:00:00Z"}],
        "feedback": [{"is_upvote": true, "is_downvote": false}],
        "question": "What is RAG?",
        "response": {
            "query": "Explain RAG.",
            "answer": "Retrieval-augmented generation.",
            "run_id": "0b7e6a7e-0000-4000-8000-000000000001",
            "history": [{"bot": "Hello!", "user": "hi"}],
            "indexes": [],
            "sources": "[0]",
            "success": true,
            "cache_hit": false,
            "agent_mode": "QnA",
            "corpus_ids": [12],
            "references": [{"url": "rag.txt", "order": 1, "number": 0}],
            "instructions": [],
            "total_tokens": 30,
            "prompt_prefix": "",
            "prompt_tokens": 20,
            "completion_tokens": 10,
            "followup_questions": ["And then?"]
        },
        "created_by": "a@b.c",
        "created_on": "2025-02-01T09:59:00Z",
        "is_deleted": false,
        "total_tokens": 30,
        "prompt_tokens": 20,
        "completion_tokens": 10,
        "cache_hit": false,
        "query_source": "web",
        "message_id": null,
        "cost": "0.00150",
        "chat_thread": 44,
        "agent": 9,
        "user": 3,
        "llm_config": 8
    })
}

#[tokio::test]
async fn the_legacy_get_agent_response_reads_every_field_its_page_shows() {
    let fake = FakeEjento::start().await;
    fake.on(
        "legacy_get_agent_response",
        Reply::json(&json!({
            "success": true,
            "message": "Agent Response Found Successfully.",
            "data": stored_response(101)
        })),
    );
    let ejento = logged_in(&fake).await;

    let answer = ejento
        .platform()
        .legacy_get_agent_response()
        .agent_response_id(101)
        .send()
        .await
        .map_err(Error::from)
        .unwrap()
        .into_inner();

    let data = answer.data.expect("data");
    assert_eq!(data.id, 101);
    assert_eq!(data.cost.as_deref(), Some("0.00150"));
    assert_eq!(data.llm_config, Some(8));
    assert_eq!(data.chat_thread, Some(44));
    assert_eq!(data.agent, Some(json!(9)));
    assert_eq!(data.comments[0].comment.as_deref(), Some("checked"));
    assert_eq!(data.feedback[0].is_upvote, Some(true));
    let response = data.response.expect("response");
    assert_eq!(
        response.run_id.as_deref(),
        Some("0b7e6a7e-0000-4000-8000-000000000001")
    );
    assert_eq!(response.history[0].user.as_deref(), Some("hi"));
    assert_eq!(response.corpus_ids, vec![12]);
    assert_eq!(response.agent_mode.as_deref(), Some("QnA"));
    assert_eq!(response.success, Some(true));
    assert_eq!(response.total_tokens, Some(30));

    let call = &fake.requests_to("legacy_get_agent_response")[0];
    assert_eq!(
        (call.method.as_str(), call.path.as_str()),
        ("GET", "/v2/api/agent-response/101")
    );
    // A V2-Legacy path: no `X-API-Version` header.
    assert_eq!(call.header("x-api-version"), None);
}

#[tokio::test]
async fn the_agent_lists_report_their_pages() {
    let fake = FakeEjento::start().await;
    fake.on(
        "legacy_list_agent_responses_of_agent",
        Reply::json(&json!({
            "success": true,
            "message": "Agent Response Found Successfully.",
            "data": {"count": 41, "num_pages": 5, "current_page": 2, "agent_responses": [stored_response(7)]}
        })),
    );
    let ejento = logged_in(&fake).await;

    let answer = ejento
        .platform()
        .legacy_list_agent_responses_of_agent()
        .agent_id(9)
        .items_per_page(10)
        .page(2)
        .query_source("web")
        .send()
        .await
        .map_err(Error::from)
        .unwrap()
        .into_inner();

    let data = answer.data.expect("data");
    assert_eq!(
        (data.count, data.num_pages, data.current_page),
        (Some(41), Some(5), Some(2))
    );
    assert_eq!(data.agent_responses[0].id, 7);
    let call = &fake.requests_to("legacy_list_agent_responses_of_agent")[0];
    assert_eq!(call.path, "/v2/api/agent/9/response");
    assert_eq!(call.query_param("page").as_deref(), Some("2"));
    assert_eq!(call.query_param("items_per_page").as_deref(), Some("10"));
}

#[tokio::test]
async fn the_legacy_chat_thread_delete_answers_a_list_of_one_thread() {
    let fake = FakeEjento::start().await;
    fake.on(
        "legacy_delete_chat_thread",
        Reply::json(&json!({
            "success": true,
            "message": "Chat Thread Deleted Successfully.",
            "data": [{"id": 44, "corpus_id": null, "created_by": "a@b.c", "created_on": "2025-01-08T22:00:19Z",
                      "modified_by": "", "modified_on": "2025-01-08T22:00:19Z", "title": "Help",
                      "is_deleted": false, "chat_id": null, "agent": 9, "user": 3}]
        })),
    );
    let ejento = logged_in(&fake).await;

    let answer = ejento
        .platform()
        .legacy_delete_chat_thread()
        .chatthread_id(44)
        .send()
        .await
        .map_err(Error::from)
        .unwrap()
        .into_inner();

    assert_eq!(answer.data.len(), 1);
    assert_eq!(answer.data[0].id, 44);
    let call = &fake.requests_to("legacy_delete_chat_thread")[0];
    assert_eq!(
        (call.method.as_str(), call.path.as_str()),
        ("DELETE", "/v2/api/chat-thread/44")
    );
}

#[tokio::test]
async fn a_chat_thread_corpus_connection_is_created_with_201_and_read_as_its_page_shows() {
    let fake = FakeEjento::start().await;
    fake.on(
        "create_chat_thread_corpus",
        Reply::json(&json!({
            "success": true,
            "message": "created",
            "data": {
                "id": 5,
                "chatthread": {"id": 44, "corpus_id": 12, "title": "Help", "is_deleted": false, "chat_id": null,
                               "agent": 9, "user": 3},
                "corpus": {"id": 12, "indexing_mode": {"id": 1, "mode": "exhaustive"}, "name": "Attachments",
                           "description": null,
                           "owner": {"id": 3, "email": "a@b.c", "is_superuser": false, "first_name": "A",
                                     "last_name": "B", "organization": {"id": 1, "org_name": "Org"}},
                           "tags": []},
                "created_by": "a@b.c",
                "created_on": "2025-01-08T11:20:36Z",
                "modified_by": "",
                "modified_on": "2025-01-08T11:20:36Z",
                "is_deleted": false,
                "connected_by": 3
            }
        }))
        .with_status(201),
    );
    let ejento = logged_in(&fake).await;

    let answer = ejento
        .platform()
        .create_chat_thread_corpus()
        .chat_thread_id(44)
        .corpus_id(12)
        .send()
        .await
        .map_err(Error::from)
        .unwrap();

    assert_eq!(answer.status().as_u16(), 201);
    let data = answer.into_inner().data.expect("data");
    assert_eq!(data.chatthread.expect("chatthread").id, 44);
    let corpus = data.corpus.expect("corpus");
    assert_eq!(corpus.id, Some(12));
    let owner = corpus.owner.expect("owner");
    assert_eq!(owner.email.as_deref(), Some("a@b.c"));
    assert_eq!(data.connected_by, Some(3));
}

#[tokio::test]
async fn the_legacy_chat_thread_edit_answers_the_renamed_thread() {
    let fake = FakeEjento::start().await;
    fake.on(
        "legacy_update_chat_thread",
        Reply::json(&json!({
            "success": true,
            "message": "Chat Thread Updated Successfully.",
            "data": {"id": 44, "corpus_id": null, "created_by": "a@b.c", "created_on": "2025-01-08T22:00:19Z",
                     "modified_by": "admin@example.com", "modified_on": "2025-01-09T08:00:00Z",
                     "title": "Renamed", "is_deleted": false, "chat_id": null, "agent": 9, "user": 3}
        })),
    );
    let ejento = logged_in(&fake).await;

    let answer = ejento
        .platform()
        .legacy_update_chat_thread()
        .chatthread_id(44)
        .body(cxkit::clients::ejento_platform::types::ChatThreadUpdate {
            title: Some("Renamed".to_owned()),
        })
        .send()
        .await
        .map_err(Error::from)
        .unwrap()
        .into_inner();

    // The page answers the renamed thread in `data` (the spec had lost this answer's schema).
    let data = answer.data.expect("data");
    assert_eq!(data.id, 44);
    assert_eq!(data.title.as_deref(), Some("Renamed"));
    let call = &fake.requests_to("legacy_update_chat_thread")[0];
    assert_eq!(
        (call.method.as_str(), call.path.as_str()),
        ("PUT", "/v2/api/chat-thread/44")
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&call.body).unwrap(),
        json!({"title": "Renamed"})
    );
}

#[tokio::test]
async fn the_legacy_by_user_list_reads_each_response_s_agent_as_an_object() {
    let fake = FakeEjento::start().await;
    fake.on(
        "legacy_list_user_agent_responses",
        Reply::json(&json!({
            "success": true,
            "message": "Agent Response Found Successfully.",
            "data": {"count": 3, "num_pages": 2, "current_page": 1, "agent_responses": [{
                "id": 191,
                "comments": [],
                "feedback": [],
                "agent": {"id": 4, "agent_name": "Helper", "agent_type": {"name": "QnA"},
                          "created_by": "a@b.c", "created_on": "2024-11-25T16:18:53Z",
                          "agent_image": "/img/bot.png", "user": 4, "project": 1},
                "question": "How are gaps handled?",
                "response": {"query": "gaps", "answer": "By rules.",
                             "references": [{"url": "https://example.com/doc", "order": 1, "number": 0}],
                             "agent_mode": "QnA"},
                "created_by": "a@b.c",
                "created_on": "2025-01-13T15:16:13Z",
                "query_source": "web",
                "user": 4,
                "chat_thread": 4
            }]}
        })),
    );
    let ejento = logged_in(&fake).await;

    let answer = ejento
        .platform()
        .legacy_list_user_agent_responses()
        .user_id(4)
        .send()
        .await
        .map_err(Error::from)
        .unwrap()
        .into_inner();

    let data = answer.data.expect("data");
    assert_eq!((data.count, data.num_pages), (Some(3), Some(2)));
    let item = &data.agent_responses[0];
    assert_eq!(item.id, 191);
    assert_eq!((item.chat_thread, item.user), (Some(4), Some(4)));
    // On this page the agent is an object, typed (other pages give only its id).
    let agent = item.agent.as_ref().expect("agent");
    assert_eq!(agent.agent_name.as_deref(), Some("Helper"));
    assert_eq!(
        agent.agent_type.as_ref().and_then(|t| t.name.as_deref()),
        Some("QnA")
    );
    assert_eq!((agent.user, agent.project), (Some(4), Some(1)));
    let response = item.response.as_ref().expect("response");
    assert_eq!(response.references[0].number, Some(0));
    let call = &fake.requests_to("legacy_list_user_agent_responses")[0];
    assert_eq!(call.path, "/v2/api/user/4/agent-response");
    assert_eq!(call.header("x-api-version"), None);
}
