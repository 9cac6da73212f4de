//! One way to print a [`postgres::Error`].
//!
//! `postgres::Error`'s own `Display` says only "db error" for an error the server sent. Every
//! crate of this workspace that shows a driver error to a person goes through [`describe`]:
//!
//! - `{}`: one line, `ERROR 23514: new row violates check constraint "x" (detail: ...)
//!   (hint: ...)`: severity, SQLSTATE, message, then detail and hint when the server sent them;
//!   for an error the server did not send (connection refused, TLS, I/O), the driver's message
//!   followed by each cause of its source chain;
//! - `{:#}`: the same first line, then every other field the server sent, one per line and
//!   indented (`  constraint: x`, `  table: public.users`, `  column: ...`, `  detail: ...`,
//!   `  hint: ...`, `  context: ...`, `  position: 12`), for test failures and logs.
//!
//! [`ServerError`] holds those fields, owned, for errors that outlive the driver's.

use std::fmt;

/// What the server said about an error, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// `ERROR`, `FATAL`, ...
    pub severity: String,
    /// SQLSTATE, e.g. `23514`.
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character position in the statement sent.
    pub position: Option<u32>,
    /// Where it happened (PL/pgSQL call stack, `COPY` line, ...).
    pub context: Option<String>,
    pub schema: Option<String>,
    pub table: Option<String>,
    pub column: Option<String>,
    pub constraint: Option<String>,
}

impl ServerError {
    /// The server's error inside `err`, if the server sent one.
    pub fn of(err: &postgres::Error) -> Option<ServerError> {
        let db = err.as_db_error()?;
        let position = match db.position() {
            Some(postgres::error::ErrorPosition::Original(p)) => Some(*p),
            _ => None,
        };
        Some(ServerError {
            severity: db.severity().to_owned(),
            code: db.code().code().to_owned(),
            message: db.message().to_owned(),
            detail: db.detail().map(str::to_owned),
            hint: db.hint().map(str::to_owned),
            position,
            context: db.where_().map(str::to_owned),
            schema: db.schema().map(str::to_owned),
            table: db.table().map(str::to_owned),
            column: db.column().map(str::to_owned),
            constraint: db.constraint().map(str::to_owned),
        })
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.severity, self.code, self.message)?;
        if f.alternate() {
            let table = match (&self.schema, &self.table) {
                (Some(s), Some(t)) => Some(format!("{s}.{t}")),
                (_, t) => t.clone(),
            };
            let fields = [
                ("constraint", self.constraint.clone()),
                ("table", table),
                ("column", self.column.clone()),
                ("detail", self.detail.clone()),
                ("hint", self.hint.clone()),
                ("context", self.context.clone()),
                ("position", self.position.map(|p| p.to_string())),
            ];
            for (name, value) in fields {
                if let Some(value) = value {
                    write!(f, "\n  {name}: {value}")?;
                }
            }
        } else {
            if let Some(d) = &self.detail {
                write!(f, " (detail: {d})")?;
            }
            if let Some(h) = &self.hint {
                write!(f, " (hint: {h})")?;
            }
        }
        Ok(())
    }
}

/// A driver error, printable as described in the crate docs.
#[derive(Debug, Clone, Copy)]
pub struct Describe<'a>(&'a postgres::Error);

/// `err` for printing: `format!("{}", describe(&e))`, or `{:#}` for every field.
pub fn describe(err: &postgres::Error) -> Describe<'_> {
    Describe(err)
}

impl fmt::Display for Describe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(server) = ServerError::of(self.0) {
            return server.fmt(f);
        }
        // Connection-level errors carry their cause in the source chain.
        write!(f, "{}", self.0)?;
        let mut source = std::error::Error::source(self.0);
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(sql: &str) -> postgres::Error {
        let mut client = pgcluster::Cluster::shared()
            .unwrap()
            .connect("postgres")
            .unwrap();
        client.batch_execute(sql).unwrap_err()
    }

    #[test]
    fn one_line_has_sqlstate_message_detail_and_hint() {
        let err = server_error(
            "CREATE TEMP TABLE t (n int CONSTRAINT n_positive CHECK (n > 0));
             INSERT INTO t VALUES (-1);",
        );
        let line = describe(&err).to_string();
        assert!(
            line.starts_with(
                "ERROR 23514: new row for relation \"t\" violates check constraint \"n_positive\""
            ) && line.contains(" (detail: Failing row contains (-1).)")
                && !line.contains('\n'),
            "{line}"
        );
        let full = format!("{:#}", describe(&err));
        assert!(
            full.contains("\n  constraint: n_positive")
                && full.contains("\n  table: pg_temp_")
                && full.contains("\n  detail: Failing row contains (-1)."),
            "{full}"
        );
    }

    #[test]
    fn position_and_hint_are_kept() {
        let err = server_error("SELECT nope FROM pg_class");
        let server = ServerError::of(&err).unwrap();
        assert_eq!(server.code, "42703");
        assert_eq!(server.position, Some(8));
        let err = server_error("SELECT relnam FROM pg_class");
        let line = describe(&err).to_string();
        assert!(line.contains("(hint: Perhaps you meant"), "{line}");
    }

    #[test]
    fn client_errors_show_their_cause_chain() {
        let err = postgres::Client::connect(
            "host=/nonexistent-socket-dir user=x connect_timeout=1",
            postgres::NoTls,
        )
        .err()
        .expect("there is no server there");
        assert!(ServerError::of(&err).is_none());
        let line = describe(&err).to_string();
        assert!(
            line.contains("error connecting") && line.contains(": "),
            "{line}"
        );
    }
}
