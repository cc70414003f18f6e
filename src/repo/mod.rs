//! Database access with sea-orm. Every function takes the tenant first; `entity::*::Model` values are mapped to
//! domain types here and never leave this layer.

pub mod api_keys;
pub mod audit;
pub mod challenges;
pub mod credential_uses;
pub mod credentials;
pub mod group_commit;
pub mod registrations;
pub mod signing_keys;
pub mod tenants;
pub mod transactions;
pub mod users;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// A database failure. The text is for the log only; clients see a generic error.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The database refused or could not run a statement.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// A stored value could not be read back (for example malformed JSON in a column).
    #[error("corrupt row in {table}: {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What was wrong.
        reason: String,
    },
}

impl RepoError {
    /// `true` when the error is a unique-constraint violation.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, RepoError::Db(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))))
    }
}

/// Result of a repository call.
pub type RepoResult<T> = Result<T, RepoError>;

/// Opens a connection pool. SQLite runs in WAL mode with `synchronous=NORMAL` and enforced foreign keys.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // A SQLite connection is a local file handle that cannot be hung up on: no ping before each use (by
        // default the pool pings on every acquire, a round trip to the connection's thread per query).
        opts.test_before_acquire(false);
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
        });
    } else {
        // A server connection can be dropped by the server, a proxy or a firewall while idle: ping the ones idle
        // for a while before use, not every one (the pool's default pings on every acquire, a network round trip
        // per query).
        opts.test_before_acquire_if_idle_for(Duration::from_secs(30));
    }
    Database::connect(opts).await
}

/// The pool for listings (admin pages of audit entries, credentials, users and tenants, with their counts), so
/// that a long listing never waits in front of a ceremony's query. SQLite: one read-only connection of its own
/// beside the main pool (a reader never makes the main connection drop its page cache, as a writer would);
/// PostgreSQL and in-memory SQLite databases: the main pool itself.
pub async fn connect_listings(
    url: &str,
    main: &DatabaseConnection,
) -> Result<DatabaseConnection, DbErr> {
    if !url.starts_with("sqlite:") || url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(main.clone());
    }
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(1)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(30))
        .test_before_acquire(false)
        .sqlx_logging(false);
    opts.map_sqlx_sqlite_opts(|o| {
        o.read_only(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
    });
    Database::connect(opts).await
}

/// Applies every pending migration.
pub async fn migrate_up(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Rolls back `steps` migrations (all of them when `None`).
pub async fn migrate_down(db: &DatabaseConnection, steps: Option<u32>) -> Result<(), DbErr> {
    Migrator::down(db, steps).await
}

/// Each migration's name and whether it has been applied.
pub async fn migration_status(db: &DatabaseConnection) -> Result<Vec<(String, bool)>, DbErr> {
    let applied: Vec<String> = Migrator::get_applied_migrations(db)
        .await?
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    Ok(Migrator::migrations()
        .iter()
        .map(|m| {
            let name = m.name().to_string();
            let done = applied.contains(&name);
            (name, done)
        })
        .collect())
}

/// Number of pending migrations.
pub async fn pending_migrations(db: &DatabaseConnection) -> Result<usize, DbErr> {
    Ok(Migrator::get_pending_migrations(db).await?.len())
}

/// Checks that the database answers.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

/// Parses a JSON column, reporting corruption with the table name.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(
    table: &'static str,
    value: &str,
) -> RepoResult<T> {
    serde_json::from_str(value).map_err(|e| RepoError::Corrupt {
        table,
        reason: e.to_string(),
    })
}

/// Serialises a value for a JSON column.
pub(crate) fn to_json_column<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// The database pool's `(open, idle)` connection counts.
pub fn pool_stats(db: &DatabaseConnection) -> (u32, u32) {
    match db.get_database_backend() {
        sea_orm::DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (
                pool.size(),
                u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            )
        }
        sea_orm::DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (
                pool.size(),
                u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            )
        }
        _ => (0, 0),
    }
}
