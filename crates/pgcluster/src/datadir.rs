//! Creating data directories: `initdb`, and the initdb cache for throwaway clusters.
//!
//! `initdb` takes most of a second; copying an already initialised data directory takes a
//! few tens of milliseconds. Throwaway clusters therefore copy a pristine data directory
//! cached under `<temp>/pgcluster-cache-<euid>/<key>`, where the key hashes the bindir, the
//! `postgres --version` output and the OS user the server runs as. The cache is filled by
//! the first throwaway cluster (initdb'd in its own directory, then copied aside and renamed
//! into place atomically, so concurrent processes never see a partial entry).

use std::collections::HashMap;
use std::fs::DirBuilder;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::names;
use crate::privileges::{self, RunAs};
use crate::server;

/// Bump when the cached directory's content changes (initdb flags, included conf).
const CACHE_FORMAT: &str = "pgcluster-initdb-cache-v1";

/// What a data directory is for; decides the initdb flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// No fsync during initdb, 1 MB WAL segments (a smaller directory to copy).
    Throwaway,
    /// Default durability.
    Persistent,
}

/// `postgres --version` output for `bindir`, memoised per process.
pub(crate) fn server_version(bindir: &Path) -> Result<String> {
    static VERSIONS: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
    let versions = VERSIONS.get_or_init(Default::default);
    if let Some(v) = lock(versions).get(bindir) {
        return Ok(v.clone());
    }
    let program = bindir.join("postgres");
    let output = std::process::Command::new(&program)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            Error::command_spawn(
                format!("{} --version", program.display()),
                &e,
                "check that the PostgreSQL server binaries are intact, or set PG_BINDIR",
            )
        })?;
    if !output.status.success() {
        return Err(Error::command_failed(
            format!("{} --version", program.display()),
            &output,
            "check that the PostgreSQL server binaries are intact, or set PG_BINDIR",
        ));
    }
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    lock(versions).insert(bindir.to_path_buf(), version.clone());
    Ok(version)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The major version from `postgres (PostgreSQL) 15.18 (Debian ...)`.
fn major_version(version: &str) -> Option<u32> {
    let number = version
        .split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
    number
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Runs `initdb` into `data_dir` (absent, or empty and owned by `run_as`) with trust auth,
/// superuser `postgres`, UTF8 and no locale.
pub(crate) fn initdb(
    bindir: &Path,
    data_dir: &Path,
    run_as: Option<RunAs>,
    purpose: Purpose,
) -> Result<()> {
    let program = bindir.join("initdb");
    let mut cmd = privileges::server_command(&program, run_as);
    cmd.arg("-D").arg(data_dir).args([
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-locale",
    ]);
    if purpose == Purpose::Throwaway {
        cmd.arg("-N");
        if major_version(&server_version(bindir)?).is_some_and(|v| v >= 11) {
            cmd.arg("--wal-segsize=1");
        }
    }
    let shown = format!("{} -D {} ...", program.display(), data_dir.display());
    let hint = "check that the directory is empty and writable by the server's OS user";
    let output = cmd
        .output()
        .map_err(|e| Error::command_spawn(shown.clone(), &e, hint))?;
    if !output.status.success() {
        return Err(Error::command_failed(shown, &output, hint));
    }
    server::ensure_include(data_dir)
}

/// Fills `data_dir` (absent; its parent exists) with a fresh throwaway cluster, copying the
/// cached initdb result when there is one.
pub(crate) fn prepare_throwaway(
    bindir: &Path,
    data_dir: &Path,
    run_as: Option<RunAs>,
    temp_root: &Path,
) -> Result<()> {
    let version = server_version(bindir)?;
    let cached = cache_entry(temp_root, bindir, &version, run_as);
    if let Some(entry) = &cached
        && entry.join("PG_VERSION").is_file()
    {
        match copy_tree(entry, data_dir, run_as) {
            Ok(()) => return Ok(()),
            // A damaged cache entry: start over with initdb, and drop the entry.
            Err(_) => {
                let _ = std::fs::remove_dir_all(data_dir);
                let _ = std::fs::remove_dir_all(entry);
            }
        }
    }
    DirBuilder::new()
        .mode(0o700)
        .create(data_dir)
        .map_err(|e| Error::io("could not create directory", data_dir, e))?;
    privileges::chown(data_dir, run_as)?;
    initdb(bindir, data_dir, run_as, Purpose::Throwaway)?;
    if let Some(entry) = cached {
        store_in_cache(data_dir, &entry);
    }
    Ok(())
}

/// The cache entry path for this server build and user, or `None` when the cache root is
/// not safely ours (another user's directory, a symlink, group/world accessible).
fn cache_entry(
    temp_root: &Path,
    bindir: &Path,
    version: &str,
    run_as: Option<RunAs>,
) -> Option<PathBuf> {
    let euid = privileges::effective_uid();
    let root = temp_root.join(format!("pgcluster-cache-{euid}"));
    match DirBuilder::new().mode(0o700).create(&root) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(_) => return None,
    }
    let meta = std::fs::symlink_metadata(&root).ok()?;
    if !meta.is_dir() || meta.uid() != euid || meta.mode() & 0o077 != 0 {
        return None;
    }
    let bindir = bindir
        .canonicalize()
        .unwrap_or_else(|_| bindir.to_path_buf());
    let mut hasher = Sha256::new();
    for part in [
        CACHE_FORMAT,
        &bindir.to_string_lossy(),
        version,
        &format!("{run_as:?}"),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let key: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Some(root.join(key))
}

/// Copies a freshly initdb'd `data_dir` into the cache at `entry` (best effort).
fn store_in_cache(data_dir: &Path, entry: &Path) {
    let Some(root) = entry.parent() else {
        return;
    };
    remove_stale_temporaries(root);
    let tmp = root.join(format!("tmp-{}", names::unique_suffix()));
    if copy_tree(data_dir, &tmp, None).is_err() || std::fs::rename(&tmp, entry).is_err() {
        // Lost a race with another process (the entry exists) or ran out of space.
        let _ = std::fs::remove_dir_all(&tmp);
    }
}

/// Removes `tmp-*` leftovers of processes killed while filling the cache.
fn remove_stale_temporaries(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    let cutoff = SystemTime::now() - Duration::from_secs(600);
    for entry in entries.flatten() {
        let is_tmp = entry.file_name().to_string_lossy().starts_with("tmp-");
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < cutoff);
        if is_tmp && old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Recursively copies `src` to the new directory `dst`, handing everything to `run_as`.
pub(crate) fn copy_tree(src: &Path, dst: &Path, run_as: Option<RunAs>) -> std::io::Result<()> {
    let chown = |path: &Path| match run_as {
        Some(u) => std::os::unix::fs::lchown(path, Some(u.uid), Some(u.gid)),
        None => Ok(()),
    };
    DirBuilder::new().mode(0o700).create(dst)?;
    chown(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&from, &to, run_as)?;
            continue;
        }
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else {
            std::fs::copy(&from, &to)?;
        }
        chown(&to)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::major_version;

    #[test]
    fn parses_major_versions() {
        assert_eq!(
            major_version("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"),
            Some(15)
        );
        assert_eq!(major_version("postgres (PostgreSQL) 9.6.24"), Some(9));
        assert_eq!(major_version("postgres (PostgreSQL) 17beta1"), Some(17));
        assert_eq!(major_version("garbage"), None);
    }
}
