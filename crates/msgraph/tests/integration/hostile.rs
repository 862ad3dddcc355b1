//! A broken or hostile endpoint cannot exhaust or mislead the client: a small fake server in
//! the test answers with loops, redirects and bodies larger than any Graph answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rewind_msgraph::protocol::PageError;
use rewind_msgraph::{
    ClientError, ClientOptions, Credential, Endpoints, GraphClient, MAX_RESPONSE_BYTES, Secret,
};
use serde_json::json;

/// A server on a free port; every request is counted.
struct Fake {
    url: String,
    hits: Arc<AtomicU64>,
}

async fn serve(handler: fn(&str, &str) -> Response) -> Fake {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicU64::new(0));
    let (counted, base) = (hits.clone(), url.clone());
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let (counted, base) = (counted.clone(), base.clone());
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            handler(&base, &uri.to_string())
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Fake { url, hits }
}

fn json_response(v: &serde_json::Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

fn token() -> Response {
    json_response(&json!({"access_token": "t", "expires_in": 3600, "token_type": "Bearer"}))
}

fn client(graph: &str, authority: &str) -> GraphClient {
    GraphClient::new(
        Endpoints {
            graph_url: graph.into(),
            authority_url: authority.into(),
            tenant_id: "contoso".into(),
        },
        Credential::Secret { client_id: "app".into(), secret: Secret::new("the-secret") },
        ClientOptions::default(),
    )
    .unwrap()
}

/// Graph that answers every page with a next link to itself, or to a fresh page of nothing.
fn looping(base: &str, uri: &str) -> Response {
    if uri.contains("/token") {
        return token();
    }
    if uri.contains("users/delta") {
        return json_response(
            &json!({"value": [], "@odata.nextLink": format!("{base}/v1.0/users/delta?$skiptoken=same")}),
        );
    }
    json_response(
        &json!({"value": [{"id": "1"}], "@odata.nextLink": format!("{base}/v1.0/groups")}),
    )
}

#[tokio::test]
async fn a_next_link_that_repeats_ends_the_read() {
    let fake = serve(looping).await;
    let c = client(&fake.url, &fake.url);
    let err = c.list("/groups").await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Malformed { source: PageError::RepeatedLink(_), .. }),
        "{err}"
    );
    assert!(err.to_string().contains("/v1.0/groups"), "names the endpoint: {err}");
    let err = c.delta("/users/delta").await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Malformed { source: PageError::RepeatedLink(_), .. }),
        "{err}"
    );
    assert!(fake.hits.load(Ordering::SeqCst) < 10, "a handful of requests, not thousands");
}

/// A token endpoint that redirects elsewhere (where a secret would be re-posted).
fn redirecting_token(_: &str, uri: &str) -> Response {
    if uri.contains("/token") {
        return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, "http://127.0.0.1:9/steal")])
            .into_response();
    }
    json_response(&json!({"value": []}))
}

/// Graph that redirects the users' delta to a server answering "no users".
fn redirecting_graph(_: &str, uri: &str) -> Response {
    if uri.contains("/token") {
        return token();
    }
    (StatusCode::FOUND, [(header::LOCATION, "http://127.0.0.1:9/v1.0/users/delta")]).into_response()
}

#[tokio::test]
async fn redirects_are_refused_for_tokens_and_for_graph() {
    let fake = serve(redirecting_token).await;
    let err = client(&fake.url, &fake.url).get("/organization").await.unwrap_err();
    assert!(matches!(&err, ClientError::Redirected { status: 307, .. }), "{err}");
    assert!(err.to_string().contains("127.0.0.1:9/steal"), "{err}");
    let fake = serve(redirecting_graph).await;
    let err = client(&fake.url, &fake.url).delta("/users/delta").await.unwrap_err();
    assert!(matches!(&err, ClientError::Redirected { status: 302, .. }), "{err}");
}

/// A body over the limit, announced or streamed without a length.
fn huge(_: &str, uri: &str) -> Response {
    if uri.contains("/token") {
        return token();
    }
    let chunk = vec![b' '; 1024 * 1024];
    let chunks = MAX_RESPONSE_BYTES / chunk.len() + 1;
    if uri.contains("announced") {
        return Body::from(vec![b' '; chunks * chunk.len()]).into_response();
    }
    let stream = futures_util::stream::iter(
        (0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    );
    Body::from_stream(stream).into_response()
}

#[tokio::test]
async fn a_body_larger_than_any_graph_answer_is_refused() {
    let fake = serve(huge).await;
    let c = client(&fake.url, &fake.url);
    for path in ["/announced", "/streamed"] {
        let err = c.get(path).await.unwrap_err();
        assert!(matches!(&err, ClientError::TooLarge { .. }), "{path}: {err}");
        assert!(err.to_string().contains(path), "{err}");
    }
}
