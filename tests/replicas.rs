//! Two Tessera replicas on one database and one server secret: a ceremony begun on one finishes on the other, and
//! a challenge consumed on one is refused on the other. With `TESSERA_TEST_DATABASE_URL` set (as in CI) the
//! replicas share a fresh PostgreSQL database; otherwise they share one SQLite file.

mod common;

use common::authenticator::TestAuthenticator;
use common::{LOCAL_ORIGIN, TestApp, assert_error, fresh_database, localhost_tenant, test_config};
use serde_json::{Value, json};

#[tokio::test]
async fn ceremonies_cross_replicas_and_replays_are_refused_on_the_other() {
    let (url, dir) = fresh_database().await;
    let a = TestApp::start(test_config(&url), url.clone(), dir).await;
    let b = TestApp::start(test_config(&url), url.clone(), None).await;
    let (tenant, key) = localhost_tenant(&a).await;
    let mut auth = TestAuthenticator::new();

    // Registration begun on A, finished on B.
    let init: Value = a
        .public_post(
            &format!("/{tenant}/credentials/register/initialize"),
            Some(&key),
            &json!({"user_id": "u", "username": "u"}),
        )
        .await
        .json()
        .await
        .expect("json");
    let credential = auth.create(&init["publicKey"], LOCAL_ORIGIN);
    let resp = b
        .public_post(
            &format!("/{tenant}/credentials/register/finalize"),
            None,
            &credential,
        )
        .await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );

    // Login begun on B, finished on A.
    let options = b.login_options(&tenant, &key, Some("u")).await;
    let assertion = auth.get(&options, LOCAL_ORIGIN);
    assert_eq!(a.login_finalize(&tenant, &assertion).await.status(), 200);

    // The same assertion replayed on B is refused.
    assert_error(
        b.login_finalize(&tenant, &assertion).await,
        400,
        "challenge_replayed",
    )
    .await;

    // Both replicas publish the same keys.
    let jwks = |app: &TestApp| {
        let url = format!("{}/{tenant}/.well-known/jwks.json", app.public);
        let client = app.client.clone();
        async move {
            client
                .get(url)
                .send()
                .await
                .expect("jwks")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    assert_eq!(jwks(&a).await, jwks(&b).await);
}
