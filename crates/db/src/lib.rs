//! The runtime crate applications link.
//!
//! - [`constraints`], [`enums`], [`models`]: the code `cargo xtask gen` writes into
//!   `generated/` from the migrated schema (constraint names, PostgreSQL enums, row structs);
//! - error classification for [`postgres::Error`]: [`is_check_violation`],
//!   [`is_unique_violation`], [`is_foreign_key_violation`], [`is_exclusion_violation`],
//!   [`is_trigger_violation`] and [`constraint_of`], using the SQLSTATE and the constraint
//!   name PostgreSQL reports. Names that trigger functions raise with
//!   `RAISE ... USING CONSTRAINT = 'name'` work the same way, because the error carries them;
//! - [`connect`]: a `postgres::Client` with libpq's TLS settings (`sslmode`, `sslrootcert`,
//!   ...), over rustls.
//!
//! ```no_run
//! # fn demo(client: &mut postgres::Client) {
//! use db::CheckConstraint;
//! let err = client
//!     .execute("UPDATE group_ai_budgets SET spend_limit_micros = -1", &[])
//!     .unwrap_err();
//! if db::is_check_violation(&err, &[CheckConstraint::GroupAiBudgetsSpendLimitMicrosCheck]) {
//!     // tell the user the limit must not be negative
//! }
//! let which: Option<CheckConstraint> = db::constraint_of(&err);
//! # }
//! ```

/// Constraint names: one enum per kind of violation (generated).
pub mod constraints {
    include!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../generated/constraints.rs"
    ));
}

/// PostgreSQL enum types (generated).
pub mod enums {
    include!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../generated/enums.rs"
    ));
}

/// Row structs of tables and views (generated).
pub mod models {
    include!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../generated/models.rs"
    ));
}

/// Typed queries from `crates/db/queries/*.sql` (generated): the `Querier` trait, run on a
/// `Session` (statements prepared once per connection, or unprepared for transaction
/// poolers), metered by `Metered`.
pub mod queries {
    include!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../generated/queries.rs"
    ));

    /// The async flavour (feature `async`): `AsyncQuerier`, run on an `AsyncSession` over
    /// a `tokio_postgres` client or transaction; the rows, parameters, errors, statement
    /// cache and `Metered` are the ones of [`crate::queries`].
    #[cfg(feature = "async")]
    pub mod asynchronous {
        include!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../generated/queries_async.rs"
        ));
    }
}

pub use constraints::{
    CheckConstraint, Constraint, ExcludeConstraint, ForeignKeyConstraint, TriggerConstraint,
    UniqueConstraint, UnknownConstraint,
};

use postgres::error::{DbError, SqlState};

/// Connects to `url` (a `postgres://` URL or libpq `key=value` string) the way libpq would,
/// TLS included: `sslmode` (`disable`, `prefer` by default, `require`, `verify-ca`,
/// `verify-full`), `sslrootcert` (a file or `system`), `sslcert`/`sslkey`, from the URL or
/// `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`. See the [`pgconnect`] crate.
///
/// ```no_run
/// let mut client =
///     db::connect("postgresql://app@db.example/app?sslmode=verify-full&sslrootcert=system")?;
/// # Ok::<(), postgres::Error>(())
/// ```
pub fn connect(url: &str) -> Result<postgres::Client, postgres::Error> {
    pgconnect::connect(url)
}

pub use pgconnect;

/// The server error inside `err`, if it is one.
pub fn db_error(err: &postgres::Error) -> Option<&DbError> {
    err.as_db_error()
}

/// The constraint name the server reported, whatever the error.
pub fn constraint_name(err: &postgres::Error) -> Option<&str> {
    db_error(err)?.constraint()
}

fn violation(err: &postgres::Error, state: &SqlState, names: &[&'static str]) -> bool {
    let Some(e) = db_error(err) else { return false };
    e.code() == state && (names.is_empty() || e.constraint().is_some_and(|c| names.contains(&c)))
}

/// A `check_violation` (23514) of one of `any_of` (table and domain CHECKs, and names
/// trigger functions raise with that SQLSTATE); with an empty slice, of any CHECK.
pub fn is_check_violation(err: &postgres::Error, any_of: &[CheckConstraint]) -> bool {
    let names: Vec<&'static str> = any_of.iter().map(|c| c.as_str()).collect();
    violation(err, &SqlState::CHECK_VIOLATION, &names)
}

/// A `unique_violation` (23505) of one of `any_of` (primary keys, unique constraints and
/// unique indexes); with an empty slice, of any.
pub fn is_unique_violation(err: &postgres::Error, any_of: &[UniqueConstraint]) -> bool {
    let names: Vec<&'static str> = any_of.iter().map(|c| c.as_str()).collect();
    violation(err, &SqlState::UNIQUE_VIOLATION, &names)
}

/// A `foreign_key_violation` (23503) of one of `any_of`; with an empty slice, of any.
pub fn is_foreign_key_violation(err: &postgres::Error, any_of: &[ForeignKeyConstraint]) -> bool {
    let names: Vec<&'static str> = any_of.iter().map(|c| c.as_str()).collect();
    violation(err, &SqlState::FOREIGN_KEY_VIOLATION, &names)
}

/// An `exclusion_violation` (23P01) of one of `any_of`; with an empty slice, of any.
pub fn is_exclusion_violation(err: &postgres::Error, any_of: &[ExcludeConstraint]) -> bool {
    let names: Vec<&'static str> = any_of.iter().map(|c| c.as_str()).collect();
    violation(err, &SqlState::EXCLUSION_VIOLATION, &names)
}

/// An error raised by a trigger function with one of `any_of`'s names (and that name's
/// SQLSTATE); with an empty slice, with any of them.
pub fn is_trigger_violation(err: &postgres::Error, any_of: &[TriggerConstraint]) -> bool {
    match constraint_of::<TriggerConstraint>(err) {
        Some(c) => any_of.is_empty() || any_of.contains(&c),
        None => false,
    }
}

/// The constraint of kind `C` the error reports: its name is one of `C`'s and its SQLSTATE
/// is the one that constraint raises. `None` for any other error.
pub fn constraint_of<C: Constraint>(err: &postgres::Error) -> Option<C> {
    let e = db_error(err)?;
    let c = C::from_name(e.constraint()?)?;
    c.sqlstates().contains(&e.code().code()).then_some(c)
}
