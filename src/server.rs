//! Assembles the public and admin listeners: APIs, docs, health, the request edge, and graceful shutdown.

use std::future::Future;

use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::{Endpoint, EndpointExt, Route, Server};
use poem_openapi::OpenApiService;

use crate::api::admin::{AdminApi, AdminAuth};
use crate::api::health::HealthApi;
use crate::api::passkeys::PasskeyApi;
use crate::api::ratelimit::{RateLimiter, rate_limit};
use crate::api::transactions::TransactionApi;
use crate::api::{EdgeConfig, edge};
use crate::config::Config;
use crate::service::Tessera;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The public listener's OpenAPI service.
pub fn public_service(
    tessera: &Tessera,
    server_url: &str,
) -> OpenApiService<(PasskeyApi, TransactionApi, HealthApi), ()> {
    OpenApiService::new(
        (
            PasskeyApi {
                tessera: tessera.clone(),
            },
            TransactionApi {
                tessera: tessera.clone(),
            },
            HealthApi {
                db: tessera.db.clone(),
            },
        ),
        "Tessera public API",
        VERSION,
    )
    .description("Passkey ceremonies, credentials, tokens and JWKS for applications, per tenant. Calls that need the tenant's API key take it in the `apiKey` header (any case) or as `Authorization: Bearer <key>`. The Hanko Passkey API's paths are aliases of the same operations.")
    .server(server_url)
}

/// The admin listener's OpenAPI service.
pub fn admin_service(
    tessera: &Tessera,
    server_url: &str,
) -> OpenApiService<(AdminApi, HealthApi), ()> {
    OpenApiService::new(
        (
            AdminApi {
                tessera: tessera.clone(),
            },
            HealthApi {
                db: tessera.db.clone(),
            },
        ),
        "Tessera admin API",
        VERSION,
    )
    .description("Tenant administration for operators: tenants, configuration, API keys, signing keys, users and audit logs. Every call needs the operator's admin key as `Authorization: Bearer <key>`.")
    .server(server_url)
}

/// The committed OpenAPI documents are written with these server URLs, so that they do not depend on the
/// configuration.
pub const SPEC_PUBLIC_URL: &str = "http://localhost:8000";
/// See [`SPEC_PUBLIC_URL`].
pub const SPEC_ADMIN_URL: &str = "http://localhost:8001";

/// The OpenAPI documents as `(public, admin)` JSON, as committed in `openapi/`.
pub fn openapi_documents(tessera: &Tessera) -> (String, String) {
    (
        public_service(tessera, SPEC_PUBLIC_URL).spec(),
        admin_service(tessera, SPEC_ADMIN_URL).spec(),
    )
}

fn edge_config(tessera: &Tessera, config: &Config, listener: &'static str) -> EdgeConfig {
    EdgeConfig {
        body_limit: config.body_limit,
        listener,
        trusted_proxies: config.trusted_proxies.clone().into(),
        metrics: tessera.metrics.clone(),
    }
}

/// The public listener's endpoint.
pub fn public_app(tessera: &Tessera, config: &Config) -> impl Endpoint + use<> {
    let service = public_service(tessera, &config.public_url);
    let spec = service.spec_endpoint();
    let ui = service.swagger_ui();
    let cors_tessera = tessera.clone();
    let edge_cfg = edge_config(tessera, config, "public");
    let limiter = config.rate_limit.enabled.then(|| {
        RateLimiter::new(
            config.rate_limit.clone(),
            tessera.metrics.clone(),
            tessera.clock.clone(),
        )
    });
    let route = Route::new()
        .nest("/", service)
        .at("/openapi.json", spec)
        .nest("/docs", ui);
    crate::api::demo::mount(route, tessera, config)
        .around(move |ep, req| {
            let limiter = limiter.clone();
            async move { rate_limit(ep, req, limiter).await }
        })
        .around(move |ep, mut req| {
            let tessera = cors_tessera.clone();
            async move {
                crate::api::cors::empty_body_is_empty_object(&mut req);
                crate::api::cors::cors(ep, req, tessera).await
            }
        })
        .around(move |ep, req| {
            let edge_cfg = edge_cfg.clone();
            async move { edge(ep, req, edge_cfg).await }
        })
}

/// The admin listener's endpoint: health is open, everything else needs the admin key.
pub fn admin_app(tessera: &Tessera, config: &Config) -> impl Endpoint + use<> {
    let admin_url = format!("http://{}", config.admin_addr);
    let service = admin_service(tessera, &admin_url);
    let spec = service.spec_endpoint();
    let ui = service.swagger_ui();
    let edge_cfg = edge_config(tessera, config, "admin");
    let metrics_tessera = tessera.clone();
    let pool_max = config.database_max_connections;
    Route::new()
        .nest(
            "/",
            service.with(AdminAuth::new(config.admin_api_key.clone())),
        )
        .at("/openapi.json", spec)
        .nest("/docs", ui)
        .at(
            "/metrics",
            poem::get(poem::endpoint::make(move |_| {
                let tessera = metrics_tessera.clone();
                async move { metrics_response(&tessera, pool_max) }
            })),
        )
        .around(move |ep, req| {
            let edge_cfg = edge_cfg.clone();
            async move { edge(ep, req, edge_cfg).await }
        })
}

/// `GET /metrics`: OpenMetrics text.
fn metrics_response(tessera: &Tessera, pool_max: u32) -> poem::Response {
    let (open, idle) = crate::repo::pool_stats(&tessera.db);
    let body = tessera.metrics.render((open, idle, pool_max));
    poem::Response::builder()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(body)
}

/// Bound listeners, so that callers (and tests) learn the real ports before serving.
pub struct Bound {
    /// Public listener.
    pub public: TcpAcceptor,
    /// Admin listener.
    pub admin: TcpAcceptor,
}

impl Bound {
    /// Binds both listeners.
    pub async fn bind(config: &Config) -> std::io::Result<Self> {
        Ok(Bound {
            public: TcpListener::bind(config.public_addr)
                .into_acceptor()
                .await?,
            admin: TcpListener::bind(config.admin_addr).into_acceptor().await?,
        })
    }

    /// The bound `(public, admin)` addresses.
    pub fn addrs(&self) -> (std::net::SocketAddr, std::net::SocketAddr) {
        let first = |a: &TcpAcceptor| {
            a.local_addr()
                .into_iter()
                .find_map(|l| l.as_socket_addr().copied())
                .unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], 0)))
        };
        (first(&self.public), first(&self.admin))
    }
}

/// Serves both listeners until `shutdown` completes, then lets in-flight requests finish.
pub async fn serve(
    bound: Bound,
    tessera: Tessera,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let public_rx = tx.subscribe();
    let admin_rx = tx.subscribe();
    let wait = |mut rx: tokio::sync::broadcast::Receiver<()>| async move {
        let _ = rx.recv().await;
    };
    let public = Server::new_with_acceptor(bound.public).run_with_graceful_shutdown(
        public_app(&tessera, &config),
        wait(public_rx),
        Some(std::time::Duration::from_secs(30)),
    );
    let admin = Server::new_with_acceptor(bound.admin).run_with_graceful_shutdown(
        admin_app(&tessera, &config),
        wait(admin_rx),
        Some(std::time::Duration::from_secs(30)),
    );
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(());
    });
    let (a, b) = tokio::join!(public, admin);
    a.and(b)
}

/// Services over an empty in-memory database, for writing the OpenAPI documents without a configuration. They
/// serve nothing: the random secret is discarded with them.
pub async fn offline_services() -> anyhow::Result<Tessera> {
    let db = crate::repo::connect("sqlite::memory:", 1).await?;
    Ok(Tessera::new(
        db,
        &crate::service::crypto::generate_secret_key(),
        crate::clock::Clock::System,
    ))
}
