//! The rules of Tessera: tenants, API keys, signing keys, users and the audit log.
//!
//! Services take the tenant first, validate their inputs, write the audit log and call `repo/`. They know nothing
//! of HTTP: errors are [`Error`] values that `api/error.rs` maps to responses once.

pub mod api_keys;
pub mod audit;
pub mod ceremony;
pub mod crypto;
pub mod passkeys;
pub mod seed;
pub mod signing_keys;
pub mod tenants;
pub mod tokens;
pub mod transactions;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::clock::Clock;
use crate::config::SecretKey;
use crate::model::{ApiKey, TenantConfig, TenantId};
use crate::repo::RepoError;
use crypto::ServerKeys;

/// A service failure, mapped to an HTTP status by the API layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The named resource does not exist in this tenant (or at all).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The input broke one or more rules; each message names its field.
    #[error("invalid input: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// The resource already exists.
    #[error("{0}")]
    Conflict(String),
    /// The API key is missing, unknown, revoked or of another tenant.
    #[error("the API key is missing or invalid")]
    InvalidApiKey,
    /// A bearer token Tessera issued is missing, malformed, expired, of another tenant or not signed by a
    /// published key.
    #[error("the token is missing or invalid")]
    InvalidToken,
    /// A database failure.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// Any other failure that is not the caller's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        Error::Repo(RepoError::Db(e))
    }
}

/// Result of a service call.
pub type Result<T> = std::result::Result<T, Error>;

/// Facts about the HTTP request behind a service call, for the audit log.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    /// The request id.
    pub request_id: Option<String>,
    /// The client's IP address.
    pub source_ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
}

/// How long cached tenant configurations and API-key lookups live before they are read again; changes made on
/// this replica invalidate them at once, changes made on another replica are seen within this time.
pub const CACHE_TTL: Duration = Duration::from_secs(30);

/// A cache of at most 100,000 entries that live for `ttl`.
fn cache<K, V>(ttl: Duration) -> moka::future::Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    bounded_cache(ttl, 100_000)
}

/// A cache of at most `capacity` entries that live for `ttl`.
fn bounded_cache<K, V>(ttl: Duration, capacity: u64) -> moka::future::Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    moka::future::Cache::builder()
        .max_capacity(capacity)
        .time_to_live(ttl)
        .build()
}

/// Credentials kept for logins: about 0.5 KiB each, so at most a few MiB.
const CREDENTIAL_CACHE_ENTRIES: u64 = 10_000;

/// Process-wide service state: the database, the clock, the keys derived from the server secret and the caches.
#[derive(Clone)]
pub struct Tessera {
    /// The database pool.
    pub db: DatabaseConnection,
    /// The pool for listings (see [`crate::repo::connect_listings`]); the main pool unless set.
    listings: DatabaseConnection,
    /// The clock.
    pub clock: Clock,
    /// Keys derived from the server secret.
    pub keys: Arc<ServerKeys>,
    /// API-key lookups by key hash (`None` caches a miss).
    api_keys: moka::future::Cache<String, Option<ApiKey>>,
    /// Tenant configurations.
    configs: moka::future::Cache<TenantId, Arc<TenantConfig>>,
    /// Decrypted active signing keys and JWKS documents.
    signers: moka::future::Cache<TenantId, Arc<tokens::TenantKeys>>,
    /// Credentials with their owners, by WebAuthn credential id, for logins (see `credential_with_owner`).
    credentials: moka::future::Cache<
        (TenantId, String),
        Arc<(crate::model::Credential, crate::model::User)>,
    >,
    /// The external URL of the public listener (token issuers are `{public_url}/{tenant_id}`).
    public_url: Arc<str>,
    /// The background audit writer, in serving processes.
    audit_writer: Option<audit::AuditWriter>,
    /// The background writer of logins' uses (group commit), in serving processes.
    use_writer: Option<crate::repo::credential_uses::UseWriter>,
    /// The background writer of registrations (group commit), in serving processes on SQLite.
    registration_writer: Option<crate::repo::registrations::RegistrationWriter>,
    /// The process's metrics.
    pub metrics: crate::metrics::Metrics,
}

impl Tessera {
    /// Builds the services over a database with the server secret.
    pub fn new(db: DatabaseConnection, secret: &SecretKey, clock: Clock) -> Self {
        Tessera {
            listings: db.clone(),
            db,
            clock,
            keys: Arc::new(ServerKeys::derive(secret)),
            api_keys: cache(CACHE_TTL),
            configs: cache(CACHE_TTL),
            signers: cache(CACHE_TTL),
            credentials: bounded_cache(CACHE_TTL, CREDENTIAL_CACHE_ENTRIES),
            public_url: Arc::from("http://localhost:8000"),
            audit_writer: None,
            use_writer: None,
            registration_writer: None,
            metrics: crate::metrics::Metrics::new(),
        }
    }

    /// Sets how long cached configurations, API-key lookups and signing keys live (empties the caches).
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.api_keys = cache(ttl);
        self.configs = cache(ttl);
        self.signers = cache(ttl);
        self.credentials = bounded_cache(ttl, CREDENTIAL_CACHE_ENTRIES);
        self
    }

    /// Sets the pool that listings read from.
    pub fn with_listings(mut self, listings: DatabaseConnection) -> Self {
        self.listings = listings;
        self
    }

    /// Sets the external URL of the public listener.
    pub fn with_public_url(mut self, url: &str) -> Self {
        self.public_url = Arc::from(url.trim_end_matches('/'));
        self
    }
}
