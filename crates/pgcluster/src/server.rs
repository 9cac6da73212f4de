//! Talking to a postmaster through its files: `postmaster.pid`, `pgcluster.conf`, signals.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::privileges::{self, RunAs};

/// The settings file this crate owns inside a data directory, rewritten on every start and
/// included from `postgresql.conf` (so a manual `pg_ctl start` uses the same settings).
pub(crate) const CONF_FILE: &str = "pgcluster.conf";
const INCLUDE_LINE: &str = "include_if_exists 'pgcluster.conf'";

/// Longest Unix socket path the kernel accepts (`sun_path` is 108 bytes with the NUL).
pub(crate) const MAX_SOCKET_PATH: usize = 107;

/// How long a server may take to become ready.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The parsed `postmaster.pid` of a running (or crashed) server.
#[derive(Debug, Clone)]
pub(crate) struct PidFile {
    pub(crate) pid: u32,
    pub(crate) port: Option<u16>,
    pub(crate) socket_dir: Option<PathBuf>,
    /// `starting`, `ready`, `stopping` (PostgreSQL 10+), `None` before that.
    pub(crate) status: Option<String>,
}

pub(crate) fn read_pid_file(data_dir: &Path) -> Option<PidFile> {
    let text = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let pid = lines.first()?.trim().parse().ok()?;
    let non_empty = |i: usize| lines.get(i).map(|l| l.trim()).filter(|l| !l.is_empty());
    Some(PidFile {
        pid,
        port: non_empty(3).and_then(|p| p.parse().ok()),
        socket_dir: non_empty(4).map(PathBuf::from),
        status: non_empty(7).map(str::to_string),
    })
}

/// Whether `pid` is a live (not zombie) process.
pub(crate) fn process_alive(pid: u32) -> bool {
    let proc_dir = Path::new("/proc");
    if proc_dir.join("self").exists() {
        return match std::fs::read_to_string(proc_dir.join(pid.to_string()).join("status")) {
            Ok(status) => !status
                .lines()
                .any(|l| l.starts_with("State:") && l[6..].trim_start().starts_with('Z')),
            Err(_) => false,
        };
    }
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Whether `pid` runs a postgres binary (true when that cannot be told, e.g. without /proc).
pub(crate) fn is_postgres_process(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
        Ok(comm) => matches!(comm.trim(), "postgres" | "postmaster"),
        Err(_) => !Path::new("/proc/self").exists(),
    }
}

/// Sends `signal` (a name like `QUIT`) to `pid` with the `kill` utility.
pub(crate) fn signal(pid: u32, signal: &str) -> bool {
    Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Quotes a value for `postgresql.conf`.
fn conf_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

/// Writes `data_dir/pgcluster.conf` with `settings` (later entries win) and makes sure
/// `postgresql.conf` includes it.
pub(crate) fn write_conf(
    data_dir: &Path,
    settings: &[(String, String)],
    run_as: Option<RunAs>,
) -> Result<()> {
    let mut text = String::from("# Written by pgcluster on every start; edits are overwritten.\n");
    for (key, value) in settings {
        let valid = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
        if !valid {
            return Err(Error::InvalidName {
                what: "server setting name",
                value: key.clone(),
                reason: "use a PostgreSQL parameter name such as `work_mem` (letters, digits, \
                         `_` and `.`)",
            });
        }
        let _ = writeln!(text, "{key} = {}", conf_quote(value));
    }
    let path = data_dir.join(CONF_FILE);
    std::fs::write(&path, text).map_err(|e| Error::io("could not write", &path, e))?;
    privileges::chown(&path, run_as)?;
    ensure_include(data_dir)
}

/// Appends the include line for [`CONF_FILE`] to `postgresql.conf` unless present.
pub(crate) fn ensure_include(data_dir: &Path) -> Result<()> {
    let path = data_dir.join("postgresql.conf");
    let current =
        std::fs::read_to_string(&path).map_err(|e| Error::io("could not read", &path, e))?;
    if current.lines().any(|l| l.trim() == INCLUDE_LINE) {
        return Ok(());
    }
    let mut updated = current;
    if !updated.ends_with('\n') {
        updated.push('\n');
    }
    updated.push_str("\n# Added by pgcluster: settings it manages.\n");
    updated.push_str(INCLUDE_LINE);
    updated.push('\n');
    // Writing in place keeps the file's owner and mode.
    std::fs::write(&path, updated).map_err(|e| Error::io("could not write", &path, e))
}

/// Errors unless `socket_dir/.s.PGSQL.<port>` fits the Unix socket path limit.
pub(crate) fn check_socket_path(socket_dir: &Path, port: u16) -> Result<()> {
    let path = socket_dir.join(format!(".s.PGSQL.{port}"));
    let len = path.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(Error::SocketPathTooLong {
            path,
            len,
            max: MAX_SOCKET_PATH,
        });
    }
    Ok(())
}

/// Why waiting for a server failed.
#[derive(Debug)]
pub(crate) enum WaitError {
    /// The process exited (with this description).
    Exited(String),
    /// It was still not ready at the deadline.
    Timeout,
}

/// Polls until `data_dir/postmaster.pid` says `ready` for `expected_pid` (any pid when
/// `None`). `exited` is asked on every poll whether the server process is gone.
/// Before PostgreSQL 10 there is no status line: a successful `connect_probe` counts.
pub(crate) fn wait_ready(
    data_dir: &Path,
    expected_pid: Option<u32>,
    mut exited: impl FnMut() -> Option<String>,
    connect_probe: impl Fn(&PidFile) -> bool,
) -> std::result::Result<PidFile, WaitError> {
    let deadline = Instant::now() + START_TIMEOUT;
    let mut delay = Duration::from_millis(1);
    loop {
        if let Some(pf) = read_pid_file(data_dir)
            && expected_pid.is_none_or(|p| p == pf.pid)
        {
            match pf.status.as_deref() {
                Some("ready") => return Ok(pf),
                Some(_) => {}
                None => {
                    if pf.port.is_some() && connect_probe(&pf) {
                        return Ok(pf);
                    }
                }
            }
        }
        if let Some(why) = exited() {
            return Err(WaitError::Exited(why));
        }
        if Instant::now() >= deadline {
            return Err(WaitError::Timeout);
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(20));
    }
}
