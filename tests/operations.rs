//! Operations: rate limits on the public ceremony endpoints and the Prometheus metrics on the admin listener.

mod common;

use common::authenticator::TestAuthenticator;
use common::{LOCAL_ORIGIN, TestApp, assert_error, localhost_tenant};
use serde_json::json;
use tessera::config::RateLimitConfig;

/// A server whose limits are `per_ip` and `per_tenant` requests per minute, trusting 127.0.0.1 as a proxy.
async fn limited(per_ip: u32, per_tenant: u32, trust_loopback: bool) -> TestApp {
    TestApp::spawn_with(|c| {
        c.rate_limit = RateLimitConfig {
            enabled: true,
            window_secs: 60,
            per_ip,
            per_tenant,
        };
        if trust_loopback {
            c.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
        }
    })
    .await
}

/// `POST /{tenant}/login/initialize` as the client `forwarded_for` (behind the loopback proxy).
async fn login_init(app: &TestApp, tenant: &str, forwarded_for: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/{tenant}/login/initialize", app.public))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({}))
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_burst_over_the_client_limit_gets_429_and_other_clients_and_tenants_are_unaffected() {
    let app = limited(5, 1000, true).await;
    let (a, _) = localhost_tenant(&app).await;
    let (b, _) = localhost_tenant(&app).await;
    for _ in 0..5 {
        assert_eq!(login_init(&app, &a, "203.0.113.1").await.status(), 200);
    }
    let refused = login_init(&app, &a, "203.0.113.1").await;
    let retry_after: u64 = refused
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=12).contains(&retry_after), "{retry_after}");
    let body = assert_error(refused, 429, "rate_limited").await;
    assert!(body["details"].as_str().expect("details").contains("ip"));

    // Another client of the same tenant, and the same client at another tenant, go on.
    assert_eq!(login_init(&app, &a, "203.0.113.2").await.status(), 200);
    assert_eq!(login_init(&app, &b, "203.0.113.1").await.status(), 200);

    // The bucket refills over the window: one request's worth after 12 s of 60.
    app.clock.advance(12_000);
    assert_eq!(login_init(&app, &a, "203.0.113.1").await.status(), 200);
    assert_error(
        login_init(&app, &a, "203.0.113.1").await,
        429,
        "rate_limited",
    )
    .await;
    app.clock.advance(60_000);
    for _ in 0..5 {
        assert_eq!(login_init(&app, &a, "203.0.113.1").await.status(), 200);
    }
}

#[tokio::test]
async fn x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
    let app = limited(2, 1000, false).await;
    let (tenant, _) = localhost_tenant(&app).await;
    // Each request claims another client, but the peer (127.0.0.1) is not a trusted proxy: one bucket.
    assert_eq!(
        login_init(&app, &tenant, "198.51.100.1").await.status(),
        200
    );
    assert_eq!(
        login_init(&app, &tenant, "198.51.100.2").await.status(),
        200
    );
    assert_error(
        login_init(&app, &tenant, "198.51.100.3").await,
        429,
        "rate_limited",
    )
    .await;
}

#[tokio::test]
async fn the_tenant_limit_caps_all_clients_together() {
    let app = limited(100, 3, true).await;
    let (tenant, _) = localhost_tenant(&app).await;
    for i in 0..3 {
        let ip = format!("192.0.2.{i}");
        assert_eq!(login_init(&app, &tenant, &ip).await.status(), 200);
    }
    let body = assert_error(
        login_init(&app, &tenant, "192.0.2.99").await,
        429,
        "rate_limited",
    )
    .await;
    assert!(
        body["details"]
            .as_str()
            .expect("details")
            .contains("tenant")
    );
}

#[tokio::test]
async fn a_refused_finalize_changes_nothing_and_other_endpoints_are_not_limited() {
    let app = limited(2, 1000, false).await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator::new();
    let init = app
        .public_post(
            &format!("/{tenant}/credentials/register/initialize"),
            Some(&key),
            &json!({"user_id": "u1", "username": "u1"}),
        )
        .await;
    assert_eq!(init.status(), 200);
    let options: serde_json::Value = init.json().await.expect("json");
    let credential = auth.create(&options["publicKey"], LOCAL_ORIGIN);
    // The second request of the window is the last allowed: spend it, then finalize is refused.
    assert_eq!(login_init(&app, &tenant, "").await.status(), 200);
    let path = format!("/{tenant}/credentials/register/finalize");
    assert_error(
        app.public_post(&path, None, &credential).await,
        429,
        "rate_limited",
    )
    .await;
    let users = app.admin_get(&format!("/tenants/{tenant}/users")).await;
    assert_eq!(users.status(), 200);
    let users: serde_json::Value = users.json().await.expect("json");
    assert_eq!(users.as_array().map(Vec::len), Some(0), "nothing stored");
    // Reading the JWKS is not a ceremony and is not limited.
    for _ in 0..5 {
        let jwks = app
            .client
            .get(format!("{}/{tenant}/.well-known/jwks.json", app.public))
            .send()
            .await
            .expect("request");
        assert_eq!(jwks.status(), 200);
    }
    // Half a window later the bucket holds a request again, and the same credential (its challenge still live)
    // finishes the registration.
    app.clock.advance(30_000);
    assert_eq!(
        app.public_post(&path, None, &credential).await.status(),
        200
    );
}

#[tokio::test]
async fn switched_off_limits_never_refuse() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limit.enabled = false;
        c.rate_limit.per_ip = 1;
        c.rate_limit.per_tenant = 1;
    })
    .await;
    let (tenant, _) = localhost_tenant(&app).await;
    for _ in 0..10 {
        assert_eq!(login_init(&app, &tenant, "").await.status(), 200);
    }
}

#[tokio::test]
async fn metrics_count_requests_ceremonies_the_pool_and_the_process() {
    let app = TestApp::spawn().await;
    let (tenant, key) = localhost_tenant(&app).await;
    let mut auth = TestAuthenticator::new();
    app.register(&tenant, &key, "m1", &mut auth, LOCAL_ORIGIN)
        .await;
    let options = app.login_options(&tenant, &key, Some("m1")).await;
    let mut assertion = auth.get(&options, LOCAL_ORIGIN);
    assertion["response"]["signature"] = json!("AAAA");
    assert_eq!(app.login_finalize(&tenant, &assertion).await.status(), 401);

    // Open on the admin listener (like health), absent from the public one.
    let resp = app
        .client
        .get(format!("{}/metrics", app.admin))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("application/openmetrics-text")
    );
    let text = resp.text().await.expect("text");
    for expected in [
        r#"tessera_http_requests_total{listener="public",operation="initialize_registration",status="200"} 1"#,
        r#"tessera_http_requests_total{listener="public",operation="finalize_login",status="401"} 1"#,
        r#"tessera_http_requests_total{listener="admin",operation="create_tenant",status="201"} 1"#,
        r#"tessera_ceremonies_total{kind="registration",step="final",outcome="succeeded",code=""} 1"#,
        r#"tessera_ceremonies_total{kind="login",step="init",outcome="succeeded",code=""} 1"#,
        r#"tessera_ceremonies_total{kind="login",step="final",outcome="failed",code="#,
        r#"tessera_http_request_duration_seconds_bucket{le="+Inf",listener="public",operation="finalize_registration"} 1"#,
        "tessera_db_pool_max_connections 4",
        r#"tessera_db_pool_connections{state="idle"}"#,
        "process_cpu_seconds_total ",
        "process_resident_memory_bytes ",
        "# EOF",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert!(!text.contains(&key), "no secrets in metrics");
    let public = app
        .client
        .get(format!("{}/metrics", app.public))
        .send()
        .await
        .expect("request");
    assert_error(public, 404, "route_not_found").await;
}
