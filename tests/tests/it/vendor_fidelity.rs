//! Calls made the way the vendor makes them, over real HTTP on loopback: `page` /
//! `items_per_page` paging with `data.meta`, the pinned `X-API-Version` header (and its absence on
//! legacy calls), the older guide's users API on its own host, and server-to-server user tokens
//! minted once for many callers and re-minted before they expire.

use crate::support;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cxkit::{
    Ejento, Error, ManualClock, PageMeta, RefreshConfig, RetryPolicy, Secret, paginate_pages,
};
use cxkit_testkit::ejento::FakeEjento;
use futures::StreamExt as _;
use serde_json::json;

const JSON: &[(&str, &str)] = &[("content-type", "application/json")];
const THREADS: &str = "/api/v2/agents/7/chat-threads";
const ME: &str = "/api/v2/users/me";
const USER_JSON: &str = r#"{"success":true,"data":{"id":1,"email":"a@b.c"}}"#;

async fn session(
    server: &FakeEjento,
    configure: impl FnOnce(cxkit::EjentoBuilder) -> cxkit::EjentoBuilder,
) -> Ejento {
    support::log_in(
        configure(
            Ejento::builder()
                .config(&support::no_retries())
                .base_url(server.base_url()),
        )
        .build()
        .unwrap(),
    )
    .await
}

/// Scripts page `page` of `num_pages` with `items` threads numbered from `first`.
fn script_threads_page(server: &FakeEjento, page: i64, num_pages: i64, first: i64, items: i64) {
    let threads: Vec<_> = (first..first + items)
        .map(|id| json!({"id": id, "title": format!("t{id}")}))
        .collect();
    let body = json!({
        "success": true,
        "message": "ok",
        "data": {"chat_threads": threads, "meta": {"count": 5, "num_pages": num_pages, "current_page": page}},
    });
    server.script("GET", THREADS, 200, JSON, &body.to_string());
}

fn thread_pages(
    ejento: &Ejento,
) -> impl futures::Stream<Item = cxkit::Result<cxkit::clients::ejento_platform::types::ChatThread>> + '_
{
    paginate_pages(2, move |page| async move {
        let answer = ejento
            .platform()
            .list_agent_chat_threads()
            .agent_id(7)
            .paginated(true)
            .page(page.page)
            .items_per_page(page.items_per_page)
            .send()
            .await?
            .into_inner();
        let data = answer.data.unwrap_or_default();
        Ok::<_, Error>((data.chat_threads, data.meta))
    })
}

fn queries(server: &FakeEjento) -> Vec<String> {
    server
        .requests_to(THREADS)
        .into_iter()
        .map(|r| r.query.unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn page_lists_are_fetched_lazily_and_stop_at_num_pages() {
    let server = FakeEjento::start().await;
    let ejento = session(&server, |b| b).await;
    script_threads_page(&server, 1, 3, 1, 2);
    script_threads_page(&server, 2, 3, 3, 2);
    script_threads_page(&server, 3, 3, 5, 1);
    // A fourth page that must never be asked for: `num_pages` says 3.
    script_threads_page(&server, 4, 3, 6, 2);

    let stream = thread_pages(&ejento);
    futures::pin_mut!(stream);
    assert_eq!(stream.next().await.unwrap().unwrap().id, 1);
    assert_eq!(
        queries(&server),
        ["items_per_page=2&page=1&paginated=true"],
        "only the first page is requested before its items are consumed"
    );
    assert_eq!(stream.next().await.unwrap().unwrap().id, 2);
    assert_eq!(server.requests_to(THREADS).len(), 1);
    assert_eq!(stream.next().await.unwrap().unwrap().id, 3);
    assert_eq!(server.requests_to(THREADS).len(), 2);
    let rest: Vec<i64> = stream.map(|t| t.unwrap().id).collect().await;
    assert_eq!(rest, [4, 5]);
    assert_eq!(
        queries(&server),
        [
            "items_per_page=2&page=1&paginated=true",
            "items_per_page=2&page=2&paginated=true",
            "items_per_page=2&page=3&paginated=true",
        ],
        "the stream stops at num_pages"
    );
}

#[tokio::test]
async fn a_failed_page_is_yielded_once_and_ends_the_stream() {
    let server = FakeEjento::start().await;
    let ejento = session(&server, |b| b).await;
    script_threads_page(&server, 1, 3, 1, 2);
    server.script(
        "GET",
        THREADS,
        500,
        JSON,
        r#"{"success":false,"message":"database down"}"#,
    );
    script_threads_page(&server, 3, 3, 5, 1);

    let all: Vec<_> = thread_pages(&ejento).collect().await;
    assert_eq!(all.len(), 3, "two items, then the error, then the end");
    assert!(all[0].is_ok() && all[1].is_ok());
    assert!(
        matches!(
            &all[2],
            Err(Error::Transient {
                status: Some(500),
                ..
            })
        ),
        "{:?}",
        all[2]
    );
    assert_eq!(
        server.requests_to(THREADS).len(),
        2,
        "nothing after the error"
    );
}

#[tokio::test]
async fn without_meta_a_short_page_ends_the_list() {
    let pages = [vec![1, 2], vec![3]];
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let got: Vec<i64> = paginate_pages(2, |page| {
        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let items = pages
            .get(page.page as usize - 1)
            .cloned()
            .unwrap_or_default();
        async move { Ok::<_, Error>((items, None::<PageMeta>)) }
    })
    .map(Result::unwrap)
    .collect()
    .await;
    assert_eq!(got, [1, 2, 3]);
    assert_eq!(calls.into_inner(), 2);
}

fn api_version_of(server: &FakeEjento, path: &str) -> Vec<Option<String>> {
    server
        .requests_to(path)
        .iter()
        .map(|r| r.header("x-api-version").map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn v2_calls_carry_the_pinned_api_version_and_legacy_calls_none() {
    let server = FakeEjento::start().await;
    let ejento = session(&server, |b| b).await;
    server.script("GET", ME, 200, JSON, USER_JSON);
    ejento.platform().get_current_user().send().await.unwrap();
    server.script(
        "POST",
        "/api/agent/7/chat-thread",
        201,
        JSON,
        r#"{"success":true,"message":"ok","data":{"id":55,"agent":7,"title":"New Chat"}}"#,
    );
    ejento
        .platform()
        .legacy_create_chat_thread()
        .agent_id(7)
        .body(cxkit::clients::ejento_platform::types::ChatThreadCreate::builder())
        .send()
        .await
        .unwrap();

    assert_eq!(api_version_of(&server, ME), [Some("2.0".to_owned())]);
    assert_eq!(
        api_version_of(&server, "/auth-service/api/v2/login/access-token"),
        [Some("2.0".to_owned())],
        "the auth-service's v2 calls are the latest v2 API too"
    );
    assert_eq!(
        api_version_of(&server, "/api/agent/7/chat-thread"),
        [None],
        "the older guide's legacy path opts out"
    );
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.header("api-version").is_none()),
        "progenitor's own `api-version` header is still stripped"
    );
}

#[tokio::test]
async fn the_builder_overrides_the_api_version_for_v2_calls_only() {
    let server = FakeEjento::start().await;
    let ejento = session(&server, |b| b.api_version("2.1")).await;
    server.script("GET", ME, 200, JSON, USER_JSON);
    ejento.platform().get_current_user().send().await.unwrap();
    server.script("GET", "/api/users/", 200, JSON, r#"{"data":[],"count":0}"#);
    let users = session(&server, |b| {
        b.users_base_url(server.base_url()).api_version("2.1")
    })
    .await;
    users
        .users()
        .unwrap()
        .read_all_users()
        .send()
        .await
        .unwrap();

    assert_eq!(api_version_of(&server, ME), [Some("2.1".to_owned())]);
    assert_eq!(api_version_of(&server, "/api/users/"), [None]);
}

#[tokio::test]
async fn the_older_guides_users_api_goes_to_its_own_host() {
    let gateway = FakeEjento::start().await;
    let users_host = FakeEjento::start().await;
    let ejento = session(&gateway, |b| b.users_base_url(users_host.base_url())).await;
    users_host.script(
        "GET",
        "/api/users/",
        200,
        JSON,
        r#"{"data":[{"id":"u1","email":"a@b.c","is_active":true,"is_superuser":false}],"count":1}"#,
    );
    users_host.script(
        "PATCH",
        "/api/users/u1",
        200,
        JSON,
        r#"{"id":"u1","email":"a@b.c","is_active":false,"is_superuser":false}"#,
    );

    let page = ejento
        .users()
        .unwrap()
        .read_all_users()
        .skip(0)
        .limit(100)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.count, Some(1));
    ejento
        .users()
        .unwrap()
        .update_user_information()
        .user_id("u1")
        .body_map(|b| b.is_active(false))
        .send()
        .await
        .unwrap();

    let on_users_host = users_host.requests();
    assert_eq!(on_users_host.len(), 2, "{on_users_host:?}");
    assert_eq!(on_users_host[0].query.as_deref(), Some("limit=100&skip=0"));
    let session_token = gateway.last_issued().auth_app;
    for r in &on_users_host {
        assert_eq!(
            r.bearer(),
            Some(session_token.as_str()),
            "the users host gets the session's Authentication App token"
        );
    }
    assert!(
        gateway
            .requests()
            .iter()
            .all(|r| !r.path.starts_with("/api/users")),
        "nothing of the users API reaches the gateway"
    );

    // The users API's operations on the gateway client (and the reverse) are refused before
    // anything is sent, naming the client to use.
    let before = gateway.requests().len();
    let wrong = Error::from(ejento.auth().read_all_users().send().await.unwrap_err());
    assert!(matches!(wrong, Error::Config { .. }), "{wrong:?}");
    assert!(wrong.to_string().contains("Ejento::users()"), "{wrong}");
    let wrong = Error::from(
        ejento
            .users()
            .unwrap()
            .get_login_feature_flags()
            .send()
            .await
            .unwrap_err(),
    );
    assert!(matches!(wrong, Error::Config { .. }), "{wrong:?}");
    assert_eq!(gateway.requests().len(), before);
    assert_eq!(users_host.requests().len(), 2);
}

/// No default users host: without `users_base_url`, `users()` is a configuration error that
/// names the setting, and neither the Authentication App token nor the subscription key leaves
/// for a host the application did not name (before, they went to the guide's
/// `*.azurewebsites.net` host whatever the tenant's gateway).
#[tokio::test]
async fn the_users_api_has_no_default_host() {
    let gateway = FakeEjento::start().await;
    let ejento = session(&gateway, |b| b).await;
    let err = ejento.users().unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("users_base_url"), "{err}");
    assert!(
        format!("{ejento:?}").contains("users_base: None"),
        "{ejento:?}"
    );
    assert_eq!(
        cxkit::GUIDE_USERS_BASE_URL,
        "https://webapp-idamigo-od-eastus2-001.azurewebsites.net"
    );
}

const AUTH_KEY: &str = "app-secret-canary-7f3c";

fn script_mint(server: &FakeEjento, token: &str, expires_on: SystemTime) {
    let secs = expires_on.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let at = chrono_like_rfc3339(secs);
    server.script(
        "POST",
        "/user-token",
        201,
        JSON,
        &json!({"token": token, "user_id": 42, "role": "member", "expires_on": at}).to_string(),
    );
}

/// `YYYY-MM-DDTHH:MM:SSZ` for epoch seconds (civil-from-days), so the test needs no date crate.
fn chrono_like_rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_tokens_are_minted_once_for_many_callers_and_re_minted_before_expiry() {
    let capture = support::logs();
    let server = FakeEjento::start().await;
    let t0 = UNIX_EPOCH + Duration::from_secs(1_900_000_000);
    let clock = Arc::new(ManualClock::new(t0));
    let ejento = Ejento::builder()
        .config(
            &cxkit::Config::builder()
                .clock(clock.clone())
                .refresh(RefreshConfig::default().without_jitter())
                .retry(RetryPolicy::never())
                .build()
                .expect("config"),
        )
        .base_url(server.base_url())
        .user_token_minter(
            server.base_url(),
            Secret::new(AUTH_KEY),
            "user@example.com",
            Some("Example User"),
        )
        .build()
        .unwrap();
    script_mint(&server, "minted-one", t0 + Duration::from_secs(3600));
    server.hold("/user-token");

    const CALLERS: usize = 16;
    for _ in 0..CALLERS {
        server.script("GET", ME, 200, JSON, USER_JSON);
    }
    let calls: Vec<_> = (0..CALLERS)
        .map(|_| {
            let ejento = ejento.clone();
            tokio::spawn(async move {
                ejento
                    .platform()
                    .get_current_user()
                    .send()
                    .await
                    .map(|_| ())
            })
        })
        .collect();
    server.wait_for("/user-token", 1).await;
    // Let every caller reach the cache while the mint is held.
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.release("/user-token");
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(
        server.count("/user-token"),
        1,
        "one mint for {CALLERS} callers"
    );
    let mint = &server.requests_to("/user-token")[0];
    assert_eq!(mint.method, "POST");
    assert_eq!(mint.header("ejento-auth-key"), Some(AUTH_KEY));
    assert!(mint.header("authorization").is_none());
    assert!(
        mint.header("x-api-version").is_none(),
        "not a versioned v2 path"
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&mint.body).unwrap(),
        json!({"email": "user@example.com", "full_name": "Example User"})
    );
    let platform_calls = server.requests_to(ME);
    assert_eq!(platform_calls.len(), CALLERS);
    assert!(
        platform_calls
            .iter()
            .all(|r| r.bearer() == Some("minted-one"))
    );

    // Still fresh well before the refresh margin (max(5 min, 10 % of the hour) = 6 min).
    clock.advance(Duration::from_secs(50 * 60));
    server.script("GET", ME, 200, JSON, USER_JSON);
    ejento.platform().get_current_user().send().await.unwrap();
    assert_eq!(server.count("/user-token"), 1);

    // Inside the margin, before `expires_on`: the next call mints a new token first.
    clock.advance(Duration::from_secs(5 * 60));
    script_mint(&server, "minted-two", t0 + Duration::from_secs(2 * 3600));
    server.script("GET", ME, 200, JSON, USER_JSON);
    ejento.platform().get_current_user().send().await.unwrap();
    assert_eq!(
        server.count("/user-token"),
        2,
        "re-minted before expires_on"
    );
    assert_eq!(
        server.requests_to(ME).last().unwrap().bearer(),
        Some("minted-two")
    );

    // A refused key is a credentials error whose text never holds the key, even when the
    // server echoes it.
    let refused = Ejento::builder()
        .config(&support::no_retries())
        .base_url(server.base_url())
        .user_token_minter(
            server.base_url(),
            Secret::new(AUTH_KEY),
            "x@example.com",
            None,
        )
        .build()
        .unwrap();
    server.script(
        "POST",
        "/user-token",
        401,
        JSON,
        &json!({"detail": format!("bad key {AUTH_KEY}")}).to_string(),
    );
    let e = refused
        .platform()
        .get_current_user()
        .send()
        .await
        .unwrap_err();
    let e = Error::from(e);
    assert!(
        matches!(
            e,
            Error::InvalidCredentials { .. } | Error::ReauthRequired { .. }
        ),
        "{e:?}"
    );
    for text in [
        format!("{e}"),
        format!("{e:?}"),
        format!("{ejento:?}"),
        format!("{refused:?}"),
        format!(
            "{:?}",
            Ejento::builder().user_token_minter(
                "https://x.example",
                Secret::new(AUTH_KEY),
                "a",
                None
            )
        ),
    ] {
        assert!(!text.contains(AUTH_KEY), "the key leaked: {text}");
    }
    assert!(
        !capture.text().contains(AUTH_KEY),
        "the key reached the logs"
    );
}

#[tokio::test]
async fn a_rejected_minted_token_is_re_minted_once() {
    let server = FakeEjento::start().await;
    let ejento = Ejento::builder()
        .config(&support::no_retries())
        .base_url(server.base_url())
        .user_token_minter(
            server.base_url(),
            Secret::new(AUTH_KEY),
            "user@example.com",
            None,
        )
        .build()
        .unwrap();
    let later = SystemTime::now() + Duration::from_secs(3600);
    script_mint(&server, "minted-one", later);
    script_mint(&server, "minted-two", later);
    server.script(
        "GET",
        ME,
        401,
        JSON,
        r#"{"success":false,"message":"expired"}"#,
    );
    server.script("GET", ME, 200, JSON, USER_JSON);
    ejento.platform().get_current_user().send().await.unwrap();
    let bearers: Vec<_> = server
        .requests_to(ME)
        .iter()
        .map(|r| r.bearer().map(str::to_owned))
        .collect();
    assert_eq!(
        bearers,
        [Some("minted-one".to_owned()), Some("minted-two".to_owned())]
    );
    assert_eq!(server.count("/user-token"), 2);
}

/// The V2 Legacy pages' own sample answers (api.ejento.ai `legacy-*` pages), trimmed.
const LEGACY_THREAD: &str = r#"{"id":1002,"corpus_id":null,"created_by":"user@example.com","created_on":"2025-01-24T22:55:14.774136Z","modified_by":"","modified_on":"2025-01-24T22:55:14.774166Z","title":"Sample Thread Title","is_deleted":false,"chat_id":null,"agent":101,"user":500}"#;
const LEGACY_CONNECTION: &str = r#"{"id":1079,"agent":{"id":1297,"agent_type":{"id":1,"name":"QnA"},"instructions":[],"agent_name":"FC Barca","domain":"","prefix_prompt":"abc","alias":"FCBarcelonaInfoAssistant_1297-dev@ejento.ai","is_deleted":false,"created_by":"user@example.com","access":"Only me","project":254,"llm_config":1},"corpus":{"id":1227,"indexing_mode":{"id":3,"mode":"basic"},"name":"HZ8Hub_Default","description":null,"owner":{"id":147,"email":"user@example.com","is_superuser":true,"first_name":"user","last_name":"user","organization":{"id":1,"org_name":"Data Science Dojo"}},"tags":[]},"created_by":"user@example.com","created_on":"2025-04-01T07:06:09.470040Z","modified_by":"","modified_on":"2025-04-01T07:06:09.470056Z","is_enabled":true,"is_default":false,"is_deleted":false,"connected_by":147}"#;

#[tokio::test]
async fn v2_legacy_agent_calls_are_made_and_read_as_their_pages_show() {
    let server = FakeEjento::start().await;
    let ejento = session(&server, |b| b).await;
    let platform = ejento.platform();

    let created = format!(
        r#"{{"success":true,"message":"Chat Thread created successfully.","data":{LEGACY_THREAD}}}"#
    );
    server.script("POST", "/v2/api/agent/101/chat-thread", 201, JSON, &created);
    let thread = platform
        .legacy_create_agent_chat_thread()
        .agent_id(101)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(thread.data.map(|t| t.id), Some(1002));

    let listed = format!(
        r#"{{"success":true,"message":"Chat Threads Found Successfully.","data":[{LEGACY_THREAD}]}}"#
    );
    server.script("GET", "/v2/api/agent/101/chat-thread", 200, JSON, &listed);
    let threads = platform
        .legacy_list_agent_chat_threads()
        .agent_id(101)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        threads.data.iter().map(|t| t.id).collect::<Vec<_>>(),
        [1002]
    );

    server.script(
        "GET",
        "/v2/api/agent/1297",
        200,
        JSON,
        r#"{"success":true,"message":"All Agent data fetched successfully","data":{"id":1297,"user":{"id":147,"email":"user@example.com","first_name":"User","last_name":"User","organization":1},"agent_type":{"id":1,"name":"QnA","description":""},"instructions":[],"connected_tool_names":["Rag Tool","Attachment Tool"],"tags":[],"agent_name":"FC Barcelona Info Assistant","agent_image":"[object Object]","access":"Public","status":"Live","chunk_count":32,"react_max_iteration_count":50}}"#,
    );
    let agent = platform
        .legacy_get_agent()
        .agent_id("1297")
        .send()
        .await
        .unwrap()
        .into_inner();
    let agent = agent.data.unwrap();
    assert_eq!(
        agent.agent_name.as_deref(),
        Some("FC Barcelona Info Assistant")
    );
    assert_eq!(agent.connected_tool_names, ["Rag Tool", "Attachment Tool"]);

    server.script(
        "POST",
        "/v2/api/agent/1297/vote",
        200,
        JSON,
        r#"{"success":true,"message":"Successfully upvoted the agent","data":{"like_count":1,"dislike_count":0}}"#,
    );
    let votes = platform
        .legacy_vote_on_agent()
        .agent_id(1297)
        .body_map(|b| b.vote("up"))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(votes.data.and_then(|v| v.like_count), Some(1));
    let sent: serde_json::Value = server.requests_to("/v2/api/agent/1297/vote")[0].json();
    assert_eq!(sent, json!({"vote": "up"}));

    let one = format!(
        r#"{{"success":true,"message":"Agent corpus connection fetched successfully.","data":{LEGACY_CONNECTION}}}"#
    );
    server.script("GET", "/v2/api/agent/1297/corpus", 200, JSON, &one);
    let connection = platform
        .legacy_list_agent_corpora()
        .agent_id(1297)
        .send()
        .await
        .unwrap()
        .into_inner()
        .data
        .unwrap();
    let owner = connection.corpus.and_then(|c| c.owner).unwrap();
    assert_eq!(
        owner.organization.and_then(|o| o.org_name).as_deref(),
        Some("Data Science Dojo")
    );
    assert_eq!(
        connection.agent.and_then(|a| a.agent_name).as_deref(),
        Some("FC Barca")
    );

    let path = "/v2/api/agent/1297/corpus/1227";
    server.script("POST", path, 201, JSON, LEGACY_CONNECTION);
    let created = platform
        .legacy_create_agent_corpus_connection()
        .agent_id(1297)
        .corpus_id(1227)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!((created.id, created.connected_by), (Some(1079), Some(147)));
    server.script("PUT", path, 200, JSON, LEGACY_CONNECTION);
    platform
        .legacy_update_agent_corpus_connection()
        .agent_id(1297)
        .corpus_id(1227)
        .body_map(|b| b.is_enabled(false))
        .send()
        .await
        .unwrap();
    let sent: serde_json::Value = server
        .requests_to(path)
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap()
        .json();
    assert_eq!(sent, json!({"is_enabled": false}));

    for legacy in [
        "/v2/api/agent/101/chat-thread",
        "/v2/api/agent/1297",
        "/v2/api/agent/1297/vote",
        "/v2/api/agent/1297/corpus",
        path,
    ] {
        assert!(
            api_version_of(&server, legacy).iter().all(Option::is_none),
            "{legacy} is a V2 Legacy call: no X-API-Version"
        );
    }
}

#[tokio::test]
async fn agent_corpus_connections_read_the_nested_corpus_of_the_pages() {
    let server = FakeEjento::start().await;
    let ejento = session(&server, |b| b).await;
    // The current list (S4's `data.items.agent_corpus[]`) with an item shaped like the pages'.
    let list = format!(
        r#"{{"success":true,"message":"ok","data":{{"items":{{"agent_corpus":[{LEGACY_CONNECTION}]}}}}}}"#
    );
    server.script("GET", "/api/v2/agents/1297/corpora", 200, JSON, &list);
    let answer = ejento
        .platform()
        .list_agent_corpora()
        .agent_id(1297)
        .send()
        .await
        .unwrap()
        .into_inner();
    let item = &answer.data.unwrap().items.unwrap().agent_corpus[0];
    let corpus = item.corpus.as_ref().unwrap();
    assert_eq!(corpus.name.as_deref(), Some("HZ8Hub_Default"));
    assert_eq!(corpus.owner.as_ref().and_then(|o| o.id), Some(147));
    assert_eq!(
        (item.is_enabled, item.is_default),
        (Some(true), Some(false))
    );

    // Create answers 201 with the connection bare, as the page shows.
    let path = "/api/v2/agents/1297/corpora/1227";
    server.script("POST", path, 201, JSON, LEGACY_CONNECTION);
    let created = ejento
        .platform()
        .create_agent_corpus_connection()
        .agent_id(1297)
        .corpus_id(1227)
        .body_map(|b| b)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.id, Some(1079));
}

#[tokio::test]
async fn the_access_guides_auth_calls_are_on_the_users_host() {
    let gateway = FakeEjento::start().await;
    let users_host = FakeEjento::start().await;
    let ejento = session(&gateway, |b| b.users_base_url(users_host.base_url())).await;
    users_host.script(
        "POST",
        "/api/login/access-token",
        200,
        JSON,
        r#"{"access_token":"auth-app","ejento_access_token":"platform","token_type":"bearer"}"#,
    );
    let tokens = ejento
        .users()
        .expect("the users host is configured")
        .legacy_login_access_token()
        .body_map(|b| b.username("test@example.com").password("stringst"))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tokens.ejento_access_token.as_deref(), Some("platform"));
    let sent = &users_host.requests_to("/api/login/access-token")[0];
    assert_eq!(
        sent.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(sent.header("x-api-version"), None);
    assert_eq!(gateway.count("/api/login/access-token"), 0);
}
