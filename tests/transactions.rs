//! Transaction signing over HTTP: the binding of the assertion to one transaction, the stored evidence checked
//! independently, and every refusal.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::authenticator::{TestAuthenticator, Tweaks};
use common::{LOCAL_ORIGIN, TestApp, assert_error, localhost_tenant};
use serde_json::{Value, json};

fn payment() -> Value {
    json!({"to": "DE89370400440532013000", "currency": "EUR", "amount": "100.00"})
}

async fn init(
    app: &TestApp,
    tenant: &str,
    key: &str,
    user: &str,
    id: &str,
    data: &Value,
) -> reqwest::Response {
    app.public_post(
        &format!("/{tenant}/transaction/initialize"),
        Some(key),
        &json!({"user_id": user, "transaction_id": id, "transaction_data": data}),
    )
    .await
}

async fn options(app: &TestApp, tenant: &str, key: &str, user: &str, id: &str) -> Value {
    let resp = init(app, tenant, key, user, id, &payment()).await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let body: Value = resp.json().await.expect("json");
    body["publicKey"].clone()
}

async fn finalize(app: &TestApp, tenant: &str, key: &str, assertion: &Value) -> reqwest::Response {
    app.public_post(
        &format!("/{tenant}/transaction/finalize"),
        Some(key),
        assertion,
    )
    .await
}

async fn setup() -> (TestApp, String, String, TestAuthenticator) {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator::new();
    app.register(&tenant, &key, "payer", &mut auth, LOCAL_ORIGIN)
        .await;
    (app, tenant, key, auth)
}

/// An independent check of the evidence: the hash binding (the RFC 8785 form of the payment, written out by
/// hand) and the P-256 signature, with nothing from Tessera.
fn check_evidence(record: &Value, id: &str) {
    let canonical = format!(
        r#"{{"transaction_data":{{"amount":"100.00","currency":"EUR","to":"DE89370400440532013000"}},"transaction_id":"{id}"}}"#
    );
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    assert_eq!(record["hash"], hex::encode(hash.as_ref()));

    let ev = &record["evidence"];
    let decode = |f: &str| {
        URL_SAFE_NO_PAD
            .decode(ev[f].as_str().expect(f))
            .expect("b64")
    };
    let client_data: Value =
        serde_json::from_slice(&decode("client_data_json")).expect("client data");
    let challenge = URL_SAFE_NO_PAD
        .decode(client_data["challenge"].as_str().expect("challenge"))
        .expect("b64");
    assert_eq!(
        &challenge[..32],
        hash.as_ref(),
        "the signed challenge starts with the transaction hash"
    );
    assert_eq!(client_data["type"], "webauthn.get");

    let cose: ciborium::Value =
        ciborium::from_reader(decode("public_key").as_slice()).expect("cose");
    let field = |label: i64| -> Vec<u8> {
        cose.as_map()
            .expect("map")
            .iter()
            .find(|(k, _)| k.as_integer().map(i128::from) == Some(i128::from(label)))
            .and_then(|(_, v)| v.as_bytes().cloned())
            .expect("coordinate")
    };
    let mut point = vec![4u8];
    point.extend(field(-2));
    point.extend(field(-3));
    let mut signed = decode("authenticator_data");
    signed.extend_from_slice(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &decode("client_data_json")).as_ref(),
    );
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
        point,
    )
    .verify(&signed, &decode("signature"))
    .expect("the stored signature verifies");
}

#[tokio::test]
async fn a_transaction_is_signed_and_its_evidence_verifies_independently() {
    let (app, tenant, key, mut auth) = setup().await;
    let opts = options(&app, &tenant, &key, "payer", "tx-1").await;
    assert_eq!(
        opts["userVerification"], "required",
        "UV by default for transactions"
    );
    let resp = finalize(&app, &tenant, &key, &auth.get(&opts, LOCAL_ORIGIN)).await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let token: Value = resp.json().await.expect("json");
    let payload = token["token"]
        .as_str()
        .expect("token")
        .split('.')
        .nth(1)
        .expect("payload")
        .to_string();
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json");
    assert_eq!(claims["trans"], "tx-1");
    assert_eq!(claims["acr"], "transaction");

    let record: Value = app
        .public_request(
            reqwest::Method::GET,
            &format!("/{tenant}/transactions/tx-1"),
            &key,
        )
        .send()
        .await
        .expect("r")
        .json()
        .await
        .expect("j");
    assert_eq!(record["status"], "signed");
    assert_eq!(record["user_id"], "payer");
    assert_eq!(record["data"], payment());
    assert_eq!(
        claims["trans_hash"],
        URL_SAFE_NO_PAD.encode(hex::decode(record["hash"].as_str().expect("hash")).expect("hex"))
    );
    check_evidence(&record, "tx-1");

    let listed: Value = app
        .public_request(
            reqwest::Method::GET,
            &format!("/{tenant}/transactions?user_id=payer"),
            &key,
        )
        .send()
        .await
        .expect("r")
        .json()
        .await
        .expect("j");
    assert_eq!(listed[0]["transaction_id"], "tx-1");
    let hanko: Value = app
        .public_request(
            reqwest::Method::GET,
            &format!("/{tenant}/transaction/payer"),
            &key,
        )
        .send()
        .await
        .expect("r")
        .json()
        .await
        .expect("j");
    assert_eq!(hanko, listed);
    for kind in [
        "webauthn_transaction_init_succeeded",
        "webauthn_transaction_final_succeeded",
    ] {
        let logs: Value = app
            .admin_get(&format!("/tenants/{tenant}/audit_logs?type={kind}"))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(logs[0]["transaction_id"], "tx-1", "{kind}");
    }
}

#[tokio::test]
async fn an_assertion_for_transaction_x_presented_as_transaction_y_fails() {
    let (app, tenant, key, mut auth) = setup().await;
    let x = options(&app, &tenant, &key, "payer", "tx-x").await;
    let y = options(&app, &tenant, &key, "payer", "tx-y").await;
    let bytes = |o: &Value| {
        URL_SAFE_NO_PAD
            .decode(o["challenge"].as_str().expect("challenge"))
            .expect("b64")
    };
    // Y's hash in front of X's sealed state: the binding check sees that the hashes disagree.
    let mut mixed = bytes(&y)[..32].to_vec();
    mixed.extend_from_slice(&bytes(&x)[32..]);
    let mut forged = x.clone();
    forged["challenge"] = json!(URL_SAFE_NO_PAD.encode(&mixed));
    let resp = finalize(&app, &tenant, &key, &auth.get(&forged, LOCAL_ORIGIN)).await;
    assert_error(resp, 401, "transaction_mismatch").await;
    let logs: Value = app
        .admin_get(&format!(
            "/tenants/{tenant}/audit_logs?type=webauthn_transaction_final_failed"
        ))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(logs[0]["error"], "transaction_mismatch");
}

#[tokio::test]
async fn tampered_transaction_data_fails() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let (app, tenant, key, mut auth) = setup().await;
    let opts = options(&app, &tenant, &key, "payer", "tx-t").await;
    entity::transaction::Entity::update_many()
        .col_expr(
            entity::transaction::Column::Data,
            sea_orm::sea_query::Expr::value(
                r#"{"amount":"100000.00","currency":"EUR","to":"DE89370400440532013000"}"#,
            ),
        )
        .filter(entity::transaction::Column::TransactionId.eq("tx-t"))
        .exec(&app.running.tessera.db)
        .await
        .expect("tamper");
    let resp = finalize(&app, &tenant, &key, &auth.get(&opts, LOCAL_ORIGIN)).await;
    assert_error(resp, 401, "transaction_mismatch").await;
}

#[tokio::test]
async fn a_replayed_transaction_assertion_fails() {
    let (app, tenant, key, mut auth) = setup().await;
    let opts = options(&app, &tenant, &key, "payer", "tx-r").await;
    let assertion = auth.get(&opts, LOCAL_ORIGIN);
    assert_eq!(
        finalize(&app, &tenant, &key, &assertion).await.status(),
        200
    );
    assert_error(
        finalize(&app, &tenant, &key, &assertion).await,
        400,
        "challenge_replayed",
    )
    .await;
}

#[tokio::test]
async fn an_expired_transaction_fails_and_reads_as_expired() {
    let (app, tenant, key, mut auth) = setup().await;
    let opts = options(&app, &tenant, &key, "payer", "tx-e").await;
    app.clock.advance(60_001);
    assert_error(
        finalize(&app, &tenant, &key, &auth.get(&opts, LOCAL_ORIGIN)).await,
        400,
        "challenge_expired",
    )
    .await;
    let record: Value = app
        .public_request(
            reqwest::Method::GET,
            &format!("/{tenant}/transactions/tx-e"),
            &key,
        )
        .send()
        .await
        .expect("r")
        .json()
        .await
        .expect("j");
    assert_eq!(record["status"], "expired");
}

#[tokio::test]
async fn a_duplicate_transaction_id_is_409() {
    let (app, tenant, key, _) = setup().await;
    options(&app, &tenant, &key, "payer", "tx-d").await;
    assert_error(
        init(&app, &tenant, &key, "payer", "tx-d", &payment()).await,
        409,
        "transaction_exists",
    )
    .await;
}

#[tokio::test]
async fn a_user_with_only_mfa_credentials_gets_a_clear_4xx() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let init_mfa: Value = app
        .public_post(
            &format!("/{tenant}/mfa/registration/initialize"),
            Some(&key),
            &json!({"user_id": "mfa-only", "username": "m"}),
        )
        .await
        .json()
        .await
        .expect("json");
    let mut auth = TestAuthenticator::new();
    let cred = auth.create(&init_mfa["publicKey"], LOCAL_ORIGIN);
    assert_eq!(
        app.public_post(
            &format!("/{tenant}/mfa/registration/finalize"),
            Some(&key),
            &cred
        )
        .await
        .status(),
        200
    );
    assert_error(
        init(&app, &tenant, &key, "mfa-only", "tx-m", &payment()).await,
        400,
        "no_credentials",
    )
    .await;
    assert_error(
        init(&app, &tenant, &key, "nobody", "tx-n", &payment()).await,
        404,
        "user_not_found",
    )
    .await;
    assert_error(
        init(&app, &tenant, &key, "mfa-only", "", &payment()).await,
        400,
        "validation_failed",
    )
    .await;
    assert_error(
        init(&app, &tenant, &key, "mfa-only", "tx-null", &Value::Null).await,
        400,
        "validation_failed",
    )
    .await;
    let resp = app
        .public_post(
            &format!("/{tenant}/transaction/initialize"),
            None,
            &json!({"user_id": "x", "transaction_id": "y", "transaction_data": 1}),
        )
        .await;
    assert_error(resp, 401, "unauthorized").await;
}

#[tokio::test]
async fn an_authenticator_that_omits_the_user_handle_succeeds() {
    let (app, tenant, key, mut auth) = setup().await;
    auth.return_user_handle = false;
    let opts = options(&app, &tenant, &key, "payer", "tx-u").await;
    assert_eq!(
        finalize(&app, &tenant, &key, &auth.get(&opts, LOCAL_ORIGIN))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_bad_signature_fails_the_transaction_for_good() {
    let (app, tenant, key, mut auth) = setup().await;
    let opts = options(&app, &tenant, &key, "payer", "tx-b").await;
    let bad = auth.get_with(
        &opts,
        LOCAL_ORIGIN,
        &Tweaks {
            corrupt_signature: true,
            ..Default::default()
        },
    );
    assert_error(
        finalize(&app, &tenant, &key, &bad).await,
        401,
        "bad_signature",
    )
    .await;
    let good = auth.get(&opts, LOCAL_ORIGIN);
    assert_error(
        finalize(&app, &tenant, &key, &good).await,
        409,
        "transaction_closed",
    )
    .await;
    let record: Value = app
        .public_request(
            reqwest::Method::GET,
            &format!("/{tenant}/transactions/tx-b"),
            &key,
        )
        .send()
        .await
        .expect("r")
        .json()
        .await
        .expect("j");
    assert_eq!(record["status"], "failed");
}
