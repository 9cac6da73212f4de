//! Typed errors of the migration engine.

use std::fmt;
use std::path::PathBuf;

/// One problem found while discovering or validating a migration folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file or folder at fault.
    pub path: PathBuf,
    /// 1-based line in `path`, when the problem is inside the file.
    pub line: Option<usize>,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl Problem {
    /// A problem with a whole file or folder.
    pub fn new(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            line: None,
            message: message.into(),
        }
    }

    /// The same problem, located at `line` of its file.
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A PostgreSQL error raised by a migration's SQL, located in the migration file.
#[derive(Debug, Clone)]
pub struct SqlFailure {
    /// The script that failed (an up, down or fixture file).
    pub path: PathBuf,
    /// 1-based line in `path`, when PostgreSQL reported a position.
    pub line: Option<usize>,
    /// 1-based column (in characters) in `path`.
    pub column: Option<usize>,
    /// The text of the offending line, for a caret display.
    pub source_line: Option<String>,
    /// SQLSTATE code, e.g. `42P01`.
    pub code: String,
    /// Severity reported by the server (`ERROR`, `FATAL`, ...).
    pub severity: String,
    /// Primary message.
    pub message: String,
    /// `DETAIL:` text.
    pub detail: Option<String>,
    /// `HINT:` text.
    pub hint: Option<String>,
    /// `CONTEXT:` / where text (e.g. the PL/pgSQL line).
    pub context: Option<String>,
    /// Constraint named by the error, if any.
    pub constraint: Option<String>,
}

impl fmt::Display for SqlFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": {} {}: {}", self.severity, self.code, self.message)?;
        if let Some(detail) = &self.detail {
            write!(f, "\n  detail: {detail}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        if let Some(context) = &self.context {
            write!(f, "\n  context: {}", context.replace('\n', "\n           "))?;
        }
        if let Some(constraint) = &self.constraint {
            write!(f, "\n  constraint: {constraint}")?;
        }
        if let (Some(line), Some(text)) = (self.line, &self.source_line) {
            let gutter = line.to_string();
            write!(f, "\n  {gutter} | {text}")?;
            if let Some(col) = self.column {
                let pad: String = text
                    .chars()
                    .take(col.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                write!(f, "\n  {} | {pad}^", " ".repeat(gutter.len()))?;
            }
        }
        Ok(())
    }
}

/// Everything that can go wrong in the migration engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The migration folder is not valid; nothing was applied.
    #[error("{} problem(s) in migration folder {}; nothing was applied:\n{}", problems.len(), dir.display(), list(problems))]
    Invalid {
        /// The folder that was scanned.
        dir: PathBuf,
        /// Every problem found, each with its path.
        problems: Vec<Problem>,
    },

    /// A database operation of the engine itself failed (connection, lock, history table).
    #[error("{context}: {}", ::pgerror::describe(source))]
    Db {
        /// What the engine was doing.
        context: String,
        /// The driver error.
        #[source]
        source: postgres::Error,
    },

    /// The SQL of a migration (or its fixture) failed; its transaction was rolled back.
    #[error("migration {shown} ({name}) failed: {failure}\n{outcome}")]
    MigrationFailed {
        /// Version of the failing migration.
        version: i64,
        /// Its version as people see it ([`crate::Migration::version_text`]).
        shown: String,
        /// Its name.
        name: String,
        /// Where and why.
        failure: Box<SqlFailure>,
        /// What state the database was left in.
        outcome: String,
    },

    /// One of several migrations sent in one message ended the runner's transaction (validation
    /// and the batching's own checks make this all but impossible).
    #[error(
        "one of migrations {shown}, sent in one message, ended the runner's transaction itself ({evidence}); the run stopped.\n{outcome}"
    )]
    TransactionEndedInMessage {
        /// Versions of the message's migrations, in order.
        versions: Vec<i64>,
        /// Those versions as people see them, comma-separated.
        shown: String,
        /// How the runner saw it.
        evidence: String,
        /// What is committed, what is not, and what to do: read back from the server.
        outcome: String,
    },
    /// The run-time guard found that a migration ended the runner's transaction itself (a
    /// `COMMIT`, `ROLLBACK`, ... that validation did not see); the run stopped there.
    #[error(
        "migration {shown} ({name}) ended the runner's transaction itself ({at}); the run stopped.\n{outcome}"
    )]
    TransactionEnded {
        /// Version of the migration.
        version: i64,
        /// Its version as people see it.
        shown: String,
        /// Its name.
        name: String,
        /// The statement that ended it (`COMMIT` at file:line), as far as it can be found.
        at: String,
        /// What is committed, what is not, and what to do: read back from the server.
        outcome: String,
    },

    /// An applied migration's file changed after it was applied.
    #[error(
        "migration {shown} was changed after it was applied: {} has checksum {current}, the database recorded {recorded}.\n  Restore the file as it was applied, or write a new migration for the change."
    , path.display())]
    ChecksumMismatch {
        /// Version of the migration.
        version: i64,
        /// Its version as people see it.
        shown: String,
        /// The changed file.
        path: PathBuf,
        /// Checksum in `refinery_schema_history`.
        recorded: String,
        /// Checksum of the file now.
        current: String,
    },

    /// The database has applied a migration that is not in the folder.
    #[error(
        "the database has migration {version} ({name}) applied, but {} has no such migration.\n  Use the folder this database was migrated from (--dir), or restore the missing files."
    , dir.display())]
    MissingFromDisk {
        /// Version recorded in the history table.
        version: i64,
        /// Name recorded in the history table.
        name: String,
        /// Folder that was searched.
        dir: PathBuf,
    },

    /// A pending migration sorts before the newest applied one (typical after a merge).
    #[error(
        "{} is pending but older than the newest applied migration {newest_shown}.\n  Renumber it past {newest_shown} (`cargo xtask migrate renumber` after a merge), or revert to below it first."
    , path.display())]
    OutOfOrder {
        /// The pending migration's file.
        path: PathBuf,
        /// Its version.
        version: i64,
        /// The newest applied version.
        newest: i64,
        /// The same, as people see it.
        newest_shown: String,
    },

    /// The migration to revert has no down script.
    #[error("migration {version} cannot be reverted: {reason}")]
    Irreversible {
        /// The version.
        version: i64,
        /// Why (no down file, layout without downs, ...).
        reason: String,
    },

    /// A `--to VERSION` that is neither applied nor zero.
    #[error("unknown target version {version}: {reason}")]
    BadTarget {
        /// The requested version.
        version: i64,
        /// What is wrong with it.
        reason: String,
    },

    /// The history table holds something the engine cannot read.
    /// A migration's transaction could not take its locks within the lock timeout, on every
    /// attempt; each attempt was rolled back.
    #[error(
        "migration {shown} ({name}) could not take its locks: {attempts} attempt(s) each waited {timeout_ms} ms (lock_timeout) and were rolled back; nothing of its transaction is applied.{report}"
    )]
    LockTimeout {
        /// Version.
        version: i64,
        /// Version as people see it.
        shown: String,
        /// Name.
        name: String,
        /// Attempts made.
        attempts: u32,
        /// The lock timeout of each attempt, in milliseconds.
        timeout_ms: u64,
        /// Migrations committed earlier in this run (if any), then who blocked it (pid, query,
        /// since when) as last seen.
        report: String,
    },
    /// The migration lock (lease) could not be taken or was lost.
    #[error("migration lock: {0}")]
    Lock(String),
    #[error("history table refinery_schema_history is unreadable: {0}")]
    History(String),

    /// `adopt` or `baseline` refused; nothing was changed.
    #[error(transparent)]
    Adopt(#[from] crate::adopt::AdoptError),

    /// refinery reported an error outside a migration's SQL.
    #[error("refinery: {0}")]
    Refinery(#[from] refinery::Error),
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    pub(crate) fn db(context: impl Into<String>, source: postgres::Error) -> Self {
        Error::Db {
            context: context.into(),
            source,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
