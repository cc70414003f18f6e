//! The admin API: tenants, configuration, API keys, users, audit logs, authentication and tenant isolation.

mod common;

use common::{ADMIN_KEY, TestApp, assert_error, tenant_body};
use serde_json::{Value, json};
use tessera::model::TenantId;
use tessera::service::Error as ServiceError;

#[tokio::test]
async fn a_tenant_goes_through_its_whole_lifecycle() {
    let app = TestApp::spawn().await;
    let resp = app
        .admin_post("/tenants", &tenant_body("Shop", "shop.example", false))
        .await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.expect("json");
    let id = created["id"].as_str().expect("id").to_string();
    assert!(
        created.get("api_key").is_none(),
        "no key unless asked: {created}"
    );

    let list: Value = app.admin_get("/tenants").await.json().await.expect("json");
    assert!(
        list.as_array()
            .expect("array")
            .iter()
            .any(|t| t["id"] == id && t["display_name"] == "Shop")
    );

    let got: Value = app
        .admin_get(&format!("/tenants/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        got["config"]["webauthn"]["relying_party"]["id"],
        "shop.example"
    );
    assert_eq!(
        got["config"]["webauthn"]["relying_party"]["origins"],
        json!(["https://shop.example"])
    );
    assert_eq!(got["config"]["mfa"]["attachment"], "cross-platform");

    let resp = app
        .admin_put(
            &format!("/tenants/{id}"),
            &json!({"display_name": "Shop 2"}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.text().await.expect("body"), "");
    let got: Value = app
        .admin_get(&format!("/tenants/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(got["display_name"], "Shop 2");

    let resp = app.admin_delete(&format!("/tenants/{id}")).await;
    assert_eq!(resp.status(), 204);
    assert_error(
        app.admin_get(&format!("/tenants/{id}")).await,
        404,
        "tenant_not_found",
    )
    .await;
    assert_error(
        app.admin_delete(&format!("/tenants/{id}")).await,
        404,
        "tenant_not_found",
    )
    .await;
}

#[tokio::test]
async fn tenant_creation_lists_every_invalid_field() {
    let app = TestApp::spawn().await;
    let mut body = tenant_body("", "Not A Domain", false);
    body["config"]["webauthn"]["timeout"] = json!(5);
    let err = assert_error(
        app.admin_post("/tenants", &body).await,
        400,
        "validation_failed",
    )
    .await;
    let details = err["details"].as_str().expect("details");
    for field in [
        "display_name",
        "webauthn.relying_party.id",
        "webauthn.timeout",
        "cors.allowed_origins",
    ] {
        assert!(details.contains(field), "{field} missing from {details}");
    }
    let list: Value = app.admin_get("/tenants").await.json().await.expect("json");
    assert_eq!(list, json!([]), "nothing was created");
}

#[tokio::test]
async fn tenant_config_is_replaced_whole_and_patched_in_part() {
    let app = TestApp::spawn().await;
    let (id, _) = app.create_tenant("bank.example").await;
    let mut config = tenant_body("Bank", "bank.example", false)["config"].clone();
    config["webauthn"]["relying_party"]["origins"] =
        json!(["https://bank.example", "https://app.bank.example"]);
    config["webauthn"]["user_verification"] = json!("required");
    let resp = app
        .admin_put(&format!("/tenants/{id}/config"), &config)
        .await;
    assert_eq!(resp.status(), 204);
    let got: Value = app
        .admin_get(&format!("/tenants/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(got["config"]["webauthn"]["user_verification"], "required");
    assert_eq!(
        got["config"]["webauthn"]["relying_party"]["origins"][1],
        "https://app.bank.example"
    );

    let resp = app
        .admin_patch(
            &format!("/tenants/{id}/config"),
            &json!({"webauthn": {"timeout": 120000}, "token": {"lifetime": 600}}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let patched: Value = resp.json().await.expect("json");
    assert_eq!(patched["webauthn"]["timeout"], 120000);
    assert_eq!(patched["token"]["lifetime"], 600);
    assert_eq!(
        patched["webauthn"]["user_verification"], "required",
        "untouched fields stay"
    );

    // Invalid patches and replacements change nothing.
    assert_error(
        app.admin_patch(
            &format!("/tenants/{id}/config"),
            &json!({"webauthn": {"relying_party": {"origins": ["https://evil.example"]}}}),
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    assert_error(
        app.admin_patch(
            &format!("/tenants/{id}/config"),
            &json!({"webauthn": {"user_verification": "sometimes"}}),
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    assert_error(
        app.admin_patch(&format!("/tenants/{id}/config"), &json!([1]))
            .await,
        400,
        "validation_failed",
    )
    .await;
    let mut bad = config.clone();
    bad["webauthn"]["timeout"] = json!(0);
    assert_error(
        app.admin_put(&format!("/tenants/{id}/config"), &bad).await,
        400,
        "validation_failed",
    )
    .await;
    let got: Value = app
        .admin_get(&format!("/tenants/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(got["config"]["webauthn"]["timeout"], 120000);
    assert_eq!(
        got["config"]["webauthn"]["relying_party"]["origins"][0],
        "https://bank.example"
    );
}

#[tokio::test]
async fn changing_the_token_algorithm_rotates_the_signing_key() {
    let app = TestApp::spawn().await;
    let (id, _) = app.create_tenant("keys.example").await;
    let keys: Value = app
        .admin_get(&format!("/tenants/{id}/signing_keys"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(keys.as_array().expect("array").len(), 1);
    assert_eq!(keys[0]["alg"], "ES256");
    assert_eq!(keys[0]["status"], "active");
    assert!(keys[0]["public_jwk"].get("d").is_none());

    app.admin_patch(
        &format!("/tenants/{id}/config"),
        &json!({"token": {"algorithm": "EdDSA"}}),
    )
    .await;
    let keys: Value = app
        .admin_get(&format!("/tenants/{id}/signing_keys"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert_eq!(keys[0]["status"], "active");
    assert_eq!(keys[1]["status"], "retired");

    let resp = app
        .admin_post(&format!("/tenants/{id}/signing_keys"), &json!({}))
        .await;
    assert_eq!(resp.status(), 201);
    let keys: Value = app
        .admin_get(&format!("/tenants/{id}/signing_keys"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(keys.as_array().expect("array").len(), 3);
    assert_eq!(
        keys.as_array()
            .expect("array")
            .iter()
            .filter(|k| k["status"] == "active")
            .count(),
        1
    );
}

#[tokio::test]
async fn an_api_key_is_shown_once_works_and_is_refused_once_revoked() {
    let app = TestApp::spawn().await;
    let (id, first_key) = app.create_tenant("keys.example").await;
    let tenant = TenantId::parse(&id).expect("uuid");
    let t = &app.running.tessera;

    let resp = app
        .admin_post(
            &format!("/tenants/{id}/secrets/api"),
            &json!({"name": "backend"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.expect("json");
    let secret = created["secret"]
        .as_str()
        .expect("secret shown at creation")
        .to_string();
    assert!(secret.starts_with("tsk_") && secret.len() >= 47, "{secret}");
    let key_id = created["id"].as_str().expect("id").to_string();

    let list: Value = app
        .admin_get(&format!("/tenants/{id}/secrets/api"))
        .await
        .json()
        .await
        .expect("json");
    let text = list.to_string();
    assert!(
        !text.contains(&secret) && !text.contains(&first_key),
        "values never listed: {text}"
    );
    assert_eq!(list.as_array().expect("array").len(), 2);
    assert!(
        list.as_array()
            .expect("array")
            .iter()
            .all(|k| k.get("secret").is_none())
    );

    // The value authenticates for its own tenant only.
    assert_eq!(
        t.authenticate_api_key(tenant, &secret)
            .await
            .expect("valid key")
            .id,
        key_id
    );
    assert!(matches!(
        t.authenticate_api_key(tenant, "tsk_wrong").await,
        Err(ServiceError::InvalidApiKey)
    ));
    assert!(matches!(
        t.authenticate_api_key(tenant, "").await,
        Err(ServiceError::InvalidApiKey)
    ));
    let (other, _) = app.create_tenant("other.example").await;
    let other = TenantId::parse(&other).expect("uuid");
    assert!(matches!(
        t.authenticate_api_key(other, &secret).await,
        Err(ServiceError::InvalidApiKey)
    ));

    let resp = app
        .admin_delete(&format!("/tenants/{id}/secrets/api/{key_id}"))
        .await;
    assert_eq!(resp.status(), 204);
    assert!(
        matches!(
            t.authenticate_api_key(tenant, &secret).await,
            Err(ServiceError::InvalidApiKey)
        ),
        "revoked at once"
    );
    assert_error(
        app.admin_delete(&format!("/tenants/{id}/secrets/api/{key_id}"))
            .await,
        404,
        "api_key_not_found",
    )
    .await;
    let list: Value = app
        .admin_get(&format!("/tenants/{id}/secrets/api"))
        .await
        .json()
        .await
        .expect("json");
    let revoked = list
        .as_array()
        .expect("array")
        .iter()
        .find(|k| k["id"] == key_id.as_str())
        .expect("listed");
    assert!(revoked["revoked_at"].is_string());
    // The first key still works.
    assert!(t.authenticate_api_key(tenant, &first_key).await.is_ok());
}

#[tokio::test]
async fn the_admin_api_refuses_missing_and_wrong_admin_keys() {
    let app = TestApp::spawn().await;
    let url = format!("{}/tenants", app.admin);
    let resp = app.client.get(&url).send().await.expect("request");
    assert_eq!(
        resp.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    assert_error(resp, 401, "missing_admin_key").await;
    assert_error(
        app.client
            .get(&url)
            .bearer_auth("wrong")
            .send()
            .await
            .expect("request"),
        401,
        "invalid_admin_key",
    )
    .await;
    assert_error(
        app.client
            .get(&url)
            .bearer_auth(format!("{ADMIN_KEY}x"))
            .send()
            .await
            .expect("request"),
        401,
        "invalid_admin_key",
    )
    .await;
    assert_error(
        app.client
            .post(&url)
            .bearer_auth("wrong")
            .json(&tenant_body("x", "x.example", true))
            .send()
            .await
            .expect("request"),
        401,
        "invalid_admin_key",
    )
    .await;
    let list: Value = app.admin_get("/tenants").await.json().await.expect("json");
    assert_eq!(list, json!([]), "refused calls created nothing");
    // Health stays open on the admin listener.
    assert_eq!(
        app.client
            .get(format!("{}/health/alive", app.admin))
            .send()
            .await
            .expect("request")
            .status(),
        200
    );
}

#[tokio::test]
async fn without_an_admin_key_every_admin_call_is_refused_with_a_hint() {
    let app = TestApp::spawn_with(|c| c.admin_api_key = None).await;
    for (method, path) in [
        ("GET", "/tenants"),
        ("POST", "/tenants"),
        ("DELETE", "/tenants/00000000-0000-0000-0000-000000000000"),
    ] {
        let resp = app
            .client
            .request(
                method.parse().expect("method"),
                format!("{}{path}", app.admin),
            )
            .bearer_auth(ADMIN_KEY)
            .json(&tenant_body("x", "x.example", true))
            .send()
            .await
            .expect("request");
        let body = assert_error(resp, 401, "admin_api_disabled").await;
        assert!(
            body["details"]
                .as_str()
                .expect("details")
                .contains("TESSERA_ADMIN_API_KEY"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn another_tenants_resources_are_not_found() {
    let app = TestApp::spawn().await;
    let (a, _) = app.create_tenant("a.example").await;
    let (b, _) = app.create_tenant("b.example").await;
    let created: Value = app
        .admin_post(
            &format!("/tenants/{a}/secrets/api"),
            &json!({"name": "a-key"}),
        )
        .await
        .json()
        .await
        .expect("json");
    let key_id = created["id"].as_str().expect("id");
    assert_error(
        app.admin_delete(&format!("/tenants/{b}/secrets/api/{key_id}"))
            .await,
        404,
        "api_key_not_found",
    )
    .await;
    let list: Value = app
        .admin_get(&format!("/tenants/{a}/secrets/api"))
        .await
        .json()
        .await
        .expect("json");
    assert!(
        list.as_array()
            .expect("array")
            .iter()
            .any(|k| k["id"] == key_id && k["revoked_at"].is_null()),
        "still valid"
    );

    // Users: seed one in tenant A directly, then read and delete it through tenant B.
    let user_pk = seed_user(&app, &a, "alice").await;
    let got: Value = app
        .admin_get(&format!("/tenants/{a}/users/{user_pk}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(got["user_id"], "alice");
    let by_app_id: Value = app
        .admin_get(&format!("/tenants/{a}/users/alice"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(by_app_id["id"], user_pk.as_str());
    assert_error(
        app.admin_get(&format!("/tenants/{b}/users/{user_pk}"))
            .await,
        404,
        "user_not_found",
    )
    .await;
    assert_error(
        app.admin_get(&format!("/tenants/{b}/users/alice")).await,
        404,
        "user_not_found",
    )
    .await;
    assert_error(
        app.admin_delete(&format!("/tenants/{b}/users/{user_pk}"))
            .await,
        404,
        "user_not_found",
    )
    .await;
    let list: Value = app
        .admin_get(&format!("/tenants/{b}/users"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list, json!([]));
    let resp = app
        .admin_delete(&format!("/tenants/{a}/users/{user_pk}"))
        .await;
    assert_eq!(resp.status(), 204);
    assert_error(
        app.admin_get(&format!("/tenants/{a}/users/{user_pk}"))
            .await,
        404,
        "user_not_found",
    )
    .await;

    // Audit logs of one tenant never show another's entries.
    let logs: Value = app
        .admin_get(&format!("/tenants/{b}/audit_logs"))
        .await
        .json()
        .await
        .expect("json");
    assert!(
        logs.as_array()
            .expect("array")
            .iter()
            .all(|e| e["tenant_id"] == b.as_str())
    );
}

/// Inserts a user directly, as the passkey API will; returns its internal id.
async fn seed_user(app: &TestApp, tenant: &str, user_id: &str) -> String {
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let id = uuid::Uuid::new_v4().to_string();
    entity::user::Entity::insert(entity::user::ActiveModel {
        id: Set(id.clone()),
        tenant_id: Set(tenant.to_string()),
        user_id: Set(user_id.to_string()),
        name: Set(user_id.to_string()),
        display_name: Set(user_id.to_string()),
        icon: Set(None),
        created_at: Set(app.clock.now_ms()),
        updated_at: Set(app.clock.now_ms()),
    })
    .exec_without_returning(&app.running.tessera.db)
    .await
    .expect("insert user");
    id
}

#[tokio::test]
async fn users_are_paginated_with_link_and_total_count() {
    let app = TestApp::spawn().await;
    let (id, _) = app.create_tenant("users.example").await;
    for i in 0..5 {
        seed_user(&app, &id, &format!("user-{i}")).await;
        app.clock.advance(1);
    }
    let resp = app
        .admin_get(&format!(
            "/tenants/{id}/users?page=2&per_page=2&sort_direction=asc"
        ))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-total-count"], "5");
    let link = resp.headers()["link"].to_str().expect("link").to_string();
    assert!(link.contains("page=3&per_page=2>; rel=\"next\""), "{link}");
    assert!(link.contains("page=3&per_page=2>; rel=\"last\""), "{link}");
    let users: Value = resp.json().await.expect("json");
    let names: Vec<&str> = users
        .as_array()
        .expect("array")
        .iter()
        .map(|u| u["user_id"].as_str().expect("id"))
        .collect();
    assert_eq!(names, ["user-2", "user-3"]);
    let desc: Value = app
        .admin_get(&format!("/tenants/{id}/users?per_page=1"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(desc[0]["user_id"], "user-4", "newest first by default");
    assert_error(
        app.admin_get(&format!("/tenants/{id}/users?sort_direction=up"))
            .await,
        400,
        "validation_failed",
    )
    .await;
    assert_error(
        app.admin_get(&format!("/tenants/{id}/users?page=0")).await,
        400,
        "validation_failed",
    )
    .await;
    assert_error(
        app.admin_get(&format!("/tenants/{id}/users?per_page=abc"))
            .await,
        400,
        "invalid_parameter",
    )
    .await;
}

#[tokio::test]
async fn audit_logs_record_admin_changes_and_filter_them() {
    let app = TestApp::spawn().await;
    let (id, _) = app.create_tenant("audit.example").await;
    app.clock.advance(1000);
    app.admin_patch(
        &format!("/tenants/{id}/config"),
        &json!({"token": {"lifetime": 120}}),
    )
    .await;
    app.admin_post(
        &format!("/tenants/{id}/secrets/api"),
        &json!({"name": "second"}),
    )
    .await;

    let resp = app.admin_get(&format!("/tenants/{id}/audit_logs")).await;
    assert_eq!(resp.headers()["x-total-count"], "4");
    let logs: Value = resp.json().await.expect("json");
    let kinds: Vec<&str> = logs
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        kinds,
        [
            "api_key_created",
            "tenant_config_updated",
            "api_key_created",
            "tenant_created"
        ]
    );
    assert_eq!(logs[0]["meta_source_ip"], "127.0.0.1");
    assert!(logs[0]["meta_http_request_id"].is_string());
    let text = logs.to_string();
    assert!(
        !text.contains("\"secret\""),
        "no key values in the audit log"
    );

    let filtered: Value = app
        .admin_get(&format!(
            "/tenants/{id}/audit_logs?type=tenant_created,tenant_config_updated"
        ))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(filtered.as_array().expect("array").len(), 2);
    let repeated: Value = app
        .admin_get(&format!(
            "/tenants/{id}/audit_logs?type=tenant_created&type=api_key_created"
        ))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(repeated.as_array().expect("array").len(), 3);
    let start = tessera::clock::rfc3339(app.clock.now_ms() - 1);
    let recent: Value = app
        .admin_get(&format!(
            "/tenants/{id}/audit_logs?start_time={}",
            start.replace(':', "%3A")
        ))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(recent.as_array().expect("array").len(), 2, "{recent}");
    let injection: Value = app
        .admin_get(&format!("/tenants/{id}/audit_logs?type=x')%20OR%20('1'='1"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(injection, json!([]), "filters are parameters, not SQL");
    assert_error(
        app.admin_get(&format!("/tenants/{id}/audit_logs?start_time=yesterday"))
            .await,
        400,
        "validation_failed",
    )
    .await;
}
