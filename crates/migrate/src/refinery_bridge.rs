//! Letting refinery apply migrations inside a transaction that we own.
//!
//! refinery's sync `postgres` driver opens its own transaction per `execute` call, so a
//! migration's SQL and its history row can land in two transactions. Here refinery's `Migrate`
//! traits are implemented on a wrapper around *our* transaction: refinery decides what to run and
//! writes its history rows in its own format, and everything commits or rolls back together.

use postgres::Transaction as PgTransaction;
use refinery::Migration as RefineryMigration;
use refinery_core::traits::sync::{Migrate, Query, Transaction};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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
            if let Err(e) = self.tx.batch_execute(q) {
                self.failed_migration = self.expected.iter().position(|s| s == q);
                return Err(e);
            }
            count += 1;
        }
        Ok(count)
    }
}

impl Query<Vec<RefineryMigration>> for Bridge<'_, '_> {
    fn query(&mut self, _query: &str) -> std::result::Result<Vec<RefineryMigration>, Self::Error> {
        // refinery asks for every applied migration; read them our way, which also accepts the
        // int4 version column of a database a default refinery build created.
        let rows = self.tx.query(
            &format!(
                "SELECT version::int8, coalesce(name, ''), applied_on, checksum FROM {} ORDER BY version",
                history::HISTORY_TABLE
            ),
            &[],
        )?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let applied_on: Option<String> = r.get(2);
                let checksum: Option<String> = r.get(3);
                RefineryMigration::applied(
                    r.get(0),
                    r.get(1),
                    applied_on
                        .and_then(|a| OffsetDateTime::parse(&a, &Rfc3339).ok())
                        .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                    checksum.and_then(|c| c.trim().parse().ok()).unwrap_or(0),
                )
            })
            .collect())
    }
}

impl Migrate for Bridge<'_, '_> {}
