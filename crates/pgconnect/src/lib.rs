//! Connect a sync [`postgres::Client`] the way libpq would: TLS over rustls, honouring
//! `sslmode`, `sslrootcert`, `sslcert` and `sslkey` from the connection string (a
//! `postgres://` URL or a `key=value` string) and from `PGSSLMODE`, `PGSSLROOTCERT`,
//! `PGSSLCERT` and `PGSSLKEY`. Every command of this workspace that connects to a server
//! goes through [`connect`].
//!
//! ```no_run
//! # fn main() -> Result<(), postgres::Error> {
//! let mut client = pgconnect::connect(
//!     "postgresql://app@db.example/app?sslmode=verify-full&sslrootcert=/etc/ssl/rds-ca.pem",
//! )?;
//! client.batch_execute("SELECT 1")?;
//! # Ok(())
//! # }
//! ```
//!
//! # Settings (libpq's)
//!
//! | `sslmode` | TLS | server certificate |
//! | --- | --- | --- |
//! | `disable` | never | - |
//! | `allow`, `prefer` (default) | when the server offers it, else plain | not verified |
//! | `require` | always | not verified; verified like `verify-ca` when a root certificate is available (libpq's compatibility rule) |
//! | `verify-ca` | always | signed by a CA of `sslrootcert` |
//! | `verify-full` | always | signed by a CA of `sslrootcert` and valid for the host name |
//!
//! - `sslrootcert`: a PEM file of CA certificates, or `system` for the system's trusted roots
//!   (the OS store via `rustls-native-certs`, Mozilla's via `webpki-roots` when the OS has
//!   none); `system` makes `verify-full` the default and refuses weaker modes, as libpq 16
//!   does. Unset: `~/.postgresql/root.crt` when it exists.
//! - `sslcert` / `sslkey`: a client certificate (PEM, with its chain) and its key (PEM:
//!   PKCS#8, PKCS#1 or SEC1; not encrypted). Unset: `~/.postgresql/postgresql.crt` and
//!   `.key` when they exist.
//! - The connection string wins over the environment; an empty variable counts as unset.
//! - TLS is never used over Unix sockets (libpq neither): `sslmode` is ignored there.
//!
//! Not supported: `sslcrl`, `sslpassword`, `sslcompression`, GSSAPI encryption (those are
//! refused by `postgres::Config` as unknown options).
//!
//! # Errors
//!
//! [`connect`] returns `postgres::Error` so that it drops in wherever
//! `postgres::Client::connect` was. A TLS set-up problem (a missing file, `verify-full`
//! without a root certificate) or a refused server certificate is a `postgres::Error` of the
//! TLS kind whose message ends with a [`TlsError`], e.g. `error performing TLS handshake:
//! invalid peer certificate: the server's certificate is not valid for the host name
//! "db.example" (verify-ca would not check the name) (sslmode=verify-full,
//! sslrootcert=/etc/ca.pem): ...`. [`TlsOptions::client_config`] returns [`TlsError`]
//! directly, for callers that want to check the settings before connecting.
//!
//! # Why `tokio-postgres-rustls`
//!
//! It is the `MakeTlsConnect` for rustls that tracks `tokio-postgres` 0.7 (what `postgres`
//! 0.19 runs on) and rustls 0.23, with `tls-server-end-point` channel binding for SCRAM; it
//! takes a plain `rustls::ClientConfig`, so the verifiers here (none, chain only, chain and
//! name) plug in. `postgres_rustls` needs Rust 1.93 (this workspace supports 1.85).

mod error;
mod params;
mod tls;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use postgres::config::Host;
use postgres::tls::{MakeTlsConnect, NoTlsStream, TlsConnect};

pub use error::TlsError;
pub use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode` (`allow` is read as `prefer`: both connect to servers with and without
/// TLS; this one tries TLS first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, unverified.
    Prefer,
    /// TLS, unverified.
    Require,
    /// TLS, certificate chain verified.
    VerifyCa,
    /// TLS, certificate chain and host name verified.
    VerifyFull,
}

impl SslMode {
    /// Parses libpq's names.
    pub fn parse(text: &str) -> Option<SslMode> {
        Some(match text {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        })
    }
}

/// Where the CA certificates to verify the server against come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    /// A PEM file.
    File(PathBuf),
    /// The system's trusted roots (`sslrootcert=system`).
    System,
}

/// The TLS half of a connection string, resolved (environment and defaults applied).
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// The effective mode (`disable` for Unix sockets; `require` with a root certificate
    /// becomes `verify-ca`).
    pub mode: SslMode,
    /// The root certificates for `verify-ca` / `verify-full`.
    pub root_cert: Option<RootCert>,
    /// `sslcert`, when given.
    pub client_cert: Option<PathBuf>,
    /// `sslkey`, when given.
    pub client_key: Option<PathBuf>,
    /// `$HOME`, for libpq's default files in `~/.postgresql/`.
    home: Option<PathBuf>,
}

/// A parsed connection string: the `postgres::Config` and its [`TlsOptions`].
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    config: postgres::Config,
    tls: TlsOptions,
}

/// Connects to `conn` (a URL or `key=value` string) with TLS as its settings say; see the
/// [crate docs](crate). A drop-in for `postgres::Client::connect(conn, NoTls)`.
///
/// # Errors
/// What `postgres::Client::connect` returns, TLS problems included (see the crate docs).
pub fn connect(conn: &str) -> Result<postgres::Client, postgres::Error> {
    ConnectOptions::parse(conn)?.connect()
}

impl ConnectOptions {
    /// Parses `conn`, reading `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY` and
    /// `HOME` from the environment.
    ///
    /// # Errors
    /// `postgres::Config`'s parse error (e.g. an unknown option, an invalid `sslmode`).
    pub fn parse(conn: &str) -> Result<ConnectOptions, postgres::Error> {
        ConnectOptions::parse_with_env(conn, |name| std::env::var(name).ok())
    }

    /// [`ConnectOptions::parse`] with `env` in place of the process environment.
    ///
    /// # Errors
    /// As [`ConnectOptions::parse`].
    pub fn parse_with_env(
        conn: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ConnectOptions, postgres::Error> {
        let Some(extracted) = params::extract(conn) else {
            // Unreadable to us: postgres::Config says why (or, if it can read it, it has
            // none of our parameters for us to honour but the environment's).
            let config: postgres::Config = conn.parse()?;
            return ConnectOptions::from_parts(config, &params::Extracted::empty(), &env);
        };
        let config: postgres::Config = extracted.rest.parse()?;
        ConnectOptions::from_parts(config, &extracted, &env)
    }

    fn from_parts(
        mut config: postgres::Config,
        params: &params::Extracted,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<ConnectOptions, postgres::Error> {
        let env = |name: &str| env(name).filter(|v| !v.is_empty());
        let get = |key: &str, var: &str| params.get(key).map(str::to_string).or_else(|| env(var));
        let explicit_mode = match get("sslmode", "PGSSLMODE") {
            Some(text) => Some(SslMode::parse(&text).ok_or_else(|| invalid_sslmode(&text))?),
            None => None,
        };
        let home = env("HOME").map(PathBuf::from);
        let mut tls = TlsOptions {
            mode: SslMode::Prefer,
            root_cert: None,
            client_cert: get("sslcert", "PGSSLCERT").map(PathBuf::from),
            client_key: get("sslkey", "PGSSLKEY").map(PathBuf::from),
            home,
        };
        tls.root_cert = match get("sslrootcert", "PGSSLROOTCERT") {
            Some(s) if s == "system" => Some(RootCert::System),
            Some(path) => Some(RootCert::File(PathBuf::from(path))),
            None => {
                let default = tls.default_path("root.crt");
                (tls.home.is_some() && default.is_file()).then_some(RootCert::File(default))
            }
        };
        tls.mode = match explicit_mode {
            Some(SslMode::Require) if matches!(tls.root_cert, Some(RootCert::File(_))) => {
                SslMode::VerifyCa
            }
            Some(mode) => mode,
            None if tls.root_cert == Some(RootCert::System) => SslMode::VerifyFull,
            None => SslMode::Prefer,
        };
        let hosts = config.get_hosts();
        if !hosts.is_empty() && hosts.iter().all(|h| matches!(h, Host::Unix(_))) {
            tls.mode = SslMode::Disable;
        }
        config.ssl_mode(match tls.mode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                postgres::config::SslMode::Require
            }
        });
        Ok(ConnectOptions { config, tls })
    }

    /// The `postgres::Config` (its `ssl_mode` set from [`TlsOptions::mode`]).
    pub fn config(&self) -> &postgres::Config {
        &self.config
    }

    /// The `postgres::Config`, to change (e.g. `connect_timeout`).
    pub fn config_mut(&mut self) -> &mut postgres::Config {
        &mut self.config
    }

    /// The TLS settings.
    pub fn tls(&self) -> &TlsOptions {
        &self.tls
    }

    /// Connects.
    ///
    /// # Errors
    /// As [`connect`].
    pub fn connect(&self) -> Result<postgres::Client, postgres::Error> {
        match self.tls.client_config() {
            Ok(None) => self.config.connect(postgres::NoTls),
            Ok(Some(config)) => self.config.connect(MakeRustlsConnect::new(config)),
            // Reported by the connection attempt, as a TLS error of postgres::Error.
            Err(e) => self.config.connect(Refuse(Arc::new(e))),
        }
    }
}

/// `postgres::Config`'s own error for an invalid `sslmode` value.
fn invalid_sslmode(value: &str) -> postgres::Error {
    let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
    match format!("sslmode='{quoted}'").parse::<postgres::Config>() {
        Err(e) => e,
        // Unreachable (every value postgres accepts, we accept); fall back to any parse error.
        Ok(_) => "sslmode='?'"
            .parse::<postgres::Config>()
            .err()
            .unwrap_or_else(|| unreachable!("`?` is not an sslmode")),
    }
}

/// A `MakeTlsConnect` whose handshake fails with the set-up error, so that
/// [`ConnectOptions::connect`] reports it as the connection's `postgres::Error`. Only the
/// handshake fails: under `prefer`, a server without TLS is still reached in plain text
/// (libpq, too, only reads the certificate files when TLS is negotiated).
#[derive(Debug, Clone)]
struct Refuse(Arc<TlsError>);

impl MakeTlsConnect<postgres::Socket> for Refuse {
    type Stream = NoTlsStream;
    type TlsConnect = Refuse;
    type Error = Arc<TlsError>;

    fn make_tls_connect(&mut self, _domain: &str) -> Result<Refuse, Arc<TlsError>> {
        Ok(self.clone())
    }
}

impl<S> TlsConnect<S> for Refuse {
    type Stream = NoTlsStream;
    type Error = Arc<TlsError>;
    type Future = std::future::Ready<Result<NoTlsStream, Arc<TlsError>>>;

    fn connect(self, _stream: S) -> Self::Future {
        std::future::ready(Err(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(conn: &str, env: &[(&str, &str)]) -> ConnectOptions {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ConnectOptions::parse_with_env(conn, |k| env.get(k).cloned()).unwrap()
    }

    #[test]
    fn default_is_prefer_and_url_wins_over_env() {
        let o = parse("postgresql://h/db", &[]);
        assert_eq!(o.tls().mode, SslMode::Prefer);
        assert_eq!(o.config().get_ssl_mode(), postgres::config::SslMode::Prefer);
        let o = parse("postgresql://h/db", &[("PGSSLMODE", "verify-full")]);
        assert_eq!(o.tls().mode, SslMode::VerifyFull);
        assert_eq!(
            o.config().get_ssl_mode(),
            postgres::config::SslMode::Require
        );
        let o = parse(
            "postgresql://h/db?sslmode=disable",
            &[("PGSSLMODE", "verify-full")],
        );
        assert_eq!(o.tls().mode, SslMode::Disable);
        let o = parse("postgresql://h/db", &[("PGSSLMODE", "")]);
        assert_eq!(o.tls().mode, SslMode::Prefer, "empty counts as unset");
    }

    #[test]
    fn root_cert_rules() {
        let o = parse(
            "host=h sslmode=require",
            &[("PGSSLROOTCERT", "/etc/ca.pem")],
        );
        assert_eq!(
            o.tls().mode,
            SslMode::VerifyCa,
            "libpq: require + root = verify-ca"
        );
        assert_eq!(
            o.tls().root_cert,
            Some(RootCert::File(PathBuf::from("/etc/ca.pem")))
        );
        let o = parse("postgresql://h/db?sslrootcert=system", &[]);
        assert_eq!(o.tls().mode, SslMode::VerifyFull);
        let o = parse("postgresql://h/db?sslrootcert=system&sslmode=require", &[]);
        let err = o.tls().client_config().unwrap_err();
        assert!(
            matches!(err, TlsError::WeakModeWithSystemRoots { .. }),
            "{err}"
        );
        let o = parse(
            "postgresql://h/db?sslmode=verify-ca",
            &[("HOME", "/nonexistent")],
        );
        let err = o.tls().client_config().unwrap_err();
        assert!(matches!(err, TlsError::NoRootCert { .. }), "{err}");
        assert!(err.to_string().contains("sslrootcert=system"), "{err}");
        assert!(
            err.to_string()
                .contains("/nonexistent/.postgresql/root.crt"),
            "{err}"
        );
    }

    #[test]
    fn other_parameters_reach_postgres_config() {
        let o = parse(
            "postgresql://app:pw@h:6543/db?options=-c%20lock_timeout%3D2s&sslmode=verify-full\
             &application_name=mig",
            &[],
        );
        assert_eq!(o.config().get_options(), Some("-c lock_timeout=2s"));
        assert_eq!(o.config().get_application_name(), Some("mig"));
        assert_eq!(o.config().get_ports(), [6543]);
        assert_eq!(o.config().get_password(), Some(&b"pw"[..]));
    }

    #[test]
    fn unix_sockets_never_use_tls() {
        let o = parse(
            "postgresql://postgres@%2Ftmp%2Fs:5432/db?sslmode=verify-full",
            &[],
        );
        assert_eq!(o.tls().mode, SslMode::Disable);
        let o = parse("host=/tmp/s dbname=db", &[("PGSSLMODE", "require")]);
        assert_eq!(o.tls().mode, SslMode::Disable);
    }

    /// The error with its sources, as the xtask CLI prints it.
    fn chain(err: &dyn std::error::Error) -> String {
        let mut out = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            out.push_str(&format!(": {s}"));
            source = s.source();
        }
        out
    }

    #[test]
    fn invalid_sslmode_is_postgres_own_error() {
        let err = ConnectOptions::parse_with_env("postgresql://h/db?sslmode=bogus", |_| None)
            .unwrap_err();
        let err = chain(&err);
        assert!(err.contains("sslmode"), "{err}");
        let err = ConnectOptions::parse_with_env("postgresql://h/db", |k| {
            (k == "PGSSLMODE").then(|| "nope".to_string())
        })
        .unwrap_err();
        let err = chain(&err);
        assert!(err.contains("sslmode"), "{err}");
    }

    #[test]
    fn missing_files_are_named() {
        let o = parse(
            "postgresql://h/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
            &[],
        );
        let err = o.tls().client_config().unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
        let o = parse(
            "postgresql://h/db?sslmode=require&sslcert=/x.crt",
            &[("HOME", "/nonexistent")],
        );
        let err = o.tls().client_config().unwrap_err();
        assert!(matches!(err, TlsError::Incomplete { .. }), "{err}");
    }
}
