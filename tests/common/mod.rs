//! Test harness: a real Tessera on `127.0.0.1:0` over a fresh database (a temporary SQLite file, or a fresh
//! PostgreSQL database when `TESSERA_TEST_DATABASE_URL` is set), one method per endpoint.

#![allow(dead_code)]

pub mod authenticator;
pub mod passkey_rs;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tessera::bootstrap::{self, Running, StartOptions};
use tessera::clock::Clock;
use tessera::config::{Config, Secret, SecretKey};

/// The PostgreSQL server to use, if any.
pub fn postgres_base_url() -> Option<String> {
    std::env::var("TESSERA_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Creates an empty PostgreSQL database on the server of `base` and returns its URL.
pub async fn fresh_postgres_database(base: &str) -> String {
    use sea_orm::ConnectionTrait;
    let name = format!("tessera_t_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(base)
        .await
        .expect("connect to TESSERA_TEST_DATABASE_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let mut url = url::Url::parse(base).expect("TESSERA_TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// A fresh database: `(url, temporary directory that must outlive it)`.
pub async fn fresh_database() -> (String, Option<tempfile::TempDir>) {
    match postgres_base_url() {
        Some(base) => (fresh_postgres_database(&base).await, None),
        None => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("tessera.db").display()
            );
            (url, Some(dir))
        }
    }
}

/// A test configuration on ephemeral ports.
pub fn test_config(database_url: &str) -> Config {
    let env = BTreeMap::from([
        ("TESSERA_DATABASE_URL".to_string(), database_url.to_string()),
        ("TESSERA_PUBLIC_ADDR".to_string(), "127.0.0.1:0".to_string()),
        ("TESSERA_ADMIN_ADDR".to_string(), "127.0.0.1:0".to_string()),
    ]);
    let mut config = Config::load(None, &env).expect("test configuration is valid");
    config.admin_api_key = Some(Secret::new(ADMIN_KEY));
    config.secret_key = Some(SecretKey::from_bytes([7; 32]));
    config.database_max_connections = 4;
    config
}

/// The admin key of test servers.
pub const ADMIN_KEY: &str = "test-admin-key-0123456789";

/// A running Tessera and an HTTP client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT` of the public listener.
    pub public: String,
    /// `http://127.0.0.1:PORT` of the admin listener.
    pub admin: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The running server.
    pub running: Running,
    /// The database URL.
    pub database_url: String,
    /// The clock the server uses.
    pub clock: Clock,
    _dir: Option<tempfile::TempDir>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    /// Starts Tessera on a fresh database.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts Tessera on a fresh database after `adjust` changed the configuration.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let (database_url, dir) = fresh_database().await;
        let mut config = test_config(&database_url);
        adjust(&mut config);
        Self::start(config, database_url, dir).await
    }

    /// Starts Tessera with `config`.
    pub async fn start(
        config: Config,
        database_url: String,
        dir: Option<tempfile::TempDir>,
    ) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let clock = Clock::fixed(1_800_000_000_000);
        let running = bootstrap::start(
            config,
            StartOptions {
                dev: false,
                clock: Some(clock.clone()),
            },
            async move {
                let _ = stopped.await;
            },
        )
        .await
        .expect("tessera starts");
        TestApp {
            public: format!("http://{}", running.public_addr),
            admin: format!("http://{}", running.admin_addr),
            client: reqwest::Client::new(),
            running,
            database_url,
            clock,
            _dir: dir,
            _stop: stop,
        }
    }

    /// An admin-API request with the admin key.
    pub fn admin_request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.admin))
            .bearer_auth(ADMIN_KEY)
    }

    /// `GET` on the admin API.
    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.admin_request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("request")
    }

    /// `POST` JSON on the admin API.
    pub async fn admin_post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.admin_request(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// `PUT` JSON on the admin API.
    pub async fn admin_put(&self, path: &str, body: &Value) -> reqwest::Response {
        self.admin_request(reqwest::Method::PUT, path)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// `PATCH` JSON on the admin API.
    pub async fn admin_patch(&self, path: &str, body: &Value) -> reqwest::Response {
        self.admin_request(reqwest::Method::PATCH, path)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// `DELETE` on the admin API.
    pub async fn admin_delete(&self, path: &str) -> reqwest::Response {
        self.admin_request(reqwest::Method::DELETE, path)
            .send()
            .await
            .expect("request")
    }

    /// Creates a tenant for `https://{rp_id}` with an API key; returns `(tenant id, api key)`.
    pub async fn create_tenant(&self, rp_id: &str) -> (String, String) {
        let resp = self
            .admin_post("/tenants", &tenant_body("Test tenant", rp_id, true))
            .await;
        assert_eq!(resp.status(), 201);
        let body: Value = resp.json().await.expect("json");
        (
            body["id"].as_str().expect("id").to_string(),
            body["api_key"]["secret"]
                .as_str()
                .expect("api key")
                .to_string(),
        )
    }
}

/// A `POST /tenants` body in the Hanko shape.
pub fn tenant_body(name: &str, rp_id: &str, create_api_key: bool) -> Value {
    json!({
        "display_name": name,
        "create_api_key": create_api_key,
        "config": {
            "cors": {"allowed_origins": [format!("https://{rp_id}")], "allow_unsafe_wildcard": false},
            "webauthn": {
                "relying_party": {"id": rp_id, "display_name": name, "origins": [format!("https://{rp_id}")]},
                "timeout": 60000,
                "user_verification": "preferred",
                "attestation_preference": "none",
                "resident_key_requirement": "required"
            }
        }
    })
}

/// Asserts that `resp` carries the error envelope with `status` and `code`; returns the body.
pub async fn assert_error(resp: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(ct.starts_with("application/json"), "content type {ct}");
    let body: Value = resp.json().await.expect("json error body");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["title"].is_string(), "{body}");
    assert!(body["details"].is_string(), "{body}");
    body
}

impl TestApp {
    /// `POST` JSON on the public API with an optional API key.
    pub async fn public_post(
        &self,
        path: &str,
        api_key: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}{path}", self.public))
            .json(body);
        if let Some(k) = api_key {
            req = req.header("apiKey", k);
        }
        req.send().await.expect("request")
    }

    /// A public-API request with the API key.
    pub fn public_request(
        &self,
        method: reqwest::Method,
        path: &str,
        api_key: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.public))
            .header("apiKey", api_key)
    }

    /// Registers a passkey for `user_id` with `auth` at `origin`; returns the token.
    pub async fn register(
        &self,
        tenant: &str,
        api_key: &str,
        user_id: &str,
        auth: &mut authenticator::TestAuthenticator,
        origin: &str,
    ) -> String {
        let body = json!({"user_id": user_id, "username": format!("{user_id}@example.com")});
        self.register_with(tenant, api_key, &body, auth, origin)
            .await
    }

    /// Starts a registration with `body`; returns the answer (its `publicKey` holds the creation options).
    pub async fn registration_options(&self, tenant: &str, api_key: &str, body: &Value) -> Value {
        let init = self
            .public_post(
                &format!("/{tenant}/credentials/register/initialize"),
                Some(api_key),
                body,
            )
            .await;
        assert_eq!(
            init.status(),
            200,
            "{}",
            init.text().await.unwrap_or_default()
        );
        init.json().await.expect("json")
    }

    /// Registers a passkey with `auth` at `origin`, initialized with `body`; returns the token.
    pub async fn register_with(
        &self,
        tenant: &str,
        api_key: &str,
        body: &Value,
        auth: &mut authenticator::TestAuthenticator,
        origin: &str,
    ) -> String {
        let options = self.registration_options(tenant, api_key, body).await;
        let credential = auth.create(&options["publicKey"], origin);
        let fin = self
            .public_post(
                &format!("/{tenant}/credentials/register/finalize"),
                None,
                &credential,
            )
            .await;
        assert_eq!(
            fin.status(),
            200,
            "{}",
            fin.text().await.unwrap_or_default()
        );
        let body: Value = fin.json().await.expect("json");
        body["token"].as_str().expect("token").to_string()
    }

    /// A user's credentials through the passkey API: the `X-Total-Count` header and the listed page.
    pub async fn user_credentials(
        &self,
        tenant: &str,
        api_key: &str,
        user_id: &str,
    ) -> (String, Value) {
        let resp = self
            .public_request(
                reqwest::Method::GET,
                &format!("/{tenant}/credentials?user_id={user_id}"),
                api_key,
            )
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200);
        let total = resp.headers()["x-total-count"]
            .to_str()
            .expect("header")
            .to_string();
        (total, resp.json().await.expect("json"))
    }

    /// Starts a login (discoverable when `user_id` is `None`); returns the `publicKey` options.
    pub async fn login_options(&self, tenant: &str, api_key: &str, user_id: Option<&str>) -> Value {
        let body = match user_id {
            Some(u) => json!({"user_id": u}),
            None => json!({}),
        };
        let init = self
            .public_post(
                &format!("/{tenant}/credentials/login/initialize"),
                Some(api_key),
                &body,
            )
            .await;
        assert_eq!(
            init.status(),
            200,
            "{}",
            init.text().await.unwrap_or_default()
        );
        let options: Value = init.json().await.expect("json");
        options["publicKey"].clone()
    }

    /// Finishes a login with an assertion; returns the raw response.
    pub async fn login_finalize(&self, tenant: &str, assertion: &Value) -> reqwest::Response {
        self.public_post(
            &format!("/{tenant}/credentials/login/finalize"),
            None,
            assertion,
        )
        .await
    }
}

/// Creates a tenant whose relying party is `localhost` with origin `http://localhost:8000`; returns
/// `(tenant id, api key)`.
pub async fn localhost_tenant(app: &TestApp) -> (String, String) {
    let mut body = tenant_body("Local", "localhost", true);
    body["config"]["webauthn"]["relying_party"]["origins"] = json!([LOCAL_ORIGIN]);
    body["config"]["cors"]["allowed_origins"] = json!([LOCAL_ORIGIN]);
    let resp = app.admin_post("/tenants", &body).await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.expect("json");
    (
        created["id"].as_str().expect("id").to_string(),
        created["api_key"]["secret"]
            .as_str()
            .expect("key")
            .to_string(),
    )
}

/// The origin of [`localhost_tenant`] tenants.
pub const LOCAL_ORIGIN: &str = "http://localhost:8000";
