//! Settings, read once from the environment (12-factor). Nothing else in the
//! application reads environment variables.
//!
//! Every problem is reported as one line naming the variable, and start-up
//! stops: a misconfigured instance must never half-serve.

use std::{fmt, path::PathBuf, time::Duration};

/// A value that must never be printed: `Debug` shows a placeholder.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object a line, for production log drains.
    Json,
    /// Readable lines for a developer's terminal.
    Pretty,
}

#[derive(Debug, Clone)]
pub enum MediaConfig {
    S3 {
        bucket: String,
        region: String,
        endpoint_url: Option<String>,
        force_path_style: bool,
        /// Bytes per multipart upload part (S3_PART_MB, default 8, at least 5).
        part_size: usize,
    },
    Local {
        dir: PathBuf,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    pub database_url: Secret,
    pub database_pool_size: u32,
    pub database_statement_timeout: Duration,
    /// How long a transaction may sit idle before PostgreSQL ends it (a request that
    /// stalls mid-transaction must not hold its locks).
    pub database_idle_in_transaction_timeout: Duration,
    pub media: MediaConfig,
    /// Signs local media download links and device cookies. At least 32 characters.
    /// Unset: a random key made for this process, so such links die when it restarts.
    pub secret_key: Secret,
    /// Whether `secret_key` was made at start-up because SECRET_KEY is unset.
    pub secret_key_generated: bool,
    pub log_format: LogFormat,
    /// Behind TLS the session cookie is `Secure` with the `__Host-` prefix and HSTS is sent.
    pub behind_tls: bool,
    /// Take the client IP from the last X-Forwarded-For entry (set by a trusted proxy such as Heroku's router).
    pub trust_proxy: bool,
    pub request_timeout: Duration,
    /// A client must send a request's headers within this (`HEADER_READ_TIMEOUT_SECS`, 10).
    pub header_read_timeout: Duration,
    /// Open connections at most (`MAX_CONNECTIONS`, 1,000); more wait to be accepted.
    pub max_connections: usize,
    /// After SIGTERM, how long requests in flight may take (`SHUTDOWN_GRACE_SECS`, 25).
    pub shutdown_grace: Duration,
    /// Largest request body, uploads included.
    pub max_upload_bytes: usize,
    /// Session idle and absolute lifetimes.
    pub session_idle_timeout: Duration,
    pub session_absolute_timeout: Duration,
    /// Where emails go, e.g. `smtps://user:pass@host:465` or `smtp://user:pass@host:587`
    /// (STARTTLS required unless the URL says otherwise). Without it, emails are logged.
    pub smtp_url: Option<Secret>,
    /// The sender of every email, e.g. "Plotcare <no-reply@plotcare.test>".
    pub email_from: String,
    /// Where people reach the app, e.g. `https://plotcare.example` (APP_BASE_URL): the
    /// start of links in emails. Unset: taken from the request's Host header.
    pub app_base_url: Option<String>,
    /// Whether `plotcare serve` also runs the job worker.
    pub run_worker: bool,
    /// A media export's zip part is closed at this size (EXPORT_MEDIA_PART_MB).
    pub export_media_part_bytes: u64,
    /// Rows read from PostgreSQL per batch while exporting (EXPORT_BATCH_ROWS).
    pub export_batch_rows: i64,
    /// Workbooks a data export writes side by side, each on its own connection (EXPORT_LANES).
    pub export_lanes: usize,
    /// A running export's lease (JOB_LEASE_SECS): another worker takes it over this long
    /// after its worker's last renewal.
    pub job_lease: Duration,
    /// How often a running job renews its lease (JOB_HEARTBEAT_SECS); under half the lease.
    pub job_heartbeat: Duration,
}

/// A configuration problem: one line, naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {variable} {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

fn invalid(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

pub const DEFAULT_DATABASE_URL: &str = "postgres://127.0.0.1:5432/plotcare";
pub const DEFAULT_EMAIL_FROM: &str = "Plotcare <no-reply@plotcare.test>";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Reads settings through `lookup`, so tests can supply their own.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let port = parse_or(&lookup, "PORT", 8080u16, "must be a port number (1-65535)")?;
        if port == 0 {
            return Err(invalid("PORT", "must be a port number (1-65535)"));
        }
        let database_url = lookup("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://"))
            || url::Url::parse(&database_url).is_err()
        {
            return Err(invalid(
                "DATABASE_URL",
                "must be a postgres:// URL, e.g. postgres://user@host:5432/plotcare",
            ));
        }
        let behind_tls = parse_bool(&lookup, "BEHIND_TLS", false)?;
        let secret_key = match lookup("SECRET_KEY") {
            Some(key) if key.len() >= 32 => key,
            Some(_) => return Err(invalid("SECRET_KEY", "must be at least 32 characters")),
            None if behind_tls => {
                return Err(invalid("SECRET_KEY", "is required when BEHIND_TLS=true"));
            }
            // No public development key: anyone could forge links with it.
            None => hex::encode(rand::random::<[u8; 32]>()),
        };
        let secret_key_generated = lookup("SECRET_KEY").is_none();
        let log_format = match lookup("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(invalid("LOG_FORMAT", "must be json or pretty")),
        };
        let media = match lookup("S3_BUCKET") {
            Some(bucket) => MediaConfig::S3 {
                bucket,
                region: lookup("AWS_REGION").unwrap_or_else(|| "eu-west-1".into()),
                endpoint_url: match lookup("AWS_ENDPOINT_URL") {
                    Some(u) if url::Url::parse(&u).is_err() => {
                        return Err(invalid("AWS_ENDPOINT_URL", "must be a URL"));
                    }
                    other => other,
                },
                force_path_style: parse_bool(&lookup, "S3_FORCE_PATH_STYLE", false)?,
                part_size: {
                    let mb: usize = parse_or(
                        &lookup,
                        "S3_PART_MB",
                        8,
                        "must be a number of megabytes from 5 to 5000",
                    )?;
                    if !(5..=5000).contains(&mb) {
                        return Err(invalid(
                            "S3_PART_MB",
                            "must be a number of megabytes from 5 to 5000",
                        ));
                    }
                    mb * 1024 * 1024
                },
            },
            None => MediaConfig::Local {
                dir: lookup("MEDIA_DIR")
                    .unwrap_or_else(|| "./media".into())
                    .into(),
            },
        };
        let pool: u32 = parse_or(
            &lookup,
            "DATABASE_POOL_SIZE",
            10,
            "must be a number from 1 to 1000",
        )?;
        if !(1..=1000).contains(&pool) {
            return Err(invalid(
                "DATABASE_POOL_SIZE",
                "must be a number from 1 to 1000",
            ));
        }
        let smtp_url = match lookup("SMTP_URL") {
            None => None,
            Some(raw) => match url::Url::parse(&raw) {
                Ok(u)
                    if matches!(u.scheme(), "smtp" | "smtps")
                        && u.host_str().is_some_and(|h| !h.is_empty()) =>
                {
                    Some(Secret::new(raw))
                }
                _ => {
                    return Err(invalid(
                        "SMTP_URL",
                        "must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@host:587",
                    ));
                }
            },
        };
        let email_from = lookup("EMAIL_FROM").unwrap_or_else(|| DEFAULT_EMAIL_FROM.into());
        if email_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "EMAIL_FROM",
                "must be an email address, e.g. Plotcare <no-reply@example.com>",
            ));
        }
        let app_base_url = match lookup("APP_BASE_URL") {
            None => None,
            Some(raw) => {
                let base = raw.trim().trim_end_matches('/').to_owned();
                match url::Url::parse(&base) {
                    Ok(u)
                        if matches!(u.scheme(), "http" | "https")
                            && u.host().is_some()
                            && u.path() == "/"
                            && u.query().is_none() =>
                    {
                        Some(base)
                    }
                    _ => {
                        return Err(invalid(
                            "APP_BASE_URL",
                            "must be the app's address, e.g. https://plotcare.example",
                        ));
                    }
                }
            }
        };
        if behind_tls && app_base_url.is_none() {
            return Err(invalid(
                "APP_BASE_URL",
                "is required when BEHIND_TLS=true (links in emails start with it)",
            ));
        }
        let run_worker = parse_bool(&lookup, "RUN_WORKER", true)?;
        let export_media_part_mb: u64 = parse_or(
            &lookup,
            "EXPORT_MEDIA_PART_MB",
            1024,
            "must be a number of megabytes from 1 to 1000000",
        )?;
        if !(1..=1_000_000).contains(&export_media_part_mb) {
            return Err(invalid(
                "EXPORT_MEDIA_PART_MB",
                "must be a number of megabytes from 1 to 1000000",
            ));
        }
        let export_batch_rows: i64 = parse_or(
            &lookup,
            "EXPORT_BATCH_ROWS",
            10_000,
            "must be a number from 1 to 100000",
        )?;
        if !(1..=100_000).contains(&export_batch_rows) {
            return Err(invalid(
                "EXPORT_BATCH_ROWS",
                "must be a number from 1 to 100000",
            ));
        }
        let export_lanes: usize =
            parse_or(&lookup, "EXPORT_LANES", 2, "must be a number from 1 to 8")?;
        if !(1..=8).contains(&export_lanes) {
            return Err(invalid("EXPORT_LANES", "must be a number from 1 to 8"));
        }
        let job_lease: u64 = parse_or(
            &lookup,
            "JOB_LEASE_SECS",
            120,
            "must be a number of seconds from 2 to 3600",
        )?;
        if !(2..=3600).contains(&job_lease) {
            return Err(invalid(
                "JOB_LEASE_SECS",
                "must be a number of seconds from 2 to 3600",
            ));
        }
        let job_heartbeat: u64 = parse_or(
            &lookup,
            "JOB_HEARTBEAT_SECS",
            30,
            "must be a number of seconds",
        )?;
        if job_heartbeat == 0 || job_heartbeat * 2 > job_lease {
            return Err(invalid(
                "JOB_HEARTBEAT_SECS",
                "must be at least 1 and at most half of JOB_LEASE_SECS",
            ));
        }
        let minutes = |v: u64| Duration::from_secs(v * 60);
        Ok(Config {
            port,
            database_url: Secret::new(database_url),
            database_pool_size: pool,
            database_statement_timeout: Duration::from_millis(parse_or(
                &lookup,
                "DATABASE_STATEMENT_TIMEOUT_MS",
                15_000,
                "must be a number of milliseconds",
            )?),
            database_idle_in_transaction_timeout: Duration::from_millis(parse_or(
                &lookup,
                "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS",
                60_000,
                "must be a number of milliseconds",
            )?),
            media,
            secret_key: Secret::new(secret_key),
            secret_key_generated,
            log_format,
            behind_tls,
            trust_proxy: parse_bool(&lookup, "TRUST_PROXY", false)?,
            request_timeout: Duration::from_secs(parse_or(
                &lookup,
                "REQUEST_TIMEOUT_SECS",
                30,
                "must be a number of seconds",
            )?),
            header_read_timeout: Duration::from_secs(parse_or(
                &lookup,
                "HEADER_READ_TIMEOUT_SECS",
                10,
                "must be a number of seconds",
            )?),
            max_connections: parse_or(
                &lookup,
                "MAX_CONNECTIONS",
                1000usize,
                "must be a number of connections",
            )?,
            shutdown_grace: Duration::from_secs(parse_or(
                &lookup,
                "SHUTDOWN_GRACE_SECS",
                25,
                "must be a number of seconds",
            )?),
            max_upload_bytes: parse_or(
                &lookup,
                "MAX_UPLOAD_MB",
                25usize,
                "must be a number of megabytes",
            )? * 1024
                * 1024,
            session_idle_timeout: minutes(parse_or(
                &lookup,
                "SESSION_IDLE_MINUTES",
                30,
                "must be a number of minutes",
            )?),
            session_absolute_timeout: minutes(parse_or(
                &lookup,
                "SESSION_ABSOLUTE_MINUTES",
                12 * 60,
                "must be a number of minutes",
            )?),
            smtp_url,
            email_from,
            app_base_url,
            run_worker,
            export_media_part_bytes: export_media_part_mb * 1024 * 1024,
            export_batch_rows,
            export_lanes,
            job_lease: Duration::from_secs(job_lease),
            job_heartbeat: Duration::from_secs(job_heartbeat),
        })
    }
}

fn parse_or<T: std::str::FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    problem: &str,
) -> Result<T, ConfigError> {
    match lookup(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| invalid(name, problem)),
    }
}

fn parse_bool(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match lookup(name)
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(_) => Err(invalid(name, "must be true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_run_on_a_bare_machine() {
        let c = config(&[]).unwrap();
        assert_eq!(c.port, 8080);
        assert_eq!(c.database_url.expose(), DEFAULT_DATABASE_URL);
        assert!(matches!(c.media, MediaConfig::Local { .. }));
        assert_eq!(c.max_upload_bytes, 25 * 1024 * 1024);
    }

    #[test]
    fn a_bad_port_names_the_variable() {
        let err = config(&[("PORT", "abc")]).unwrap_err();
        assert_eq!(err.variable, "PORT");
        assert!(err.to_string().starts_with("configuration error: PORT"));
    }

    #[test]
    fn a_malformed_database_url_names_the_variable() {
        assert_eq!(
            config(&[("DATABASE_URL", "mysql://x")])
                .unwrap_err()
                .variable,
            "DATABASE_URL"
        );
        assert_eq!(
            config(&[("DATABASE_URL", "postgres://[")])
                .unwrap_err()
                .variable,
            "DATABASE_URL"
        );
    }

    #[test]
    fn tls_requires_the_base_url_for_links_in_emails() {
        let key = "a-production-like-secret-key-0123456789";
        assert_eq!(
            config(&[("BEHIND_TLS", "true"), ("SECRET_KEY", key)])
                .unwrap_err()
                .variable,
            "APP_BASE_URL"
        );
        let c = config(&[
            ("BEHIND_TLS", "true"),
            ("SECRET_KEY", key),
            ("APP_BASE_URL", "https://plotcare.example/"),
        ])
        .unwrap();
        assert_eq!(c.app_base_url.as_deref(), Some("https://plotcare.example"));
    }

    #[test]
    fn tls_requires_a_real_secret_key() {
        assert_eq!(
            config(&[("BEHIND_TLS", "true")]).unwrap_err().variable,
            "SECRET_KEY"
        );
        assert_eq!(
            config(&[("SECRET_KEY", "short")]).unwrap_err().variable,
            "SECRET_KEY"
        );
    }

    #[test]
    fn s3_bucket_selects_s3_in_ireland_by_default() {
        let c = config(&[("S3_BUCKET", "media")]).unwrap();
        match c.media {
            MediaConfig::S3 {
                region, part_size, ..
            } => {
                assert_eq!(region, "eu-west-1");
                assert_eq!(part_size, 8 * 1024 * 1024);
            }
            _ => panic!("expected S3"),
        }
    }

    #[test]
    fn s3_part_size_is_settable_but_not_below_s3s_minimum() {
        let c = config(&[("S3_BUCKET", "media"), ("S3_PART_MB", "5")]).unwrap();
        assert!(
            matches!(c.media, MediaConfig::S3 { part_size, .. } if part_size == 5 * 1024 * 1024)
        );
        for bad in ["4", "0", "lots"] {
            let e = config(&[("S3_BUCKET", "media"), ("S3_PART_MB", bad)]).unwrap_err();
            assert_eq!(e.variable, "S3_PART_MB");
        }
    }

    #[test]
    fn without_smtp_emails_are_logged_and_serve_runs_the_worker() {
        let c = config(&[]).unwrap();
        assert!(c.smtp_url.is_none());
        assert_eq!(c.email_from, DEFAULT_EMAIL_FROM);
        assert_eq!(c.app_base_url, None);
        assert!(c.run_worker);
        assert!(!config(&[("RUN_WORKER", "false")]).unwrap().run_worker);
    }

    #[test]
    fn export_sizes_are_checked() {
        let c = config(&[]).unwrap();
        assert_eq!(c.export_media_part_bytes, 1024 * 1024 * 1024);
        assert_eq!(c.export_batch_rows, 10_000);
        assert_eq!(
            config(&[("EXPORT_BATCH_ROWS", "0")]).unwrap_err().variable,
            "EXPORT_BATCH_ROWS"
        );
        assert_eq!(
            config(&[("EXPORT_MEDIA_PART_MB", "x")])
                .unwrap_err()
                .variable,
            "EXPORT_MEDIA_PART_MB"
        );
    }

    #[test]
    fn smtp_settings_are_checked_and_never_print() {
        let c = config(&[(
            "SMTP_URL",
            "smtp://mailer:hunter2-password@mail.example.com:587",
        )])
        .unwrap();
        assert!(c.smtp_url.is_some());
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(
            config(&[("SMTP_URL", "http://mail.example.com")])
                .unwrap_err()
                .variable,
            "SMTP_URL"
        );
        assert_eq!(
            config(&[("SMTP_URL", "not a url")]).unwrap_err().variable,
            "SMTP_URL"
        );
        assert_eq!(
            config(&[("EMAIL_FROM", "nobody")]).unwrap_err().variable,
            "EMAIL_FROM"
        );
        assert_eq!(
            config(&[("RUN_WORKER", "sometimes")]).unwrap_err().variable,
            "RUN_WORKER"
        );
    }

    #[test]
    fn the_app_base_url_is_an_address_without_a_path() {
        let c = config(&[("APP_BASE_URL", "https://plotcare.example/")]).unwrap();
        assert_eq!(c.app_base_url.as_deref(), Some("https://plotcare.example"));
        for bad in [
            "plotcare.example",
            "ftp://x.example",
            "https://x.example/app?x=1",
        ] {
            assert_eq!(
                config(&[("APP_BASE_URL", bad)]).unwrap_err().variable,
                "APP_BASE_URL",
                "{bad}"
            );
        }
    }

    #[test]
    fn without_a_secret_key_each_process_makes_its_own() {
        let (a, b) = (config(&[]).unwrap(), config(&[]).unwrap());
        assert!(a.secret_key_generated && b.secret_key_generated);
        assert!(a.secret_key.expose().len() >= 32);
        assert_ne!(a.secret_key.expose(), b.secret_key.expose());
        let set = config(&[("SECRET_KEY", "a-very-long-secret-key-of-32-chars-or-more")]).unwrap();
        assert!(!set.secret_key_generated);
    }

    #[test]
    fn secrets_never_print() {
        let c = config(&[("SECRET_KEY", "a-very-long-secret-key-of-32-chars-or-more")]).unwrap();
        assert!(!format!("{c:?}").contains("a-very-long-secret"));
    }
}
