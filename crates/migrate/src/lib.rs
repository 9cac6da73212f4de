//! The migration engine: versioned up/down SQL migrations for PostgreSQL.
//!
//! - [`MigrationSet::discover`] reads a folder in one of three [`Layout`]s and validates it
//!   (duplicates, missing downs, unparsable names, gaps) before anything runs.
//! - [`Migrator`] applies pending migrations through refinery, recording them in refinery's
//!   `refinery_schema_history` table, and closes refinery's gaps: the whole pending set (or each
//!   migration) is atomic with its history row, a PostgreSQL advisory lock serialises concurrent
//!   runners, `-- no-transaction` scripts run one statement at a time outside a transaction, and
//!   migrations can be reverted (`down`, `down --to`, `down --all`, `redo`).
//! - Errors locate PostgreSQL's error position in the migration file (`file:line:column`), with
//!   SQLSTATE, message, detail and hint.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let set = migrate::MigrationSet::discover(std::path::Path::new("migrations"))?;
//! let mut client = postgres::Client::connect("postgresql://localhost/app", postgres::NoTls)?;
//! for applied in migrate::Migrator::new(&set).up(&mut client)? {
//!     println!("applied {} {}", applied.version, applied.name);
//! }
//! # Ok(()) }
//! ```

mod adopt;
mod batch;
#[cfg(test)]
mod batch_guard_tests;
pub mod checksum;
mod directive;
mod discover;
mod engine;
mod error;
#[cfg(test)]
mod fused_guard_tests;
mod guard;
mod history;
mod lock;
mod new;
mod pgerror;
mod reencode;
mod refinery_bridge;
pub mod renumber;
mod revert;
mod scratch;
mod set;
pub mod split;
mod status;
#[cfg(test)]
mod test_db;
pub mod txcontrol;
mod watch;

pub use adopt::{AdoptError, Adoption, Recorded, Tool};
pub use directive::{lock_timeout as lock_timeout_directive, no_transaction, parse_duration};
pub use discover::{DIESEL_VERSION_DIGITS, DiscoverOptions, FIXTURES_DIR};
pub use engine::{Applied, Migrator};
pub use engine::{DEFAULT_LOCK_RETRIES, DEFAULT_LOCK_TIMEOUT};
pub use error::{Error, Problem, Result, SqlFailure};
pub use history::{HISTORY_TABLE, HistoryRow};
pub use lock::{DEFAULT_LEASE, LOCK_KEY, LOCK_TABLE, LockMode};
pub use new::{Created, new_migration};
pub use revert::{DownTarget, Reverted};
pub use set::{Layout, Migration, MigrationSet, Script};
pub use status::{ChecksumState, State, StatusRow};
pub use watch::{Blocker, HEARTBEAT};
