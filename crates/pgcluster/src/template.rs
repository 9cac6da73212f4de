//! Template databases and their per-test clones ([`TestDatabase`]).
//!
//! A template `tpl_<key>` is built once per cluster: under a session advisory lock on the
//! `postgres` database (keyed from the template name, so concurrent threads and processes
//! build it once), on a fresh database, then marked `IS_TEMPLATE true ALLOW_CONNECTIONS
//! false` and emptied of sessions. `datistemplate` is set last, so it doubles as the "fully
//! built" flag: a template left half-built by a crash or a failed build is dropped and
//! rebuilt. Clones are `CREATE DATABASE <unique> TEMPLATE tpl_<key>` (with `STRATEGY
//! FILE_COPY` on PostgreSQL 15+, several times faster than WAL_LOG for small databases),
//! retried briefly while the server reports the template as "being accessed by other
//! users" (a session still exiting).

use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use sha2::{Digest as _, Sha256};

use crate::cluster::{Cluster, drop_database_with};
use crate::error::{Error, Result};
use crate::names;
use crate::pool::{AdminPool, Pooled};

/// How long to keep retrying a clone while the template is "being accessed by other users".
const CLONE_RETRY: Duration = Duration::from_secs(10);

/// The caller's template build step.
type BuildError = Box<dyn std::error::Error + Send + Sync>;

/// A cloned database; dropped (`WITH (FORCE)`) on Drop.
///
/// It keeps the cluster's connection pool alive, not the cluster: dropping it after its
/// cluster is harmless (there is nothing left to drop).
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    admin: Arc<AdminPool>,
}

impl TestDatabase {
    /// The database name (unique per process, pid, counter and random bits).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL for the database, as [`Cluster::url`] builds it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new superuser connection to the database.
    pub fn connect(&self) -> Result<postgres::Client> {
        self.admin.connect(&self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if !self.admin.is_closed() {
            let _ = drop_database_with(&self.admin, &self.name);
        }
    }
}

/// A template key for [`Cluster::database_from_template`] that changes with `text` (the SQL
/// or anything else the template is built from): `prefix`, `_`, and 16 hex digits of the
/// text's FNV-1a hash. `prefix` must be `[a-z0-9_]`, 23 characters at most.
pub fn template_key(prefix: &str, text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    format!("{prefix}_{h:016x}")
}

impl Cluster {
    /// Per-test database: ensure template database `tpl_<key>` exists (built once by `build`
    /// on a fresh database, serialised across processes with an advisory lock, then marked
    /// IS_TEMPLATE), then `CREATE DATABASE <unique> TEMPLATE tpl_<key>`. `key` is
    /// caller-chosen (e.g. a hash of the migration set), `[a-z0-9_]` only, max 40 chars.
    ///
    /// `build` gets a connection to the new template database; whatever it leaves there is
    /// in every clone. It runs at most once per key and cluster (again only if it failed).
    ///
    /// # Errors
    /// [`Error::InvalidName`] for a bad key, [`Error::TemplateBuild`] when `build` fails
    /// (the half-built template is dropped), [`Error::Postgres`] for server errors.
    pub fn database_from_template<F>(&self, key: &str, build: F) -> Result<TestDatabase>
    where
        F: FnOnce(&mut postgres::Client) -> std::result::Result<(), BuildError>,
    {
        names::check_template_key(key)?;
        self.ensure_running()?;
        let template = format!("tpl_{key}");
        let mut admin = self.admin.get()?;
        if template_state(&mut admin, &template)? != Some(true)
            && let Err(e) = build_template_locked(&self.admin, &mut admin, &template, build)
        {
            // Its session state (the advisory lock) is unknown: do not pool it.
            admin.discard();
            return Err(e);
        }
        let prefix = &key[..key.len().min(24)];
        let name = format!("{prefix}_{}", names::unique_suffix());
        clone_database(&self.admin, &mut admin, &template, &name)?;
        Ok(TestDatabase {
            url: self.url(&name),
            name,
            admin: Arc::clone(&self.admin),
        })
    }
}

/// `None` when the database does not exist, else `Some(datistemplate)`.
fn template_state(admin: &mut postgres::Client, template: &str) -> Result<Option<bool>> {
    let row = admin
        .query_opt(
            "SELECT datistemplate FROM pg_catalog.pg_database WHERE datname = $1",
            &[&template],
        )
        .map_err(|e| Error::pg(format!("looking up template database {template}"), e))?;
    Ok(row.map(|r| r.get(0)))
}

/// The advisory lock key for building `template`.
fn lock_key(template: &str) -> i64 {
    let digest = Sha256::digest(format!("pgcluster template {template}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// Takes the advisory lock, builds the template unless another session did meanwhile, and
/// releases the lock. A panic in `build` drops the pooled connection (not pooled while
/// panicking), which releases the lock too.
fn build_template_locked<F>(
    pool: &AdminPool,
    admin: &mut Pooled<'_>,
    template: &str,
    build: F,
) -> Result<()>
where
    F: FnOnce(&mut postgres::Client) -> std::result::Result<(), BuildError>,
{
    let key = lock_key(template);
    admin
        .execute("SELECT pg_advisory_lock($1)", &[&key])
        .map_err(|e| Error::pg(format!("locking template {template} for building"), e))?;
    let built = build_template(pool, admin, template, build);
    let unlocked = admin
        .execute("SELECT pg_advisory_unlock($1)", &[&key])
        .map_err(|e| Error::pg(format!("unlocking template {template}"), e));
    built.and(unlocked.map(drop))
}

fn build_template<F>(
    pool: &AdminPool,
    admin: &mut postgres::Client,
    template: &str,
    build: F,
) -> Result<()>
where
    F: FnOnce(&mut postgres::Client) -> std::result::Result<(), BuildError>,
{
    let quoted = names::quote_ident(template);
    match template_state(admin, template)? {
        Some(true) => return Ok(()),
        Some(false) => drop_database_with(pool, template)?,
        None => {}
    }
    let create = format!("CREATE DATABASE {quoted}{}", strategy(pool, admin)?);
    admin
        .batch_execute(&create)
        .map_err(|e| Error::pg(create, e))?;

    let built = pool.connect(template).and_then(|mut client| {
        build(&mut client).map_err(|source| Error::TemplateBuild {
            template: template.to_string(),
            source,
        })
    });
    if let Err(e) = built {
        let _ = drop_database_with(pool, template);
        return Err(e);
    }

    let mark = format!("ALTER DATABASE {quoted} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false");
    admin.batch_execute(&mark).map_err(|e| Error::pg(mark, e))?;
    end_sessions(admin, template)
}

/// Ends every session on `template` and waits until they are gone (at most a few seconds).
fn end_sessions(admin: &mut postgres::Client, template: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let signalled = admin
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&template],
            )
            .map_err(|e| Error::pg(format!("ending sessions on {template}"), e))?;
        if signalled.is_empty() || Instant::now() >= deadline {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// ` STRATEGY FILE_COPY` where supported (PostgreSQL 15+), else nothing.
fn strategy(pool: &AdminPool, admin: &mut postgres::Client) -> Result<&'static str> {
    Ok(if pool.server_version_num(admin)? >= 150_000 {
        " STRATEGY FILE_COPY"
    } else {
        ""
    })
}

fn clone_database(
    pool: &AdminPool,
    admin: &mut postgres::Client,
    template: &str,
    name: &str,
) -> Result<()> {
    let sql = format!(
        "CREATE DATABASE {} TEMPLATE {}{}",
        names::quote_ident(name),
        names::quote_ident(template),
        strategy(pool, admin)?
    );
    let deadline = Instant::now() + CLONE_RETRY;
    let mut delay = Duration::from_millis(5);
    loop {
        match admin.batch_execute(&sql) {
            Ok(()) => return Ok(()),
            Err(e) if e.code() == Some(&SqlState::OBJECT_IN_USE) && Instant::now() < deadline => {
                // A session (a build connection still exiting, an autovacuum worker) is
                // on the template.
                end_sessions(admin, template)?;
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(100));
            }
            Err(e) => return Err(Error::pg(sql, e)),
        }
    }
}
