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
    /// migration to apply (every one before it applied, nothing after it): the reversibility
    /// walk's scratch databases, which apply one migration thousands of times in a row and
    /// would otherwise read the whole history for each.
    pub fn apply_next(&self, client: &mut Client, m: &Migration) -> Result<Vec<Applied>> {
        history::ensure(client)?;
        self.apply(client, &[m])
    }

    /// Revert `m` (its down script and history row, in one transaction) exactly as
    /// [`Migrator::down`] reverts the newest migration, but without taking the lease or
    /// reading and verifying the history first. The same caveat as [`Migrator::apply_next`]:
    /// only on a private database where the caller knows `m` is the newest applied migration.
    pub fn revert_next(&self, client: &mut Client, m: &Migration) -> Result<Vec<Reverted>> {
        crate::revert::down_script(self, m)?;
        self.revert(client, &[m])
    }
}
