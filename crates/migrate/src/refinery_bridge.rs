//! Letting refinery apply migrations inside a transaction that we own.
//!
//! refinery's sync `postgres` driver opens its own transaction per `execute` call, so a
//! migration's SQL and its history row can land in two transactions. Here refinery's `Migrate`
//! traits are implemented on a wrapper around *our* transaction: refinery decides what to run and
//! writes its history rows in its own format, and everything commits or rolls back together.
//!
//! Verification of the history (missing files, changed checksums, ordering) is done by the
//! engine under the advisory lock before refinery runs, and the engine hands refinery exactly
//! the migrations to apply. So the wrapper skips the round trips that would only repeat that
//! work: refinery's `CREATE TABLE IF NOT EXISTS` of the history table (already ensured in this
//! session) and its read of the applied migrations (reported as none, so refinery applies the
//! whole batch; the engine then checks that it did).

use postgres::GenericClient;
use refinery::Migration as RefineryMigration;
use refinery_core::traits::sync::{Migrate, Query, Transaction};

use crate::checksum;
use crate::error::{Error, Result};
use crate::history;
use crate::set::Migration;

/// refinery's view of one of our migrations (SQL with LF line endings).
pub(crate) fn to_refinery(m: &Migration) -> Result<RefineryMigration> {
    let name = m.refinery_name();
    let sql = checksum::normalise(&m.up.sql);
    let r = RefineryMigration::unapplied(&format!("V{}__{}", m.version, name), &sql)?;
    if r.name() != name || r.version() != m.version {
        return Err(Error::History(format!(
            "refinery parsed migration {} as {}__{}; rename the file with letters, digits and _",
            m.label(),
            r.version(),
            r.name()
        )));
    }
    Ok(r)
}

/// Prepended to the first migration's SQL when the bridge owns its transaction.
pub(crate) const BEGIN_PREFIX: &str = "BEGIN;";

pub(crate) use crate::guard::{GUARD_AFTER, GUARD_BEFORE};

/// The guard found that a migration ended the runner's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Broken {
    /// Index of the migration in the batch handed to refinery.
    pub index: usize,
    /// The runner's transaction id (when its first migration started).
    pub reference: i64,
    /// The transaction id the script ended in.
    pub end: i64,
}

/// What the bridge reports to refinery.
#[derive(Debug)]
pub(crate) enum BridgeError {
    /// The server refused a query.
    Pg(postgres::Error),
    /// The guard fired (see [`Broken`]).
    TransactionEnded,
}

impl std::fmt::Display for BridgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BridgeError::Pg(e) => write!(f, "{e}"),
            BridgeError::TransactionEnded => {
                f.write_str("a migration ended the runner's transaction itself")
            }
        }
    }
}

impl std::error::Error for BridgeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BridgeError::Pg(e) => Some(e),
            BridgeError::TransactionEnded => None,
        }
    }
}

impl From<postgres::Error> for BridgeError {
    fn from(e: postgres::Error) -> Self {
        BridgeError::Pg(e)
    }
}

/// The wrapper refinery drives, over our transaction or, in per-migration mode, over a
/// client whose transaction the bridge opens and commits itself: `BEGIN;` travels with the
/// migration's SQL and `COMMIT` with refinery's history insert, saving two round trips per
/// migration while keeping the SQL and its history row in one transaction.
pub(crate) struct Bridge<'t, C: GenericClient> {
    tx: &'t mut C,
    /// Open and commit the transaction in-band (see the type docs).
    owns_transaction: bool,
    /// `BEGIN` was sent and no `COMMIT` succeeded yet: the caller must roll back on error.
    pub open: bool,
    /// SQL texts of the migrations handed to refinery, in order.
    expected: Vec<String>,
    /// Index (into `expected`) of the migration whose SQL failed.
    pub failed_migration: Option<usize>,
    /// Time each migration's SQL took, by index into `expected`.
    pub timings: Vec<std::time::Duration>,
    /// Characters sent in front of each migration's SQL (`BEGIN;`, the previous history insert).
    pub prefixes: Vec<usize>,
    /// A history insert waiting to travel with the next migration.
    held_insert: Option<String>,
    /// The runner's transaction id, once the first migration of the transaction ran (pass
    /// it on to the next bridge in the same transaction with [`Bridge::in_transaction`]).
    pub reference: Option<i64>,
    /// Set when the guard found a migration that ended the transaction.
    pub broken: Option<Broken>,
    /// Sent first in every query (the watcher's marker comment).
    marker: String,
    /// Sent right after `BEGIN` when the bridge owns the transaction (lock guard).
    begin_sql: String,
    /// Sent before each migration's SQL (its `SET LOCAL lock_timeout`).
    before: Vec<String>,
}

impl<'t, C: GenericClient> Bridge<'t, C> {
    pub(crate) fn new(tx: &'t mut C, migrations: &[RefineryMigration]) -> Self {
        Bridge {
            tx,
            owns_transaction: false,
            open: false,
            expected: migrations
                .iter()
                .map(|m| m.sql().unwrap_or_default().to_string())
                .collect(),
            failed_migration: None,
            timings: vec![std::time::Duration::ZERO; migrations.len()],
            prefixes: vec![0; migrations.len()],
            held_insert: None,
            reference: None,
            broken: None,
            marker: String::new(),
            begin_sql: String::new(),
            before: Vec::new(),
        }
    }

    /// SQL to send with the migrations: `marker` first in each query, `begin_sql` after the
    /// `BEGIN` the bridge sends, `before[i]` in front of migration `i`.
    pub(crate) fn with_prefixes(
        mut self,
        marker: String,
        begin_sql: String,
        before: Vec<String>,
    ) -> Self {
        self.marker = marker;
        self.begin_sql = begin_sql;
        self.before = before;
        self
    }

    /// The transaction's id is already known (an earlier bridge in the same transaction).
    pub(crate) fn in_transaction(mut self, reference: Option<i64>) -> Self {
        self.reference = reference;
        self
    }

    /// The bridge opens the transaction with the first migration and commits it with the last
    /// history insert (`tx` must be a client outside any transaction).
    pub(crate) fn owning_transaction(mut self) -> Self {
        self.owns_transaction = true;
        self
    }
}

impl<C: GenericClient> Transaction for Bridge<'_, C> {
    type Error = BridgeError;

    /// refinery hands over `[sql_1, insert_1, sql_2, insert_2, ...]`. Each history insert is
    /// held back and sent in front of the next migration's SQL (the last one alone, or with
    /// `COMMIT` when the bridge owns the transaction): one round trip per migration instead
    /// of two. [`Bridge::prefixes`] records how many characters went in front of each
    /// migration's SQL, so error positions still map into the file.
    fn execute<'a, T: Iterator<Item = &'a str>>(
        &mut self,
        queries: T,
    ) -> std::result::Result<usize, Self::Error> {
        let mut count = 0;
        for q in queries {
            count += 1;
            if q.trim_start().starts_with(&format!(
                "CREATE TABLE IF NOT EXISTS {}",
                history::HISTORY_TABLE
            )) {
                continue;
            }
            let Some(index) = self.expected.iter().position(|s| s == q) else {
                // A history insert: send it with the next migration, or at the end.
                if let Some(held) = self.held_insert.replace(q.to_string()) {
                    self.tx.batch_execute(&held)?;
                }
                continue;
            };
            let mut prefix = self.marker.clone();
            if self.owns_transaction && !self.open {
                prefix.push_str(BEGIN_PREFIX);
                prefix.push_str(&self.begin_sql);
            }
            if let Some(held) = self.held_insert.take() {
                prefix.push_str(&held);
                prefix.push_str(";\n");
            }
            if let Some(before) = self.before.get(index) {
                prefix.push_str(before);
            }
            prefix.push_str(GUARD_BEFORE);
            self.prefixes[index] = prefix.chars().count();
            let started = std::time::Instant::now();
            let result = self.tx.simple_query(&format!("{prefix}{q}{GUARD_AFTER}"));
            self.timings[index] += started.elapsed();
            if self.owns_transaction {
                self.open = true;
            }
            let messages = match result {
                Ok(m) => m,
                Err(e) => {
                    self.failed_migration = Some(index);
                    return Err(e.into());
                }
            };
            if let Some((start, end)) = crate::guard::xids(&messages)
                && let Some((reference, end)) = crate::guard::check(&mut self.reference, start, end)
            {
                self.broken = Some(Broken {
                    index,
                    reference,
                    end,
                });
                return Err(BridgeError::TransactionEnded);
            }
        }
        if let Some(held) = self.held_insert.take() {
            if self.owns_transaction && self.open {
                self.tx.batch_execute(&format!("{held};\nCOMMIT"))?;
                self.open = false;
            } else {
                self.tx.batch_execute(&held)?;
            }
        }
        Ok(count)
    }
}

impl<C: GenericClient> Query<Vec<RefineryMigration>> for Bridge<'_, C> {
    fn query(&mut self, _query: &str) -> std::result::Result<Vec<RefineryMigration>, BridgeError> {
        // See the module docs: the engine verified the history and chose the batch.
        Ok(Vec::new())
    }
}

impl<C: GenericClient> Migrate for Bridge<'_, C> {}
