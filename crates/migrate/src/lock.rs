//! The advisory lock that serialises concurrent runners (refinery has none).
//!
//! A session-level `pg_advisory_lock` is held for a whole run (up, down, redo), so it also covers
//! `-- no-transaction` migrations. A runner that dies loses its session and the lock with it;
//! `client_connection_check_interval` makes the server notice a killed client within a second
//! even while a statement runs.

use postgres::{Client, SimpleQueryMessage};

use crate::error::{Error, Result};

/// The lock key: the first 8 bytes of "refinery_schema_history" hashed, fixed forever so every
/// version of this tool takes the same lock. Advisory locks are per database.
pub const LOCK_KEY: i64 = 0x6d69_6772_6174_6531; // "migrate1"

/// Run `f` while holding the lock. `on_wait` is called once when another runner holds it.
pub fn with_lock<T>(
    client: &mut Client,
    on_wait: &dyn Fn(Option<i32>),
    f: impl FnOnce(&mut Client) -> Result<T>,
) -> Result<T> {
    // PostgreSQL 14+: abort our statements promptly if we are killed. Older servers lack it.
    let _ = client.batch_execute("SET client_connection_check_interval = '1s'");
    // Simple-query protocol: one round trip (an extended-protocol query takes two).
    let got = client
        .simple_query(&format!("SELECT pg_try_advisory_lock({LOCK_KEY})"))
        .map_err(|e| Error::db("cannot take the migration lock", e))?
        .iter()
        .any(|m| matches!(m, SimpleQueryMessage::Row(r) if r.get(0) == Some("t")));
    if !got {
        let holder: Option<i32> = client
            .query_opt(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                 AND ((classid::int8 << 32) | objid::int8) = $1",
                &[&LOCK_KEY],
            )
            .ok()
            .flatten()
            .map(|r| r.get(0));
        on_wait(holder);
        client
            .batch_execute(&format!("SELECT pg_advisory_lock({LOCK_KEY})"))
            .map_err(|e| Error::db("cannot take the migration lock", e))?;
    }
    let result = f(client);
    // Unlock even after a failure; if the session is gone, so is the lock.
    let _ = client.batch_execute(&format!("SELECT pg_advisory_unlock({LOCK_KEY})"));
    result
}
