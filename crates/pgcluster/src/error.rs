//! The crate's error type: every variant names what failed and says what to do about it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Everything that can go wrong while finding, starting or using a cluster.
///
/// Each message names what failed (the command, file or SQL step), carries the evidence
/// (stderr, the server log tail, the server's error) and ends with what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No directory with `initdb`, `pg_ctl` and `postgres` was found.
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; searched:\n{}\n\
         Install the PostgreSQL server (e.g. `apt-get install postgresql`), or set PG_BINDIR \
         to the directory holding them, or set DATABASE_URL to use an existing server.",
        bullet_list(.searched)
    )]
    BinariesNotFound {
        /// Every place that was looked at, in lookup order.
        searched: Vec<String>,
    },

    /// Running as root, but there is no `postgres` OS user to run the server as.
    #[error(
        "running as root, and initdb/postgres refuse to run as root, but no `postgres` OS user \
         was found ({detail}); create one (e.g. `useradd --system --user-group postgres`; \
         `apt-get install postgresql` does this) or run as an unprivileged user"
    )]
    NoPostgresUser {
        /// How the lookup failed.
        detail: String,
    },

    /// The `postgres` OS user cannot reach a directory the server must use.
    #[error(
        "{} is not reachable by the `postgres` OS user: {} is not searchable by it; \
         put the cluster under a world-traversable directory such as /tmp, or run \
         `chmod o+x {}`",
        .path.display(), .blocker.display(), .blocker.display()
    )]
    NotReachable {
        /// The directory the server needs.
        path: PathBuf,
        /// The ancestor that lacks search (execute) permission.
        blocker: PathBuf,
    },

    /// A directory pgcluster would keep a cluster in is not safe to use (e.g. a relocated
    /// dev cluster directory under `/var/tmp` that somebody else owns).
    #[error("refusing to use {}: {reason}", .path.display())]
    UnsafeDir {
        /// The directory (or the file recording it).
        path: PathBuf,
        /// What is wrong with it, and what to do.
        reason: String,
    },

    /// The Unix socket path would exceed the kernel's limit.
    #[error(
        "socket path {} is {len} bytes, over the {max}-byte Unix socket limit; \
         use a shorter (shallower) cluster directory",
        .path.display()
    )]
    SocketPathTooLong {
        /// The socket file path that would be used.
        path: PathBuf,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// A persistent cluster's data directory holds something that is not a cluster.
    #[error(
        "{} is not empty but holds no PostgreSQL cluster (no PG_VERSION); \
         remove it or choose another cluster directory",
        .path.display()
    )]
    NotADataDir {
        /// The offending data directory.
        path: PathBuf,
    },

    /// A filesystem operation failed.
    #[error("{action} {}: {source}; check that the path exists and is writable", .path.display())]
    Io {
        /// What was being done, e.g. "could not create directory".
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// An external command (initdb, pg_ctl, ...) failed or could not be run.
    #[error("`{command}` failed ({status}):\n{output}\n{hint}")]
    Command {
        /// The command line.
        command: String,
        /// Exit status, or why it could not be started.
        status: String,
        /// The tail of its stderr and stdout.
        output: String,
        /// What to do.
        hint: String,
    },

    /// The server did not start or did not become ready.
    #[error(
        "PostgreSQL server for {} did not start: {reason}\n--- last lines of {} ---\n{log_tail}\n\
         Fix the problem shown in the log; a stale cluster directory can be removed and will be \
         re-created.",
        .data_dir.display(), .log.display()
    )]
    Start {
        /// The cluster's data directory.
        data_dir: PathBuf,
        /// The server log file.
        log: PathBuf,
        /// What went wrong.
        reason: String,
        /// The last lines of the server log.
        log_tail: String,
    },

    /// A connection or SQL statement failed.
    #[error("{action}: {message}")]
    Postgres {
        /// What was being done, e.g. "CREATE DATABASE \"x\"".
        action: String,
        /// The rendered server error (SQLSTATE, message, detail, hint) or client error.
        message: String,
        /// The underlying error.
        source: postgres::Error,
    },

    /// A database name or template key was rejected before reaching the server.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidName {
        /// "database name" or "template key".
        what: &'static str,
        /// The rejected value.
        value: String,
        /// Why, and what is allowed.
        reason: &'static str,
    },

    /// The caller's template build step failed.
    #[error(
        "building template database {template} failed: {source}\n\
         Fix the build step (e.g. the failing migration); the half-built template was dropped \
         and is rebuilt on the next call."
    )]
    TemplateBuild {
        /// The template database name.
        template: String,
        /// The build step's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The cluster was stopped with [`Cluster::stop`](crate::Cluster::stop) and cannot be used.
    #[error(
        "the cluster with data directory {} has been stopped; get a running one from \
         Cluster::temporary() or Cluster::persistent()",
        .dir.display()
    )]
    Stopped {
        /// The cluster's data directory.
        dir: PathBuf,
    },
}

/// Shorthand for `std::result::Result<T, pgcluster::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

fn bullet_list(items: &[String]) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(out, "  - {item}");
    }
    out
}

impl Error {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn pg(action: impl Into<String>, source: postgres::Error) -> Error {
        Error::Postgres {
            action: action.into(),
            message: pgerror::describe(&source).to_string(),
            source,
        }
    }

    /// A command that ran but exited unsuccessfully.
    pub(crate) fn command_failed(
        command: String,
        output: &Output,
        hint: impl Into<String>,
    ) -> Error {
        let mut text = tail(&String::from_utf8_lossy(&output.stderr), 40);
        let stdout = tail(&String::from_utf8_lossy(&output.stdout), 20);
        if !stdout.is_empty() {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&stdout);
        }
        Error::Command {
            command,
            status: output.status.to_string(),
            output: text,
            hint: hint.into(),
        }
    }

    /// A command that could not be started at all.
    pub(crate) fn command_spawn(
        command: String,
        err: &std::io::Error,
        hint: impl Into<String>,
    ) -> Error {
        Error::Command {
            command,
            status: format!("could not run it: {err}"),
            output: String::new(),
            hint: hint.into(),
        }
    }
}

/// The last `lines` lines of `text`, trimmed.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    let start = all.len().saturating_sub(lines);
    all[start..].join("\n")
}

/// The last lines of a log file, or a note saying why there are none.
pub(crate) fn log_tail(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let from = bytes.len().saturating_sub(16 * 1024);
            let text = tail(&String::from_utf8_lossy(&bytes[from..]), 30);
            if text.is_empty() {
                "(log is empty)".to_string()
            } else {
                text
            }
        }
        Err(e) => format!("(could not read log: {e})"),
    }
}
