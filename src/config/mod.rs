//! Typed configuration read from the environment (and `.env`), so that a bad value stops the process at startup with
//! one clear line instead of failing later inside a request.

mod base_url;
mod environment;
mod notifications;
mod rabbitmq;
mod token_keys;
mod vars;

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use vars::Vars;

pub use base_url::BaseUrl;
pub use environment::Environment;
pub use notifications::{NotificationSettings, SubscriberSettings, DEFAULT_KEYSET_URL};
pub use rabbitmq::rabbitmq_uri_with_vhost;
pub use token_keys::TokenKey;

/// Every setting the service reads, already parsed.
#[derive(Clone, Debug)]
pub struct Settings {
    pub environment: Environment,
    pub port_http: u16,
    pub port_https: u16,
    pub ssl_key_path: PathBuf,
    pub ssl_cert_path: PathBuf,
    /// How often the certificate files are checked for a renewal (`SSL_RELOAD_INTERVAL_SECS`, default 60; `0`: only
    /// on `SIGHUP`).
    pub ssl_reload_interval: Option<Duration>,
    /// The MongoDB URI in force: `MONGODB_URI_TEST` when `NODE_ENV=test`, `MONGODB_URI` otherwise.
    pub mongodb_uri: ServiceUri,
    pub redis_uri: ServiceUri,
    /// `RABBITMQ_URI` with the vhost rule applied (docs/decisions.md#rabbitmq-vhost).
    pub rabbitmq_uri: ServiceUri,
    /// The host (and port, if not 443) clients reach the HTTPS API at (`HTTPS_PUBLIC_HOST`): where the plain-HTTP
    /// redirect points. `None`: the certificate's first DNS name and `PORT_HTTPS`.
    pub https_public_host: Option<String>,
    pub rabbitmq_ca_path: PathBuf,
    pub fitbit: ClientCredentials,
    pub fitbit_api_url: BaseUrl,
    pub google: ClientCredentials,
    pub google_health_api_url: BaseUrl,
    pub google_oauth_url: BaseUrl,
    /// The connect flow's callback as Google must call it (`GOOGLE_CALLBACK_URL`). Required in production; elsewhere,
    /// by default, derived from the request's `Host`.
    pub google_callback_url: Option<String>,
    /// Where the connect flow may send a family's browser back (`GOOGLE_REDIRECT_URIS`): the app's pages, as URL
    /// prefixes (docs/operations.md#the-google-connect-flow). Empty: the connect flow is refused.
    pub google_redirect_uris: Vec<reqwest::Url>,
    /// The key that signs the connect flow's `state` (`GOOGLE_CONNECT_STATE_KEY`), shared by every instance.
    /// `None`: derived from `GOOGLE_CLIENT_SECRET`.
    pub google_connect_state_key: Option<SecretString>,
    /// Health API requests per second per child (`GOOGLE_REQUESTS_PER_SECOND`), shared by every part of its sync,
    /// with bursts of twice that.
    pub google_requests_per_second: f64,
    /// Health API requests per minute of the whole Cloud project, every instance together
    /// (`GOOGLE_PROJECT_REQUESTS_PER_MINUTE`), shared through Redis: below Google's 120,000 to leave headroom.
    pub google_project_requests_per_minute: u32,
    /// Google Health notifications (`GOOGLE_NOTIFICATION_*`); off unless a secret is set.
    pub notifications: NotificationSettings,
    /// Seals the tokens at rest (`TOKEN_ENCRYPTION_KEY`); unset, they are stored in clear.
    pub token_encryption_key: Option<TokenKey>,
    /// Keys that sealed tokens before the current one (`TOKEN_ENCRYPTION_KEYS_PREVIOUS`): they only open.
    pub token_encryption_keys_previous: Vec<TokenKey>,
    /// When the cron fires (`EXPRESSION_AUTO_SYNC`), parsed once.
    pub auto_sync: AutoSync,
    /// Syncs in flight per instance (`SYNC_CONCURRENCY`): most of them wait for their child's pace, holding no page.
    pub sync_concurrency: usize,
    /// Pages every sync of the instance holds together, from the request to the record (`SYNC_PAGES_IN_FLIGHT`):
    /// what bounds the memory of many syncs.
    pub sync_pages_in_flight: usize,
    /// A sync job whose worker stopped reporting for this long is taken over (`SYNC_RECLAIM_AFTER_SECS`).
    pub sync_reclaim_after: Duration,
    /// First retry delay of a sync job that failed for a passing reason, doubled per attempt
    /// (`SYNC_RETRY_BASE_SECS`).
    pub sync_retry_base: Duration,
    /// How long `POST …/fitbit/sync` waits for a first sync before it answers 202 and lets it go on
    /// (`SYNC_ROUTE_WAIT_SECS`): below the OCARIoT gateway's 10 s proxy timeout.
    pub sync_route_wait: Duration,
    /// Connections both servers hold at most (`HTTP_MAX_CONNECTIONS`); more are refused at once.
    pub http_max_connections: usize,
    /// The queue of the `UserDeleteEvent` subscription; `data.sync.agent.app`, as in the original. Not a variable: only
    /// tests, which share one broker, change it.
    pub user_delete_queue: String,
    pub log_dir: PathBuf,
    pub mongodb_timeout: Duration,
    /// Of every Redis call and connection attempt (`REDIS_TIMEOUT_MS`).
    pub redis_timeout: Duration,
    pub provider_timeout: Duration,
}

/// A URI that may carry a password (MongoDB, Redis, RabbitMQ): `{:?}` and error texts show it masked; the
/// clients get it whole through [`ServiceUri::expose`].
#[derive(Clone, PartialEq)]
pub struct ServiceUri(String);

impl ServiceUri {
    pub fn new(uri: impl Into<String>) -> Self {
        ServiceUri(uri.into())
    }

    /// The URI as the client library needs it, password included: never for a log line.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URI with its password replaced by `***`.
    pub fn masked(&self) -> String {
        mask_password(&self.0)
    }

    /// `text` (an error of the client library) with this URI's password replaced by `***`, however it quotes it.
    pub fn scrub(&self, text: &str) -> String {
        scrub_password(&self.0, text)
    }

    /// A client's `error` with its causes, as one line without this URI's password: the MongoDB and Redis clients
    /// may quote the URI they were given.
    pub fn scrub_error(&self, error: &(dyn std::error::Error + 'static)) -> String {
        self.scrub(&crate::error_chain::Chain(error).to_string())
    }
}

impl std::fmt::Debug for ServiceUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.masked())
    }
}

/// The cron's schedule: the expression as configured (for log lines) and as parsed.
#[derive(Clone, Debug)]
pub struct AutoSync {
    pub expression: String,
    pub schedule: croner::Cron,
}

/// OAuth client credentials of one provider. Either part may be missing; `GET /v1/fitbit` answers 404 then. The
/// secret is a [`SecretString`]: it never reaches a log line, even through `{:?}`.
#[derive(Clone, Debug, Default)]
pub struct ClientCredentials {
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
}

impl ClientCredentials {
    /// The secret as the provider's token endpoint wants it (empty when unset).
    pub fn secret(&self) -> &str {
        self.client_secret.as_ref().map_or("", |secret| secret.expose_secret())
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("invalid {name}={value:?}: {reason}")]
    Invalid { name: &'static str, value: String, reason: String },
}

impl ConfigError {
    fn invalid(name: &'static str, value: &str, reason: impl Into<String>) -> Self {
        ConfigError::Invalid { name, value: value.to_string(), reason: reason.into() }
    }
}

/// The name the original registered with the broker; also the subscriber's queue name.
pub const APP_NAME: &str = "data.sync.agent.app";

pub const DEFAULT_EXPRESSION_AUTO_SYNC: &str = "0 0 * * 0";
/// Half of the usual 1,024 descriptors a process gets, leaving the rest to MongoDB, Redis, RabbitMQ and the
/// provider connections.
const DEFAULT_HTTP_MAX_CONNECTIONS: usize = 512;
/// Below the 2.5 requests per second per user that Google allows an app it has not verified
/// (docs/google-health.md#pacing).
const DEFAULT_GOOGLE_REQUESTS_PER_SECOND: f64 = 2.0;
/// Syncs in flight per instance: enough that paced syncs fill every child's budget, since a sync waiting for its
/// turn holds a few kilobytes and no page (docs/performance.md#what-bounds-throughput).
const DEFAULT_SYNC_CONCURRENCY: usize = 256;
/// Pages held at once by every sync of an instance: what bounds their memory, about 1.7 MiB a page at the most (a page
/// of 25 nights with their stages), so that 200 first syncs at once stay within 100 MiB
/// (docs/performance.md#what-bounds-throughput).
pub const DEFAULT_SYNC_PAGES_IN_FLIGHT: usize = 16;
/// 90 % of Google's 120,000 a minute per project.
const DEFAULT_GOOGLE_PROJECT_REQUESTS_PER_MINUTE: u32 = 108_000;

impl Settings {
    /// Reads the process environment. Call `dotenvy::dotenv()` first so that `.env` fills the gaps.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, which returns the raw value of a variable. An empty value counts as unset,
    /// as `process.env.X || default` did in the original.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars::new(&lookup);
        let environment = Environment::parse(vars.get("NODE_ENV").as_deref());
        let mongodb_uri = match environment {
            Environment::Test => vars.text("MONGODB_URI_TEST", "mongodb://127.0.0.1:27017/ocariot-ds-agent-test"),
            _ => vars.text("MONGODB_URI", "mongodb://127.0.0.1:27017/ocariot-ds-agent"),
        };
        if !(mongodb_uri.starts_with("mongodb://") || mongodb_uri.starts_with("mongodb+srv://")) {
            let name = if environment == Environment::Test { "MONGODB_URI_TEST" } else { "MONGODB_URI" };
            let shown = mask_password(&mongodb_uri);
            return Err(ConfigError::invalid(name, &shown, "expected a mongodb:// or mongodb+srv:// URI"));
        }

        let redis_uri = vars.text("REDIS_URI", "redis://127.0.0.1:6379");
        redis::Client::open(redis_uri.as_str()).map_err(|e| {
            ConfigError::invalid("REDIS_URI", &mask_password(&redis_uri), scrub_password(&redis_uri, &e.to_string()))
        })?;

        let raw_rabbitmq = vars.text("RABBITMQ_URI", "amqp://guest:guest@127.0.0.1:5672");
        let rabbitmq_uri = rabbitmq_uri_with_vhost(&raw_rabbitmq)
            .map_err(|reason| ConfigError::invalid("RABBITMQ_URI", &mask_password(&raw_rabbitmq), reason))?;

        let expression = vars.text("EXPRESSION_AUTO_SYNC", DEFAULT_EXPRESSION_AUTO_SYNC);
        let schedule = parse_cron(&expression)
            .map_err(|reason| ConfigError::invalid("EXPRESSION_AUTO_SYNC", &expression, reason))?;

        let (token_encryption_key, token_encryption_keys_previous) =
            token_keys::read(vars.get(token_keys::CURRENT).as_deref(), vars.get(token_keys::PREVIOUS).as_deref())?;
        let base_url = |name: &'static str, default: &str| BaseUrl::parse(name, &vars.text(name, default));

        Ok(Settings {
            environment,
            port_http: vars.port("PORT_HTTP", 5000)?,
            port_https: vars.port("PORT_HTTPS", 5001)?,
            ssl_key_path: vars.path("SSL_KEY_PATH", ".certs/server.key"),
            ssl_cert_path: vars.path("SSL_CERT_PATH", ".certs/server.crt"),
            ssl_reload_interval: vars.parsed(
                "SSL_RELOAD_INTERVAL_SECS",
                Some(Duration::from_secs(60)),
                "expected a whole number of seconds (0: reload on SIGHUP only)",
                |v| v.parse::<u64>().ok().map(|secs| (secs > 0).then(|| Duration::from_secs(secs))),
            )?,
            mongodb_uri: ServiceUri(mongodb_uri),
            redis_uri: ServiceUri(redis_uri),
            rabbitmq_uri: ServiceUri(rabbitmq_uri),
            https_public_host: vars
                .get("HTTPS_PUBLIC_HOST")
                .map(|host| parse_host("HTTPS_PUBLIC_HOST", &host))
                .transpose()?,
            rabbitmq_ca_path: vars.path("RABBITMQ_CA_PATH", ".certs/rabbitmqca.crt"),
            fitbit: ClientCredentials {
                client_id: vars.get("FITBIT_CLIENT_ID"),
                client_secret: vars.get("FITBIT_CLIENT_SECRET").map(SecretString::from),
            },
            fitbit_api_url: base_url("FITBIT_API_URL", "https://api.fitbit.com")?,
            google: ClientCredentials {
                client_id: vars.get("GOOGLE_CLIENT_ID"),
                client_secret: vars.get("GOOGLE_CLIENT_SECRET").map(SecretString::from),
            },
            google_health_api_url: base_url("GOOGLE_HEALTH_API_URL", "https://health.googleapis.com")?,
            google_oauth_url: base_url("GOOGLE_OAUTH_URL", "https://oauth2.googleapis.com")?,
            google_callback_url: vars
                .get("GOOGLE_CALLBACK_URL")
                .map(|url| parse_web_url("GOOGLE_CALLBACK_URL", &url, environment))
                .transpose()?
                .map(String::from),
            google_redirect_uris: vars
                .get("GOOGLE_REDIRECT_URIS")
                .map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|entry| !entry.is_empty())
                        .map(|entry| parse_web_url("GOOGLE_REDIRECT_URIS", entry, environment))
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?
                .unwrap_or_default(),
            google_connect_state_key: vars
                .get("GOOGLE_CONNECT_STATE_KEY")
                .map(|key| match key.len() >= 32 {
                    true => Ok(SecretString::from(key)),
                    false => Err(ConfigError::invalid(
                        "GOOGLE_CONNECT_STATE_KEY",
                        "<hidden>",
                        "expected at least 32 characters (e.g. `openssl rand -base64 32`)",
                    )),
                })
                .transpose()?,
            google_requests_per_second: vars.rate("GOOGLE_REQUESTS_PER_SECOND", DEFAULT_GOOGLE_REQUESTS_PER_SECOND)?,
            google_project_requests_per_minute: vars.parsed(
                "GOOGLE_PROJECT_REQUESTS_PER_MINUTE",
                DEFAULT_GOOGLE_PROJECT_REQUESTS_PER_MINUTE,
                "expected a whole number from 1 to 4294967295",
                |v| v.parse().ok().filter(|n| *n > 0),
            )?,
            notifications: NotificationSettings::read(&vars)?,
            token_encryption_key,
            token_encryption_keys_previous,
            auto_sync: AutoSync { expression, schedule },
            sync_concurrency: vars.count("SYNC_CONCURRENCY", DEFAULT_SYNC_CONCURRENCY)?,
            sync_pages_in_flight: vars.count("SYNC_PAGES_IN_FLIGHT", DEFAULT_SYNC_PAGES_IN_FLIGHT)?,
            sync_reclaim_after: vars.secs("SYNC_RECLAIM_AFTER_SECS", 600)?,
            sync_retry_base: vars.secs("SYNC_RETRY_BASE_SECS", 60)?,
            sync_route_wait: vars.secs("SYNC_ROUTE_WAIT_SECS", 8)?,
            http_max_connections: vars.count("HTTP_MAX_CONNECTIONS", DEFAULT_HTTP_MAX_CONNECTIONS)?,
            user_delete_queue: APP_NAME.to_string(),
            log_dir: vars.path("LOG_DIR", "logs"),
            mongodb_timeout: vars.millis("MONGODB_TIMEOUT_MS", 5000)?,
            redis_timeout: vars.millis("REDIS_TIMEOUT_MS", 5000)?,
            provider_timeout: vars.millis("PROVIDER_TIMEOUT_MS", 10000)?,
        })
    }
}

/// An absolute http(s) URL with a host and no fragment; https only in production.
fn parse_web_url(name: &'static str, value: &str, environment: Environment) -> Result<reqwest::Url, ConfigError> {
    let url = reqwest::Url::parse(value).map_err(|e| ConfigError::invalid(name, value, e.to_string()))?;
    let scheme_allowed = match environment {
        Environment::Production => url.scheme() == "https",
        _ => matches!(url.scheme(), "http" | "https"),
    };
    if !scheme_allowed || !url.has_host() || url.fragment().is_some() || !url.username().is_empty() {
        let expected = match environment {
            Environment::Production => "expected an https:// URL with a host, no user and no fragment (production)",
            _ => "expected an http(s):// URL with a host, no user and no fragment",
        };
        return Err(ConfigError::invalid(name, value, expected));
    }
    Ok(url)
}

/// A host name or address, with an optional port: what a `Location` may name.
fn parse_host(name: &'static str, value: &str) -> Result<String, ConfigError> {
    let valid = reqwest::Url::parse(&format!("https://{value}/"))
        .is_ok_and(|url| url.host_str().is_some() && url.path() == "/" && url.username().is_empty())
        && !value.contains(['/', '@', '?', '#']);
    match valid {
        true => Ok(value.to_string()),
        false => {
            Err(ConfigError::invalid(name, value, "expected a host name with an optional port, e.g. ds.example.org"))
        }
    }
}

/// Parses a node-cron expression: five fields, or six with seconds first.
pub fn parse_cron(expression: &str) -> Result<croner::Cron, String> {
    let fields = expression.split_whitespace().count();
    if !(5..=6).contains(&fields) {
        return Err(format!("expected 5 or 6 fields, got {fields}"));
    }
    croner::Cron::new(expression).with_seconds_optional().parse().map_err(|e| e.to_string())
}

/// Replaces the password of a URI with `***`, for error texts and logs; a URI too broken to parse is masked by its
/// text (what lies between the user's `:` and the last `@`).
pub fn mask_password(uri: &str) -> String {
    match reqwest::Url::parse(uri) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        Ok(_) => uri.to_string(),
        Err(_) => match password_span(uri) {
            Some((start, end)) => format!("{}***{}", &uri[..start], &uri[end..]),
            None => uri.to_string(),
        },
    }
}

/// Where the password of `uri` stands in its text: after `scheme://user:` and before the last `@`.
fn password_span(uri: &str) -> Option<(usize, usize)> {
    let authority = uri.find("://")? + 3;
    let at = authority + uri[authority..].rfind('@')?;
    let colon = authority + uri[authority..at].find(':')?;
    Some((colon + 1, at))
}

/// `text` with the password of `uri` (as written, and percent-decoded) replaced by `***`.
fn scrub_password(uri: &str, text: &str) -> String {
    let Some(password) = password_span(uri).map(|(start, end)| &uri[start..end]).filter(|p| !p.is_empty()) else {
        return text.to_string();
    };
    let decoded = percent_decode(password);
    let mut scrubbed = text.replace(password, "***");
    if !decoded.is_empty() {
        scrubbed = scrubbed.replace(&decoded, "***");
    }
    scrubbed
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_follow_the_seed_readme() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.environment, Environment::Development);
        assert_eq!((s.port_http, s.port_https), (5000, 5001));
        assert_eq!(s.mongodb_uri.expose(), "mongodb://127.0.0.1:27017/ocariot-ds-agent");
        assert_eq!(s.redis_uri.expose(), "redis://127.0.0.1:6379");
        assert_eq!(s.rabbitmq_uri.expose(), "amqp://guest:guest@127.0.0.1:5672/ocariot");
        assert_eq!(s.rabbitmq_ca_path, PathBuf::from(".certs/rabbitmqca.crt"));
        assert_eq!(s.ssl_key_path, PathBuf::from(".certs/server.key"));
        assert_eq!(s.auto_sync.expression, "0 0 * * 0");
        assert_eq!(s.fitbit_api_url.to_string(), "https://api.fitbit.com");
        assert_eq!(s.google_health_api_url.to_string(), "https://health.googleapis.com");
        assert_eq!(s.google_oauth_url.to_string(), "https://oauth2.googleapis.com");
        assert_eq!((s.sync_concurrency, s.sync_pages_in_flight), (256, 16));
        assert_eq!(s.google_requests_per_second, 2.0);
        assert_eq!(s.google_project_requests_per_minute, 108_000);
        let err = settings(&[("GOOGLE_PROJECT_REQUESTS_PER_MINUTE", "0")]).unwrap_err().to_string();
        assert!(err.contains("GOOGLE_PROJECT_REQUESTS_PER_MINUTE"), "{err}");
        assert!(s.fitbit.client_id.is_none() && s.token_encryption_key.is_none());
    }

    #[test]
    fn test_environment_selects_the_test_database() {
        let s =
            settings(&[("NODE_ENV", "test"), ("MONGODB_URI", "mongodb://x/a"), ("MONGODB_URI_TEST", "mongodb://x/b")]);
        assert_eq!(s.unwrap().mongodb_uri.expose(), "mongodb://x/b");
    }

    #[test]
    fn passwords_never_show_in_debug_or_errors() {
        let s = settings(&[
            ("REDIS_URI", "redis://:r3disPa55@127.0.0.1:6379"),
            ("MONGODB_URI", "mongodb://u:m0ngoPa55@127.0.0.1/db"),
            ("RABBITMQ_URI", "amqp://u:rabb1tPa55@127.0.0.1:5672"),
        ])
        .unwrap();
        let shown = format!("{s:?}");
        for password in ["r3disPa55", "m0ngoPa55", "rabb1tPa55"] {
            assert!(!shown.contains(password), "{shown}");
        }
        assert_eq!(s.redis_uri.expose(), "redis://:r3disPa55@127.0.0.1:6379");
        let err = settings(&[("REDIS_URI", "redis://:s3cr%40t@[bad")]).unwrap_err().to_string();
        assert!(err.contains("REDIS_URI") && !err.contains("s3cr"), "{err}");
        let err = settings(&[("MONGODB_URI", "mysql://u:s3cret@h/db")]).unwrap_err().to_string();
        assert!(err.contains("MONGODB_URI") && !err.contains("s3cret"), "{err}");
        assert_eq!(scrub_password("redis://:s3cr%40t@h", "bad s3cr@t and s3cr%40t"), "bad *** and ***");
    }

    #[test]
    fn connect_flow_urls_are_https_in_production() {
        let list = [("GOOGLE_REDIRECT_URIS", "https://app.example.org/connected, http://localhost:3000/done")];
        let s = settings(&list).unwrap();
        assert_eq!(s.google_redirect_uris.len(), 2);
        let err = settings(&[list[0], ("NODE_ENV", "production")]).unwrap_err().to_string();
        assert!(err.contains("GOOGLE_REDIRECT_URIS") && err.contains("https"), "{err}");
        assert!(settings(&[("GOOGLE_CALLBACK_URL", "http://x/cb"), ("NODE_ENV", "production")]).is_err());
        assert!(settings(&[("HTTPS_PUBLIC_HOST", "ds.example.org:8443")]).is_ok());
        assert!(settings(&[("HTTPS_PUBLIC_HOST", "evil.org/x")]).is_err());
        assert!(settings(&[("GOOGLE_CONNECT_STATE_KEY", "short")]).is_err());
    }

    #[test]
    fn empty_values_count_as_unset() {
        let s = settings(&[("PORT_HTTP", ""), ("FITBIT_CLIENT_ID", "")]).unwrap();
        assert_eq!(s.port_http, 5000);
        assert!(s.fitbit.client_id.is_none());
    }

    #[test]
    fn bad_values_are_named_in_the_error() {
        let err = settings(&[("PORT_HTTPS", "70000")]).unwrap_err().to_string();
        assert!(err.contains("PORT_HTTPS") && err.contains("70000"), "{err}");
        let err = settings(&[("EXPRESSION_AUTO_SYNC", "every sunday")]).unwrap_err().to_string();
        assert!(err.contains("EXPRESSION_AUTO_SYNC"), "{err}");
        assert!(settings(&[("EXPRESSION_AUTO_SYNC", "61 * * * *")]).is_err());
        assert!(settings(&[("SYNC_CONCURRENCY", "0")]).is_err());
        assert!(settings(&[("FITBIT_API_URL", "ftp://x")]).is_err());
        assert!(settings(&[("MONGODB_URI", "postgres://x")]).is_err());
        for rate in ["0", "-1", "fast", "inf"] {
            let err = settings(&[("GOOGLE_REQUESTS_PER_SECOND", rate)]).unwrap_err().to_string();
            assert!(err.contains("GOOGLE_REQUESTS_PER_SECOND"), "{err}");
        }
        assert_eq!(settings(&[("GOOGLE_REQUESTS_PER_SECOND", "2.5")]).unwrap().google_requests_per_second, 2.5);
        for name in ["SYNC_ROUTE_WAIT_SECS", "HTTP_MAX_CONNECTIONS"] {
            let err = settings(&[(name, "0")]).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
        let s = settings(&[]).unwrap();
        assert_eq!((s.sync_route_wait, s.http_max_connections), (Duration::from_secs(8), 512));
    }

    #[test]
    fn cron_accepts_five_and_six_fields() {
        assert!(parse_cron("0 0 * * 0").is_ok());
        assert!(parse_cron("*/10 * * * * *").is_ok());
        assert!(parse_cron("* * * *").is_err());
    }

    #[test]
    fn encryption_key_must_be_32_base64_bytes_and_is_never_echoed() {
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let s = settings(&[("TOKEN_ENCRYPTION_KEY", &key)]).unwrap();
        assert_eq!(s.token_encryption_key, Some(TokenKey::from([7u8; 32])));
        assert!(s.token_encryption_keys_previous.is_empty());
        assert!(!format!("{s:?}").contains("7, 7"), "the key is hidden from Debug");
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        let err = settings(&[("TOKEN_ENCRYPTION_KEY", &short)]).unwrap_err().to_string();
        assert!(err.contains("32 bytes") && !err.contains(&short), "{err}");
    }

    #[test]
    fn previous_keys_are_a_comma_separated_list_checked_one_by_one() {
        let b64 = |byte: u8| base64::engine::general_purpose::STANDARD.encode([byte; 32]);
        let list = format!("{}, {},", b64(1), b64(2));
        let s = settings(&[("TOKEN_ENCRYPTION_KEY", &b64(3)), ("TOKEN_ENCRYPTION_KEYS_PREVIOUS", &list)]).unwrap();
        assert_eq!(s.token_encryption_keys_previous, vec![TokenKey::from([1; 32]), TokenKey::from([2; 32])]);
        let bad = format!("{},{}", b64(1), "bm90IGEga2V5");
        let err = settings(&[("TOKEN_ENCRYPTION_KEY", &b64(3)), ("TOKEN_ENCRYPTION_KEYS_PREVIOUS", &bad)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("TOKEN_ENCRYPTION_KEYS_PREVIOUS") && err.contains("key 2"), "{err}");
        assert!(!err.contains(&b64(1)) && !err.contains("bm90IGEga2V5"), "{err}");
        let err = settings(&[("TOKEN_ENCRYPTION_KEYS_PREVIOUS", &b64(1))]).unwrap_err().to_string();
        assert!(err.contains("TOKEN_ENCRYPTION_KEY") && !err.contains(&b64(1)), "{err}");
    }

    #[test]
    fn secrets_are_hidden_from_debug_and_errors() {
        let s = settings(&[("FITBIT_CLIENT_SECRET", "s3cr3t")]).unwrap();
        assert!(!format!("{s:?}").contains("s3cr3t"));
        let err = settings(&[("RABBITMQ_URI", "amqp://u:pw@h:5672/a/b")]).unwrap_err().to_string();
        assert!(!err.contains("pw@"), "{err}");
    }
}
