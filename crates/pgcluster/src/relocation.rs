//! Where a persistent cluster's files go when the server's OS user cannot reach the
//! directory it was asked for.
//!
//! Running as root, the server runs as the `postgres` OS user, which must traverse every
//! ancestor of the data directory. A checkout under a private home (`/root`, mode 0700) is
//! not reachable, so its dev cluster lives in `/var/tmp/pgcluster-dev-<hash>/` instead (the
//! hash is of the requested directory's absolute path, so each checkout gets its own), and
//! the requested directory keeps a `RELOCATED` file naming it: later runs read that file,
//! whatever the permissions have become meanwhile. `/var/tmp` survives reboots, like the
//! checkout; `/tmp` is the fallback when `/var/tmp` is unusable.
//!
//! The relocated directory is created mode 0700 and owned by the server's OS user; an
//! existing one owned by anybody else, or writable by group or others, or a symlink, is
//! refused ([`Error::UnsafeDir`]): `/var/tmp` is shared, and the name is predictable.

use std::fs::DirBuilder;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::privileges::{self, RunAs};

/// The file, inside the requested directory, that records the relocation.
pub(crate) const RECORD_FILE: &str = "RELOCATED";

/// The relocation recorded in `root/RELOCATED` by an earlier run, if any.
pub(crate) fn recorded(root: &Path) -> Result<Option<PathBuf>> {
    let path = root.join(RECORD_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("could not read", &path, e)),
    };
    let home = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(PathBuf::from);
    match home {
        Some(home) if home.is_absolute() => Ok(Some(home)),
        _ => Err(Error::UnsafeDir {
            path,
            reason: "it does not name an absolute directory; delete it (the cluster it \
                     named, if any, stays where it was) or write the cluster's directory \
                     into it"
                .into(),
        }),
    }
}

/// `/var/tmp/pgcluster-dev-<16 hex digits of sha256(root)>` (or under `/tmp`).
pub(crate) fn default_home(root: &Path, user: RunAs) -> PathBuf {
    let digest = Sha256::digest(root.as_os_str().as_encoded_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let base = [Path::new("/var/tmp"), Path::new("/tmp")]
        .into_iter()
        .find(|d| d.is_dir() && privileges::is_reachable(d, Some(user)))
        .unwrap_or(Path::new("/tmp"));
    base.join(format!("pgcluster-dev-{hash}"))
}

/// Creates `home` (mode 0700, owned by the server's OS user) or checks that the existing
/// one is safe to use.
pub(crate) fn prepare_home(home: &Path, run_as: Option<RunAs>) -> Result<()> {
    match DirBuilder::new().mode(0o700).create(home) {
        Ok(()) => privileges::chown(home, run_as)?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io("could not create directory", home, e)),
    }
    let meta =
        std::fs::symlink_metadata(home).map_err(|e| Error::io("could not inspect", home, e))?;
    let euid = privileges::effective_uid();
    let owner_ok = meta.uid() == euid || run_as.is_some_and(|u| u.uid == meta.uid());
    let reason = if meta.file_type().is_symlink() {
        Some("it is a symbolic link".to_string())
    } else if !meta.is_dir() {
        Some("it is not a directory".to_string())
    } else if !owner_ok {
        Some(format!(
            "it is owned by uid {}, neither this user nor the server's",
            meta.uid()
        ))
    } else if meta.mode() & 0o022 != 0 {
        Some(format!(
            "it is writable by group or others (mode {:o})",
            meta.mode() & 0o7777
        ))
    } else {
        None
    };
    if let Some(reason) = reason {
        return Err(Error::UnsafeDir {
            path: home.to_path_buf(),
            reason: format!("{reason}; remove it and run again"),
        });
    }
    // Left half-made by an interrupted run (created, not yet chowned), or loosened by hand.
    if meta.uid() != run_as.map_or(euid, |u| u.uid) {
        privileges::chown(home, run_as)?;
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("could not chmod", home, e))?;
    }
    Ok(())
}

/// Writes `root/RELOCATED` naming `home`.
pub(crate) fn record(root: &Path, home: &Path) -> Result<()> {
    let path = root.join(RECORD_FILE);
    let text = format!(
        "{}\n# The files of the cluster of this directory (data/, run/, log/) are in the \
         directory above:\n# the server's OS user cannot reach this one. Delete both to \
         start over (stop the server first).\n",
        home.display()
    );
    std::fs::write(&path, text).map_err(|e| Error::io("could not write", &path, e))
}
