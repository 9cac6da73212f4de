//! A throwaway PgBouncer in front of a cluster, for tests of clients behind a pooler.
//!
//! `pgbouncer` (apt package `pgbouncer`) runs with its configuration, log and Unix socket in a
//! private temp directory (mode 0700, owned by the server OS user when we are root), listening
//! on that socket only (no TCP), forwarding every database to the cluster's socket as the
//! superuser (`auth_type = any`: the socket directory's permissions are the access control).
//! It is killed when the value is dropped.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::Cluster;
use crate::privileges;

/// PgBouncer's `pool_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    /// A server connection per client transaction.
    Transaction,
    /// A server connection per client session.
    Session,
}

impl PoolMode {
    fn as_str(self) -> &'static str {
        match self {
            PoolMode::Transaction => "transaction",
            PoolMode::Session => "session",
        }
    }
}

/// A running PgBouncer (killed on drop).
#[derive(Debug)]
pub struct PgBouncer {
    child: Child,
    dir: PathBuf,
    port: u16,
}

/// The port number in the socket's name (`.s.PGSQL.<port>`); the directory is private, so no
/// other server can collide with it.
const PORT: u16 = 6432;

impl PgBouncer {
    /// The `pgbouncer` binary: `PGBOUNCER` if set, else `/usr/sbin/pgbouncer`, else on `PATH`.
    pub fn binary() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("PGBOUNCER") {
            return Some(PathBuf::from(p));
        }
        let sbin = PathBuf::from("/usr/sbin/pgbouncer");
        if sbin.exists() {
            return Some(sbin);
        }
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join("pgbouncer"))
                .find(|p| p.exists())
        })
    }

    /// Start PgBouncer in `mode` in front of `cluster`, with at most `pool_size` server
    /// connections per database; waits (at most 15 s) until it accepts connections.
    pub fn start(cluster: &Cluster, mode: PoolMode, pool_size: u32) -> io::Result<PgBouncer> {
        let binary = Self::binary().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "pgbouncer is not installed (apt-get install pgbouncer, or set PGBOUNCER)",
            )
        })?;
        let run_as = privileges::server_user().map_err(io::Error::other)?;
        let dir = std::env::temp_dir().join(format!(
            "pgbouncer-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        let config = dir.join("pgbouncer.ini");
        std::fs::write(
            &config,
            format!(
                "[databases]\n\
                 * = host={socket} port={port} user=postgres\n\
                 [pgbouncer]\n\
                 listen_addr =\n\
                 listen_port = {PORT}\n\
                 unix_socket_dir = {dir}\n\
                 unix_socket_mode = 0700\n\
                 auth_type = any\n\
                 pool_mode = {mode}\n\
                 default_pool_size = {pool_size}\n\
                 max_client_conn = 200\n\
                 server_reset_query = DISCARD ALL\n\
                 ignore_startup_parameters = extra_float_digits,options\n\
                 logfile = {dir}/pgbouncer.log\n\
                 pidfile = {dir}/pgbouncer.pid\n",
                socket = cluster.socket_dir().display(),
                port = cluster.port(),
                dir = dir.display(),
                mode = mode.as_str(),
            ),
        )?;
        for p in [&dir, &config] {
            privileges::chown(p, run_as).map_err(io::Error::other)?;
        }
        let child = privileges::server_command(&binary, run_as)
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut bouncer = PgBouncer {
            child,
            dir,
            port: PORT,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        let socket = bouncer.dir.join(format!(".s.PGSQL.{PORT}"));
        loop {
            if socket.exists() && std::os::unix::net::UnixStream::connect(&socket).is_ok() {
                return Ok(bouncer);
            }
            if let Some(status) = bouncer.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "pgbouncer exited ({status}): {}",
                    bouncer.log_tail()
                )));
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "pgbouncer did not accept connections within 15 s: {}",
                        bouncer.log_tail()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A connection URL for `dbname` through the pooler (as the superuser).
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "postgresql://postgres@{}:{}/{}",
            percent(&self.dir.to_string_lossy()),
            self.port,
            percent(dbname)
        )
    }

    /// The directory holding the socket, configuration and log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last lines of PgBouncer's log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
