//! Serialising concurrent runners without depending on the server session.
//!
//! Behind a transaction-pooling proxy (PgBouncer `pool_mode = transaction`) consecutive
//! transactions of one client may run on different server connections, so nothing that lives in
//! a server session can be trusted: not a session advisory lock (taken on one connection,
//! released on another, left held by an idle pooled connection), not a `SET`, not a named
//! prepared statement. So:
//!
//! - **The run lock is a lease row** in [`LOCK_TABLE`]: `owner` (host, pid and a random part)
//!   and `expires_at`. It is taken and renewed with short autocommit `UPDATE`s, renewed again by
//!   every transaction that applies (and by the heartbeat thread while a statement runs, when a
//!   second connection is available), and released at the end. A runner killed with SIGKILL
//!   stops renewing it: the next runner takes it over once it expired ([`DEFAULT_LEASE`]).
//! - **Every applying transaction checks that it still holds the lease** with an `UPDATE` of the
//!   lease row `WHERE owner = <us>` inside the transaction: the row stays locked until `COMMIT`
//!   (so nobody can take the lease over under a running transaction), and a runner whose lease
//!   was taken over fails instead of applying anything.
//! - [`LockMode::Advisory`] (the default where the server has advisory locks) additionally takes
//!   `pg_advisory_xact_lock` in every applying transaction: a transaction-scoped lock, released
//!   by `COMMIT`/`ROLLBACK` on whatever server connection ran it. [`LockMode::Table`] relies on
//!   the lease row alone, for PostgreSQL-compatible engines without advisory locks.

use std::time::{Duration, Instant};

use postgres::Client;
use postgres::types::Type;

use crate::error::{Error, Result};

/// The advisory lock key: fixed forever so every version of this tool takes the same lock.
/// Advisory locks are per database.
pub const LOCK_KEY: i64 = 0x6d69_6772_6174_6531; // "migrate1"

/// The lease table (one row, `id = 1`).
pub const LOCK_TABLE: &str = "migrate_lock";

/// How long a lease lasts without renewal (a killed runner blocks the next one at most this
/// long).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// Which lock serialises the transactions that apply migrations (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockMode {
    /// Lease row plus `pg_advisory_xact_lock` in every applying transaction.
    Advisory,
    /// Lease row only (engines without advisory locks).
    Table,
}

impl std::fmt::Display for LockMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LockMode::Advisory => "advisory",
            LockMode::Table => "table",
        })
    }
}

impl std::str::FromStr for LockMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "advisory" => Ok(LockMode::Advisory),
            "table" => Ok(LockMode::Table),
            other => Err(format!(
                "unknown lock mode `{other}`: use advisory or table"
            )),
        }
    }
}

/// The mode to use on this server: advisory when `pg_advisory_xact_lock(bigint)` exists and
/// works, else table.
pub fn detect(c: &mut Client) -> LockMode {
    // One autocommit statement: safe behind any pooler. CockroachDB and others lack the
    // function (or have a stub that errors).
    match c.simple_query(&format!(
        "SELECT pg_try_advisory_xact_lock({LOCK_KEY}) IS NOT NULL"
    )) {
        Ok(_) => LockMode::Advisory,
        Err(_) => LockMode::Table,
    }
}

/// A held (or wanted) lease.
#[derive(Debug, Clone)]
pub struct Lease {
    /// Our owner string (host:pid:random).
    pub owner: String,
    /// Lease length.
    pub length: Duration,
    /// Serialisation mode for applying transactions.
    pub mode: LockMode,
}

impl Lease {
    /// A new owner identity for this process and run.
    pub fn new(mode: LockMode, length: Duration) -> Lease {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "host".into());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Lease {
            owner: format!("{host}:{}:{nanos:08x}", std::process::id()),
            length,
            mode,
        }
    }

    fn secs(&self) -> f64 {
        self.length.as_secs_f64().max(1.0)
    }

    /// SQL run first in every applying transaction (after `BEGIN`): the advisory transaction
    /// lock (advisory mode), then the lease check-and-renew, which fails the transaction when
    /// the lease is no longer ours. Also asks the server to notice a killed client within a
    /// second (PostgreSQL 14+), so a dead runner's transaction and row lock go promptly.
    pub(crate) fn tx_guard_sql(&self, server_num: i32) -> String {
        let mut sql = String::new();
        if server_num >= 140000 {
            sql.push_str("SET LOCAL client_connection_check_interval = '1s';");
        }
        if self.mode == LockMode::Advisory {
            sql.push_str(&format!("SELECT pg_advisory_xact_lock({LOCK_KEY});"));
        }
        sql.push_str(&format!(
            "DO $migrate_lease$ BEGIN UPDATE {LOCK_TABLE} SET expires_at = now() + interval '{secs} seconds' \
             WHERE id = 1 AND owner = {owner}; IF NOT FOUND THEN RAISE EXCEPTION \
             'migration lock lease lost: another runner took it over (lease {secs} s); nothing of this transaction is applied'; \
             END IF; END $migrate_lease$;\n",
            secs = self.secs(),
            owner = quote(&self.owner),
        ));
        sql
    }

    /// Renew the lease in an autocommit statement; an error when it is no longer ours.
    pub fn renew(&self, c: &mut Client) -> Result<()> {
        let n = c
            .execute_typed(
                &format!(
                    "UPDATE {LOCK_TABLE} SET expires_at = now() + make_interval(secs => $2) \
                     WHERE id = 1 AND owner = $1"
                ),
                &[(&self.owner, Type::TEXT), (&self.secs(), Type::FLOAT8)],
            )
            .map_err(|e| Error::db("cannot renew the migration lock lease", e))?;
        if n == 0 {
            return Err(Error::Lock(format!(
                "lease lost: another runner took it over (lease {} s)",
                self.secs()
            )));
        }
        Ok(())
    }
}

impl Lease {
    /// Renew the lease without waiting: a transaction of ours holding the lease row (it is
    /// applying) makes this a no-op, and then nobody can take the lease over anyway.
    pub(crate) fn renew_nowait(&self, c: &mut Client) {
        let sql = format!(
            "BEGIN; SET LOCAL lock_timeout = '100ms';
             UPDATE {LOCK_TABLE} SET expires_at = now() + interval '{secs} seconds'
             WHERE id = 1 AND owner = {owner}; COMMIT;",
            secs = self.secs(),
            owner = quote(&self.owner),
        );
        if c.batch_execute(&sql).is_err() {
            let _ = c.batch_execute("ROLLBACK");
        }
    }
}

/// SQL string literal.
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Create the lease table and its row when missing (concurrent runners may race: a losing
/// `CREATE` is retried).
pub fn ensure_table(c: &mut Client) -> Result<()> {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {LOCK_TABLE} (
             id int PRIMARY KEY CHECK (id = 1),
             owner text,
             acquired_at timestamptz,
             expires_at timestamptz);
         INSERT INTO {LOCK_TABLE} (id) VALUES (1) ON CONFLICT (id) DO NOTHING;"
    );
    let mut last = None;
    for _ in 0..5 {
        match c.batch_execute(&sql) {
            Ok(()) => return Ok(()),
            // Two sessions creating the table at once: one gets a unique violation on the
            // catalog, or "type/relation ... already exists"; the table exists now.
            Err(e)
                if e.code()
                    .is_some_and(|s| matches!(s.code(), "23505" | "42P07" | "42710")) =>
            {
                last = Some(e);
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(Error::db(format!("cannot create {LOCK_TABLE}"), e)),
        }
    }
    Err(Error::db(
        format!("cannot create {LOCK_TABLE}"),
        last.expect("set in the loop"),
    ))
}

/// Who holds the lease: owner, seconds until it expires.
fn holder(c: &mut Client) -> Option<(String, f64)> {
    c.query_typed_opt(
        &format!(
            "SELECT owner, extract(epoch FROM expires_at - now())::float8 FROM {LOCK_TABLE} \
             WHERE id = 1 AND owner IS NOT NULL"
        ),
        &[],
    )
    .ok()
    .flatten()
    .map(|r| (r.get(0), r.get(1)))
}

/// Take the lease, waiting (polling with jitter) while another live runner holds it.
/// `on_wait` is called once with the holder's description.
pub fn acquire(c: &mut Client, lease: &Lease, on_wait: &dyn Fn(Option<String>)) -> Result<()> {
    ensure_table(c)?;
    let mut waited = false;
    let mut rng = Jitter::new();
    loop {
        // Autocommit, bounded: a live transaction holding the row (it is applying) makes us
        // wait at most 500 ms per attempt.
        let take = format!(
            "BEGIN; SET LOCAL lock_timeout = '500ms';
             UPDATE {LOCK_TABLE} SET owner = {owner}, acquired_at = now(),
                 expires_at = now() + interval '{secs} seconds'
             WHERE id = 1 AND (owner IS NULL OR expires_at < now() OR owner = {owner})
             RETURNING 1; COMMIT;",
            owner = quote(&lease.owner),
            secs = lease.secs(),
        );
        match c.simple_query(&take) {
            Ok(msgs) => {
                if msgs
                    .iter()
                    .any(|m| matches!(m, postgres::SimpleQueryMessage::Row(_)))
                {
                    return Ok(());
                }
            }
            Err(e) if e.code().is_some_and(|s| s.code() == "55P03") => {
                let _ = c.batch_execute("ROLLBACK");
            }
            Err(e) => {
                let _ = c.batch_execute("ROLLBACK");
                return Err(Error::db("cannot take the migration lock", e));
            }
        }
        if !waited {
            waited = true;
            on_wait(
                holder(c).map(|(o, left)| format!("{o}, lease expires in {:.1} s", left.max(0.0))),
            );
        }
        std::thread::sleep(Duration::from_millis(100 + rng.below(200)));
    }
}

/// Release the lease (only when it is still ours).
pub fn release(c: &mut Client, lease: &Lease) {
    let _ = c.execute_typed(
        &format!(
            "UPDATE {LOCK_TABLE} SET owner = NULL, expires_at = NULL WHERE id = 1 AND owner = $1"
        ),
        &[(&lease.owner, Type::TEXT)],
    );
}

/// Run `f` while holding the lease.
pub fn with_lock<T>(
    client: &mut Client,
    lease: &Lease,
    on_wait: &dyn Fn(Option<String>),
    f: impl FnOnce(&mut Client) -> Result<T>,
) -> Result<T> {
    acquire(client, lease, on_wait)?;
    let result = f(client);
    release(client, lease);
    result
}

/// The server's version number (`server_version_num`).
pub(crate) fn server_num(c: &mut Client) -> i32 {
    c.simple_query("SHOW server_version_num")
        .ok()
        .and_then(|m| {
            m.iter().find_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => r.get(0).and_then(|v| v.parse().ok()),
                _ => None,
            })
        })
        .unwrap_or(0)
}

/// A small xorshift generator seeded from the clock, for backoff jitter.
#[derive(Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new() -> Jitter {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            ^ (u64::from(std::process::id()) << 32);
        Jitter(seed | 1)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Elapsed since `t`, in seconds with one decimal (for messages).
pub(crate) fn secs_since(t: Instant) -> String {
    format!("{:.1} s", t.elapsed().as_secs_f64())
}
