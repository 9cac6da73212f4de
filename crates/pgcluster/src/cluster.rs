//! [`Cluster`]: starting, reaching and stopping a throwaway or persistent server.

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::DirBuilderExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::bindir::find_bindir;
use crate::datadir::{self, Purpose};
use crate::error::{self, Error, Result};
use crate::location;
use crate::names;
use crate::pool::AdminPool;
use crate::privileges::{self, RunAs};
use crate::relocation;
use crate::server::{self, PidFile, WaitError};
use crate::watchdog::Watchdog;

/// The port every cluster listens on. Each cluster has its own socket directory, so the
/// port never collides; it only names the socket file (`.s.PGSQL.5432`).
const DEFAULT_PORT: u16 = 5432;

/// The superuser every cluster is created with.
pub(crate) const SUPERUSER: &str = "postgres";

/// Settings for [`Cluster::temporary_with`] and [`Cluster::persistent`].
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Where the server binaries are; `None` searches as [`find_bindir`] describes.
    pub bindir: Option<PathBuf>,
    /// Extra server settings (`name`, `value`), applied after this crate's own (so they win),
    /// e.g. `("log_statement".into(), "all".into())`. Values are quoted for you.
    pub settings: Vec<(String, String)>,
}

/// A running PostgreSQL server listening only on a Unix socket in its own directory.
///
/// See the [crate docs](crate) for the two kinds (throwaway and persistent).
#[derive(Debug)]
pub struct Cluster {
    bindir: PathBuf,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    log_file: PathBuf,
    run_as: Option<RunAs>,
    pub(crate) admin: Arc<AdminPool>,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Temporary(Temporary),
    Persistent {
        /// Where the files are when they are not under the directory given to
        /// [`Cluster::persistent`] (see [`Cluster::relocated_to`]).
        relocated: Option<PathBuf>,
    },
}

/// What a throwaway cluster owns besides its files.
#[derive(Debug)]
struct Temporary {
    /// The cluster directory: `data/`, the socket and `postgresql.log`.
    dir: PathBuf,
    /// The postmaster, our child; `None` once stopped.
    server: Mutex<Option<Child>>,
    watchdog: Mutex<Option<Watchdog>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Cluster {
    /// Throwaway cluster in a fresh temp dir: fsync/full_page_writes/synchronous_commit off,
    /// Unix socket only (`listen_addresses=''`), trust auth, superuser `postgres`.
    /// Stopped and deleted on Drop; a watchdog process also removes it if this process dies
    /// without dropping it (SIGKILL, static never dropped).
    ///
    /// The data directory is a copy of a cached `initdb` result (see the crate docs), so
    /// only the first cluster per machine and server build pays for `initdb`.
    pub fn temporary() -> Result<Cluster> {
        Cluster::temporary_with(&ClusterOptions::default())
    }

    /// [`Cluster::temporary`] with options.
    pub fn temporary_with(opts: &ClusterOptions) -> Result<Cluster> {
        let bindir = find_bindir(opts.bindir.as_deref())?;
        let run_as = privileges::server_user()?;
        let root = location::throwaway_root(run_as);
        let dir = root.join(format!("pgcluster-{}", names::unique_suffix()));
        DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| Error::io("could not create directory", &dir, e))?;
        // From here on the watchdog removes `dir`, whatever happens to this process.
        let mut watchdog = match Watchdog::spawn(&dir) {
            Ok(w) => w,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        match start_temporary(&bindir, &dir, &root, run_as, &opts.settings, &mut watchdog) {
            Ok((child, pid_file)) => {
                let socket_dir = dir.clone();
                let port = pid_file.port.unwrap_or(DEFAULT_PORT);
                Ok(Cluster {
                    admin: Arc::new(AdminPool::new(base_config(&socket_dir, port))),
                    data_dir: dir.join("data"),
                    log_file: dir.join("postgresql.log"),
                    socket_dir,
                    port,
                    bindir,
                    run_as,
                    kind: Kind::Temporary(Temporary {
                        dir,
                        server: Mutex::new(Some(child)),
                        watchdog: Mutex::new(Some(watchdog)),
                    }),
                })
            }
            Err(e) => {
                watchdog.finish();
                Err(e)
            }
        }
    }

    /// Process-wide shared throwaway cluster (OnceLock), for tests; cleaned up by the watchdog
    /// when the process exits (it is never dropped).
    ///
    /// A failed start is not cached: the next call tries again.
    pub fn shared() -> Result<&'static Cluster> {
        static SHARED: OnceLock<Cluster> = OnceLock::new();
        static INIT: Mutex<()> = Mutex::new(());
        if let Some(cluster) = SHARED.get() {
            return Ok(cluster);
        }
        let _guard = lock(&INIT);
        if let Some(cluster) = SHARED.get() {
            return Ok(cluster);
        }
        let cluster = Cluster::temporary()?;
        Ok(SHARED.get_or_init(|| cluster))
    }

    /// Persistent dev cluster rooted at `dir` (data in `dir/data`, socket in `dir/run`, log
    /// in `dir/log/postgresql.log`, all mode 0700): initdb when absent, start when not running (removing a
    /// stale `postmaster.pid`), reuse when running. Not stopped on Drop.
    ///
    /// Concurrent calls for one `dir` (threads or processes) are serialised with a lock file,
    /// `dir/.pgcluster.lock`. `opts.settings` take effect when this call starts the server;
    /// a server that is already running is reused as it is.
    ///
    /// # Errors
    /// Besides start failures (which carry the log tail): [`Error::SocketPathTooLong`] when
    /// `dir` is too deep for a Unix socket path, [`Error::NotADataDir`] when `dir/data` holds
    /// something else, and [`Error::UnsafeDir`] when the relocation directory (see
    /// [`Cluster::relocated_to`]: used when running as root and the `postgres` user cannot
    /// reach `dir`) is a symlink, someone else's, or writable by others.
    pub fn persistent(dir: &Path, opts: &ClusterOptions) -> Result<Cluster> {
        let bindir = find_bindir(opts.bindir.as_deref())?;
        let run_as = privileges::server_user()?;
        let root = std::path::absolute(dir)
            .map_err(|e| Error::io("could not resolve directory", dir, e))?;
        // Where the files live: `root` itself, unless a previous run recorded a relocation,
        // or the server's OS user cannot reach `root` (a checkout under a private home).
        let recorded = relocation::recorded(&root)?;
        let relocated = match (&recorded, run_as) {
            (Some(path), _) => Some(path.clone()),
            (None, Some(user)) if !privileges::is_reachable(&root, run_as) => {
                Some(relocation::default_home(&root, user))
            }
            _ => None,
        };
        let home = relocated.clone().unwrap_or_else(|| root.clone());
        let data_dir = home.join("data");
        let run_dir = home.join("run");
        let log_dir = home.join("log");
        let log_file = log_dir.join("postgresql.log");
        server::check_socket_path(&run_dir, DEFAULT_PORT)?;

        std::fs::create_dir_all(&root)
            .map_err(|e| Error::io("could not create directory", &root, e))?;
        let lock_path = root.join(".pgcluster.lock");
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io("could not open lock file", &lock_path, e))?;
        lock_file
            .lock()
            .map_err(|e| Error::io("could not lock", &lock_path, e))?;

        if let Some(home) = &relocated {
            relocation::prepare_home(home, run_as)?;
            if recorded.is_none() {
                relocation::record(&root, home)?;
            }
        }

        // Everything private to the server's OS user: the socket directory above all (only
        // that user and root can then reach the socket, whatever its own mode), but also
        // the log, which holds statements.
        for path in [&data_dir, &run_dir, &log_dir] {
            if !path.is_dir() {
                DirBuilder::new()
                    .mode(0o700)
                    .create(path)
                    .map_err(|e| Error::io("could not create directory", path, e))?;
                privileges::chown(path, run_as)?;
            }
            if path != &data_dir {
                // (postgres itself insists on 0700 or 0750 for the data directory.)
                privileges::make_private(path)?;
            }
            privileges::check_reachable(path, run_as)?;
        }

        if !data_dir.join("PG_VERSION").is_file() {
            let empty = std::fs::read_dir(&data_dir)
                .map_err(|e| Error::io("could not read directory", &data_dir, e))?
                .next()
                .is_none();
            if !empty {
                return Err(Error::NotADataDir { path: data_dir });
            }
            datadir::initdb(&bindir, &data_dir, run_as, Purpose::Persistent)?;
        }

        let mut cluster = Cluster {
            admin: Arc::new(AdminPool::new(base_config(&run_dir, DEFAULT_PORT))),
            bindir,
            data_dir,
            socket_dir: run_dir,
            port: DEFAULT_PORT,
            log_file,
            run_as,
            kind: Kind::Persistent { relocated },
        };

        if let Some(pid_file) = server::read_pid_file(&cluster.data_dir) {
            if server::process_alive(pid_file.pid) && server::is_postgres_process(pid_file.pid) {
                cluster.attach(pid_file.pid)?;
                return Ok(cluster);
            }
            // Stale: the server died without removing it (or its pid now belongs to
            // something else). postgres would refuse to start while it exists.
            let stale = cluster.data_dir.join("postmaster.pid");
            std::fs::remove_file(&stale)
                .map_err(|e| Error::io("could not remove stale", &stale, e))?;
        }

        server::write_conf(
            &cluster.data_dir,
            &persistent_settings(&cluster.socket_dir, &opts.settings),
            run_as,
        )?;
        cluster.pg_ctl_start()?;
        Ok(cluster)
    }

    /// Waits for the running server `pid` to be ready and connectable, then points this
    /// cluster at its socket and port.
    fn attach(&mut self, pid: u32) -> Result<()> {
        let pid_file = self.wait_ready(Some(pid), || {
            (!server::process_alive(pid)).then(|| format!("the server (pid {pid}) exited"))
        })?;
        if let Some(dir) = pid_file.socket_dir.filter(|d| d.is_dir()) {
            self.socket_dir = dir;
        }
        self.port = pid_file.port.unwrap_or(DEFAULT_PORT);
        self.admin = Arc::new(AdminPool::new(base_config(&self.socket_dir, self.port)));
        match self.admin.get() {
            Ok(_) => Ok(()),
            Err(e) => Err(self.start_error(format!(
                "a server (pid {pid}) is running on this data directory but refuses \
                 connections: {e}"
            ))),
        }
    }

    fn pg_ctl_start(&mut self) -> Result<()> {
        let program = self.bindir.join("pg_ctl");
        let mut cmd = privileges::server_command(&program, self.run_as);
        cmd.arg("start")
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&self.log_file)
            .args(["-w", "-t", "60", "-s"]);
        let shown = format!("{} start -D {}", program.display(), self.data_dir.display());
        let output = cmd.output().map_err(|e| {
            Error::command_spawn(shown.clone(), &e, "check the PostgreSQL installation")
        })?;
        if !output.status.success() {
            // Someone outside pgcluster may have started it meanwhile.
            if let Some(pf) = server::read_pid_file(&self.data_dir)
                && server::process_alive(pf.pid)
                && self.attach(pf.pid).is_ok()
            {
                return Ok(());
            }
            let said = error::tail(
                &format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
                10,
            );
            return Err(self.start_error(format!("`{shown}` failed ({}): {said}", output.status)));
        }
        let pid = server::read_pid_file(&self.data_dir)
            .map(|pf| pf.pid)
            .ok_or_else(|| self.start_error("pg_ctl succeeded but there is no postmaster.pid"))?;
        self.attach(pid)
    }

    fn wait_ready(
        &self,
        pid: Option<u32>,
        exited: impl FnMut() -> Option<String>,
    ) -> Result<PidFile> {
        let probe = |pf: &PidFile| {
            base_config(&self.socket_dir, pf.port.unwrap_or(DEFAULT_PORT))
                .dbname("postgres")
                .connect(postgres::NoTls)
                .is_ok()
        };
        server::wait_ready(&self.data_dir, pid, exited, probe).map_err(|e| match e {
            WaitError::Exited(why) => self.start_error(why),
            WaitError::Timeout => self.start_error(format!(
                "not ready after {} s",
                server::START_TIMEOUT.as_secs()
            )),
        })
    }

    fn start_error(&self, reason: impl Into<String>) -> Error {
        Error::Start {
            data_dir: self.data_dir.clone(),
            log: self.log_file.clone(),
            reason: reason.into(),
            log_tail: error::log_tail(&self.log_file),
        }
    }

    /// Stops the server: fast shutdown (`pg_ctl stop -m fast`) for a persistent cluster,
    /// immediate shutdown for a throwaway one (whose files are removed on Drop). Stopping a
    /// stopped cluster is a no-op. This handle cannot restart it; for a persistent cluster,
    /// call [`Cluster::persistent`] again.
    pub fn stop(&self) -> Result<()> {
        self.admin.close();
        match &self.kind {
            Kind::Temporary(t) => {
                t.stop_server();
                Ok(())
            }
            Kind::Persistent { .. } => self.pg_ctl_stop(),
        }
    }

    fn pg_ctl_stop(&self) -> Result<()> {
        let Some(pid_file) = server::read_pid_file(&self.data_dir) else {
            return Ok(());
        };
        if !server::process_alive(pid_file.pid) {
            return Ok(());
        }
        let program = self.bindir.join("pg_ctl");
        let mut cmd = privileges::server_command(&program, self.run_as);
        cmd.arg("stop")
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "fast", "-w", "-t", "60", "-s"]);
        let shown = format!("{} stop -D {}", program.display(), self.data_dir.display());
        let hint = format!(
            "see the server log {}; stop it by hand with `kill -INT {}`",
            self.log_file.display(),
            pid_file.pid
        );
        let output = cmd
            .output()
            .map_err(|e| Error::command_spawn(shown.clone(), &e, hint.clone()))?;
        if output.status.success() || !server::process_alive(pid_file.pid) {
            return Ok(());
        }
        Err(Error::command_failed(shown, &output, hint))
    }

    /// For a persistent cluster whose files are not under the directory given to
    /// [`Cluster::persistent`], where they are (`data/`, `run/`, `log/`): when running as
    /// root from a directory the `postgres` OS user cannot reach, they go to
    /// `/var/tmp/pgcluster-dev-<hash of the directory>/`, recorded in `<dir>/RELOCATED` so
    /// every later call finds them. `None` otherwise.
    pub fn relocated_to(&self) -> Option<&Path> {
        match &self.kind {
            Kind::Persistent { relocated } => relocated.as_deref(),
            Kind::Temporary(_) => None,
        }
    }

    /// The directory holding the server's Unix socket (`.s.PGSQL.<port>`).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The port, which here only names the socket file.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgresql://postgres@<percent-encoded socket dir>:<port>/<dbname>`, accepted by
    /// `postgres::Config::from_str`, psql and pg_dump.
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "postgresql://{SUPERUSER}@{}:{}/{}",
            names::percent_encode(&self.socket_dir.to_string_lossy()),
            self.port,
            names::percent_encode(dbname)
        )
    }

    /// A new superuser connection to `dbname`.
    pub fn connect(&self, dbname: &str) -> Result<postgres::Client> {
        self.ensure_running()?;
        self.admin.connect(dbname)
    }

    /// `CREATE DATABASE "name"`.
    pub fn create_database(&self, name: &str) -> Result<()> {
        names::check_database_name(name)?;
        self.ensure_running()?;
        let sql = format!("CREATE DATABASE {}", names::quote_ident(name));
        self.admin
            .get()?
            .batch_execute(&sql)
            .map_err(|e| Error::pg(sql, e))
    }

    /// `DROP DATABASE IF EXISTS "name" WITH (FORCE)`: also ends its sessions.
    pub fn drop_database(&self, name: &str) -> Result<()> {
        names::check_database_name(name)?;
        self.ensure_running()?;
        drop_database_with(&self.admin, name)
    }

    /// The server binaries' directory, for `pg_dump`, `psql` and friends.
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// The data directory (`PGDATA`).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server log file.
    pub fn log_file(&self) -> &Path {
        &self.log_file
    }

    /// The postmaster's pid, from `postmaster.pid`; `None` when the server is not running.
    pub fn postmaster_pid(&self) -> Option<u32> {
        server::read_pid_file(&self.data_dir)
            .map(|pf| pf.pid)
            .filter(|pid| server::process_alive(*pid))
    }

    pub(crate) fn ensure_running(&self) -> Result<()> {
        if self.admin.is_closed() {
            return Err(Error::Stopped {
                dir: self.data_dir.clone(),
            });
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Kind::Temporary(t) = &mut self.kind {
            self.admin.close();
            t.stop_server();
            let _ = std::fs::remove_dir_all(&t.dir);
            if let Some(watchdog) = lock(&t.watchdog).take() {
                watchdog.finish();
            }
        }
    }
}

impl Temporary {
    /// Immediate shutdown (SIGQUIT), reaping the postmaster; then tells the watchdog.
    fn stop_server(&self) {
        let Some(mut child) = lock(&self.server).take() else {
            return;
        };
        stop_child(&mut child);
        if let Some(watchdog) = lock(&self.watchdog).as_mut() {
            watchdog.server_stopped();
        }
    }
}

/// SIGQUIT, then SIGKILL after 10 s; always reaps.
fn stop_child(child: &mut Child) {
    if matches!(child.try_wait(), Ok(None)) {
        if !server::signal(child.id(), "QUIT") {
            let _ = child.kill();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(child.try_wait(), Ok(None)) {
            if Instant::now() >= deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let _ = child.wait();
}

/// Fills `dir/data`, starts `postgres` as our child and waits until it is ready. On error
/// the server is already stopped (the caller's watchdog then removes `dir`).
fn start_temporary(
    bindir: &Path,
    dir: &Path,
    temp_root: &Path,
    run_as: Option<RunAs>,
    extra: &[(String, String)],
    watchdog: &mut Watchdog,
) -> Result<(Child, PidFile)> {
    privileges::chown(dir, run_as)?;
    let data_dir = dir.join("data");
    let log_file = dir.join("postgresql.log");
    datadir::prepare_throwaway(bindir, &data_dir, run_as, temp_root)?;
    server::write_conf(&data_dir, &throwaway_settings(dir, extra), run_as)?;

    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_file)
        .map_err(|e| Error::io("could not open", &log_file, e))?;
    let log_err = log
        .try_clone()
        .map_err(|e| Error::io("could not open", &log_file, e))?;
    let program = bindir.join("postgres");
    let mut child = privileges::server_command(&program, run_as)
        .arg("-D")
        .arg(&data_dir)
        .stdout(log)
        .stderr(log_err)
        .process_group(0)
        .spawn()
        .map_err(|e| {
            Error::command_spawn(
                format!("{} -D {}", program.display(), data_dir.display()),
                &e,
                "check the PostgreSQL installation, or set PG_BINDIR",
            )
        })?;
    watchdog.watch_pid(child.id());

    let probe = |pf: &PidFile| {
        base_config(dir, pf.port.unwrap_or(DEFAULT_PORT))
            .dbname("postgres")
            .connect(postgres::NoTls)
            .is_ok()
    };
    let pid = child.id();
    let exited = || match child.try_wait() {
        Ok(Some(status)) => Some(format!("postgres exited with {status}")),
        Ok(None) => None,
        Err(e) => Some(format!("could not check the postgres process: {e}")),
    };
    let waited = server::wait_ready(&data_dir, Some(pid), exited, probe);
    match waited {
        Ok(pid_file) => Ok((child, pid_file)),
        Err(e) => {
            stop_child(&mut child);
            watchdog.server_stopped();
            let reason = match e {
                WaitError::Exited(why) => why,
                WaitError::Timeout => {
                    format!("not ready after {} s", server::START_TIMEOUT.as_secs())
                }
            };
            Err(Error::Start {
                data_dir,
                log_tail: error::log_tail(&log_file),
                log: log_file,
                reason,
            })
        }
    }
}

/// Server settings for a throwaway cluster whose socket lives in `socket_dir`.
fn throwaway_settings(socket_dir: &Path, extra: &[(String, String)]) -> Vec<(String, String)> {
    let mut settings = base_settings(socket_dir);
    for (key, value) in [
        ("fsync", "off"),
        ("full_page_writes", "off"),
        ("synchronous_commit", "off"),
        // Nothing to replicate or recover: log as little WAL as possible.
        ("wal_level", "minimal"),
        ("max_wal_senders", "0"),
    ] {
        settings.push((key.to_string(), value.to_string()));
    }
    settings.extend_from_slice(extra);
    settings
}

fn persistent_settings(socket_dir: &Path, extra: &[(String, String)]) -> Vec<(String, String)> {
    let mut settings = base_settings(socket_dir);
    settings.extend_from_slice(extra);
    settings
}

fn base_settings(socket_dir: &Path) -> Vec<(String, String)> {
    [
        ("listen_addresses", String::new()),
        ("port", DEFAULT_PORT.to_string()),
        (
            "unix_socket_directories",
            socket_dir.to_string_lossy().into_owned(),
        ),
        ("max_connections", "200".to_string()),
        // Owner only (the socket directory is private too): no other OS user connects.
        ("unix_socket_permissions", "0700".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Connection settings for the superuser over the cluster's socket (no dbname).
fn base_config(socket_dir: &Path, port: u16) -> postgres::Config {
    let mut config = postgres::Config::new();
    config
        .host_path(socket_dir)
        .port(port)
        .user(SUPERUSER)
        .connect_timeout(Duration::from_secs(30));
    config
}

/// `DROP DATABASE IF EXISTS` with `FORCE` where the server has it (PostgreSQL 13+).
pub(crate) fn drop_database_with(admin: &AdminPool, name: &str) -> Result<()> {
    let mut client = admin.get()?;
    let force = if admin.server_version_num(&mut client)? >= 130_000 {
        " WITH (FORCE)"
    } else {
        ""
    };
    let sql = format!(
        "DROP DATABASE IF EXISTS {}{force}",
        names::quote_ident(name)
    );
    client.batch_execute(&sql).map_err(|e| Error::pg(sql, e))
}
