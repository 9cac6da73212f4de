//! Embedded PostgreSQL: find the server binaries, run throwaway or persistent clusters on a
//! Unix socket, and clone per-test databases from templates.
//!
//! # Finding the server
//!
//! [`find_bindir`] looks for a directory holding `initdb`, `pg_ctl` and `postgres`, in this
//! order: an explicit path ([`ClusterOptions::bindir`]), the `PG_BINDIR` environment
//! variable, `PATH`, `pg_config --bindir`, and the newest `/usr/lib/postgresql/*/bin`. When
//! nothing is found, [`Error::BinariesNotFound`] lists what was searched and says what to do
//! (install the server, set `PG_BINDIR`, or set `DATABASE_URL` to use an existing server;
//! honouring `DATABASE_URL` is the caller's job, this crate only runs embedded clusters).
//!
//! # Clusters
//!
//! Every [`Cluster`] listens only on a Unix socket in its own directory
//! (`listen_addresses = ''`), with trust authentication and the superuser `postgres`. Since
//! the socket directory is private, every cluster uses port 5432 without colliding.
//!
//! Only the OS user the server runs as, and root, can connect: the socket's directory is
//! mode 0700 and owned by that user, and the socket itself is `unix_socket_permissions =
//! 0700`. Trust authentication is then safe (the approach `pg_regress` takes since
//! CVE-2014-0067): whoever reaches the socket is the invoking user (who is the server's
//! user, or root). No TCP listener unless [`ClusterOptions::settings`] asks for one.
//!
//! - [`Cluster::temporary`]: a throwaway cluster in a fresh directory under the temp dir,
//!   with `fsync`, `full_page_writes` and `synchronous_commit` off. Stopped and deleted on
//!   Drop. A watchdog process (a tiny `sh`) removes it too if this process dies without
//!   dropping it: SIGKILL, `panic = "abort"`, or a static that is never dropped.
//! - [`Cluster::shared`]: one throwaway cluster per process, for tests.
//! - [`Cluster::persistent`]: a dev cluster in a directory you choose (data in `dir/data`,
//!   socket in `dir/run`, log in `dir/log/postgresql.log`), initialised when absent,
//!   started when not running, reused when running, and left running on Drop.
//!
//! When this process runs as root (containers, CI), `initdb` and `postgres` run as the
//! `postgres` OS user, which owns the cluster's directories; those must then be reachable by
//! it. A persistent cluster asked for in a directory it cannot reach (a checkout under
//! `/root`, mode 0700) is put in `/var/tmp/pgcluster-dev-<hash>/` instead, recorded in
//! `<dir>/RELOCATED` so later calls find it ([`Cluster::relocated_to`] says where).
//!
//! ## Where throwaway clusters live
//!
//! In the first usable of: `$PGCLUSTER_TMPDIR`, `$TMPDIR`, `/dev/shm` (when it is a tmpfs of
//! at least 1 GiB), `/tmp`. A cluster is about a thousand small files and every cloned
//! database a few hundred more; creating them in memory is several times faster than on a
//! busy disk (on the machine this was measured on, `/tmp` made clones 20 times slower).
//! Set `PGCLUSTER_TMPDIR` to choose, e.g. when memory is tight. "Usable" means writable,
//! reachable by the server's OS user, and short enough for the Unix socket path.
//!
//! ## Start-up cost
//!
//! `initdb` takes one to two seconds, so throwaway clusters copy a data directory
//! initialised once and cached in `pgcluster-cache-<uid>/` beside the clusters, keyed by the
//! bindir, the server version and the OS user. A throwaway cluster then starts in about
//! 0.1 s, and a clone from a template takes 10 to 20 ms (run
//! `cargo run --release -p pgcluster --example clone_bench` for this machine's figures).
//!
//! # Per-test databases
//!
//! [`Cluster::database_from_template`] builds a template database `tpl_<key>` once (for
//! example by running all migrations), then hands out a fresh copy of it per call, as a
//! [`TestDatabase`] that is dropped (`WITH (FORCE)`) on Drop. Building is serialised across
//! threads and processes with an advisory lock; cloning is a `CREATE DATABASE ... TEMPLATE`
//! that takes tens of milliseconds.
//!
//! ```no_run
//! use pgcluster::Cluster;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cluster = Cluster::shared()?;
//! let db = cluster.database_from_template("schema_v1", |client| {
//!     client.batch_execute("CREATE TABLE item (id bigint PRIMARY KEY, name text NOT NULL)")?;
//!     Ok(())
//! })?;
//! let mut client = db.connect()?;
//! client.execute("INSERT INTO item VALUES (1, 'one')", &[])?;
//! // `psql` and `pg_dump` accept the URL too:
//! println!("{}", db.url());
//! # Ok(())
//! # }
//! ```
//!
//! # Errors
//!
//! Every fallible function returns [`Error`], whose message names what failed (the command
//! line, the file, the SQL statement), carries its evidence (stderr, the server log's last
//! lines, the server's SQLSTATE, detail and hint) and says what to do.
//!
//! # Module map
//!
//! - `bindir`: [`find_bindir`].
//! - `privileges`: effective uid, the `postgres` OS user, running commands as it.
//! - `location`: where throwaway clusters live.
//! - `relocation`: where a persistent cluster goes when its directory is unreachable.
//! - `datadir`: `initdb` and the cache of initialised data directories.
//! - `server`: `postmaster.pid`, `pgcluster.conf`, readiness polling, signals.
//! - `watchdog`: the process that cleans up after a dead owner.
//! - `cluster`: [`Cluster`] and [`ClusterOptions`].
//! - `pool`: pooled superuser connections to the `postgres` database.
//! - `template`: [`Cluster::database_from_template`] and [`TestDatabase`].
//! - `names`: identifier quoting, unique names, URL encoding.
//! - `error`: [`Error`] and [`Result`].

mod bindir;
mod cluster;
mod datadir;
mod error;
mod location;
mod names;
mod pool;
mod privileges;
mod relocation;
mod server;
mod template;
mod watchdog;

pub mod pgbouncer;

pub use bindir::find_bindir;
pub use cluster::{Cluster, ClusterOptions};
pub use error::{Error, Result};
pub use pgbouncer::{PgBouncer, PoolMode};
pub use template::{TestDatabase, template_key};
