//! Full ceremonies over HTTP with an independent client, 1Password's passkey-rs: ES256 and EdDSA passkeys,
//! discoverable and user-bound login, with the options Tessera serves passed to the client unchanged.

mod common;

use common::passkey_rs::client;
use common::{LOCAL_ORIGIN, TestApp, localhost_tenant};
use passkey_types::webauthn::{CredentialCreationOptions, CredentialRequestOptions};
use serde_json::{Value, json};

async fn ceremonies(alg: i64) {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut passkeys = client();
    let origin = url::Url::parse(LOCAL_ORIGIN).expect("origin");

    let init = app
        .public_post(
            &format!("/{tenant}/credentials/register/initialize"),
            Some(&key),
            &json!({"user_id": "rs-user", "username": "rs"}),
        )
        .await;
    let mut options: Value = init.json().await.expect("json");
    // Offer only the algorithm under test, so the authenticator must use it.
    options["publicKey"]["pubKeyCredParams"] = json!([{"type": "public-key", "alg": alg}]);
    let request: CredentialCreationOptions =
        serde_json::from_value(options).expect("passkey-rs reads the options");
    let created = passkeys
        .register(&origin, request, None)
        .await
        .expect("passkey-rs registers");
    let resp = app
        .public_post(
            &format!("/{tenant}/credentials/register/finalize"),
            None,
            &serde_json::to_value(&created).expect("json"),
        )
        .await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let list: Value = app
        .public_request(
            reqwest::Method::GET,
            &format!("/{tenant}/credentials?user_id=rs-user"),
            &key,
        )
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let cose: ciborium::Value = {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(list[0]["public_key"].as_str().expect("key"))
            .expect("b64");
        ciborium::from_reader(bytes.as_slice()).expect("cose")
    };
    let stored_alg = cose
        .as_map()
        .expect("map")
        .iter()
        .find(|(k, _)| k.as_integer().map(i128::from) == Some(3))
        .and_then(|(_, v)| v.as_integer())
        .map(i128::from);
    assert_eq!(stored_alg, Some(i128::from(alg)));

    for user_id in [None, Some("rs-user")] {
        let options = app.login_options(&tenant, &key, user_id).await;
        let request: CredentialRequestOptions =
            serde_json::from_value(json!({ "publicKey": options }))
                .expect("passkey-rs reads the options");
        let assertion = passkeys
            .authenticate(&origin, request, None)
            .await
            .expect("passkey-rs authenticates");
        let resp = app
            .login_finalize(&tenant, &serde_json::to_value(&assertion).expect("json"))
            .await;
        assert_eq!(
            resp.status(),
            200,
            "{user_id:?}: {}",
            resp.text().await.unwrap_or_default()
        );
        let token: Value = resp.json().await.expect("json");
        assert!(
            token["token"]
                .as_str()
                .is_some_and(|t| t.split('.').count() == 3)
        );
    }
}

#[tokio::test]
async fn passkey_rs_registers_and_logs_in_over_http_with_es256() {
    ceremonies(-7).await;
}

#[tokio::test]
async fn passkey_rs_registers_and_logs_in_over_http_with_eddsa() {
    ceremonies(-8).await;
}
