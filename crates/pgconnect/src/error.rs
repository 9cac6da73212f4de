//! [`TlsError`]: why a TLS client configuration could not be built, or a server
//! certificate was refused.

use std::path::PathBuf;

use crate::SslMode;

/// What went wrong setting up TLS, or verifying the server's certificate.
///
/// [`crate::connect`] reports these inside the `postgres::Error` it returns (its `Display`
/// reads `error performing TLS handshake: <this>`); [`crate::TlsOptions::client_config`]
/// returns them directly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// `verify-ca` / `verify-full` without a root certificate to verify against.
    #[error(
        "sslmode={mode} needs the certificate of the CA that signed the server's: set \
         sslrootcert=/path/to/ca.pem in the URL (or PGSSLROOTCERT), put it in {default}, or use \
         sslrootcert=system for the system's trusted roots (or weaken sslmode to require, which \
         does not verify the server)"
    )]
    NoRootCert {
        /// The mode that needs it.
        mode: SslMode,
        /// libpq's default location, `~/.postgresql/root.crt`.
        default: String,
    },

    /// `sslrootcert=system` with a mode weaker than `verify-full` (libpq refuses it too).
    #[error(
        "weak sslmode \"{mode}\" may not be used with sslrootcert=system (use \"verify-full\")"
    )]
    WeakModeWithSystemRoots {
        /// The mode given.
        mode: SslMode,
    },

    /// A certificate or key file could not be read or holds nothing usable.
    #[error("cannot use {what} {}: {reason}", .path.display())]
    File {
        /// `sslrootcert`, `sslcert` or `sslkey`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong (the I/O or PEM error, or "no certificate in it").
        reason: String,
    },

    /// `sslcert` without a key (or the reverse).
    #[error(
        "a client certificate needs its key: {given} is set but not {missing} \
         (and {} does not exist)", .default.display()
    )]
    Incomplete {
        /// The parameter given.
        given: &'static str,
        /// The one missing.
        missing: &'static str,
        /// Where libpq would look for the missing file.
        default: PathBuf,
    },

    /// No system trusted roots could be loaded for `sslrootcert=system`.
    #[error("sslrootcert=system: no trusted root certificates found on this system ({detail})")]
    NoSystemRoots {
        /// What the loader said.
        detail: String,
    },

    /// rustls refused the configuration (e.g. a client key that does not match).
    #[error("TLS configuration refused: {0}")]
    Config(#[source] rustls::Error),

    /// The server's certificate did not pass verification.
    #[error("{what} (sslmode={mode}, sslrootcert={roots}): {source}")]
    Verify {
        /// In words: not signed by a trusted CA, not valid for the host name, expired, ...
        what: String,
        /// The mode that verified it.
        mode: SslMode,
        /// The roots it was verified against.
        roots: String,
        /// rustls's finding.
        source: rustls::Error,
    },
}
