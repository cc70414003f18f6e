//! Two Tessera replicas on one database and one server secret: a ceremony begun on one finishes on the other, and
//! a challenge consumed on one is refused on the other. With `TESSERA_TEST_DATABASE_URL` set (as in CI) the
//! replicas share a fresh PostgreSQL database; otherwise they share one SQLite file.

mod common;

use common::authenticator::{TestAuthenticator, Tweaks};
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

#[tokio::test]
async fn a_replica_with_a_cached_credential_still_refuses_overtaken_counters_and_deleted_credentials()
 {
    let (url, dir) = fresh_database().await;
    let a = TestApp::start(test_config(&url), url.clone(), dir).await;
    let b = TestApp::start(test_config(&url), url.clone(), None).await;
    let (tenant, key) = localhost_tenant(&a).await;
    let mut auth = TestAuthenticator::new();
    a.register(&tenant, &key, "u", &mut auth, LOCAL_ORIGIN)
        .await;
    let at = |n: u32| Tweaks {
        sign_count: Some(n),
        ..Tweaks::default()
    };

    // Both replicas log the credential in once, so both have it cached with counter 2 or below.
    for (app, n) in [(&a, 1), (&b, 2)] {
        let options = app.login_options(&tenant, &key, Some("u")).await;
        let assertion = auth.get_with(&options, LOCAL_ORIGIN, &at(n));
        assert_eq!(app.login_finalize(&tenant, &assertion).await.status(), 200);
    }
    // A uses counter 10; B, whose cache still says 2, is presented counter 5 (a cloned authenticator).
    let options = a.login_options(&tenant, &key, Some("u")).await;
    let assertion = auth.get_with(&options, LOCAL_ORIGIN, &at(10));
    assert_eq!(a.login_finalize(&tenant, &assertion).await.status(), 200);
    let options = b.login_options(&tenant, &key, Some("u")).await;
    let clone = auth.get_with(&options, LOCAL_ORIGIN, &at(5));
    assert_error(
        b.login_finalize(&tenant, &clone).await,
        401,
        "sign_count_regressed",
    )
    .await;
    // The refused use changed nothing: the stored counter is still 10, so 11 works on B.
    let options = b.login_options(&tenant, &key, Some("u")).await;
    let next = auth.get_with(&options, LOCAL_ORIGIN, &at(11));
    assert_eq!(b.login_finalize(&tenant, &next).await.status(), 200);

    // Deleted through A; B has it cached but refuses it.
    let credentials: Value = a
        .public_request(
            reqwest::Method::GET,
            &format!("/{tenant}/credentials"),
            &key,
        )
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let id = credentials[0]["id"].as_str().expect("id").to_string();
    let deleted = a
        .public_request(
            reqwest::Method::DELETE,
            &format!("/{tenant}/credentials/{id}"),
            &key,
        )
        .send()
        .await
        .expect("delete");
    assert!(deleted.status().is_success());
    let options = b.login_options(&tenant, &key, None).await;
    let after_delete = auth.get_with(&options, LOCAL_ORIGIN, &at(12));
    assert_error(
        b.login_finalize(&tenant, &after_delete).await,
        401,
        "credential_not_found",
    )
    .await;
}
