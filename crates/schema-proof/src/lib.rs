//! Test support for the governance schema's proof tests (issue 3, "Proof").
//!
//! The tests in `tests/` prove every rule of `migrations/` against a real PostgreSQL: each
//! named constraint violated once and observed by SQLSTATE and constraint name, the
//! cascades, the soft-delete cleanup, the effective AI budget on a table of cases, the bulk
//! override upsert, and the 100-skill limit under 8 racing sessions. They are the Rust
//! translation of the schema author's psql proof cases (`.scratch/cases/`), one labelled row
//! or test per psql case, so a failure names the rule it broke.
//!
//! | test file | proves |
//! |-----------|--------|
//! | `constraints.rs` | every named rule of the identity, budget and spend tables, and the accepted boundaries |
//! | `cascades.rs` | leaving a group or an organization, group, user, cap record and organization deletes |
//! | `soft_delete.rs` | `delete_deleted_user_resources()`: what a soft delete removes and what it keeps |
//! | `effective_budget.rs` | `effective_ai_budget(user, at)` on a table of cases |
//! | `bulk_upsert.rs` | `upsert_user_ai_budget_overrides(...)`: 200 limit, each typed rejection, all or nothing |
//! | `skills.rs` | `user_skills` checks, per-user limit, deleted owner, and the 8-session race |
//!
//! # Databases
//!
//! [`TestDb::new`] hands every test its own database, a clone (tens of milliseconds) of a
//! template built once per test process by running the migration chain with
//! [`migrate::Migrator`] on the [`pgcluster::Cluster::shared`] embedded cluster:
//!
//! - [`Schema::Fixtures`]: the chain with every fixture of `migrations/fixtures/` (the
//!   realistic state: every table has rows). Template key `gov_<set hash>`.
//! - [`Schema::Bare`]: the chain alone. Template key `gov_bare_<set hash>`. Running a case on
//!   both proves it does not lean on fixture data, as the psql runner did.
//!
//! The key contains [`migrate::MigrationSet::hash`], so an edited migration or fixture gets
//! a new template. A clone is private to its test, so tests commit freely (the `postgres`
//! client autocommits); a refused statement leaves nothing behind.
//!
//! # Assertions
//!
//! - [`expect_violation`] checks that a result is a database error with the expected
//!   SQLSTATE and constraint name, and panics with the server's full report otherwise.
//!   [`violation`] is the non-panicking form, for tables that report every failing row.
//! - [`Refusal`] and [`TestDb::assert_refusals`]: a table of statements that must each be
//!   refused, each run in a transaction that is rolled back.
//! - [`Failures`] collects labelled failures of a table-driven test and panics once, listing
//!   all of them.
//! - [`TestDb::exec`], [`TestDb::expect_ok`], [`TestDb::assert_holds`]: run setup, a statement
//!   that must succeed, a boolean query that must be true; each panics with the label, the
//!   template and the server's full report.
//! - [`fill`] lets case SQL name its data with placeholders (`'{U1}'`) instead of raw uuids.
//!
//! ```no_run
//! use schema_proof::sqlstate::CHECK_VIOLATION;
//! use schema_proof::{Schema, TestDb, expect_violation};
//!
//! let mut db = TestDb::new(Schema::Fixtures);
//! let err = expect_violation(
//!     db.batch_execute("INSERT INTO group_ai_budgets (group_id, spend_limit_micros) VALUES ('0c0c0000-0000-4000-8000-000000000001', -1)"),
//!     CHECK_VIOLATION,
//!     "group_ai_budgets_spend_limit_micros_check",
//! );
//! assert_eq!(err.table(), Some("group_ai_budgets"));
//! ```
//!
//! # Well-known data
//!
//! [`SYSTEM_USER_ID`] is the `prebuilds` system user that migration 000003 creates in every
//! database (with or without fixtures).

use std::fmt::Write as _;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use migrate::{MigrationSet, Migrator};
use pgcluster::{Cluster, TestDatabase};
pub use postgres::Client;
pub use postgres::error::DbError;
use uuid::Uuid;

/// The `prebuilds` system user's fixed id (issue 3, rule 3).
pub const SYSTEM_USER_ID: Uuid = Uuid::from_u128(0xc42f_df75_3097_471c_8c33_fb52_454d_81c0);

/// [`SYSTEM_USER_ID`] as SQL text, for statements written as literals.
pub const SYSTEM_USER: &str = "c42fdf75-3097-471c-8c33-fb52454d81c0";

/// The largest limit the schema accepts: 1,000,000 currency units in micros (rule 7).
pub const MAX_LIMIT_MICROS: i64 = 1_000_000_000_000;

/// SQLSTATE codes the schema raises.
pub mod sqlstate {
    /// `check_violation`: CHECK constraints and the trigger-raised rules.
    pub const CHECK_VIOLATION: &str = "23514";
    /// `unique_violation`: primary keys, unique constraints and unique indexes.
    pub const UNIQUE_VIOLATION: &str = "23505";
    /// `foreign_key_violation`: foreign keys and "must have a cap record".
    pub const FOREIGN_KEY_VIOLATION: &str = "23503";
    /// `invalid_parameter_value`: a malformed bulk upsert batch.
    pub const INVALID_PARAMETER_VALUE: &str = "22023";
}

/// Which template a [`TestDb`] is cloned from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// The migration chain with every fixture applied right after its migration.
    Fixtures,
    /// The migration chain alone: no rows but those the migrations insert (the system user).
    Bare,
}

impl Schema {
    /// Both templates, fixtures first.
    pub const BOTH: [Schema; 2] = [Schema::Fixtures, Schema::Bare];

    /// The pgcluster template key for `set`.
    fn key(self, set: &MigrationSet) -> String {
        match self {
            Schema::Fixtures => format!("gov_{}", set.hash()),
            Schema::Bare => format!("gov_bare_{}", set.hash()),
        }
    }
}

impl std::fmt::Display for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Schema::Fixtures => "with fixtures",
            Schema::Bare => "without fixtures",
        })
    }
}

/// The workspace's `migrations/` folder.
pub fn migrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations")
}

/// The migration set, discovered and validated once per process.
///
/// # Panics
/// When `migrations/` does not validate (the message says why).
pub fn migration_set() -> &'static MigrationSet {
    static SET: OnceLock<MigrationSet> = OnceLock::new();
    SET.get_or_init(|| {
        let dir = migrations_dir();
        MigrationSet::discover(&dir)
            .unwrap_or_else(|e| panic!("discovering migrations in {}: {e}", dir.display()))
    })
}

/// A private database cloned from a [`Schema`] template, with a connection to it.
///
/// Derefs to its [`Client`]. Dropping it closes the connection and drops the database.
pub struct TestDb {
    // Declared first so the connection closes before the database is dropped.
    client: Client,
    db: TestDatabase,
    schema: Schema,
}

impl TestDb {
    /// A fresh clone of `schema`'s template (built on first use in this process).
    ///
    /// # Panics
    /// When the embedded cluster cannot start or the migrations fail (with the reason).
    pub fn new(schema: Schema) -> TestDb {
        let set = migration_set();
        let cluster = Cluster::shared().unwrap_or_else(|e| panic!("embedded PostgreSQL: {e}"));
        let db = cluster
            .database_from_template(&schema.key(set), |client| {
                Migrator::new(set)
                    .with_fixtures(schema == Schema::Fixtures)
                    .up(client)?;
                Ok(())
            })
            .unwrap_or_else(|e| panic!("template database ({schema}): {e}"));
        let client = db
            .connect()
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", db.name()));
        TestDb { client, db, schema }
    }

    /// [`TestDb::new`], then `setup` (any number of statements, committed).
    ///
    /// # Panics
    /// When `setup` fails, with the server's report.
    pub fn with_setup(schema: Schema, setup: &str) -> TestDb {
        let mut db = TestDb::new(schema);
        db.exec(setup);
        db
    }

    /// The template this database was cloned from.
    pub fn schema(&self) -> Schema {
        self.schema
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        self.db.name()
    }

    /// A new, independent connection to this database (for concurrency tests).
    ///
    /// # Panics
    /// When the connection fails.
    pub fn connect(&self) -> Client {
        self.db
            .connect()
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.db.name()))
    }

    /// Runs `sql` (one or more statements, simple protocol, autocommitted).
    ///
    /// # Panics
    /// When it fails, with the server's full report and the SQL.
    #[track_caller]
    pub fn exec(&mut self, sql: &str) {
        if let Err(e) = self.client.batch_execute(sql) {
            panic!("{}\n  sql: {sql}", describe(&e));
        }
    }

    /// The single `bigint` (or `count(*)`) value `sql` returns.
    ///
    /// # Panics
    /// When the query fails or does not return exactly one row.
    #[track_caller]
    pub fn int(&mut self, sql: &str) -> i64 {
        match self.client.query_one(sql, &[]) {
            Ok(row) => row.get(0),
            Err(e) => panic!("{}\n  sql: {sql}", describe(&e)),
        }
    }

    /// The single boolean `sql` returns (NULL counts as false, as in an assertion).
    ///
    /// # Panics
    /// When the query fails or does not return exactly one row.
    #[track_caller]
    pub fn holds(&mut self, sql: &str) -> bool {
        match self.client.query_one(sql, &[]) {
            Ok(row) => row.get::<_, Option<bool>>(0).unwrap_or(false),
            Err(e) => panic!("{}\n  sql: {sql}", describe(&e)),
        }
    }

    /// Runs `sql` (committed) and asserts that it succeeds, naming `label` when it does not.
    ///
    /// # Panics
    /// When it fails, with the server's full report.
    #[track_caller]
    pub fn expect_ok(&mut self, label: &str, sql: &str) {
        if let Err(e) = self.client.batch_execute(sql) {
            panic!(
                "{label} ({}): expected success, got {}\n  sql: {sql}",
                self.schema,
                describe(&e)
            );
        }
    }

    /// Asserts that the boolean query `sql` is true, naming `label` when it is not.
    ///
    /// # Panics
    /// When the condition is false or NULL.
    #[track_caller]
    pub fn assert_holds(&mut self, label: &str, sql: &str) {
        let schema = self.schema;
        assert!(
            self.holds(sql),
            "{label} ({schema}): does not hold\n  sql: {sql}"
        );
    }

    /// Runs `sql` in a transaction that is always rolled back and returns its outcome.
    ///
    /// # Panics
    /// When the transaction cannot be opened or rolled back.
    pub fn attempt(&mut self, sql: &str) -> Result<(), postgres::Error> {
        let mut tx = self
            .client
            .transaction()
            .unwrap_or_else(|e| panic!("BEGIN: {}", describe(&e)));
        let result = tx.batch_execute(sql);
        tx.rollback()
            .unwrap_or_else(|e| panic!("ROLLBACK: {}", describe(&e)));
        result
    }

    /// Runs every row of `cases` (each in a rolled-back transaction) and asserts each is
    /// refused with its SQLSTATE and constraint; reports every failing row by label.
    ///
    /// # Panics
    /// When any row is not refused exactly as expected.
    #[track_caller]
    pub fn assert_refusals(&mut self, cases: &[Refusal]) {
        let mut failures = Failures::new(format!("refusals ({})", self.schema));
        for case in cases {
            let result = self.attempt(&case.sql);
            failures.check(case.label, case.judge(result));
        }
        failures.assert_none(cases.len());
    }
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("db", &self.db)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl Deref for TestDb {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl DerefMut for TestDb {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// One statement that must be refused: the row of a refusal table.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// Names the rule (usually the constraint, plus how it is violated).
    pub label: &'static str,
    /// The offending statement(s).
    pub sql: String,
    /// The expected SQLSTATE (see [`sqlstate`]).
    pub sqlstate: &'static str,
    /// The expected constraint name.
    pub constraint: &'static str,
    /// The expected DETAIL, when the rule reports one.
    pub detail: Option<&'static str>,
}

impl Refusal {
    /// `sql` must fail with `sqlstate` and `constraint`; `label` names the case.
    pub fn new(
        label: &'static str,
        sql: impl Into<String>,
        sqlstate: &'static str,
        constraint: &'static str,
    ) -> Refusal {
        Refusal {
            label,
            sql: sql.into(),
            sqlstate,
            constraint,
            detail: None,
        }
    }

    /// The error's DETAIL must also be exactly `detail`.
    #[must_use]
    pub fn with_detail(mut self, detail: &'static str) -> Refusal {
        self.detail = Some(detail);
        self
    }

    /// Whether `result` is this refusal: `Err` says what differs.
    pub fn judge<T>(&self, result: Result<T, postgres::Error>) -> Result<(), String> {
        let err = violation(result, self.sqlstate, self.constraint)?;
        match self.detail {
            Some(want) if err.detail() != Some(want) => Err(format!(
                "expected DETAIL {want:?}, got {:?} ({} {}: {})",
                err.detail(),
                self.sqlstate,
                self.constraint,
                err.message()
            )),
            _ => Ok(()),
        }
    }
}

/// Replaces every `{NAME}` placeholder of `template` (an uppercase letter, then uppercase
/// letters, digits or `_`) by its value in `ids`, so that SQL can name case data readably:
/// `fill("DELETE FROM users WHERE id = '{U1}'", &[("U1", "e2...")])`. Other braces (array
/// literals such as `'{}'` or `'{1,3}'`) are left alone.
///
/// # Panics
/// When a placeholder has no value in `ids`.
pub fn fill(template: &str, ids: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let is_placeholder = name.starts_with(|c: char| c.is_ascii_uppercase())
            && after[name_len..].starts_with('}');
        if is_placeholder {
            let value = ids
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| *value)
                .unwrap_or_else(|| panic!("no value for {{{name}}} in: {template}"));
            out.push_str(value);
            rest = &after[name_len + 1..];
        } else {
            out.push('{');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Labelled failures of a table-driven test, reported together.
#[derive(Debug)]
pub struct Failures {
    context: String,
    failed: Vec<(String, String)>,
}

impl Failures {
    /// An empty list; `context` heads the report (e.g. the test and [`Schema`]).
    pub fn new(context: impl Into<String>) -> Failures {
        Failures {
            context: context.into(),
            failed: Vec::new(),
        }
    }

    /// Records `outcome` under `label` when it is an error.
    pub fn check(&mut self, label: impl Into<String>, outcome: Result<(), String>) {
        if let Err(why) = outcome {
            self.failed.push((label.into(), why));
        }
    }

    /// Records a failure under `label` unless `condition` holds.
    pub fn expect(&mut self, label: impl Into<String>, condition: bool, why: impl Into<String>) {
        if !condition {
            self.failed.push((label.into(), why.into()));
        }
    }

    /// Panics listing every recorded failure, out of `total` checks.
    ///
    /// # Panics
    /// When any failure was recorded.
    #[track_caller]
    pub fn assert_none(self, total: usize) {
        if self.failed.is_empty() {
            return;
        }
        let mut report = format!(
            "{}: {} of {total} cases failed",
            self.context,
            self.failed.len()
        );
        for (label, why) in &self.failed {
            let _ = write!(report, "\n- {label}:\n    {}", why.replace('\n', "\n    "));
        }
        panic!("{report}");
    }
}

/// Checks that `result` failed with SQLSTATE `sqlstate` and constraint name `constraint`,
/// returning the server's error.
///
/// # Panics
/// Otherwise, with the expected values and the server's message, detail, hint and context.
#[track_caller]
pub fn expect_violation<T>(
    result: Result<T, postgres::Error>,
    sqlstate: &str,
    constraint: &str,
) -> DbError {
    violation(result, sqlstate, constraint).unwrap_or_else(|why| panic!("{why}"))
}

/// [`expect_violation`] without the panic: `Err` says what was expected and what happened.
pub fn violation<T>(
    result: Result<T, postgres::Error>,
    sqlstate: &str,
    constraint: &str,
) -> Result<DbError, String> {
    match result {
        Ok(_) => Err(format!(
            "expected {sqlstate} {constraint}, but the statement succeeded"
        )),
        Err(err) => error_is(&err, sqlstate, constraint),
    }
}

/// Whether `err` is a database error with SQLSTATE `sqlstate` and constraint name
/// `constraint`: `Err` says what was expected and what the server said.
pub fn error_is(
    err: &postgres::Error,
    sqlstate: &str,
    constraint: &str,
) -> Result<DbError, String> {
    match err.as_db_error() {
        Some(db) if db.code().code() == sqlstate && db.constraint() == Some(constraint) => {
            Ok(db.clone())
        }
        _ => Err(format!(
            "expected {sqlstate} {constraint}, got {}",
            describe(err)
        )),
    }
}

/// Checks that a database error's DETAIL is exactly `detail`.
///
/// # Panics
/// Otherwise, with both values and the message.
#[track_caller]
pub fn expect_detail(err: &DbError, detail: &str) {
    assert_eq!(
        err.detail(),
        Some(detail),
        "DETAIL of {} {:?}: {}",
        err.code().code(),
        err.constraint(),
        err.message()
    );
}

/// Everything the server said about an error: SQLSTATE, message, constraint, table,
/// detail, hint and context, one per line (or the client-side error and its causes when there
/// is no server error): [`pgerror::describe`]'s full form.
pub fn describe(err: &postgres::Error) -> String {
    format!("{:#}", pgerror::describe(err))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panic_message(f: impl FnOnce()) -> String {
        let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .expect_err("expected a panic");
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    }

    const NEGATIVE_BUDGET: &str = "INSERT INTO group_ai_budgets (group_id, spend_limit_micros)
        SELECT id, -1 FROM groups LIMIT 1";

    #[test]
    fn expect_violation_returns_the_matching_error() {
        let mut db = TestDb::with_setup(
            Schema::Bare,
            "INSERT INTO organizations (id, name) VALUES ('e1000000-0000-4000-8000-000000000001', 'o')",
        );
        let err = expect_violation(
            db.batch_execute(NEGATIVE_BUDGET),
            sqlstate::CHECK_VIOLATION,
            "group_ai_budgets_spend_limit_micros_check",
        );
        assert_eq!(err.table(), Some("group_ai_budgets"));
    }

    #[test]
    fn expect_violation_reports_both_sides_on_a_mismatch() {
        let mut db = TestDb::with_setup(
            Schema::Bare,
            "INSERT INTO organizations (id, name) VALUES ('e1000000-0000-4000-8000-000000000001', 'o')",
        );
        let result = db.batch_execute(NEGATIVE_BUDGET);
        let message = panic_message(move || {
            expect_violation(result, sqlstate::CHECK_VIOLATION, "some_other_check");
        });
        assert!(
            message.contains("expected 23514 some_other_check")
                && message.contains("constraint: group_ai_budgets_spend_limit_micros_check")
                && message.contains("violates check constraint"),
            "{message}"
        );
        let ok = db.batch_execute("SELECT 1");
        let message = panic_message(move || {
            expect_violation(ok, sqlstate::CHECK_VIOLATION, "some_check");
        });
        assert!(message.contains("but the statement succeeded"), "{message}");
    }

    #[test]
    fn refusal_checks_the_detail() {
        let mut db = TestDb::new(Schema::Bare);
        let result = db.batch_execute(
            "INSERT INTO users (id, email, username) VALUES ('e2000000-0000-4000-8000-000000000001', 'a@x', 'a'),
                                                            ('e2000000-0000-4000-8000-000000000002', 'A@X', 'b')",
        );
        let refusal = Refusal::new("email", "", sqlstate::UNIQUE_VIOLATION, "users_email_key")
            .with_detail("not the detail");
        let why = refusal.judge(result).expect_err("wrong detail must fail");
        assert!(
            why.contains("Key (lower(email))=(a@x) already exists."),
            "{why}"
        );
    }

    #[test]
    fn fill_replaces_placeholders_only() {
        let ids = [("U1", "u-one"), ("O_2", "o-two")];
        assert_eq!(
            fill("'{U1}', '{O_2}', '{}', '{1,3}', '{a}', ARRAY['{U1}']", &ids),
            "'u-one', 'o-two', '{}', '{1,3}', '{a}', ARRAY['u-one']"
        );
        let message = panic_message(|| {
            fill("'{NOPE}'", &ids);
        });
        assert!(message.contains("no value for {NOPE}"), "{message}");
    }

    #[test]
    fn the_system_user_exists_in_both_templates() {
        for schema in Schema::BOTH {
            let mut db = TestDb::new(schema);
            let row = db
                .query_one(
                    "SELECT is_system FROM users WHERE id = $1",
                    &[&SYSTEM_USER_ID],
                )
                .unwrap();
            assert!(row.get::<_, bool>(0), "{schema}");
            assert_eq!(SYSTEM_USER_ID.to_string(), SYSTEM_USER);
        }
    }
}
