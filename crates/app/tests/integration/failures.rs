//! Failures name what to fix and store nothing: wrong credentials, a missing permission, an
//! unreachable endpoint, a malformed page.

use rewind_app::capture::FailureClass;
use rewind_app::{CaptureError, CaptureOptions};
use rewind_emulator::{Access, SeedOptions};
use rewind_msgraph::{ClientOptions, Credential, Endpoints, GraphClient, Secret};
use rewind_store::Store;
use serde_json::json;

use crate::env::Env;

async fn attempt(env: &Env, client: &GraphClient, store: &Store) -> CaptureError {
    let tenant = env.tenant(store).await;
    let err = rewind_app::capture(client, store, &tenant, CaptureOptions::default(), &|_| {})
        .await
        .expect_err("the capture must fail");
    let kept = store.snapshots(&tenant).await.unwrap().len();
    assert_eq!(kept, 1, "history untouched, nothing added ({err})");
    assert!(store.verify().await.unwrap().ok());
    err
}

async fn with_history(env: &Env) -> Store {
    let store = env.sqlite("timeline").await;
    env.capture(&env.reader(), &store, false).await;
    store
}

#[tokio::test]
async fn wrong_credentials_say_which_settings_to_check() {
    let env = Env::start(SeedOptions::default()).await;
    let store = with_history(&env).await;
    let wrong = Credential::Secret {
        client_id: env.emulator.info.client(Access::Read).unwrap().client_id.clone(),
        secret: Secret::new("not-the-secret"),
    };
    let client = GraphClient::new(env.endpoints(), wrong, ClientOptions::default()).unwrap();
    let err = attempt(&env, &client, &store).await;
    assert_eq!(err.class(), FailureClass::Authentication, "{err}");
    assert!(err.to_string().contains("REWIND_CLIENT_SECRET"), "{err}");
}

#[tokio::test]
async fn a_missing_permission_is_named() {
    let env = Env::start(SeedOptions::default()).await;
    let store = with_history(&env).await;
    // Take Policy.Read.All away from the read app, as an administrator could.
    env.revoke_read_permission("Policy.Read.All").await;
    let err = attempt(&env, &env.reader(), &store).await;
    assert_eq!(err.class(), FailureClass::Permission, "{err}");
    assert!(err.to_string().contains("Policy.Read.All"), "{err}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_named() {
    let env = Env::start(SeedOptions::default()).await;
    let store = with_history(&env).await;
    let gone = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}", gone.local_addr().unwrap());
    drop(gone);
    let endpoints = Endpoints { graph_url: dead.clone(), authority_url: dead, ..env.endpoints() };
    let client =
        GraphClient::new(endpoints, env.credential(Access::Read), ClientOptions::default())
            .unwrap();
    let err = attempt(&env, &client, &store).await;
    assert_eq!(err.class(), FailureClass::Unreachable, "{err}");
    assert!(err.to_string().contains("REWIND_GRAPH_URL"), "{err}");
}

#[tokio::test]
async fn a_malformed_page_stores_nothing() {
    let env = Env::start(SeedOptions::default()).await;
    let store = with_history(&env).await;
    // A server that signs anyone in and answers every read with a broken collection.
    let app = axum::Router::new().fallback(|req: axum::extract::Request| async move {
        if req.uri().path().ends_with("/token") {
            axum::Json(json!({"access_token": "t", "expires_in": 3600, "token_type": "Bearer"}))
        } else {
            axum::Json(json!({"value": "not a list", "@odata.nextLink": 7}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let endpoints = Endpoints { graph_url: url.clone(), authority_url: url, ..env.endpoints() };
    let client =
        GraphClient::new(endpoints, env.credential(Access::Read), ClientOptions::default())
            .unwrap();
    let err = attempt(&env, &client, &store).await;
    assert_eq!(err.class(), FailureClass::Other, "{err}");
    assert!(err.to_string().contains("reading"), "{err}");
}

#[tokio::test]
async fn a_capture_past_its_time_limit_stores_nothing_and_says_where_it_was() {
    let env = Env::start(SeedOptions::default()).await;
    let store = with_history(&env).await;
    let tenant = env.tenant(&store).await;
    let options = CaptureOptions {
        time_limit: std::time::Duration::from_millis(1),
        ..CaptureOptions::default()
    };
    let err = rewind_app::capture(&env.reader(), &store, &tenant, options, &|_| {})
        .await
        .expect_err("no capture finishes in a millisecond");
    assert!(matches!(err, CaptureError::TimedOut { .. }), "{err}");
    assert!(err.to_string().contains("--time-limit"), "{err}");
    assert_eq!(store.snapshots(&tenant).await.unwrap().len(), 1);
    assert!(store.verify().await.unwrap().ok());
}
