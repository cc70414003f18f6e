//! MFA step-up: security keys registered with the tenant's MFA profile, used as a second factor, refused by
//! passkey login, with tokens that say a step-up happened.

mod common;

use common::authenticator::{Attestation, TestAuthenticator, Tweaks};
use common::{LOCAL_ORIGIN, TestApp, assert_error, localhost_tenant};
use serde_json::{Value, json};

fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("b64"),
    )
    .expect("json")
}

/// Registers an MFA security key for `user`; returns the token.
async fn register_mfa(
    app: &TestApp,
    tenant: &str,
    key: &str,
    user: &str,
    auth: &mut TestAuthenticator,
) -> Value {
    let init = app
        .public_post(
            &format!("/{tenant}/mfa/registration/initialize"),
            Some(key),
            &json!({"user_id": user, "username": user}),
        )
        .await;
    assert_eq!(init.status(), 200);
    let options: Value = init.json().await.expect("json");
    let sel = &options["publicKey"]["authenticatorSelection"];
    assert_eq!(sel["residentKey"], "discouraged");
    assert_eq!(sel["authenticatorAttachment"], "cross-platform");
    assert_eq!(options["publicKey"]["attestation"], "direct");
    assert_eq!(options["publicKey"]["hints"], json!(["security-key"]));
    let credential = auth.create(&options["publicKey"], LOCAL_ORIGIN);
    // Finalize needs the API key too.
    let unauth = app
        .public_post(
            &format!("/{tenant}/mfa/registration/finalize"),
            None,
            &credential,
        )
        .await;
    assert_error(unauth, 401, "unauthorized").await;
    let fin = app
        .public_post(
            &format!("/{tenant}/mfa/registration/finalize"),
            Some(key),
            &credential,
        )
        .await;
    assert_eq!(
        fin.status(),
        200,
        "{}",
        fin.text().await.unwrap_or_default()
    );
    fin.json().await.expect("json")
}

async fn step_up(
    app: &TestApp,
    tenant: &str,
    key: &str,
    user: &str,
    auth: &mut TestAuthenticator,
) -> reqwest::Response {
    let init = app
        .public_post(
            &format!("/{tenant}/credentials/mfa/login/initialize"),
            Some(key),
            &json!({"user_id": user}),
        )
        .await;
    assert_eq!(init.status(), 200);
    let options: Value = init.json().await.expect("json");
    let assertion = auth.get(&options["publicKey"], LOCAL_ORIGIN);
    app.public_post(
        &format!("/{tenant}/credentials/mfa/login/finalize"),
        Some(key),
        &assertion,
    )
    .await
}

#[tokio::test]
async fn security_keys_register_with_u2f_and_packed_attestation_and_step_up() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    for (user, attestation) in [
        ("u2f-user", Attestation::FidoU2f),
        ("packed-user", Attestation::PackedX5c),
    ] {
        let mut auth = TestAuthenticator {
            attestation,
            uv: false,
            be: false,
            bs: false,
            ..TestAuthenticator::new()
        };
        register_mfa(&app, &tenant, &key, user, &mut auth).await;
        let resp = step_up(&app, &tenant, &key, user, &mut auth).await;
        assert_eq!(resp.status(), 200, "{attestation:?}");
        let token: Value = resp.json().await.expect("json");
        let c = claims(token["token"].as_str().expect("token"));
        assert_eq!(c["sub"], user);
        assert_eq!(c["acr"], "step-up");
        assert_eq!(c["amr"], json!(["pop", "mfa"]));
        assert_eq!(c["uv"], false);
    }
    let list: Value = app
        .public_request(
            reqwest::Method::GET,
            &format!("/{tenant}/credentials?user_id=u2f-user"),
            &key,
        )
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(list[0]["is_mfa"], true);
    assert_eq!(list[0]["attestation_type"], "fido-u2f");
    for kind in [
        "mfa_registration_init_succeeded",
        "mfa_registration_final_succeeded",
        "mfa_authentication_final_succeeded",
    ] {
        let logs: Value = app
            .admin_get(&format!("/tenants/{tenant}/audit_logs?type={kind}"))
            .await
            .json()
            .await
            .expect("json");
        assert!(
            !logs.as_array().expect("array").is_empty(),
            "{kind} audited"
        );
    }
}

#[tokio::test]
async fn passkey_login_refuses_an_mfa_only_credential() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator::new();
    register_mfa(&app, &tenant, &key, "u", &mut auth).await;
    // User-bound passkey login finds no passkeys.
    let resp = app
        .public_post(
            &format!("/{tenant}/login/initialize"),
            Some(&key),
            &json!({"user_id": "u"}),
        )
        .await;
    assert_error(resp, 400, "no_credentials").await;
    // Discoverable login with the MFA key is refused.
    let options = app.login_options(&tenant, &key, None).await;
    let resp = app
        .login_finalize(&tenant, &auth.get(&options, LOCAL_ORIGIN))
        .await;
    assert_error(resp, 400, "credential_kind_not_allowed").await;
    let logs: Value = app
        .admin_get(&format!(
            "/tenants/{tenant}/audit_logs?type=webauthn_authentication_final_failed"
        ))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(logs[0]["error"], "credential_kind_not_allowed");
}

#[tokio::test]
async fn a_tenant_requiring_uv_for_step_up_refuses_uv_zero() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator {
        uv: false,
        ..TestAuthenticator::new()
    };
    register_mfa(&app, &tenant, &key, "u", &mut auth).await;
    app.admin_patch(
        &format!("/tenants/{tenant}/config"),
        &json!({"policy": {"mfa_require_user_verification": true}}),
    )
    .await;
    let init: Value = app
        .public_post(
            &format!("/{tenant}/mfa/login/initialize"),
            Some(&key),
            &json!({"user_id": "u"}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(init["publicKey"]["userVerification"], "required");
    let assertion = auth.get(&init["publicKey"], LOCAL_ORIGIN);
    let resp = app
        .public_post(
            &format!("/{tenant}/mfa/login/finalize"),
            Some(&key),
            &assertion,
        )
        .await;
    assert_error(resp, 401, "user_verification_required").await;
    let logs: Value = app
        .admin_get(&format!(
            "/tenants/{tenant}/audit_logs?type=mfa_authentication_final_failed"
        ))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(logs[0]["error"], "user_verification_required");
    // With UV the step-up passes and says so.
    auth.uv = true;
    let resp = step_up(&app, &tenant, &key, "u", &mut auth).await;
    assert_eq!(resp.status(), 200);
    let token: Value = resp.json().await.expect("json");
    assert_eq!(claims(token["token"].as_str().expect("token"))["uv"], true);
}

#[tokio::test]
async fn mfa_login_is_always_bound_to_a_user_and_needs_the_api_key() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let resp = app
        .public_post(
            &format!("/{tenant}/mfa/login/initialize"),
            Some(&key),
            &json!({}),
        )
        .await;
    assert_error(resp, 400, "validation_failed").await;
    let resp = app
        .public_post(
            &format!("/{tenant}/mfa/login/initialize"),
            None,
            &json!({"user_id": "u"}),
        )
        .await;
    assert_error(resp, 401, "unauthorized").await;
    let resp = app
        .public_post(
            &format!("/{tenant}/mfa/login/initialize"),
            Some(&key),
            &json!({"user_id": "nobody"}),
        )
        .await;
    assert_error(resp, 404, "user_not_found").await;
    // A step-up assertion for one user cannot be finished by another user's credential.
    let mut alice = TestAuthenticator::new();
    register_mfa(&app, &tenant, &key, "alice", &mut alice).await;
    let mut bob = TestAuthenticator::new();
    register_mfa(&app, &tenant, &key, "bob", &mut bob).await;
    let init: Value = app
        .public_post(
            &format!("/{tenant}/mfa/login/initialize"),
            Some(&key),
            &json!({"user_id": "alice"}),
        )
        .await
        .json()
        .await
        .expect("json");
    let wrong = bob.assert_with(0, &init["publicKey"], LOCAL_ORIGIN, &Tweaks::default());
    let resp = app
        .public_post(&format!("/{tenant}/mfa/login/finalize"), Some(&key), &wrong)
        .await;
    assert_error(resp, 401, "credential_not_allowed").await;
}
