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

use postgres::Transaction as PgTransaction;
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

/// The wrapper refinery drives.
pub(crate) struct Bridge<'t, 'c> {
    tx: &'t mut PgTransaction<'c>,
    /// SQL texts of the migrations handed to refinery, in order.
    expected: Vec<String>,
    /// Index (into `expected`) of the migration whose SQL failed.
    pub failed_migration: Option<usize>,
    /// Time each migration's SQL took, by index into `expected`.
    pub timings: Vec<std::time::Duration>,
}

impl<'t, 'c> Bridge<'t, 'c> {
    pub(crate) fn new(tx: &'t mut PgTransaction<'c>, migrations: &[RefineryMigration]) -> Self {
        Bridge {
            tx,
            expected: migrations
                .iter()
                .map(|m| m.sql().unwrap_or_default().to_string())
                .collect(),
            failed_migration: None,
            timings: vec![std::time::Duration::ZERO; migrations.len()],
        }
    }
}

impl Transaction for Bridge<'_, '_> {
    type Error = postgres::Error;

    fn execute<'a, T: Iterator<Item = &'a str>>(
        &mut self,
        queries: T,
    ) -> std::result::Result<usize, Self::Error> {
        let mut count = 0;
        for q in queries {
            if q.trim_start().starts_with(&format!(
                "CREATE TABLE IF NOT EXISTS {}",
                history::HISTORY_TABLE
            )) {
                count += 1;
                continue;
            }
            let started = std::time::Instant::now();
            let result = self.tx.batch_execute(q);
            let index = self.expected.iter().position(|s| s == q);
            if let Some(i) = index {
                self.timings[i] += started.elapsed();
            }
            if let Err(e) = result {
                self.failed_migration = index;
                return Err(e);
            }
            count += 1;
        }
        Ok(count)
    }
}

impl Query<Vec<RefineryMigration>> for Bridge<'_, '_> {
    fn query(&mut self, _query: &str) -> std::result::Result<Vec<RefineryMigration>, Self::Error> {
        // See the module docs: the engine verified the history and chose the batch.
        Ok(Vec::new())
    }
}

impl Migrate for Bridge<'_, '_> {}
