//! Starting Tessera: connect, migrate, resolve the server secret, create the development tenant, bind and serve.
//! Used by `tessera serve` and by the integration tests, so that tests run the real thing.

use std::path::Path;

use anyhow::Context;
use sea_orm::DatabaseConnection;

use crate::clock::Clock;
use crate::config::{Config, Secret, SecretKey};
use crate::model::TenantConfig;
use crate::server::{self, Bound};
use crate::service::{RequestMeta, Tessera, crypto};

/// What `serve --dev` created on an empty database, to be shown once.
#[derive(Debug, Clone)]
pub struct DevTenant {
    /// The development tenant's id.
    pub tenant_id: String,
    /// Its API key.
    pub api_key: String,
}

/// Options of one start.
#[derive(Clone, Default)]
pub struct StartOptions {
    /// Development mode: generate and keep a server secret and admin key, create a development tenant.
    pub dev: bool,
    /// The clock; the system clock when `None`.
    pub clock: Option<Clock>,
}

/// A running server.
pub struct Running {
    /// The public listener's address.
    pub public_addr: std::net::SocketAddr,
    /// The admin listener's address.
    pub admin_addr: std::net::SocketAddr,
    /// The services, for tests that need them directly.
    pub tessera: Tessera,
    /// The admin key in force (generated in development mode when none was configured).
    pub admin_api_key: Option<Secret>,
    /// The development tenant, when this start created it.
    pub dev_tenant: Option<DevTenant>,
    /// Completes when the server has stopped.
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Connects to the configured database.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    crate::repo::connect(
        config.database_url.expose(),
        config.database_max_connections,
    )
    .await
    .context("cannot connect to the database")
}

/// Reads a key file or creates it with `generate` (mode 0600), returning the value and whether it was created.
fn read_or_create(
    path: &Path,
    generate: impl FnOnce() -> String,
) -> anyhow::Result<(String, bool)> {
    if path.exists() {
        let value = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return Ok((value.trim().to_string(), false));
    }
    let value = generate();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::io::Write::write_all(&mut file, format!("{value}\n").as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok((value, true))
}

/// The server secret: configured, or in development mode kept in a file beside the database.
pub fn resolve_secret(config: &mut Config, dev: bool) -> anyhow::Result<SecretKey> {
    if let Some(k) = &config.secret_key {
        return Ok(k.clone());
    }
    if !dev {
        anyhow::bail!(
            "no server secret: set TESSERA_SECRET_KEY (64 hex characters, e.g. from `openssl rand -hex 32`) or \
             TESSERA_SECRET_KEY_FILE, or run `tessera serve --dev` for a generated development secret"
        );
    }
    let path = config.dev_secret_path();
    let (hex_key, created) = read_or_create(&path, || crypto::generate_secret_key().to_hex())?;
    if created {
        tracing::warn!(path = %path.display(), "generated a development server secret; set TESSERA_SECRET_KEY in production");
    }
    let key =
        SecretKey::from_hex(&hex_key).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    config.secret_key = Some(key.clone());
    Ok(key)
}

/// Connects, migrates (when configured), builds the services, creates the development tenant (in development
/// mode, on an empty database), binds both listeners and serves until `shutdown` completes.
pub async fn start(
    mut config: Config,
    opts: StartOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Running> {
    let secret = resolve_secret(&mut config, opts.dev)?;
    let db = connect(&config).await?;
    if config.migrate_on_start {
        crate::repo::migrate_up(&db)
            .await
            .context("cannot apply migrations")?;
    } else {
        let pending = crate::repo::pending_migrations(&db).await?;
        if pending > 0 {
            anyhow::bail!("{pending} migration(s) pending: run `tessera migrate up` first");
        }
    }
    let listings = crate::repo::connect_listings(config.database_url.expose(), &db)
        .await
        .context("cannot connect to the database")?;
    let tessera = Tessera::new(db, &secret, opts.clock.unwrap_or(Clock::System))
        .with_listings(listings)
        .with_public_url(&config.public_url)
        .with_cache_ttl(std::time::Duration::from_secs(config.cache_ttl_secs))
        .with_background_writers();

    if opts.dev && config.admin_api_key.is_none() {
        let path = config.dev_secret_path().with_file_name("tessera.admin-key");
        let (key, created) = read_or_create(&path, || {
            format!("tadm_{}", hex::encode(crypto::random_bytes::<32>()))
        })?;
        if !created {
            tracing::info!(path = %path.display(), "using the development admin key from this file");
        }
        config.admin_api_key = Some(Secret::new(key));
    }

    let bound = Bound::bind(&config)
        .await
        .context("cannot bind the listeners")?;
    let (public_addr, admin_addr) = bound.addrs();

    let dev_tenant = if opts.dev && tessera.list_tenants().await?.is_empty() {
        let origin = format!("http://localhost:{}", public_addr.port());
        let created = tessera
            .create_tenant(
                "Development",
                TenantConfig::new("localhost", "Tessera development", vec![origin]),
                true,
                &RequestMeta::default(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the development tenant: {e}"))?;
        created.api_key.map(|(_, value)| DevTenant {
            tenant_id: created.tenant.id.to_string(),
            api_key: value,
        })
    } else {
        None
    };

    // Consumed challenges are kept only until they expire.
    let purger = tessera.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = purger.purge_consumed_challenges().await {
                tracing::warn!(error = %e, "purging consumed challenges failed");
            }
        }
    });

    let admin_api_key = config.admin_api_key.clone();
    let task = tokio::spawn(server::serve(bound, tessera.clone(), config, shutdown));
    Ok(Running {
        public_addr,
        admin_addr,
        tessera,
        admin_api_key,
        dev_tenant,
        task,
    })
}
