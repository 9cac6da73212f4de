//! Running server commands as the right OS user.
//!
//! `initdb` and `postgres` refuse to run as root. When this process's effective uid is 0,
//! every server command runs as the `postgres` OS user (via `CommandExt::{uid, gid}`, which
//! also drops supplementary groups), and the directories it writes are chowned to that user.

use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// The OS user server commands run as, when it differs from ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RunAs {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// This process's effective uid.
pub(crate) fn effective_uid() -> u32 {
    static EUID: OnceLock<u32> = OnceLock::new();
    *EUID.get_or_init(|| {
        if let Ok(meta) = std::fs::metadata("/proc/self") {
            return meta.uid();
        }
        Command::new("id")
            .arg("-u")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
            .unwrap_or(u32::MAX)
    })
}

/// `Some(postgres user)` when running as root, `None` otherwise.
pub(crate) fn server_user() -> Result<Option<RunAs>> {
    static USER: OnceLock<std::result::Result<Option<RunAs>, String>> = OnceLock::new();
    let found = USER.get_or_init(|| {
        if effective_uid() != 0 {
            return Ok(None);
        }
        lookup_user("postgres").map(Some)
    });
    found
        .clone()
        .map_err(|detail| Error::NoPostgresUser { detail })
}

fn lookup_user(name: &str) -> std::result::Result<RunAs, String> {
    if let Ok(passwd) = std::fs::read_to_string("/etc/passwd") {
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() >= 4
                && fields[0] == name
                && let (Ok(uid), Ok(gid)) = (fields[2].parse(), fields[3].parse())
            {
                return Ok(RunAs { uid, gid });
            }
        }
    }
    // Not in /etc/passwd: ask NSS (LDAP, sssd, ...) through `id`.
    let id = |flag: &str| -> std::result::Result<u32, String> {
        let out = Command::new("id")
            .args([flag, name])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("`id {flag} {name}` could not run: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "not in /etc/passwd, and `id {flag} {name}` said: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|e| format!("`id {flag} {name}` printed no number: {e}"))
    };
    Ok(RunAs {
        uid: id("-u")?,
        gid: id("-g")?,
    })
}

/// A command for a server binary: runs as `run_as`, from `/`, stdin from /dev/null, and
/// without the libpq/server environment variables that could redirect it.
pub(crate) fn server_command(program: impl AsRef<OsStr>, run_as: Option<RunAs>) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir("/").stdin(Stdio::null());
    for var in [
        "PGDATA",
        "PGPORT",
        "PGHOST",
        "PGOPTIONS",
        "PGUSER",
        "PGDATABASE",
    ] {
        cmd.env_remove(var);
    }
    if let Some(user) = run_as {
        cmd.uid(user.uid).gid(user.gid);
    }
    cmd
}

/// Hands `path` to `run_as` (no-op when `None`).
pub(crate) fn chown(path: &Path, run_as: Option<RunAs>) -> Result<()> {
    if let Some(user) = run_as {
        std::os::unix::fs::lchown(path, Some(user.uid), Some(user.gid))
            .map_err(|e| Error::io("could not chown", path, e))?;
    }
    Ok(())
}

/// Removes group and other permissions from the directory `path` (no-op when it has none).
pub(crate) fn make_private(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io("could not inspect", path, e))?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))
            .map_err(|e| Error::io("could not chmod", path, e))?;
    }
    Ok(())
}

/// Checks that `run_as` can traverse every existing ancestor of `path` (and `path` itself).
/// Only mode bits are considered (no ACLs); root always passes.
pub(crate) fn check_reachable(path: &Path, run_as: Option<RunAs>) -> Result<()> {
    let Some(user) = run_as else {
        return Ok(());
    };
    for dir in path.ancestors() {
        let Ok(meta) = std::fs::metadata(dir) else {
            continue;
        };
        if !can_search(&meta, user) {
            return Err(Error::NotReachable {
                path: path.to_path_buf(),
                blocker: PathBuf::from(dir),
            });
        }
    }
    Ok(())
}

fn can_search(meta: &std::fs::Metadata, user: RunAs) -> bool {
    let mode = meta.permissions().mode();
    if meta.uid() == user.uid {
        mode & 0o100 != 0
    } else if meta.gid() == user.gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// Like [`check_reachable`], without the error: whether `run_as` can traverse to `path`.
pub(crate) fn is_reachable(path: &Path, run_as: Option<RunAs>) -> bool {
    check_reachable(path, run_as).is_ok()
}
