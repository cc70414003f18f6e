//! The public passkey API over real HTTP: registration and login with the test authenticator and passkey-rs,
//! tokens verified with an independent JOSE library against the JWKS, credentials management, CORS, and every
//! refusal the issue names, each with the error envelope and an audit entry.

mod common;

use common::authenticator::{Alg, Attestation, TestAuthenticator, Tweaks};
use common::{LOCAL_ORIGIN, TestApp, assert_error, localhost_tenant};
use serde_json::{Value, json};

/// Verifies a token against the tenant's JWKS with jsonwebtoken; returns its claims.
async fn verify_token(app: &TestApp, tenant: &str, token: &str) -> Value {
    let resp = app
        .client
        .get(format!("{}/{tenant}/.well-known/jwks.json", app.public))
        .send()
        .await
        .expect("jwks");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .expect("ascii")
            .contains("max-age")
    );
    let jwks: jsonwebtoken::jwk::JwkSet = resp.json().await.expect("jwks json");
    let header = jsonwebtoken::decode_header(token).expect("header");
    let kid = header.kid.expect("kid in header");
    let jwk = jwks.find(&kid).expect("the signing key is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("decoding key");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&["localhost"]);
    validation.set_issuer(&[app
        .running
        .tessera
        .issuer(tessera::model::TenantId::parse(tenant).expect("tenant id"))]);
    // The test clock is fixed in 2027; verify against it rather than the wall clock.
    validation.validate_exp = false;
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation).expect("token verifies");
    data.claims
}

async fn audit_types(app: &TestApp, tenant: &str) -> Vec<(String, Option<String>)> {
    let logs: Value = app
        .admin_get(&format!("/tenants/{tenant}/audit_logs?per_page=200"))
        .await
        .json()
        .await
        .expect("json");
    logs.as_array()
        .expect("array")
        .iter()
        .map(|e| {
            (
                e["type"].as_str().expect("type").to_string(),
                e["error"].as_str().map(str::to_string),
            )
        })
        .collect()
}

async fn assert_audited(app: &TestApp, tenant: &str, kind: &str, error: Option<&str>) {
    let entries = audit_types(app, tenant).await;
    assert!(
        entries
            .iter()
            .any(|(k, e)| k == kind && e.as_deref() == error),
        "no audit entry {kind} {error:?} in {entries:?}"
    );
}

#[tokio::test]
async fn passkeys_register_and_log_in_with_every_token_algorithm_and_key_type() {
    let app = TestApp::spawn().await;
    for (token_alg, key_alg, attestation) in [
        ("ES256", Alg::ES256, Attestation::None),
        ("EdDSA", Alg::EdDSA, Attestation::PackedSelf),
        ("RS256", Alg::RS256, Attestation::PackedX5c),
    ] {
        let (tenant, key) = localhost_tenant(&app).await;
        app.admin_patch(
            &format!("/tenants/{tenant}/config"),
            &json!({"token": {"algorithm": token_alg}}),
        )
        .await;
        let mut auth = TestAuthenticator {
            alg: key_alg,
            attestation,
            ..TestAuthenticator::new()
        };
        let token = app
            .register(&tenant, &key, "user-1", &mut auth, LOCAL_ORIGIN)
            .await;
        let claims = verify_token(&app, &tenant, &token).await;
        assert_eq!(claims["sub"], "user-1");
        assert_eq!(claims["tid"], tenant.as_str());

        // Discoverable login.
        let options = app.login_options(&tenant, &key, None).await;
        assert!(options.get("allowCredentials").is_none());
        let assertion = auth.get(&options, LOCAL_ORIGIN);
        let resp = app.login_finalize(&tenant, &assertion).await;
        assert_eq!(resp.status(), 200, "{token_alg}");
        let token: Value = resp.json().await.expect("json");
        let claims = verify_token(&app, &tenant, token["token"].as_str().expect("token")).await;
        assert_eq!(claims["sub"], "user-1");
        assert_eq!(claims["aud"], json!(["localhost"]));
        assert_eq!(claims["cred"], assertion["id"]);
        assert_eq!(claims["amr"], json!(["pop", "mfa"]));
        assert!(claims["jti"].is_string() && claims["exp"].as_i64() > claims["iat"].as_i64());

        // User-bound login.
        let options = app.login_options(&tenant, &key, Some("user-1")).await;
        assert_eq!(options["allowCredentials"][0]["id"], assertion["id"]);
        let resp = app
            .login_finalize(&tenant, &auth.get(&options, LOCAL_ORIGIN))
            .await;
        assert_eq!(resp.status(), 200, "{token_alg}");

        assert_audited(&app, &tenant, "webauthn_registration_final_succeeded", None).await;
        assert_audited(
            &app,
            &tenant,
            "webauthn_authentication_final_succeeded",
            None,
        )
        .await;
    }
}

#[tokio::test]
async fn a_replayed_login_is_refused_even_for_authenticators_that_never_count() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator {
        counter_step: 0,
        ..TestAuthenticator::new()
    };
    app.register(&tenant, &key, "u", &mut auth, LOCAL_ORIGIN)
        .await;
    let options = app.login_options(&tenant, &key, None).await;
    let assertion = auth.get(&options, LOCAL_ORIGIN);
    assert_eq!(app.login_finalize(&tenant, &assertion).await.status(), 200);
    assert_error(
        app.login_finalize(&tenant, &assertion).await,
        400,
        "challenge_replayed",
    )
    .await;
    assert_audited(
        &app,
        &tenant,
        "webauthn_authentication_final_failed",
        Some("challenge_replayed"),
    )
    .await;
}

#[tokio::test]
async fn a_replayed_registration_is_refused() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let init = app
        .registration_options(&tenant, &key, &json!({"user_id": "u", "username": "u"}))
        .await;
    let mut auth = TestAuthenticator::new();
    let first = auth.create(&init["publicKey"], LOCAL_ORIGIN);
    assert_eq!(
        app.public_post(
            &format!("/{tenant}/credentials/register/finalize"),
            None,
            &first
        )
        .await
        .status(),
        200
    );
    let second = auth.create(&init["publicKey"], LOCAL_ORIGIN);
    assert_error(
        app.public_post(
            &format!("/{tenant}/credentials/register/finalize"),
            None,
            &second,
        )
        .await,
        400,
        "challenge_replayed",
    )
    .await;
    assert_audited(
        &app,
        &tenant,
        "webauthn_registration_final_failed",
        Some("challenge_replayed"),
    )
    .await;
}

#[tokio::test]
async fn a_replayed_registration_with_a_new_credential_stores_nothing() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let init = app
        .registration_options(&tenant, &key, &json!({"user_id": "u", "username": "first"}))
        .await;
    let mut auth = TestAuthenticator::new();
    let path = format!("/{tenant}/credentials/register/finalize");
    let first = auth.create(&init["publicKey"], LOCAL_ORIGIN);
    assert_eq!(app.public_post(&path, None, &first).await.status(), 200);
    // The first credential is deleted, so the replay's credential collides with nothing: the challenge alone
    // must refuse it, and nothing of it may stay.
    let (_, list) = app.user_credentials(&tenant, &key, "u").await;
    let id = list[0]["id"].as_str().expect("credential id");
    let deleted = app
        .public_request(
            reqwest::Method::DELETE,
            &format!("/{tenant}/credentials/{id}"),
            &key,
        )
        .send()
        .await
        .expect("request");
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let user = format!("/tenants/{tenant}/users/u");
    let before: Value = app.admin_get(&user).await.json().await.expect("json");
    app.clock.advance(1_000);
    let replay = auth.create(&init["publicKey"], LOCAL_ORIGIN);
    assert_error(
        app.public_post(&path, None, &replay).await,
        400,
        "challenge_replayed",
    )
    .await;
    assert_eq!(app.user_credentials(&tenant, &key, "u").await.0, "0");
    let after: Value = app.admin_get(&user).await.json().await.expect("json");
    assert_eq!(after, before, "the user's refresh was rolled back");
}

#[tokio::test]
async fn registering_again_refreshes_the_profile_of_the_same_user() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let user = format!("/tenants/{tenant}/users/u");
    let body = json!({"user_id": "u", "username": "ann", "display_name": "Ann", "icon": "https://example.com/a.png"});
    app.register_with(
        &tenant,
        &key,
        &body,
        &mut TestAuthenticator::new(),
        LOCAL_ORIGIN,
    )
    .await;
    let first: Value = app.admin_get(&user).await.json().await.expect("json");
    assert_eq!(first["name"], "ann");
    assert_eq!(first["display_name"], "Ann");
    assert_eq!(first["icon"], "https://example.com/a.png");

    app.clock.advance(5_000);
    let body = json!({"user_id": "u", "username": "ann.b"});
    app.register_with(
        &tenant,
        &key,
        &body,
        &mut TestAuthenticator::new(),
        LOCAL_ORIGIN,
    )
    .await;
    let second: Value = app.admin_get(&user).await.json().await.expect("json");
    assert_eq!(second["id"], first["id"], "the same user");
    assert_eq!(second["name"], "ann.b", "the new user name");
    assert_eq!(
        second["display_name"], "ann.b",
        "an omitted display name defaults to the user name"
    );
    assert!(second["icon"].is_null(), "the icon is replaced: {second}");
    assert_eq!(second["created_at"], first["created_at"]);
    assert_ne!(second["updated_at"], first["updated_at"]);
    let (total, _) = app.user_credentials(&tenant, &key, "u").await;
    assert_eq!(total, "2", "both credentials are the user's");
}

#[tokio::test]
async fn an_expired_challenge_is_refused() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator::new();
    app.register(&tenant, &key, "u", &mut auth, LOCAL_ORIGIN)
        .await;
    let options = app.login_options(&tenant, &key, None).await;
    app.clock.advance(60_001);
    let assertion = auth.get(&options, LOCAL_ORIGIN);
    assert_error(
        app.login_finalize(&tenant, &assertion).await,
        400,
        "challenge_expired",
    )
    .await;
    assert_audited(
        &app,
        &tenant,
        "webauthn_authentication_final_failed",
        Some("challenge_expired"),
    )
    .await;
}

#[tokio::test]
async fn a_wrong_origin_is_refused() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator::new();
    app.register(&tenant, &key, "u", &mut auth, LOCAL_ORIGIN)
        .await;
    let options = app.login_options(&tenant, &key, None).await;
    let tweaks = Tweaks {
        origin: Some("http://localhost:9999".into()),
        ..Default::default()
    };
    let assertion = auth.get_with(&options, LOCAL_ORIGIN, &tweaks);
    let body = assert_error(
        app.login_finalize(&tenant, &assertion).await,
        401,
        "origin_not_allowed",
    )
    .await;
    assert!(
        body["details"]
            .as_str()
            .expect("details")
            .contains("localhost:9999")
    );
    assert_audited(
        &app,
        &tenant,
        "webauthn_authentication_final_failed",
        Some("origin_not_allowed"),
    )
    .await;
}

#[tokio::test]
async fn a_credential_of_one_tenant_is_unknown_at_another() {
    let app = TestApp::spawn().await;
    let (a, key_a) = localhost_tenant(&app).await;
    let (b, key_b) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator::new();
    app.register(&a, &key_a, "u", &mut auth, LOCAL_ORIGIN).await;
    let options = app.login_options(&b, &key_b, None).await;
    let assertion = auth.get(&options, LOCAL_ORIGIN);
    assert_error(
        app.login_finalize(&b, &assertion).await,
        401,
        "credential_not_found",
    )
    .await;
    assert_audited(
        &app,
        &b,
        "webauthn_authentication_final_failed",
        Some("credential_not_found"),
    )
    .await;
    // And tenant A's credential list is not reachable with B's key.
    let resp = app
        .public_request(reqwest::Method::GET, &format!("/{a}/credentials"), &key_b)
        .send()
        .await
        .expect("request");
    assert_error(resp, 401, "invalid_api_key").await;
}

#[tokio::test]
async fn a_challenge_issued_by_another_tenant_is_refused() {
    let app = TestApp::spawn().await;
    let (a, key_a) = localhost_tenant(&app).await;
    let (b, key_b) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator::new();
    app.register(&b, &key_b, "u", &mut auth, LOCAL_ORIGIN).await;
    // The challenge comes from tenant A, the credential and the finalize call from tenant B.
    let options = app.login_options(&a, &key_a, None).await;
    let assertion = auth.get(&options, LOCAL_ORIGIN);
    assert_error(
        app.login_finalize(&b, &assertion).await,
        400,
        "challenge_invalid",
    )
    .await;
    assert_audited(
        &app,
        &b,
        "webauthn_authentication_final_failed",
        Some("challenge_invalid"),
    )
    .await;
}

#[tokio::test]
async fn a_deleted_credential_fails_with_a_clear_error() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator::new();
    app.register(&tenant, &key, "u", &mut auth, LOCAL_ORIGIN)
        .await;
    let cred_id = URL_SAFE(&auth.credentials[0].id);
    let resp = app
        .public_request(
            reqwest::Method::DELETE,
            &format!("/{tenant}/credentials/{cred_id}"),
            &key,
        )
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.text().await.expect("body"), "");
    assert_audited(&app, &tenant, "webauthn_credential_deleted", None).await;
    let options = app.login_options(&tenant, &key, None).await;
    let body = assert_error(
        app.login_finalize(&tenant, &auth.get(&options, LOCAL_ORIGIN))
            .await,
        401,
        "credential_not_found",
    )
    .await;
    assert!(
        body["details"]
            .as_str()
            .expect("details")
            .contains("deleted")
    );
}

#[allow(non_snake_case)]
fn URL_SAFE(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[tokio::test]
async fn a_revoked_api_key_is_refused_at_once() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let keys: Value = app
        .admin_get(&format!("/tenants/{tenant}/secrets/api"))
        .await
        .json()
        .await
        .expect("json");
    let key_id = keys[0]["id"].as_str().expect("id");
    app.admin_delete(&format!("/tenants/{tenant}/secrets/api/{key_id}"))
        .await;
    let resp = app
        .public_post(
            &format!("/{tenant}/credentials/register/initialize"),
            Some(&key),
            &json!({"user_id": "u", "username": "u"}),
        )
        .await;
    assert_error(resp, 401, "invalid_api_key").await;
    let resp = app
        .public_post(
            &format!("/{tenant}/credentials/register/initialize"),
            None,
            &json!({"user_id": "u", "username": "u"}),
        )
        .await;
    assert_error(resp, 401, "unauthorized").await;
}

#[tokio::test]
async fn hanko_edge_cases_work() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    // A user id of exactly 16 bytes is kept as it is.
    let user = "0123456789abcdef";
    let mut auth = TestAuthenticator {
        return_user_handle: false,
        ..TestAuthenticator::new()
    };
    let resp = app
        .public_post(
            &format!("/{tenant}/registration/initialize"),
            Some(&key),
            &json!({"user_id": user, "username": "sixteen"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let options: Value = resp.json().await.expect("json");
    let mut credential = auth.create(&options["publicKey"], LOCAL_ORIGIN);
    // Unknown fields in credential JSON are ignored.
    credential["unknownField"] = json!({"nested": true});
    credential["response"]["extra"] = json!(1);
    let resp = app
        .public_post(
            &format!("/{tenant}/registration/finalize"),
            None,
            &credential,
        )
        .await;
    assert_eq!(resp.status(), 200);

    // Login initialize with no body at all, as the SDK sends it.
    let resp = app
        .client
        .post(format!("{}/{tenant}/login/initialize", app.public))
        .header("content-type", "application/json")
        .header("apikey", &key)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let discoverable: Value = resp.json().await.expect("json");
    assert!(discoverable["publicKey"]["challenge"].is_string());

    // User-bound login by an authenticator that omits userHandle.
    let options = app.login_options(&tenant, &key, Some(user)).await;
    let resp = app
        .public_post(
            &format!("/{tenant}/login/finalize"),
            None,
            &auth.get(&options, LOCAL_ORIGIN),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let token: Value = resp.json().await.expect("json");
    let claims = verify_token(&app, &tenant, token["token"].as_str().expect("token")).await;
    assert_eq!(
        claims["sub"], user,
        "16-byte user ids are not mangled into UUIDs"
    );

    // A discoverable login without userHandle is refused.
    let resp = app
        .login_finalize(&tenant, &auth.get(&discoverable["publicKey"], LOCAL_ORIGIN))
        .await;
    assert_error(resp, 401, "user_handle_missing").await;
}

#[tokio::test]
async fn a_user_bound_login_needs_the_api_key_and_an_existing_user() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let resp = app
        .public_post(
            &format!("/{tenant}/login/initialize"),
            None,
            &json!({"user_id": "u"}),
        )
        .await;
    assert_error(resp, 401, "missing_api_key").await;
    let resp = app
        .public_post(
            &format!("/{tenant}/login/initialize"),
            Some("tsk_wrong"),
            &json!({"user_id": "u"}),
        )
        .await;
    assert_error(resp, 401, "invalid_api_key").await;
    let resp = app
        .public_post(
            &format!("/{tenant}/login/initialize"),
            Some(&key),
            &json!({"user_id": "nobody"}),
        )
        .await;
    assert_error(resp, 404, "user_not_found").await;
    let resp = app
        .public_post(
            "/00000000-0000-4000-8000-000000000000/login/initialize",
            None,
            &json!({}),
        )
        .await;
    assert_error(resp, 404, "tenant_not_found").await;
    let resp = app
        .public_post("/not-a-tenant/login/initialize", None, &json!({}))
        .await;
    assert_error(resp, 400, "invalid_tenant_id").await;
}

#[tokio::test]
async fn registration_excludes_existing_credentials_and_refuses_duplicates() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator::new();
    app.register(&tenant, &key, "u", &mut auth, LOCAL_ORIGIN)
        .await;
    let init = app
        .registration_options(&tenant, &key, &json!({"user_id": "u", "username": "u"}))
        .await;
    let excluded = &init["publicKey"]["excludeCredentials"];
    assert_eq!(excluded[0]["id"], URL_SAFE(&auth.credentials[0].id));
    assert_eq!(excluded[0]["transports"], json!(["internal", "hybrid"]));
    assert_eq!(init["publicKey"]["extensions"]["credProps"], true);
}

#[tokio::test]
async fn a_counter_regression_is_refused_and_audited_unless_policy_allows_it() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator {
        counter_step: 5,
        ..TestAuthenticator::new()
    };
    app.register(&tenant, &key, "u", &mut auth, LOCAL_ORIGIN)
        .await;
    let options = app.login_options(&tenant, &key, None).await;
    assert_eq!(
        app.login_finalize(&tenant, &auth.get(&options, LOCAL_ORIGIN))
            .await
            .status(),
        200
    );
    let options = app.login_options(&tenant, &key, None).await;
    let clone = auth.get_with(
        &options,
        LOCAL_ORIGIN,
        &Tweaks {
            sign_count: Some(3),
            ..Default::default()
        },
    );
    assert_error(
        app.login_finalize(&tenant, &clone).await,
        401,
        "sign_count_regressed",
    )
    .await;
    assert_audited(
        &app,
        &tenant,
        "webauthn_authentication_final_failed",
        Some("sign_count_regressed"),
    )
    .await;

    app.admin_patch(
        &format!("/tenants/{tenant}/config"),
        &json!({"policy": {"allow_counter_regression": true}}),
    )
    .await;
    let options = app.login_options(&tenant, &key, None).await;
    let clone = auth.get_with(
        &options,
        LOCAL_ORIGIN,
        &Tweaks {
            sign_count: Some(3),
            ..Default::default()
        },
    );
    assert_eq!(app.login_finalize(&tenant, &clone).await.status(), 200);
}

#[tokio::test]
async fn credentials_are_listed_renamed_and_deleted() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator {
        aaguid: *uuid::Uuid::parse_str("fbfc3007-154e-4ecc-8c0b-6e020557d7bd")
            .expect("uuid")
            .as_bytes(),
        ..TestAuthenticator::new()
    };
    app.register(&tenant, &key, "alice", &mut auth, LOCAL_ORIGIN)
        .await;
    let mut other = TestAuthenticator::new();
    app.register(&tenant, &key, "bob", &mut other, LOCAL_ORIGIN)
        .await;

    let resp = app
        .public_request(
            reqwest::Method::GET,
            &format!("/{tenant}/credentials?user_id=alice"),
            &key,
        )
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-total-count"], "1");
    let list: Value = resp.json().await.expect("json");
    assert_eq!(list[0]["name"], "iCloud Keychain", "named from the AAGUID");
    assert_eq!(list[0]["user_id"], "alice");
    assert_eq!(list[0]["transports"], json!(["internal", "hybrid"]));
    assert_eq!(list[0]["backup_eligible"], true);
    let all: Value = app
        .public_request(
            reqwest::Method::GET,
            &format!("/{tenant}/credentials"),
            &key,
        )
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(all.as_array().expect("array").len(), 2);
    let nobody: Value = app
        .public_request(
            reqwest::Method::GET,
            &format!("/{tenant}/credentials?user_id=nobody"),
            &key,
        )
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(nobody, json!([]));

    let id = list[0]["id"].as_str().expect("id");
    let resp = app
        .public_request(
            reqwest::Method::PATCH,
            &format!("/{tenant}/credentials/{id}"),
            &key,
        )
        .json(&json!({"name": "Work laptop"}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.text().await.expect("body"), "");
    let got: Value = app
        .public_request(
            reqwest::Method::GET,
            &format!("/{tenant}/credentials/{id}"),
            &key,
        )
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(got["name"], "Work laptop");
    assert_audited(&app, &tenant, "webauthn_credential_updated", None).await;
    let resp = app
        .public_request(
            reqwest::Method::PATCH,
            &format!("/{tenant}/credentials/{id}"),
            &key,
        )
        .json(&json!({"name": ""}))
        .send()
        .await
        .expect("request");
    assert_error(resp, 400, "validation_failed").await;
    let resp = app
        .public_request(
            reqwest::Method::GET,
            &format!("/{tenant}/credentials/nope"),
            &key,
        )
        .send()
        .await
        .expect("request");
    assert_error(resp, 404, "credential_not_found").await;
}

#[tokio::test]
async fn old_and_new_tokens_verify_after_a_key_rotation() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator::new();
    let old = app
        .register(&tenant, &key, "u", &mut auth, LOCAL_ORIGIN)
        .await;
    let resp = app
        .admin_post(&format!("/tenants/{tenant}/signing_keys"), &json!({}))
        .await;
    assert_eq!(resp.status(), 201);
    let options = app.login_options(&tenant, &key, None).await;
    let new: Value = app
        .login_finalize(&tenant, &auth.get(&options, LOCAL_ORIGIN))
        .await
        .json()
        .await
        .expect("json");
    let new = new["token"].as_str().expect("token");
    assert_ne!(
        jsonwebtoken::decode_header(&old).expect("h").kid,
        jsonwebtoken::decode_header(new).expect("h").kid
    );
    verify_token(&app, &tenant, &old).await;
    verify_token(&app, &tenant, new).await;
    // Once the old key's tokens have all expired, it is no longer published.
    app.clock.advance(301_000);
    app.running
        .tessera
        .forget_keys(tessera::model::TenantId::parse(&tenant).expect("id"))
        .await;
    let jwks: Value = app
        .client
        .get(format!("{}/{tenant}/.well-known/jwks.json", app.public))
        .send()
        .await
        .expect("r")
        .json()
        .await
        .expect("j");
    assert_eq!(jwks["keys"].as_array().expect("keys").len(), 1);
}

#[tokio::test]
async fn browsers_on_an_allowed_origin_get_cors_headers() {
    let app = TestApp::spawn().await;
    let (tenant, _) = localhost_tenant(&app).await;
    let url = format!("{}/{tenant}/login/initialize", app.public);
    let pre = app
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", LOCAL_ORIGIN)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("preflight");
    assert_eq!(pre.status(), 204);
    assert_eq!(pre.headers()["access-control-allow-origin"], LOCAL_ORIGIN);
    let resp = app
        .client
        .post(&url)
        .header("origin", LOCAL_ORIGIN)
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.headers()["access-control-allow-origin"], LOCAL_ORIGIN);
    let evil = app
        .client
        .post(&url)
        .header("origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    // Errors carry the headers too, so the page can read them.
    let err = app
        .client
        .post(format!("{}/{tenant}/login/finalize", app.public))
        .header("origin", LOCAL_ORIGIN)
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(err.headers()["access-control-allow-origin"], LOCAL_ORIGIN);
}

#[tokio::test]
async fn malformed_credentials_get_the_envelope_and_change_nothing() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    for body in [
        json!({}),
        json!({"id": "x"}),
        json!([1, 2]),
        json!({"id": "AQID", "type": "public-key", "response": {"clientDataJSON": "e30", "attestationObject": "oA"}}),
    ] {
        let resp = app
            .public_post(
                &format!("/{tenant}/credentials/register/finalize"),
                None,
                &body,
            )
            .await;
        assert_eq!(resp.status(), 400, "{body}");
        let resp = app
            .public_post(
                &format!("/{tenant}/credentials/login/finalize"),
                None,
                &body,
            )
            .await;
        assert!(resp.status() == 400 || resp.status() == 401, "{body}");
    }
    let list: Value = app
        .public_request(
            reqwest::Method::GET,
            &format!("/{tenant}/credentials"),
            &key,
        )
        .send()
        .await
        .expect("r")
        .json()
        .await
        .expect("j");
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn registering_a_credential_id_that_exists_is_a_conflict_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator::new();
    app.register(&tenant, &key, "first", &mut auth, LOCAL_ORIGIN)
        .await;
    let existing = auth.credentials[0].id.clone();

    let init = app
        .public_post(
            &format!("/{tenant}/credentials/register/initialize"),
            Some(&key),
            &json!({"user_id": "second", "username": "second"}),
        )
        .await;
    let options: Value = init.json().await.expect("json");
    let tweaks = Tweaks {
        credential_id: Some(existing),
        ..Tweaks::default()
    };
    let credential = auth.create_with(&options["publicKey"], LOCAL_ORIGIN, &tweaks);
    let path = format!("/{tenant}/credentials/register/finalize");
    assert_error(
        app.public_post(&path, None, &credential).await,
        409,
        "credential_exists",
    )
    .await;
    // The transaction was rolled back: no user "second", and the challenge was not spent.
    let user = app
        .admin_get(&format!("/tenants/{tenant}/users/second"))
        .await;
    assert_eq!(user.status(), 404);
    assert_error(
        app.public_post(&path, None, &credential).await,
        409,
        "credential_exists",
    )
    .await;
}

#[tokio::test]
async fn concurrent_logins_each_get_their_own_answer_and_a_replayed_burst_finishes_one() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut assertions = Vec::new();
    for user in ["u0", "u1", "u2", "u3"] {
        let mut auth = TestAuthenticator {
            counter_step: 0,
            ..TestAuthenticator::new()
        };
        app.register(&tenant, &key, user, &mut auth, LOCAL_ORIGIN)
            .await;
        // Two logins of the same passkey at once (never-counting, so either may be written first).
        for _ in 0..2 {
            let options = app.login_options(&tenant, &key, None).await;
            assertions.push(auth.get(&options, LOCAL_ORIGIN));
        }
    }
    let mut replayed = TestAuthenticator::new();
    app.register(&tenant, &key, "r", &mut replayed, LOCAL_ORIGIN)
        .await;
    let options = app.login_options(&tenant, &key, None).await;
    let burst = replayed.get(&options, LOCAL_ORIGIN);

    let app = std::sync::Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, assertion) in assertions
        .into_iter()
        .map(|a| (false, a))
        .chain((0..4).map(|_| (true, burst.clone())))
        .enumerate()
    {
        let (app, tenant) = (app.clone(), tenant.clone());
        tasks.spawn(async move {
            let resp = app.login_finalize(&tenant, &assertion.1).await;
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.expect("json");
            (i, assertion.0, status, body)
        });
    }
    let (mut fine, mut burst_ok, mut burst_replayed) = (0, 0, 0);
    while let Some(done) = tasks.join_next().await {
        let (i, is_burst, status, body) = done.expect("task");
        match (is_burst, status) {
            (false, 200) => fine += 1,
            (true, 200) => burst_ok += 1,
            (true, 400) if body["code"] == "challenge_replayed" => burst_replayed += 1,
            other => panic!("login {i}: unexpected {other:?}: {body}"),
        }
    }
    assert_eq!((fine, burst_ok, burst_replayed), (8, 1, 3));
}

#[tokio::test]
async fn a_batch_of_login_writes_answers_each_login_in_order() {
    use tessera::repo::credential_uses::{CredentialUse, UseRecorded, record_uses};
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator {
        counter_step: 5,
        ..TestAuthenticator::new()
    };
    app.register(&tenant, &key, "u", &mut auth, LOCAL_ORIGIN)
        .await;
    let tenant_id = tessera::model::TenantId::parse(&tenant).expect("tenant id");
    let db = tessera::repo::connect(&app.database_url, 2)
        .await
        .expect("db");
    let cred_id = URL_SAFE(&auth.credentials[0].id);
    let stored = tessera::repo::credentials::find(&db, tenant_id, &cred_id)
        .await
        .expect("query")
        .expect("credential");
    let used = |digest: &str, credential: &str, sign_count: u32| CredentialUse {
        tenant: tenant_id,
        challenge_digest: digest.repeat(64),
        challenge_expires_at: 1_900_000_000_000,
        credential: credential.to_string(),
        sign_count,
        enforce_counter: true,
        backup_state: false,
        user_verified: true,
        now: 1_800_000_000_123,
    };
    let batch = [
        used("a", &stored.id, stored.sign_count + 10),
        // The same challenge again: a replay, whichever counter it presents.
        used("a", &stored.id, stored.sign_count + 11),
        // A fresh challenge with a counter the first use has overtaken.
        used("b", &stored.id, stored.sign_count + 9),
        used("c", "no-such-credential", 1),
        used("d", &stored.id, stored.sign_count + 12),
    ];
    let outcomes: Vec<UseRecorded> = record_uses(&db, &batch)
        .await
        .into_iter()
        .map(|o| o.expect("written"))
        .collect();
    assert_eq!(
        outcomes,
        [
            UseRecorded::Recorded,
            UseRecorded::Replayed,
            UseRecorded::CounterRegressed,
            UseRecorded::CredentialGone,
            UseRecorded::Recorded,
        ]
    );
    let after = tessera::repo::credentials::find(&db, tenant_id, &cred_id)
        .await
        .expect("query")
        .expect("credential");
    assert_eq!(after.sign_count, stored.sign_count + 12);
    assert_eq!(after.last_used_at, Some(1_800_000_000_123));
    // Every fresh challenge is consumed, also those whose use was refused.
    for digest in ["a", "b", "c", "d"] {
        assert!(
            tessera::repo::challenges::is_consumed(&db, &digest.repeat(64))
                .await
                .expect("query")
        );
    }
    // Written again, every one of them is a replay and nothing moves.
    let again = record_uses(&db, &batch).await;
    assert!(again.iter().all(|o| matches!(o, Ok(UseRecorded::Replayed))));
    let unchanged = tessera::repo::credentials::find(&db, tenant_id, &cred_id)
        .await
        .expect("query")
        .expect("credential");
    assert_eq!(unchanged.sign_count, stored.sign_count + 12);
}

#[tokio::test]
async fn a_login_write_that_fails_in_a_batch_fails_alone() {
    use tessera::repo::credential_uses::{CredentialUse, UseRecorded, record_uses};
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator::new();
    app.register(&tenant, &key, "u", &mut auth, LOCAL_ORIGIN)
        .await;
    let tenant_id = tessera::model::TenantId::parse(&tenant).expect("tenant id");
    let db = tessera::repo::connect(&app.database_url, 2)
        .await
        .expect("db");
    let cred_id = URL_SAFE(&auth.credentials[0].id);
    let stored = tessera::repo::credentials::find(&db, tenant_id, &cred_id)
        .await
        .expect("query")
        .expect("credential");
    let used = |tenant, digest: &str| CredentialUse {
        tenant,
        challenge_digest: digest.repeat(64),
        challenge_expires_at: 1_900_000_000_000,
        credential: stored.id.clone(),
        sign_count: stored.sign_count + 1,
        enforce_counter: true,
        backup_state: false,
        user_verified: true,
        now: 1_800_000_000_123,
    };
    // A tenant deleted while its login was in flight: its challenge record cannot be written.
    let gone = tessera::model::TenantId::parse("00000000-0000-4000-8000-000000000000").expect("id");
    let outcomes = record_uses(&db, &[used(gone, "e"), used(tenant_id, "f")]).await;
    assert!(outcomes[0].is_err(), "{:?}", outcomes[0]);
    assert!(
        matches!(outcomes[1], Ok(UseRecorded::Recorded)),
        "{:?}",
        outcomes[1]
    );
    assert!(
        !tessera::repo::challenges::is_consumed(&db, &"e".repeat(64))
            .await
            .expect("query")
    );
    let after = tessera::repo::credentials::find(&db, tenant_id, &cred_id)
        .await
        .expect("query")
        .expect("credential");
    assert_eq!(after.sign_count, stored.sign_count + 1);
}

#[tokio::test]
async fn registrations_written_together_each_get_their_own_outcome() {
    use tessera::model::Credential;
    use tessera::repo::registrations::{NewRegistration, Stored, UserUpsert, store_many};
    let app = TestApp::spawn().await;
    let (tenant, _key) = localhost_tenant(&app).await;
    let tenant_id = tessera::model::TenantId::parse(&tenant).expect("tenant id");
    let db = tessera::repo::connect(&app.database_url, 2)
        .await
        .expect("db");
    let now = 1_800_000_000_000;
    let reg = |digest: &str, credential_id: &str, user_id: &str| NewRegistration {
        tenant: tenant_id,
        challenge_digest: digest.repeat(64),
        challenge_expires_at: now + 60_000,
        user: UserUpsert {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user_id.into(),
            name: Some(format!("{user_id}@example.com")),
            display_name: None,
            icon: None,
        },
        credential: Credential {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id,
            user_pk: String::new(),
            credential_id: credential_id.into(),
            public_key: vec![0xa5],
            algorithm: -7,
            sign_count: 0,
            aaguid: "00000000-0000-0000-0000-000000000000".into(),
            transports: vec!["internal".into()],
            attestation_format: "none".into(),
            backup_eligible: true,
            backup_state: true,
            user_verified: true,
            is_mfa: false,
            name: Some("Passkey".into()),
            created_at: now,
            last_used_at: Some(now),
        },
        now,
    };
    let credentials_of = async |user_id: &str| {
        let user = tessera::repo::users::find_by_user_id(&db, tenant_id, user_id)
            .await
            .expect("query")?;
        let mut ids: Vec<String> = tessera::repo::credentials::for_user(&db, tenant_id, &user.id)
            .await
            .expect("query")
            .into_iter()
            .map(|c| c.credential_id)
            .collect();
        ids.sort();
        Some(ids)
    };

    // One batch: the second registration presents the first one's challenge again.
    let outcomes = store_many(
        &db,
        &[
            reg("a", "cred-x", "u1"),
            reg("a", "cred-y", "u2"),
            reg("b", "cred-z", "u1"),
        ],
    )
    .await;
    assert!(
        matches!(outcomes[0], Ok(Stored::Stored { .. })),
        "{:?}",
        outcomes[0]
    );
    assert!(
        matches!(outcomes[1], Ok(Stored::Replayed)),
        "{:?}",
        outcomes[1]
    );
    assert!(
        matches!(outcomes[2], Ok(Stored::Stored { .. })),
        "{:?}",
        outcomes[2]
    );
    assert_eq!(
        credentials_of("u1").await,
        Some(vec!["cred-x".into(), "cred-z".into()])
    );
    assert_eq!(credentials_of("u2").await, None, "the replay wrote no user");

    // A credential id registered before fails the batch; written again one by one, only it fails, and its
    // challenge stays unspent.
    let outcomes = store_many(&db, &[reg("c", "cred-x", "u3"), reg("d", "cred-w", "u3")]).await;
    assert!(
        matches!(outcomes[0], Ok(Stored::CredentialExists)),
        "{:?}",
        outcomes[0]
    );
    assert!(
        matches!(outcomes[1], Ok(Stored::Stored { .. })),
        "{:?}",
        outcomes[1]
    );
    assert_eq!(credentials_of("u3").await, Some(vec!["cred-w".into()]));
    assert!(
        !tessera::repo::challenges::is_consumed(&db, &"c".repeat(64))
            .await
            .expect("query")
    );
    assert!(
        tessera::repo::challenges::is_consumed(&db, &"d".repeat(64))
            .await
            .expect("query")
    );
}

#[tokio::test]
async fn concurrent_registrations_each_get_their_own_answer() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let path = format!("/{tenant}/credentials/register/finalize");
    let mut bodies = Vec::new();
    for i in 0..12 {
        let init = app
            .registration_options(
                &tenant,
                &key,
                &json!({"user_id": format!("u{}", i % 6), "username": format!("user{i}")}),
            )
            .await;
        let mut auth = TestAuthenticator::new();
        bodies.push(auth.create(&init["publicKey"], LOCAL_ORIGIN));
        if i == 0 {
            // The same challenge answered twice, by two authenticators.
            bodies.push(TestAuthenticator::new().create(&init["publicKey"], LOCAL_ORIGIN));
        }
    }
    let app = std::sync::Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for body in bodies {
        let (app, path) = (app.clone(), path.clone());
        tasks.spawn(async move {
            let resp = app.public_post(&path, None, &body).await;
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.expect("json");
            (status, body)
        });
    }
    let (mut ok, mut replayed) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        match done.expect("task") {
            (200, _) => ok += 1,
            (400, body) if body["code"] == "challenge_replayed" => replayed += 1,
            (status, body) => panic!("unexpected answer {status}: {body}"),
        }
    }
    assert_eq!((ok, replayed), (12, 1));
    for u in 0..6 {
        let (total, _) = app.user_credentials(&tenant, &key, &format!("u{u}")).await;
        assert_eq!(total, "2", "u{u}: the replayed answer stored nothing");
    }
}

#[tokio::test]
async fn purging_deletes_every_expired_challenge_record_in_chunks_and_keeps_the_live_ones() {
    use sea_orm::TransactionTrait;
    let app = TestApp::spawn().await;
    let (tenant, _key) = localhost_tenant(&app).await;
    let tenant_id = tessera::model::TenantId::parse(&tenant).expect("tenant id");
    let db = tessera::repo::connect(&app.database_url, 2)
        .await
        .expect("db");
    let now = 1_800_000_000_000;
    let txn = db.begin().await.expect("begin");
    // More than two chunks' worth expired, a few still live.
    for i in 0..4_500 {
        let fresh =
            tessera::repo::challenges::consume(&txn, tenant_id, &format!("old{i:061}"), now - 1)
                .await
                .expect("insert");
        assert!(fresh);
    }
    for i in 0..10 {
        tessera::repo::challenges::consume(&txn, tenant_id, &format!("live{i:060}"), now + 1)
            .await
            .expect("insert");
    }
    txn.commit().await.expect("commit");
    let purged = tessera::repo::challenges::purge_expired(&db, now)
        .await
        .expect("purge");
    assert_eq!(purged, 4_500);
    assert!(
        !tessera::repo::challenges::is_consumed(&db, &format!("old{:061}", 0))
            .await
            .expect("query")
    );
    for i in 0..10 {
        assert!(
            tessera::repo::challenges::is_consumed(&db, &format!("live{i:060}"))
                .await
                .expect("query")
        );
    }
    assert_eq!(
        tessera::repo::challenges::purge_expired(&db, now)
            .await
            .expect("purge"),
        0
    );
}
