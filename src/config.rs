//! Configuration: defaults in code < TOML file < `TESSERA_*` environment.
//!
//! Loading never stops at the first problem: every invalid value is collected and reported together, so an operator
//! fixes a configuration in one pass. Secrets are held in [`Secret`] and [`SecretKey`], whose `Debug` output is
//! redacted, and `tessera config --dump` prints [`Config::redacted`].

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The default database: an embedded SQLite file in the working directory, created when missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://tessera.db?mode=rwc";
/// The default limit for request bodies, in bytes.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// A secret string (for example the admin API key). `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value; call only where the value is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The 32-byte server secret that seals ceremony state and encrypts signing keys at rest.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// Parses 64 hexadecimal characters.
    pub fn from_hex(hex_str: &str) -> Result<Self, String> {
        let bytes = hex::decode(hex_str.trim())
            .map_err(|_| "must be 64 hexadecimal characters (32 bytes)".to_string())?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "must be 64 hexadecimal characters (32 bytes)".to_string())?;
        Ok(SecretKey(key))
    }

    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SecretKey(bytes)
    }

    /// The key bytes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as 64 hexadecimal characters, for writing the development key file.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The default pool size on SQLite (16 on PostgreSQL).
pub const SQLITE_MAX_CONNECTIONS: u32 = 1;

/// The effective configuration of a Tessera process.
#[derive(Clone, Debug)]
pub struct Config {
    /// Database URL: `sqlite://PATH?mode=rwc` or `postgres://...`.
    pub database_url: Secret,
    /// Maximum number of pooled database connections.
    pub database_max_connections: u32,
    /// Address of the public listener (ceremonies, JWKS).
    pub public_addr: SocketAddr,
    /// Address of the admin listener (tenant administration, metrics).
    pub admin_addr: SocketAddr,
    /// The operator's key for the admin API; without one the admin API refuses every call.
    pub admin_api_key: Option<Secret>,
    /// The server secret; required unless `serve --dev` generates one.
    pub secret_key: Option<SecretKey>,
    /// Apply pending migrations when `serve` starts.
    pub migrate_on_start: bool,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter in `tracing` `EnvFilter` syntax.
    pub log_level: String,
    /// Maximum request body size in bytes.
    pub body_limit: usize,
    /// The externally visible base URL of the public listener; token issuers are `{public_url}/{tenant_id}`.
    pub public_url: String,
    /// How long a replica serves cached tenant configurations, API-key lookups and signing keys before reading
    /// them again; changes made on another replica are seen within this time.
    pub cache_ttl_secs: u64,
    /// Serve the demo page at `/demo` (on by default with `serve --dev`).
    pub demo: bool,
    /// The tenant the demo page uses; by default the only tenant, when there is exactly one.
    pub demo_tenant: Option<String>,
    /// Rate limits on the public ceremony endpoints.
    pub rate_limit: RateLimitConfig,
    /// Proxies whose `X-Forwarded-For` header is believed for the client address (IP addresses or CIDR ranges).
    pub trusted_proxies: Vec<IpNet>,
}

/// Rate limits on the public ceremony endpoints: token buckets that refill continuously over `window_secs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// `false` switches every limit off (`TESSERA_RATE_LIMIT=off`, for load tests).
    pub enabled: bool,
    /// The window over which the limits below refill, in seconds.
    pub window_secs: u64,
    /// Requests per window from one client address to one tenant.
    pub per_ip: u32,
    /// Requests per window to one tenant from all clients together.
    pub per_tenant: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            window_secs: 60,
            per_ip: 600,
            per_tenant: 120_000,
        }
    }
}

/// An IP network (an address and a prefix length); a bare address is a network of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` lies in this network.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: std::net::IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} has an invalid prefix length"))?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: Secret::new(DEFAULT_DATABASE_URL),
            database_max_connections: 16,
            public_addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            admin_addr: SocketAddr::from(([127, 0, 0, 1], 8001)),
            admin_api_key: None,
            secret_key: None,
            migrate_on_start: true,
            log_format: LogFormat::Pretty,
            log_level: "info".into(),
            body_limit: DEFAULT_BODY_LIMIT,
            public_url: "http://localhost:8000".into(),
            cache_ttl_secs: 30,
            demo: false,
            demo_tenant: None,
            rate_limit: RateLimitConfig::default(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// The TOML file's shape: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    database_max_connections: Option<u32>,
    public_addr: Option<String>,
    admin_addr: Option<String>,
    admin_api_key: Option<String>,
    admin_api_key_file: Option<PathBuf>,
    secret_key: Option<String>,
    secret_key_file: Option<PathBuf>,
    migrate_on_start: Option<bool>,
    log_format: Option<String>,
    log_level: Option<String>,
    body_limit: Option<usize>,
    public_url: Option<String>,
    cache_ttl_secs: Option<u64>,
    demo: Option<bool>,
    demo_tenant: Option<String>,
    rate_limit: Option<bool>,
    rate_limit_window_secs: Option<u64>,
    rate_limit_per_ip: Option<u32>,
    rate_limit_per_tenant: Option<u32>,
    trusted_proxies: Option<Vec<String>>,
}

/// Every problem found while loading the configuration.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigErrors(pub Vec<String>);

/// The environment variables Tessera reads, for the unknown-variable warning and the documentation.
pub const ENV_VARS: &[&str] = &[
    "TESSERA_CONFIG",
    "TESSERA_DATABASE_URL",
    "TESSERA_DATABASE_MAX_CONNECTIONS",
    "TESSERA_PUBLIC_ADDR",
    "TESSERA_ADMIN_ADDR",
    "TESSERA_ADMIN_API_KEY",
    "TESSERA_ADMIN_API_KEY_FILE",
    "TESSERA_SECRET_KEY",
    "TESSERA_SECRET_KEY_FILE",
    "TESSERA_MIGRATE_ON_START",
    "TESSERA_LOG_FORMAT",
    "TESSERA_LOG_LEVEL",
    "TESSERA_BODY_LIMIT",
    "TESSERA_PUBLIC_URL",
    "TESSERA_CACHE_TTL_SECS",
    "TESSERA_DEMO",
    "TESSERA_DEMO_TENANT",
    "TESSERA_RATE_LIMIT",
    "TESSERA_RATE_LIMIT_WINDOW_SECS",
    "TESSERA_RATE_LIMIT_PER_IP",
    "TESSERA_RATE_LIMIT_PER_TENANT",
    "TESSERA_TRUSTED_PROXIES",
    "TESSERA_TEST_DATABASE_URL",
];

/// Collects values and errors while layering the sources.
struct Layer<'a> {
    errors: Vec<String>,
    env: &'a BTreeMap<String, String>,
}

impl Layer<'_> {
    fn env(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }

    fn parse<T: std::str::FromStr>(&mut self, source: &str, value: &str) -> Option<T> {
        match value.trim().parse() {
            Ok(v) => Some(v),
            Err(_) => {
                self.errors
                    .push(format!("{source}: cannot parse {value:?}"));
                None
            }
        }
    }

    fn read_file(&mut self, source: &str, path: &Path) -> Option<String> {
        match std::fs::read_to_string(path) {
            Ok(s) => Some(s.trim().to_string()),
            Err(e) => {
                self.errors
                    .push(format!("{source}: cannot read {}: {e}", path.display()));
                None
            }
        }
    }

    /// A number from the environment variable `env_name`, else from the file.
    fn number<T: std::str::FromStr>(&mut self, file: Option<T>, env_name: &str) -> Option<T> {
        match self.env(env_name) {
            Some(v) => self.parse(env_name, &v),
            None => file,
        }
    }

    /// A boolean from the environment variable `env_name`, else from the file.
    fn flag(&mut self, file: Option<bool>, env_name: &str) -> Option<bool> {
        match self.env(env_name) {
            Some(v) => self.parse_bool(env_name, &v),
            None => file,
        }
    }

    fn parse_bool(&mut self, source: &str, value: &str) -> Option<bool> {
        match value.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Some(true),
            "0" | "false" | "no" | "off" => Some(false),
            _ => {
                self.errors
                    .push(format!("{source}: expected true or false, got {value:?}"));
                None
            }
        }
    }
}

impl Config {
    /// Loads the configuration from `path` (or `./tessera.toml` when it exists and no path is given) and the
    /// environment `env`, reporting every error at once.
    pub fn load(
        path: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Config, ConfigErrors> {
        let mut layer = Layer {
            errors: Vec::new(),
            env,
        };
        let file_path = path
            .map(Path::to_path_buf)
            .or_else(|| env.get("TESSERA_CONFIG").map(PathBuf::from))
            .or_else(|| {
                let default = PathBuf::from("tessera.toml");
                default.exists().then_some(default)
            });
        let file = match &file_path {
            Some(p) => match std::fs::read_to_string(p) {
                Ok(text) => toml::from_str::<FileConfig>(&text).unwrap_or_else(|e| {
                    layer
                        .errors
                        .push(format!("{}: {}", p.display(), e.message()));
                    FileConfig::default()
                }),
                Err(e) => {
                    layer
                        .errors
                        .push(format!("config file {}: {e}", p.display()));
                    FileConfig::default()
                }
            },
            None => FileConfig::default(),
        };

        let mut cfg = Config::default();
        let mut public_url_set = false;

        if let Some(v) = file.database_url {
            cfg.database_url = Secret::new(v);
        }
        if let Some(v) = layer.env("TESSERA_DATABASE_URL") {
            cfg.database_url = Secret::new(v);
        }
        let url = cfg.database_url.expose();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            layer
                .errors
                .push("database_url: must start with sqlite: or postgres://".into());
        }

        // SQLite writes one transaction at a time, and a connection drops its page cache whenever another has
        // committed: one connection serves the ceremonies faster than several, with less memory and fewer
        // threads (listings have their own, see `repo::connect_listings`).
        if url.starts_with("sqlite:") {
            cfg.database_max_connections = SQLITE_MAX_CONNECTIONS;
        }
        if let Some(v) = file.database_max_connections {
            cfg.database_max_connections = v;
        }
        if let Some(v) = layer.env("TESSERA_DATABASE_MAX_CONNECTIONS")
            && let Some(n) = layer.parse("TESSERA_DATABASE_MAX_CONNECTIONS", &v)
        {
            cfg.database_max_connections = n;
        }
        if cfg.database_max_connections == 0 {
            layer
                .errors
                .push("database_max_connections: must be at least 1".into());
        }

        for (key, env_name, slot) in [
            ("public_addr", "TESSERA_PUBLIC_ADDR", &mut cfg.public_addr),
            ("admin_addr", "TESSERA_ADMIN_ADDR", &mut cfg.admin_addr),
        ] {
            let file_value = match key {
                "public_addr" => file.public_addr.clone(),
                _ => file.admin_addr.clone(),
            };
            if let Some(v) = file_value
                && let Some(a) = layer.parse(key, &v)
            {
                *slot = a;
            }
            if let Some(v) = layer.env(env_name)
                && let Some(a) = layer.parse(env_name, &v)
            {
                *slot = a;
            }
        }

        cfg.admin_api_key = secret_value(
            &mut layer,
            ("admin_api_key", file.admin_api_key, file.admin_api_key_file),
            "TESSERA_ADMIN_API_KEY",
        )
        .map(Secret::new);
        if let Some(k) = &cfg.admin_api_key
            && k.expose().len() < 16
        {
            layer
                .errors
                .push("admin_api_key: must be at least 16 characters".into());
        }

        if let Some(hex_key) = secret_value(
            &mut layer,
            ("secret_key", file.secret_key, file.secret_key_file),
            "TESSERA_SECRET_KEY",
        ) {
            match SecretKey::from_hex(&hex_key) {
                Ok(k) => cfg.secret_key = Some(k),
                Err(e) => layer.errors.push(format!("secret_key: {e}")),
            }
        }

        if let Some(v) = file.migrate_on_start {
            cfg.migrate_on_start = v;
        }
        if let Some(v) = layer.env("TESSERA_MIGRATE_ON_START")
            && let Some(b) = layer.parse_bool("TESSERA_MIGRATE_ON_START", &v)
        {
            cfg.migrate_on_start = b;
        }

        let log_format = layer.env("TESSERA_LOG_FORMAT").or(file.log_format);
        if let Some(v) = log_format {
            match v.to_ascii_lowercase().as_str() {
                "pretty" => cfg.log_format = LogFormat::Pretty,
                "json" => cfg.log_format = LogFormat::Json,
                other => layer.errors.push(format!(
                    "log_format: expected pretty or json, got {other:?}"
                )),
            }
        }
        if let Some(v) = layer.env("TESSERA_LOG_LEVEL").or(file.log_level) {
            if tracing_subscriber::EnvFilter::try_new(&v).is_err() {
                layer
                    .errors
                    .push(format!("log_level: invalid filter {v:?}"));
            } else {
                cfg.log_level = v;
            }
        }

        if let Some(v) = file.body_limit {
            cfg.body_limit = v;
        }
        if let Some(v) = layer.env("TESSERA_BODY_LIMIT")
            && let Some(n) = layer.parse("TESSERA_BODY_LIMIT", &v)
        {
            cfg.body_limit = n;
        }
        if cfg.body_limit < 1024 {
            layer
                .errors
                .push("body_limit: must be at least 1024 bytes".into());
        }

        if let Some(v) = layer.env("TESSERA_PUBLIC_URL").or(file.public_url) {
            public_url_set = true;
            match url::Url::parse(&v) {
                Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {
                    cfg.public_url = v.trim_end_matches('/').to_string();
                }
                _ => layer
                    .errors
                    .push(format!("public_url: must be an http(s) URL, got {v:?}")),
            }
        }
        if !public_url_set {
            cfg.public_url = format!("http://{}", cfg.public_addr);
        }

        if let Some(n) = layer.number(file.cache_ttl_secs, "TESSERA_CACHE_TTL_SECS") {
            cfg.cache_ttl_secs = n;
        }
        if !(1..=3600).contains(&cfg.cache_ttl_secs) {
            layer
                .errors
                .push("cache_ttl_secs: must be 1 to 3600".into());
        }
        if let Some(b) = layer.flag(file.demo, "TESSERA_DEMO") {
            cfg.demo = b;
        }
        cfg.demo_tenant = layer.env("TESSERA_DEMO_TENANT").or(file.demo_tenant);
        if let Some(b) = layer.flag(file.rate_limit, "TESSERA_RATE_LIMIT") {
            cfg.rate_limit.enabled = b;
        }
        if let Some(n) = layer.number(
            file.rate_limit_window_secs,
            "TESSERA_RATE_LIMIT_WINDOW_SECS",
        ) {
            cfg.rate_limit.window_secs = n;
        }
        if let Some(n) = layer.number(file.rate_limit_per_ip, "TESSERA_RATE_LIMIT_PER_IP") {
            cfg.rate_limit.per_ip = n;
        }
        if let Some(n) = layer.number(file.rate_limit_per_tenant, "TESSERA_RATE_LIMIT_PER_TENANT") {
            cfg.rate_limit.per_tenant = n;
        }
        let limits = &cfg.rate_limit;
        if limits.window_secs == 0 || limits.per_ip == 0 || limits.per_tenant == 0 {
            layer.errors.push(
                "rate_limit_window_secs, rate_limit_per_ip and rate_limit_per_tenant: must be at least 1"
                    .into(),
            );
        }
        let proxies = match layer.env("TESSERA_TRUSTED_PROXIES") {
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
            None => file.trusted_proxies.unwrap_or_default(),
        };
        for p in proxies {
            match p.parse::<IpNet>() {
                Ok(net) => cfg.trusted_proxies.push(net),
                Err(e) => layer.errors.push(format!("trusted_proxies: {e}")),
            }
        }

        if layer.errors.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigErrors(layer.errors))
        }
    }

    /// `TESSERA_*` variables in `env` that Tessera does not know, most likely misspelt.
    pub fn unknown_env_vars(env: &BTreeMap<String, String>) -> Vec<String> {
        env.keys()
            .filter(|k| k.starts_with("TESSERA_") && !ENV_VARS.contains(&k.as_str()))
            .cloned()
            .collect()
    }

    /// The configuration as TOML-like key/value pairs with secrets redacted, for `tessera config --dump`.
    pub fn redacted(&self) -> BTreeMap<&'static str, serde_json::Value> {
        let redact = |set: bool| {
            serde_json::Value::String(if set { "[redacted]" } else { "(not set)" }.into())
        };
        BTreeMap::from([
            (
                "database_url",
                serde_json::Value::String(redact_url(self.database_url.expose())),
            ),
            (
                "database_max_connections",
                self.database_max_connections.into(),
            ),
            ("public_addr", self.public_addr.to_string().into()),
            ("admin_addr", self.admin_addr.to_string().into()),
            ("admin_api_key", redact(self.admin_api_key.is_some())),
            ("secret_key", redact(self.secret_key.is_some())),
            ("migrate_on_start", self.migrate_on_start.into()),
            (
                "log_format",
                serde_json::to_value(self.log_format).unwrap_or_default(),
            ),
            ("log_level", self.log_level.clone().into()),
            ("body_limit", self.body_limit.into()),
            ("public_url", self.public_url.clone().into()),
            ("cache_ttl_secs", self.cache_ttl_secs.into()),
            ("demo", self.demo.into()),
            (
                "demo_tenant",
                self.demo_tenant.clone().map(Into::into).unwrap_or_default(),
            ),
            ("rate_limit", self.rate_limit.enabled.into()),
            ("rate_limit_window_secs", self.rate_limit.window_secs.into()),
            ("rate_limit_per_ip", self.rate_limit.per_ip.into()),
            ("rate_limit_per_tenant", self.rate_limit.per_tenant.into()),
            (
                "trusted_proxies",
                self.trusted_proxies
                    .iter()
                    .map(|n| n.to_string().into())
                    .collect::<Vec<serde_json::Value>>()
                    .into(),
            ),
        ])
    }

    /// Where `serve --dev` keeps a generated server secret: beside the SQLite file, or in the working directory.
    pub fn dev_secret_path(&self) -> PathBuf {
        sqlite_path(self.database_url.expose())
            .and_then(|p| p.parent().map(|d| d.join("tessera.secret")))
            .filter(|p| p.parent().is_some_and(|d| !d.as_os_str().is_empty()))
            .unwrap_or_else(|| PathBuf::from("tessera.secret"))
    }
}

/// Reads a secret from the environment (`NAME`, then `NAME_FILE`) or the file (`key`, then `key_file`).
fn secret_value(
    layer: &mut Layer<'_>,
    (key, file_value, file_path): (&str, Option<String>, Option<PathBuf>),
    env_name: &str,
) -> Option<String> {
    let file_name = format!("{env_name}_FILE");
    if let Some(v) = layer.env(env_name) {
        return Some(v);
    }
    if let Some(p) = layer.env(&file_name) {
        return layer.read_file(&file_name, Path::new(&p));
    }
    if let Some(v) = file_value {
        return Some(v);
    }
    file_path.and_then(|p| layer.read_file(&format!("{key}_file"), &p))
}

/// The file path of a SQLite URL, if it names one.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Hides the password of a database URL.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("redacted"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let cfg = Config::load(None, &env(&[])).expect("defaults are valid");
        assert_eq!(cfg.database_url.expose(), DEFAULT_DATABASE_URL);
        assert_eq!(cfg.public_addr.to_string(), "127.0.0.1:8000");
        assert_eq!(cfg.admin_addr.to_string(), "127.0.0.1:8001");
        assert!(cfg.secret_key.is_none());
        assert!(cfg.migrate_on_start);
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.toml");
        std::fs::write(
            &path,
            "public_addr = \"127.0.0.1:9000\"\nadmin_addr = \"127.0.0.1:9001\"\n",
        )
        .expect("write");
        let cfg = Config::load(
            Some(&path),
            &env(&[("TESSERA_PUBLIC_ADDR", "127.0.0.1:9100")]),
        )
        .expect("valid");
        assert_eq!(cfg.public_addr.to_string(), "127.0.0.1:9100");
        assert_eq!(cfg.admin_addr.to_string(), "127.0.0.1:9001");
    }

    #[test]
    fn every_error_is_listed_at_once() {
        let err = Config::load(
            None,
            &env(&[
                ("TESSERA_PUBLIC_ADDR", "nope"),
                ("TESSERA_SECRET_KEY", "abc"),
                ("TESSERA_LOG_FORMAT", "xml"),
                ("TESSERA_DATABASE_URL", "mysql://x"),
            ]),
        )
        .expect_err("invalid");
        assert_eq!(err.0.len(), 4, "{err}");
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "pubic_addr = \"127.0.0.1:9000\"\n").expect("write");
        let err = Config::load(Some(&path), &env(&[])).expect_err("unknown key");
        assert!(err.to_string().contains("pubic_addr"), "{err}");
    }

    #[test]
    fn secrets_are_read_from_files_and_never_printed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key_path = dir.path().join("key");
        let key = "11".repeat(32);
        std::fs::write(&key_path, format!("{key}\n")).expect("write");
        let cfg = Config::load(
            None,
            &env(&[
                ("TESSERA_SECRET_KEY_FILE", key_path.to_str().expect("utf-8")),
                ("TESSERA_ADMIN_API_KEY", "admin-key-of-some-length"),
                ("TESSERA_DATABASE_URL", "postgres://u:hunter2@localhost/db"),
            ]),
        )
        .expect("valid");
        assert_eq!(
            cfg.secret_key.as_ref().map(SecretKey::to_hex),
            Some(key.clone())
        );
        let printed = format!("{cfg:?} {:?}", cfg.redacted());
        assert!(!printed.contains(&key));
        assert!(!printed.contains("admin-key-of-some-length"));
        assert!(!printed.contains("hunter2"));
    }

    #[test]
    fn the_example_configuration_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/tessera.example.toml");
        let cfg = Config::load(Some(&path), &env(&[])).expect("example is valid");
        assert_eq!(cfg.public_url, "http://localhost:8000");
    }

    #[test]
    fn trusted_proxies_are_networks() {
        let cfg = Config::load(
            None,
            &env(&[("TESSERA_TRUSTED_PROXIES", "10.0.0.0/8, ::1,192.168.1.7")]),
        )
        .expect("valid");
        let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("ip");
        let trusted = |s: &str| cfg.trusted_proxies.iter().any(|n| n.contains(ip(s)));
        assert!(trusted("10.200.3.4"));
        assert!(trusted("::ffff:10.1.1.1"));
        assert!(trusted("::1"));
        assert!(trusted("192.168.1.7"));
        assert!(!trusted("192.168.1.8"));
        assert!(!trusted("11.0.0.1"));
        let err = Config::load(
            None,
            &env(&[("TESSERA_TRUSTED_PROXIES", "10.0.0.0/33,nope")]),
        )
        .expect_err("invalid");
        assert_eq!(err.0.len(), 2, "{err}");
    }

    #[test]
    fn rate_limits_can_be_switched_off_and_tuned() {
        let cfg = Config::load(
            None,
            &env(&[
                ("TESSERA_RATE_LIMIT", "off"),
                ("TESSERA_RATE_LIMIT_PER_IP", "5"),
                ("TESSERA_RATE_LIMIT_WINDOW_SECS", "2"),
            ]),
        )
        .expect("valid");
        assert!(!cfg.rate_limit.enabled);
        assert_eq!(cfg.rate_limit.per_ip, 5);
        assert_eq!(cfg.rate_limit.window_secs, 2);
        assert!(Config::load(None, &env(&[("TESSERA_RATE_LIMIT_PER_IP", "0")])).is_err());
    }

    #[test]
    fn misspelt_variables_are_reported() {
        let unknown = Config::unknown_env_vars(&env(&[
            ("TESSERA_DATABSE_URL", "x"),
            ("TESSERA_DATABASE_URL", "sqlite::memory:"),
        ]));
        assert_eq!(unknown, vec!["TESSERA_DATABSE_URL".to_string()]);
    }

    #[test]
    fn the_dev_secret_lives_beside_the_database() {
        let mut cfg = Config::default();
        assert_eq!(cfg.dev_secret_path(), PathBuf::from("tessera.secret"));
        cfg.database_url = Secret::new("sqlite:///var/lib/tessera/t.db?mode=rwc");
        assert_eq!(
            cfg.dev_secret_path(),
            PathBuf::from("/var/lib/tessera/tessera.secret")
        );
    }
}
