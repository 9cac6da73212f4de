//! Where throwaway clusters (and the initdb cache) live.
//!
//! In order, the first usable of:
//! 1. `PGCLUSTER_TMPDIR`, when set;
//! 2. `TMPDIR`, when set;
//! 3. `/dev/shm`, when it is a tmpfs of at least 1 GiB: a throwaway cluster is a thousand
//!    small files, and creating those is 5 to 20 times faster in memory than on a busy disk
//!    (cloning a database creates another few hundred);
//! 4. `/tmp`.
//!
//! "Usable" means an absolute, existing directory we can write to, that the server's OS
//! user can traverse (when running as root), and short enough for the socket path of a
//! cluster directory inside it. `/tmp` is the last resort whatever its checks say.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::privileges::{self, RunAs};
use crate::server;

/// Smallest `/dev/shm` worth using.
const MIN_SHM_BYTES: u64 = 1 << 30;

/// Room needed after the root for `/pgcluster-<pid>_<counter>_<hex>/.s.PGSQL.5432`.
const SUFFIX_ROOM: usize = 64;

/// The directory to create throwaway clusters in.
pub(crate) fn throwaway_root(run_as: Option<RunAs>) -> PathBuf {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let candidates = [
        from_env("PGCLUSTER_TMPDIR"),
        from_env("TMPDIR"),
        big_tmpfs(Path::new("/dev/shm")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|dir| usable(dir, run_as))
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

fn usable(dir: &Path, run_as: Option<RunAs>) -> bool {
    let Ok(meta) = std::fs::metadata(dir) else {
        return false;
    };
    let euid = privileges::effective_uid();
    let writable = euid == 0
        || (meta.uid() == euid && meta.permissions().mode() & 0o200 != 0)
        || meta.permissions().mode() & 0o002 != 0;
    dir.is_absolute()
        && meta.is_dir()
        && writable
        && dir.as_os_str().len() + SUFFIX_ROOM <= server::MAX_SOCKET_PATH
        && privileges::is_reachable(dir, run_as)
}

/// `dir` when `/proc/mounts` shows it as a tmpfs of at least [`MIN_SHM_BYTES`].
fn big_tmpfs(dir: &Path) -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    let wanted = dir.to_str()?;
    // The last entry for a mount point is the one in effect.
    let (fstype, options) = mounts.lines().rev().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.len() >= 4 && fields[1] == wanted).then(|| (fields[2], fields[3]))
    })?;
    if fstype != "tmpfs" {
        return None;
    }
    let size = match options.split(',').find_map(|o| o.strip_prefix("size=")) {
        Some(size) => parse_size(size)?,
        // tmpfs defaults to half of RAM.
        None => mem_total()? / 2,
    };
    (size >= MIN_SHM_BYTES).then(|| dir.to_path_buf())
}

/// `65536k`, `2g`, `1048576` (bytes) -> bytes. Percent sizes are not resolved.
fn parse_size(size: &str) -> Option<u64> {
    let (digits, unit) = match size.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => size.split_at(i),
        None => (size, ""),
    };
    let n: u64 = digits.parse().ok()?;
    let factor = match unit.to_ascii_lowercase().as_str() {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(factor)
}

fn mem_total() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("65536k"), Some(64 << 20));
        assert_eq!(parse_size("2g"), Some(2 << 30));
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("50%"), None);
    }
}
