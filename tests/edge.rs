//! The request edge: the error envelope for every class of bad request, request ids, body limits, health,
//! readiness while the database is away, and the committed OpenAPI documents.

mod common;

use common::{ADMIN_KEY, TestApp, assert_error, tenant_body};
use serde_json::{Value, json};

#[tokio::test]
async fn every_class_of_bad_request_gets_the_envelope() {
    let app = TestApp::spawn().await;
    let c = &app.client;
    let tenants = format!("{}/tenants", app.admin);

    let malformed = c
        .post(&tenants)
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .body("{bad")
        .send()
        .await
        .expect("request");
    assert_error(malformed, 400, "invalid_body").await;

    let missing_field = c
        .post(&tenants)
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"display_name": "x"}))
        .send()
        .await
        .expect("request");
    assert_error(missing_field, 400, "invalid_body").await;

    let wrong_type = c
        .post(&tenants)
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_error(wrong_type, 415, "unsupported_media_type").await;

    let no_type = c
        .post(&tenants)
        .bearer_auth(ADMIN_KEY)
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_error(no_type, 415, "unsupported_media_type").await;

    let bad_path = c
        .get(format!("{tenants}/not-a-uuid"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .expect("request");
    assert_error(bad_path, 400, "invalid_tenant_id").await;

    let (id, _) = app.create_tenant("edge.example").await;
    let bad_query = c
        .get(format!("{tenants}/{id}/users?page=-1"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .expect("request");
    assert_error(bad_query, 400, "invalid_parameter").await;

    for base in [&app.admin, &app.public] {
        let unknown = c
            .get(format!("{base}/no/such/route"))
            .send()
            .await
            .expect("request");
        assert_error(unknown, 404, "route_not_found").await;
    }

    let wrong_method = c
        .patch(&tenants)
        .bearer_auth(ADMIN_KEY)
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_error(wrong_method, 405, "method_not_allowed").await;

    let unauthorized = c.get(&tenants).send().await.expect("request");
    assert_error(unauthorized, 401, "missing_admin_key").await;

    // Nothing above changed anything.
    let list: Value = app.admin_get("/tenants").await.json().await.expect("json");
    assert_eq!(list.as_array().expect("array").len(), 1);
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413() {
    let app = TestApp::spawn().await;
    let mut body = tenant_body("big", "big.example", false);
    body["padding"] = json!("x".repeat(70 * 1024));
    let resp = app.admin_post("/tenants", &body).await;
    assert_error(resp, 413, "payload_too_large").await;

    // A chunked body without Content-Length is measured while it is read.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        std::iter::repeat_with(|| Ok(vec![b' '; 16 * 1024]))
            .take(5)
            .collect();
    let stream = reqwest::Body::wrap_stream(futures_stream(chunks));
    let resp = app
        .client
        .post(format!("{}/tenants", app.admin))
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .body(stream)
        .send()
        .await
        .expect("request");
    assert_error(resp, 413, "payload_too_large").await;
    let list: Value = app.admin_get("/tenants").await.json().await.expect("json");
    assert_eq!(list, json!([]));
}

fn futures_stream(
    items: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    tokio_stream::iter(items)
}

#[tokio::test]
async fn request_ids_are_echoed_or_assigned() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .get(format!("{}/livez", app.public))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    let resp = app
        .client
        .get(format!("{}/livez", app.public))
        .header("x-request-id", "bad id\twith spaces")
        .send()
        .await
        .expect("request");
    let assigned = resp.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert_eq!(
        assigned.len(),
        36,
        "a fresh UUID replaces an unsafe id: {assigned}"
    );
    let err = app
        .client
        .get(format!("{}/nowhere", app.public))
        .send()
        .await
        .expect("request");
    assert!(
        err.headers().contains_key("x-request-id"),
        "errors carry the request id too"
    );
}

#[tokio::test]
async fn liveness_and_readiness_answer_on_both_listeners() {
    let app = TestApp::spawn().await;
    for base in [&app.public, &app.admin] {
        for path in ["/livez", "/health/alive"] {
            let body: Value = app
                .client
                .get(format!("{base}{path}"))
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("json");
            assert_eq!(body, json!({"alive": true}));
        }
        for path in ["/readyz", "/health/ready"] {
            let resp = app
                .client
                .get(format!("{base}{path}"))
                .send()
                .await
                .expect("request");
            assert_eq!(resp.status(), 200);
            assert_eq!(
                resp.json::<Value>().await.expect("json"),
                json!({"ready": true})
            );
        }
    }
}

#[tokio::test]
async fn openapi_and_docs_are_served() {
    let app = TestApp::spawn().await;
    for base in [&app.public, &app.admin] {
        let spec: Value = app
            .client
            .get(format!("{base}/openapi.json"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert!(spec["openapi"].as_str().expect("version").starts_with("3."));
        let docs = app
            .client
            .get(format!("{base}/docs/"))
            .send()
            .await
            .expect("request");
        assert_eq!(docs.status(), 200);
        assert!(
            docs.text().await.expect("html").contains("swagger"),
            "interactive UI"
        );
    }
    let admin: Value = app
        .client
        .get(format!("{}/openapi.json", app.admin))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(admin["paths"]["/tenants/{tenant_id}/config"]["patch"].is_object());
}

#[tokio::test]
async fn the_committed_openapi_documents_match_the_code() {
    let tessera = tessera::server::offline_services().await.expect("services");
    let (public, admin) = tessera::server::openapi_documents(&tessera);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi");
    for (name, generated) in [("public.json", public), ("admin.json", admin)] {
        let path = root.join(name);
        if std::env::var_os("TESSERA_UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, format!("{generated}\n")).expect("write openapi document");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed.trim_end() == generated.trim_end(),
            "openapi/{name} differs from what the code produces; regenerate it with \
             `TESSERA_UPDATE_OPENAPI=1 cargo test --test edge the_committed_openapi` and commit it"
        );
    }
}
