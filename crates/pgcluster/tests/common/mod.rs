//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// Env var that turns a test binary's `helper` test into a helper process.
pub const HELPER_ENV: &str = "PGCLUSTER_TEST_HELPER";

/// The helper mode this process runs in, if it is a helper.
pub fn helper_mode() -> Option<String> {
    std::env::var(HELPER_ENV).ok()
}

/// Re-runs this test binary's `helper` test in `mode`, stdout piped.
pub fn spawn_helper(mode: &str, envs: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["helper", "--exact", "--nocapture", "--test-threads=1"])
        .env(HELPER_ENV, mode)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Reads helper stdout until a line `KEY=value` for every key, returning the values.
pub fn read_values(stdout: &mut BufReader<ChildStdout>, keys: &[&str]) -> Vec<String> {
    let mut values = vec![None; keys.len()];
    let mut line = String::new();
    while values.iter().any(Option::is_none) {
        line.clear();
        let n = stdout.read_line(&mut line).unwrap();
        assert!(n > 0, "helper ended before printing {keys:?}");
        if let Some((k, v)) = line.trim_end().split_once('=')
            && let Some(i) = keys.iter().position(|key| *key == k)
        {
            values[i] = Some(v.to_string());
        }
    }
    values.into_iter().map(Option::unwrap).collect()
}

/// Whether `pid` is a live process (zombies count as dead: this machine's init may not reap
/// orphans, and a zombie holds no resources).
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Ok(status) => !status
            .lines()
            .any(|l| l.starts_with("State:") && l[6..].trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Live processes whose command line mentions `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(needle) && pid_alive(pid) {
            found.push(pid);
        }
    }
    found
}

/// Polls `check` until it is true or `timeout` passes; returns its last value.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A temp dir the `postgres` OS user can traverse (tempfile makes them 0700).
pub fn reachable_tempdir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("pgc")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Asserts `dir` is gone and no live process mentions it within `timeout`.
pub fn assert_cleaned_up(dir: &Path, postmaster: u32, timeout: Duration) {
    let needle = dir.to_string_lossy().into_owned();
    let clean = wait_until(timeout, || {
        !dir.exists() && !pid_alive(postmaster) && processes_mentioning(&needle).is_empty()
    });
    assert!(
        clean,
        "not cleaned up after {timeout:?}: dir exists={}, postmaster {postmaster} alive={}, \
         processes mentioning it: {:?}",
        dir.exists(),
        pid_alive(postmaster),
        processes_mentioning(&needle)
    );
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").map(|m| m.uid()).ok() == Some(0)
}

/// `(uid, gid)` of an OS user, from `id`.
pub fn os_user(name: &str) -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id").args([flag, name]).output().unwrap();
        assert!(out.status.success(), "no OS user {name}");
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}

/// Runs `psql -c 'SELECT 1'` against the cluster's socket as the OS user `user`
/// (`None`: as this process's user), as superuser `postgres`, without a password prompt.
pub fn psql_as(
    user: Option<&str>,
    bindir: &Path,
    socket_dir: &Path,
    port: u16,
) -> std::process::Output {
    use std::os::unix::process::CommandExt as _;
    let psql = bindir.join("psql");
    let mut cmd = Command::new(if psql.exists() {
        psql.as_os_str()
    } else {
        "psql".as_ref()
    });
    cmd.args([
        "-X", "-w", "-At", "-U", "postgres", "-d", "postgres", "-c", "SELECT 1", "-h",
    ])
    .arg(socket_dir)
    .arg("-p")
    .arg(port.to_string())
    .current_dir("/")
    .env("PGCONNECT_TIMEOUT", "5")
    .env_remove("PGPASSWORD")
    .stdin(Stdio::null());
    if let Some(user) = user {
        let (uid, gid) = os_user(user);
        cmd.uid(uid).gid(gid).env("HOME", "/nonexistent");
    }
    cmd.output().unwrap()
}

/// Asserts that OS user `nobody` cannot connect to the cluster's socket, while root and the
/// server's OS user can (so the refusal is about who asks, not a broken command).
pub fn assert_only_owner_connects(bindir: &Path, socket_dir: &Path, port: u16) {
    let show = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let me = psql_as(None, bindir, socket_dir, port);
    assert!(
        me.status.success(),
        "the invoking user is refused: {}",
        show(&me)
    );
    if !is_root() {
        return;
    }
    let server = psql_as(Some("postgres"), bindir, socket_dir, port);
    assert!(
        server.status.success(),
        "the server's OS user is refused: {}",
        show(&server)
    );
    let nobody = psql_as(Some("nobody"), bindir, socket_dir, port);
    assert!(
        !nobody.status.success(),
        "nobody connected: {}",
        show(&nobody)
    );
    assert!(
        show(&nobody).contains("Permission denied"),
        "refused for another reason: {}",
        show(&nobody)
    );
}
