//! The `tessera` command line: serve, migrate, tenant, api-key, openapi, config.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde_json::json;
use tessera::bootstrap::{self, StartOptions};
use tessera::clock::{Clock, rfc3339};
use tessera::config::{Config, LogFormat};
use tessera::model::{TenantConfig, TenantId};
use tessera::service::{RequestMeta, Tessera};

/// mimalloc instead of the system allocator: about a sixth less server CPU per login ceremony on glibc
/// (README "Performance"); built without transparent huge pages so resident memory stays small.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "A multi-tenant, passkey-only authentication service"
)]
struct Cli {
    /// TOML configuration file (default: ./tessera.toml when present).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Print results as JSON, for machines.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the public and admin listeners.
    Serve {
        /// Development mode: generate a server secret and admin key kept beside the database, and create a
        /// development tenant on an empty database.
        #[arg(long)]
        dev: bool,
        /// Do not apply pending migrations at start (for deployments that migrate in a job).
        #[arg(long)]
        no_migrate: bool,
        /// Serve the demo page at /demo (also `TESSERA_DEMO=true`; on by default with --dev).
        #[arg(long)]
        demo: bool,
    },
    /// Apply, roll back or list database migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Manage tenants directly in the database.
    Tenant {
        #[command(subcommand)]
        action: TenantAction,
    },
    /// Manage tenant API keys directly in the database.
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// Print an OpenAPI document.
    Openapi {
        /// Which listener's document.
        #[arg(value_enum, default_value = "public")]
        listener: Listener,
    },
    /// Benchmark a running Tessera over HTTP with virtual authenticators (loopback targets only by default).
    Bench {
        /// Public listener URL.
        #[arg(long, default_value = "http://127.0.0.1:8000")]
        public_url: String,
        /// Admin listener URL.
        #[arg(long, default_value = "http://127.0.0.1:8001")]
        admin_url: String,
        /// The admin key (default: TESSERA_ADMIN_API_KEY).
        #[arg(long, env = "TESSERA_ADMIN_API_KEY", hide_env_values = true)]
        admin_key: String,
        /// Credential algorithm: es256, eddsa or rs256.
        #[arg(long, default_value = "es256")]
        algorithm: String,
        /// Use this tenant (for example one filled by `tessera seed`) instead of creating one; needs --api-key.
        #[arg(long, requires = "api_key")]
        tenant: Option<String>,
        /// The API key of --tenant.
        #[arg(
            long,
            requires = "tenant",
            env = "TESSERA_BENCH_API_KEY",
            hide_env_values = true
        )]
        api_key: Option<String>,
        /// Alternate login and transaction-signing ceremonies.
        #[arg(long)]
        transactions: bool,
        /// Offer this many ceremonies per second in total instead of running flat out (for latency at a load).
        #[arg(long)]
        rate: Option<f64>,
        /// Users (one passkey each) to register before the login run.
        #[arg(long, default_value_t = 100)]
        users: usize,
        /// Concurrent login ceremonies.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Seconds of login ceremonies.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// The server's process id, to report its CPU time per login.
        #[arg(long)]
        server_pid: Option<u32>,
        /// Allow targets that are not loopback addresses.
        #[arg(long)]
        allow_remote: bool,
    },
    /// Fill a tenant with users and passkeys straight in the database, to measure at scale (`tessera bench
    /// --tenant` then runs against it). Creates a tenant for the bench's origin when none is given.
    Seed {
        /// The tenant to fill; by default a new one (its id and API key are printed).
        #[arg(long)]
        tenant: Option<String>,
        /// How many users, with one passkey each, to add.
        #[arg(long)]
        credentials: usize,
    },
    /// Show the effective configuration.
    Config {
        /// Print the configuration with secrets redacted.
        #[arg(long)]
        dump: bool,
    },
    /// Exit 0 when the local server is ready (`GET /readyz` on the admin listener), 1 otherwise: a container
    /// health check for images without curl.
    Healthcheck {
        /// The URL to check; by default `/readyz` on the configured admin address (0.0.0.0 becomes 127.0.0.1).
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Listener {
    Public,
    Admin,
}

#[derive(Subcommand)]
enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back migrations.
    Down {
        /// How many to roll back (all when omitted).
        #[arg(long)]
        steps: Option<u32>,
    },
    /// List migrations and whether they are applied.
    Status,
}

#[derive(Subcommand)]
enum TenantAction {
    /// Create a tenant with an API key.
    Create {
        /// Tenant name.
        #[arg(long)]
        name: String,
        /// Relying party id (a domain such as example.com).
        #[arg(long)]
        rp_id: String,
        /// Relying party name shown by authenticators (default: the tenant name).
        #[arg(long)]
        rp_name: Option<String>,
        /// Allowed origin; repeat for several.
        #[arg(long = "origin", required = true)]
        origins: Vec<String>,
    },
    /// List tenants.
    List,
    /// Show a tenant with its configuration.
    Show {
        /// Tenant id.
        id: String,
    },
    /// Delete a tenant and everything it owns.
    Delete {
        /// Tenant id.
        id: String,
    },
}

#[derive(Subcommand)]
enum ApiKeyAction {
    /// Create an API key; its value is printed once.
    Create {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Key name.
        #[arg(long)]
        name: String,
    },
    /// List a tenant's API keys (without values).
    List {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
    /// Revoke an API key.
    Revoke {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Key id.
        #[arg(long)]
        id: String,
    },
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Pretty => builder.compact().init(),
    }
}

fn parse_tenant(id: &str) -> anyhow::Result<TenantId> {
    TenantId::parse(id).with_context(|| format!("{id:?} is not a tenant id (a UUID)"))
}

/// Prints `value` as JSON, or `text` for people.
fn out(json_mode: bool, value: serde_json::Value, text: impl FnOnce() -> String) {
    if json_mode {
        println!("{value}");
    } else {
        println!("{}", text());
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

async fn services(config: &mut Config) -> anyhow::Result<Tessera> {
    let secret = bootstrap::resolve_secret(config, false)?;
    let db = bootstrap::connect(config).await?;
    if tessera::repo::pending_migrations(&db).await? > 0 {
        anyhow::bail!("migrations are pending: run `tessera migrate up` first");
    }
    Ok(Tessera::new(db, &secret, Clock::System))
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let mut config = Config::load(cli.config.as_deref(), &env)?;
    init_logging(&config);
    for name in Config::unknown_env_vars(&env) {
        tracing::warn!(variable = %name, "unknown TESSERA_ variable ignored");
    }
    let json_mode = cli.json;
    let meta = RequestMeta {
        user_agent: Some("tessera-cli".into()),
        ..Default::default()
    };

    match cli.command {
        Command::Serve {
            dev,
            no_migrate,
            demo,
        } => {
            if no_migrate {
                config.migrate_on_start = false;
            }
            if demo || (dev && std::env::var_os("TESSERA_DEMO").is_none()) {
                config.demo = true;
            }
            let started = std::time::Instant::now();
            let running = bootstrap::start(
                config.clone(),
                StartOptions { dev, clock: None },
                shutdown_signal(),
            )
            .await?;
            tracing::info!(
                public = %running.public_addr,
                admin = %running.admin_addr,
                startup_ms = started.elapsed().as_millis() as u64,
                "tessera is ready"
            );
            if config.demo {
                tracing::info!(
                    url = %format!("http://localhost:{}/demo", running.public_addr.port()),
                    "demo page enabled"
                );
            }
            if let Some(dev_tenant) = &running.dev_tenant {
                let admin_key = running
                    .admin_api_key
                    .as_ref()
                    .map(|k| k.expose().to_string())
                    .unwrap_or_default();
                out(
                    json_mode,
                    json!({"tenant_id": dev_tenant.tenant_id, "api_key": dev_tenant.api_key, "admin_api_key": admin_key,
                           "public_url": format!("http://localhost:{}", running.public_addr.port()),
                           "admin_url": format!("http://{}", running.admin_addr)}),
                    || {
                        format!(
                            "\nDevelopment tenant created (shown once; keep these):\n  tenant id:     {}\n  api key:       {}\n  admin api key: {}\n  public API:    http://localhost:{}  (docs at /docs)\n  admin API:     http://{}  (docs at /docs)\n  demo:          http://localhost:{}/demo\n",
                            dev_tenant.tenant_id,
                            dev_tenant.api_key,
                            admin_key,
                            running.public_addr.port(),
                            running.admin_addr,
                            running.public_addr.port()
                        )
                    },
                );
            }
            let served = running.task.await.context("server task")?;
            // Entries queued by the last requests are written before the process exits.
            running.tessera.flush_audit().await;
            served?;
            Ok(())
        }
        Command::Migrate { action } => {
            let db = bootstrap::connect(&config).await?;
            match action {
                MigrateAction::Up => {
                    tessera::repo::migrate_up(&db).await?;
                    out(json_mode, json!({"migrated": "up"}), || {
                        "migrations applied".into()
                    });
                }
                MigrateAction::Down { steps } => {
                    tessera::repo::migrate_down(&db, steps).await?;
                    out(json_mode, json!({"migrated": "down"}), || {
                        "migrations rolled back".into()
                    });
                }
                MigrateAction::Status => {
                    let status = tessera::repo::migration_status(&db).await?;
                    out(
                        json_mode,
                        json!(
                            status
                                .iter()
                                .map(|(n, a)| json!({"name": n, "applied": a}))
                                .collect::<Vec<_>>()
                        ),
                        || {
                            status
                                .iter()
                                .map(|(n, a)| {
                                    format!("{} {n}", if *a { "applied" } else { "pending" })
                                })
                                .collect::<Vec<_>>()
                                .join("\n")
                        },
                    );
                }
            }
            Ok(())
        }
        Command::Seed {
            tenant,
            credentials,
        } => {
            let t = services(&mut config).await?;
            let (tenant, api_key) = match tenant {
                Some(id) => (parse_tenant(&id)?, None),
                None => {
                    let origin = tessera::bench::ORIGIN.to_string();
                    let mut cfg =
                        TenantConfig::new("localhost", "tessera bench", vec![origin.clone()]);
                    cfg.cors.allowed_origins = vec![origin];
                    let created = t
                        .create_tenant("tessera bench (seeded)", cfg, true, &meta)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    (created.tenant.id, created.api_key.map(|(_, v)| v))
                }
            };
            let started = std::time::Instant::now();
            let prefix = format!("seed-{}-", &uuid::Uuid::new_v4().simple().to_string()[..8]);
            let stored = t
                .seed_credentials(tenant, credentials, &prefix, |n| {
                    if !json_mode && (n % 10_000 == 0 || n == credentials) {
                        eprint!("\r{n} of {credentials} users and passkeys stored");
                    }
                })
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if !json_mode {
                eprintln!();
            }
            let secs = started.elapsed().as_secs_f64();
            out(
                json_mode,
                json!({"tenant_id": tenant.to_string(), "api_key": api_key, "credentials": stored, "seconds": secs,
                       "per_second": stored as f64 / secs.max(1e-9)}),
                || {
                    let key = api_key
                        .as_deref()
                        .map(|k| format!("\napi key {k} (shown once)"))
                        .unwrap_or_default();
                    format!(
                        "tenant {tenant}: {stored} users with one passkey each in {secs:.1} s ({:.0}/s){key}",
                        stored as f64 / secs.max(1e-9)
                    )
                },
            );
            Ok(())
        }
        Command::Tenant { action } => {
            let t = services(&mut config).await?;
            match action {
                TenantAction::Create {
                    name,
                    rp_id,
                    rp_name,
                    origins,
                } => {
                    let cfg =
                        TenantConfig::new(&rp_id, rp_name.as_deref().unwrap_or(&name), origins);
                    let created = t
                        .create_tenant(&name, cfg, true, &meta)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    let key = created.api_key.map(|(_, v)| v).unwrap_or_default();
                    out(
                        json_mode,
                        json!({"id": created.tenant.id.to_string(), "display_name": created.tenant.display_name, "api_key": key}),
                        || format!("tenant {}\napi key {key} (shown once)", created.tenant.id),
                    );
                }
                TenantAction::List => {
                    let tenants = t.list_tenants().await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    out(
                        json_mode,
                        json!(tenants.iter().map(|x| json!({"id": x.id.to_string(), "display_name": x.display_name, "created_at": rfc3339(x.created_at)})).collect::<Vec<_>>()),
                        || tenants.iter().map(|x| format!("{}  {}", x.id, x.display_name)).collect::<Vec<_>>().join("\n"),
                    );
                }
                TenantAction::Show { id } => {
                    let (tenant, cfg) = t
                        .get_tenant(parse_tenant(&id)?)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    let doc = json!({"id": tenant.id.to_string(), "display_name": tenant.display_name, "config": *cfg});
                    out(json_mode, doc.clone(), || {
                        serde_json::to_string_pretty(&doc).unwrap_or_default()
                    });
                }
                TenantAction::Delete { id } => {
                    t.delete_tenant(parse_tenant(&id)?)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    out(json_mode, json!({"deleted": id}), || {
                        format!("tenant {id} deleted")
                    });
                }
            }
            Ok(())
        }
        Command::ApiKey { action } => {
            let t = services(&mut config).await?;
            match action {
                ApiKeyAction::Create { tenant, name } => {
                    let (key, value) = t
                        .create_api_key(parse_tenant(&tenant)?, &name, &meta)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    out(
                        json_mode,
                        json!({"id": key.id, "name": key.name, "secret": value}),
                        || format!("api key {} ({})\n{value} (shown once)", key.id, key.name),
                    );
                }
                ApiKeyAction::List { tenant } => {
                    let keys = t
                        .list_api_keys(parse_tenant(&tenant)?)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    out(
                        json_mode,
                        json!(keys.iter().map(|k| json!({"id": k.id, "name": k.name, "prefix": k.prefix, "created_at": rfc3339(k.created_at), "revoked": k.revoked_at.is_some()})).collect::<Vec<_>>()),
                        || keys.iter().map(|k| format!("{}  {}  {}…{}", k.id, k.name, k.prefix, if k.revoked_at.is_some() { "  (revoked)" } else { "" })).collect::<Vec<_>>().join("\n"),
                    );
                }
                ApiKeyAction::Revoke { tenant, id } => {
                    t.revoke_api_key(parse_tenant(&tenant)?, &id, &meta)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    out(json_mode, json!({"revoked": id}), || {
                        format!("api key {id} revoked")
                    });
                }
            }
            Ok(())
        }
        Command::Healthcheck { url } => {
            let url = url.unwrap_or_else(|| {
                let mut addr = config.admin_addr;
                if addr.ip().is_unspecified() {
                    addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                }
                format!("http://{addr}/readyz")
            });
            let client = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(3))
                .build()?;
            let status = client.get(&url).send().await?.status();
            if !status.is_success() {
                anyhow::bail!("{url} answered {status}");
            }
            out(json_mode, json!({"ready": true, "url": url}), || {
                format!("ready ({url})")
            });
            Ok(())
        }
        Command::Openapi { listener } => {
            let tessera = tessera::server::offline_services().await?;
            let (public, admin) = tessera::server::openapi_documents(&tessera);
            println!(
                "{}",
                match listener {
                    Listener::Public => public,
                    Listener::Admin => admin,
                }
            );
            Ok(())
        }
        Command::Bench {
            public_url,
            admin_url,
            admin_key,
            algorithm,
            users,
            concurrency,
            duration,
            server_pid,
            allow_remote,
            tenant,
            api_key,
            transactions,
            rate,
        } => {
            let report = tessera::bench::run(tessera::bench::BenchOptions {
                tenant: tenant.zip(api_key),
                transactions,
                rate,
                public_url: public_url.trim_end_matches('/').to_string(),
                admin_url: admin_url.trim_end_matches('/').to_string(),
                admin_key,
                algorithm,
                users: users.max(1),
                concurrency: concurrency.max(1),
                duration: std::time::Duration::from_secs(duration),
                server_pid,
                allow_remote,
                progress: !json_mode,
            })
            .await?;
            out(json_mode, report.clone(), || {
                serde_json::to_string_pretty(&report).unwrap_or_default()
            });
            let errors = report["error_count"].as_u64().unwrap_or(0);
            if errors > 0 {
                anyhow::bail!("{errors} ceremonies failed");
            }
            Ok(())
        }
        Command::Config { dump } => {
            let redacted = config.redacted();
            if dump || json_mode {
                if json_mode {
                    println!("{}", json!(redacted));
                } else {
                    for (k, v) in redacted {
                        println!("{k} = {v}");
                    }
                }
            } else {
                println!("configuration is valid (use --dump to print it)");
            }
            Ok(())
        }
    }
}
