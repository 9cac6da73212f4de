//! Finding the PostgreSQL server binaries.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// The binaries a directory must hold to count as a server bindir.
const REQUIRED: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// Where Debian/Ubuntu install versioned server binaries (`/usr/lib/postgresql/<v>/bin`).
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// Finds the directory holding the PostgreSQL server binaries (`initdb`, `pg_ctl`, `postgres`).
///
/// Lookup order:
/// 1. `explicit`, when given;
/// 2. the `PG_BINDIR` environment variable, when set and non-empty;
/// 3. each directory on `PATH` holding all three binaries;
/// 4. `pg_config --bindir` (with `pg_config` taken from `PATH`);
/// 5. the newest `/usr/lib/postgresql/*/bin`.
///
/// An explicit directory or `PG_BINDIR` that lacks the binaries is an error rather than a
/// reason to keep looking: it was a deliberate choice. A `PATH` hit that consists of symlinks
/// (e.g. `/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb`) resolves to the real
/// directory when that holds all three, so [`Cluster::bindir`](crate::Cluster::bindir) also
/// finds `pg_dump` and `psql` there.
///
/// # Errors
/// [`Error::BinariesNotFound`], listing everything searched and what to do.
pub fn find_bindir(explicit: Option<&Path>) -> Result<PathBuf> {
    find_bindir_in(
        explicit,
        env::var_os("PG_BINDIR"),
        env::var_os("PATH").unwrap_or_default(),
        Path::new(DEBIAN_ROOT),
    )
}

/// [`find_bindir`] with its environment passed in.
fn find_bindir_in(
    explicit: Option<&Path>,
    pg_bindir: Option<OsString>,
    path: OsString,
    debian_root: &Path,
) -> Result<PathBuf> {
    let mut searched = Vec::new();

    if let Some(dir) = explicit {
        if has_server_binaries(dir) {
            return Ok(dir.to_path_buf());
        }
        searched.push(format!("{} (given explicitly)", dir.display()));
        return Err(Error::BinariesNotFound { searched });
    }

    if let Some(dir) = pg_bindir.filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        if has_server_binaries(&dir) {
            return Ok(dir);
        }
        searched.push(format!("PG_BINDIR={}", dir.display()));
        return Err(Error::BinariesNotFound { searched });
    }

    if let Some(dir) = search_path(&path) {
        return Ok(resolve_symlinked_dir(&dir));
    }
    searched.push(format!(
        "PATH ({})",
        if path.is_empty() {
            "empty".to_string()
        } else {
            path.to_string_lossy().into_owned()
        }
    ));

    match pg_config_bindir(&path) {
        Ok(dir) if has_server_binaries(&dir) => return Ok(dir),
        Ok(dir) => searched.push(format!(
            "pg_config --bindir ({}, which lacks the server binaries)",
            dir.display()
        )),
        Err(why) => searched.push(format!("pg_config --bindir ({why})")),
    }

    if let Some(dir) = newest_debian_bindir(debian_root) {
        return Ok(dir);
    }
    searched.push(format!("{}/*/bin", debian_root.display()));

    Err(Error::BinariesNotFound { searched })
}

/// Whether `dir` holds all of [`REQUIRED`] as files.
fn has_server_binaries(dir: &Path) -> bool {
    REQUIRED.iter().all(|name| dir.join(name).is_file())
}

fn search_path(path: &OsString) -> Option<PathBuf> {
    env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .find(|dir| has_server_binaries(dir))
}

/// `dir/initdb`'s real parent directory, when that holds all the binaries; else `dir`.
fn resolve_symlinked_dir(dir: &Path) -> PathBuf {
    if let Ok(real) = dir.join("initdb").canonicalize()
        && let Some(parent) = real.parent()
        && has_server_binaries(parent)
    {
        return parent.to_path_buf();
    }
    dir.to_path_buf()
}

fn pg_config_bindir(path: &OsString) -> std::result::Result<PathBuf, String> {
    let Some(pg_config) = env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join("pg_config"))
        .find(|p| p.is_file())
    else {
        return Err("pg_config not found on PATH".to_string());
    };
    let output = Command::new(&pg_config)
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("{} failed: {e}", pg_config.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} exited with {}",
            pg_config.display(),
            output.status
        ));
    }
    let dir = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if dir.is_empty() {
        return Err(format!("{} printed nothing", pg_config.display()));
    }
    Ok(PathBuf::from(dir))
}

/// The `bin` dir of the highest version under `root` (e.g. 16 before 15 before 9.6).
fn newest_debian_bindir(root: &Path) -> Option<PathBuf> {
    let mut candidates: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version: Vec<u64> = name
                .split('.')
                .map(|part| part.parse().ok())
                .collect::<Option<_>>()?;
            let bin = entry.path().join("bin");
            has_server_binaries(&bin).then_some((version, bin))
        })
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, bin)| bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_numerically() {
        let root =
            std::env::temp_dir().join(format!("pgcluster-bindir-unit-{}", std::process::id()));
        for v in ["9.6", "10", "15", "not-a-version"] {
            let bin = root.join(v).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            for name in REQUIRED {
                std::fs::write(bin.join(name), "").unwrap();
            }
        }
        let found = newest_debian_bindir(&root);
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(found, Some(root.join("15").join("bin")));
    }

    #[test]
    fn nothing_found_lists_every_place_searched() {
        let empty = std::env::temp_dir().join(format!("pgcluster-empty-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        let err = find_bindir_in(None, None, empty.clone().into_os_string(), &empty).unwrap_err();
        std::fs::remove_dir_all(&empty).unwrap();
        let message = err.to_string();
        for needed in [
            format!("PATH ({})", empty.display()),
            "pg_config --bindir (pg_config not found on PATH)".to_string(),
            format!("{}/*/bin", empty.display()),
            "apt-get install postgresql".to_string(),
            "set PG_BINDIR".to_string(),
            "set DATABASE_URL".to_string(),
        ] {
            assert!(
                message.contains(&needed),
                "{needed:?} missing from: {message}"
            );
        }
    }
}
