//! Configuration from environment variables, with defaults that are safe for a
//! local run only (see README for the full list).

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything the service reads from its environment.
#[derive(Clone)]
pub struct Settings {
    /// `DATABASE_URL`; `None` means a private local cluster under `data_dir`.
    pub database_url: Option<String>,
    /// `BIND_ADDR`, default `127.0.0.1:8080`.
    pub bind_addr: SocketAddr,
    /// `ZIKAO_DATA_DIR`, default `.data`: the local cluster and generated keys.
    pub data_dir: PathBuf,
    /// `CORS_ALLOWED_ORIGINS`: comma-separated origins; none by default.
    pub cors_allowed_origins: Vec<String>,
    /// `DB_POOL_SIZE`, default 16.
    pub db_pool_size: u32,
    /// `BODY_LIMIT_BYTES`, default 1 MiB: the largest JSON body accepted.
    pub body_limit: usize,
    /// `LOG_FORMAT=json` for JSON logs; anything else gives human-readable lines.
    pub log_json: bool,
    /// `SHUTDOWN_TIMEOUT_SECS`, default 30: how long in-flight requests may drain.
    pub shutdown_timeout_secs: u64,
    /// `WORKERS`: HTTP worker threads; default one per core.
    pub workers: Option<usize>,
    /// Whether the server stops on SIGINT/SIGTERM (off for in-process test servers).
    pub handle_signals: bool,
    /// `LOAD_SAMPLE_CATALOG` (`true`/`false`): on a database with no catalogue yet,
    /// import `data/sample-catalog.json` and create a demo round with open windows.
    /// Default: true only when `DATABASE_URL` is unset (a local run).
    pub load_sample_catalog: bool,
    /// Where the token signing key comes from.
    pub jwt_key: JwtKeySource,
    /// `TRUSTED_PROXIES`: comma-separated CIDRs whose `X-Forwarded-For` is
    /// believed (the client address rule of [`crate::http::client`]); none by default.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Where the Ed25519 token signing key comes from.
#[derive(Clone)]
pub enum JwtKeySource {
    /// `JWT_PRIVATE_KEY`: a PKCS#8 PEM in the environment.
    Pem(String),
    /// `JWT_KEY_FILE`, default `<data dir>/jwt-ed25519.pem`: read, or created on first run.
    File(PathBuf),
    /// A fresh key per process (tests).
    Ephemeral,
}

impl std::fmt::Debug for JwtKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtKeySource::Pem(_) => f.write_str("Pem(<hidden>)"),
            JwtKeySource::File(path) => write!(f, "File({})", path.display()),
            JwtKeySource::Ephemeral => f.write_str("Ephemeral"),
        }
    }
}

// A hand-written Debug so that a URL with a password never reaches a log.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &self.database_url.as_ref().map(|_| "<set>"))
            .field("bind_addr", &self.bind_addr)
            .field("data_dir", &self.data_dir)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("db_pool_size", &self.db_pool_size)
            .field("body_limit", &self.body_limit)
            .field("log_json", &self.log_json)
            .field("jwt_key", &self.jwt_key)
            .field("load_sample_catalog", &self.load_sample_catalog)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish()
    }
}

/// A variable that is set but unusable.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name} is invalid: {reason}")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(text) => text.trim().parse().map_err(|e: T::Err| ConfigError {
            name,
            reason: e.to_string(),
        }),
    }
}

impl Settings {
    /// Reads the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let data_dir = var("ZIKAO_DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".data"));
        let jwt_key = match (var("JWT_PRIVATE_KEY"), var("JWT_KEY_FILE")) {
            (Some(pem), _) => JwtKeySource::Pem(pem),
            (None, Some(file)) => JwtKeySource::File(PathBuf::from(file)),
            (None, None) => JwtKeySource::File(data_dir.join("jwt-ed25519.pem")),
        };
        let database_url = var("DATABASE_URL");
        Ok(Self {
            jwt_key,
            load_sample_catalog: parse("LOAD_SAMPLE_CATALOG", database_url.is_none())?,
            database_url,
            bind_addr: parse("BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
            data_dir,
            cors_allowed_origins: var("CORS_ALLOWED_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            db_pool_size: parse("DB_POOL_SIZE", 16)?,
            body_limit: parse("BODY_LIMIT_BYTES", crate::http::extract::DEFAULT_BODY_LIMIT)?,
            log_json: var("LOG_FORMAT").is_some_and(|v| v.eq_ignore_ascii_case("json")),
            shutdown_timeout_secs: parse("SHUTDOWN_TIMEOUT_SECS", 30)?,
            workers: var("WORKERS").map(|_| parse("WORKERS", 1)).transpose()?,
            handle_signals: true,
            trusted_proxies: crate::http::client::parse_trusted(
                &var("TRUSTED_PROXIES").unwrap_or_default(),
            )
            .map_err(|reason| ConfigError {
                name: "TRUSTED_PROXIES",
                reason,
            })?,
        })
    }

    /// Settings for tests: the given database, port 0, nothing else set.
    pub fn for_tests(database_url: String) -> Self {
        Self {
            database_url: Some(database_url),
            bind_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: std::env::temp_dir().join("zikao-cert-test-data"),
            cors_allowed_origins: Vec::new(),
            db_pool_size: 4,
            body_limit: crate::http::extract::DEFAULT_BODY_LIMIT,
            log_json: false,
            shutdown_timeout_secs: 5,
            workers: Some(1),
            handle_signals: false,
            jwt_key: JwtKeySource::Ephemeral,
            load_sample_catalog: false,
            trusted_proxies: Vec::new(),
        }
    }
}
