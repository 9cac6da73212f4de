//! Applying one known-next migration on a private database, without the run's bookkeeping.

use postgres::Client;

use crate::engine::{Applied, Migrator};
use crate::error::Result;
use crate::history;
use crate::revert::Reverted;
use crate::set::Migration;

impl Migrator<'_> {
    /// Apply `m` (with its fixture when [`Migrator::with_fixtures`] is on) exactly as
    /// [`Migrator::up_to`] applies it — same transaction, history row, `-- no-transaction`
    /// handling and error locations — but without taking the lease or reading and verifying
    /// the history first.
    ///
    /// Only for a database no other runner uses, where the caller knows `m` is the next
    /// migration to apply (every one before it applied by this crate, nothing after it): the
    /// reversibility walk's scratch databases, which apply one migration thousands of times in
    /// a row and would otherwise read the whole history for each.
    ///
    /// Round trips: `m`'s transaction is opened with its statements and committed with its
    /// history row, two round trips; with fixtures on, its fixture travels in the first of them
    /// (when both scripts are free of transaction control, else in a message of its own). The
    /// history table is created first only for the set's first migration: for any other, the
    /// migrations before it were applied, so their history rows exist, and so does the table.
    pub fn apply_next(&self, client: &mut Client, m: &Migration) -> Result<Vec<Applied>> {
        if self.set.migrations.first().map(|f| f.version) == Some(m.version) {
            history::ensure(client)?;
        }
        self.apply(client, &[m])
    }

    /// Revert `m` (its down script and history row, in one transaction) exactly as
    /// [`Migrator::down`] reverts the newest migration, but without taking the lease or
    /// reading and verifying the history first. The same caveat as [`Migrator::apply_next`]:
    /// only on a private database where the caller knows `m` is the newest applied migration.
    ///
    /// Round trips: `BEGIN` travels with the down, the history row's `DELETE` with `COMMIT`
    /// once the guard showed the down left the transaction open: two.
    pub fn revert_next(&self, client: &mut Client, m: &Migration) -> Result<Vec<Reverted>> {
        crate::revert::down_script(self, m)?;
        self.revert(client, &[m])
    }
}
