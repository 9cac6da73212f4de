//! Persistent clusters: initdb once, reuse while running, restart when stopped or stale.

mod common;

use std::path::Path;
use std::time::Duration;

use pgcluster::{Cluster, ClusterOptions, Error};

/// Stops the persistent cluster in `dir` when dropped, so a failing test leaves no server.
struct StopOnDrop<'a>(&'a Path);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.drop_now();
    }
}

impl StopOnDrop<'_> {
    fn drop_now(&self) {
        let Ok(text) = std::fs::read_to_string(self.0.join("data/postmaster.pid")) else {
            return;
        };
        let Some(pid) = text
            .lines()
            .next()
            .and_then(|l| l.trim().parse::<u32>().ok())
        else {
            return;
        };
        if common::pid_alive(pid) {
            // SIGINT: fast shutdown.
            let _ = std::process::Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status();
            common::wait_until(Duration::from_secs(10), || !common::pid_alive(pid));
        }
    }
}

#[test]
fn start_reuse_stop_restart() {
    let root = common::reachable_tempdir();
    let dir = root.path().join("dev");
    let _guard = StopOnDrop(&dir);
    let opts = ClusterOptions::default();

    let first = Cluster::persistent(&dir, &opts).unwrap();
    let pid = first.postmaster_pid().expect("running");
    assert!(dir.join("data/PG_VERSION").is_file());
    assert_eq!(first.socket_dir(), dir.join("run"));
    assert!(dir.join("run/.s.PGSQL.5432").exists());
    assert!(dir.join("log/postgresql.log").is_file());
    first.create_database("kept").unwrap();
    first
        .connect("kept")
        .unwrap()
        .batch_execute("CREATE TABLE t (x int); INSERT INTO t VALUES (7)")
        .unwrap();
    drop(first); // not stopped on Drop
    assert!(common::pid_alive(pid));

    let second = Cluster::persistent(&dir, &opts).unwrap();
    assert_eq!(
        second.postmaster_pid(),
        Some(pid),
        "reused the running server"
    );
    let x: i32 = second
        .connect("kept")
        .unwrap()
        .query_one("SELECT x FROM t", &[])
        .unwrap()
        .get(0);
    assert_eq!(x, 7);

    second.stop().unwrap();
    assert!(common::wait_until(Duration::from_secs(5), || {
        !common::pid_alive(pid)
    }));
    assert!(second.connect("kept").is_err());
    second.stop().unwrap(); // already stopped: no-op

    let third = Cluster::persistent(&dir, &opts).unwrap();
    let new_pid = third.postmaster_pid().unwrap();
    assert_ne!(new_pid, pid);
    let x: i32 = third
        .connect("kept")
        .unwrap()
        .query_one("SELECT x FROM t", &[])
        .unwrap()
        .get(0);
    assert_eq!(x, 7, "data survives a restart");
    third.stop().unwrap();
}

#[test]
fn stale_pid_file_is_replaced() {
    let root = common::reachable_tempdir();
    let dir = root.path().join("stale");
    let _guard = StopOnDrop(&dir);
    let cluster = Cluster::persistent(&dir, &ClusterOptions::default()).unwrap();
    cluster.stop().unwrap();

    // A postmaster.pid naming a process that no longer exists, as after a crash.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    let pid_file = dir.join("data/postmaster.pid");
    std::fs::write(
        &pid_file,
        format!(
            "{dead_pid}\n{}\n0\n5432\n{}\n\n0 0\nready\n",
            dir.join("data").display(),
            dir.join("run").display()
        ),
    )
    .unwrap();

    let restarted = Cluster::persistent(&dir, &ClusterOptions::default()).unwrap();
    let pid = restarted.postmaster_pid().unwrap();
    assert_ne!(pid, dead_pid);
    restarted.connect("postgres").unwrap();
    restarted.stop().unwrap();
}

#[test]
fn too_deep_dir_is_a_clear_error() {
    let deep = Path::new("/tmp").join("d".repeat(100));
    let err = Cluster::persistent(&deep, &ClusterOptions::default()).unwrap_err();
    assert!(matches!(err, Error::SocketPathTooLong { .. }), "{err:?}");
    assert!(err.to_string().contains("107"), "{err}");
    assert!(!deep.exists(), "nothing created for a rejected dir");
}

#[test]
fn foreign_data_dir_is_refused() {
    let root = common::reachable_tempdir();
    let dir = root.path().join("foreign");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("data/notes.txt"), "mine").unwrap();
    let err = Cluster::persistent(&dir, &ClusterOptions::default()).unwrap_err();
    assert!(matches!(err, Error::NotADataDir { .. }), "{err:?}");
    assert!(dir.join("data/notes.txt").is_file(), "left untouched");
}

#[test]
fn start_error_includes_the_log_tail() {
    let root = common::reachable_tempdir();
    let dir = root.path().join("broken");
    let _guard = StopOnDrop(&dir);
    let opts = ClusterOptions {
        settings: vec![("max_connections".into(), "not-a-number".into())],
        ..Default::default()
    };
    let err = Cluster::persistent(&dir, &opts).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Start { .. }), "{err:?}");
    assert!(message.contains("postgresql.log"), "{message}");
    assert!(message.contains("max_connections"), "{message}");
}

#[test]
fn concurrent_starts_share_one_server() {
    let root = common::reachable_tempdir();
    let dir = root.path().join("racy");
    let _guard = StopOnDrop(&dir);
    let pids: Vec<u32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let cluster = Cluster::persistent(&dir, &ClusterOptions::default()).unwrap();
                    cluster.connect("postgres").unwrap();
                    cluster.postmaster_pid().unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(pids.windows(2).all(|w| w[0] == w[1]), "{pids:?}");
    Cluster::persistent(&dir, &ClusterOptions::default())
        .unwrap()
        .stop()
        .unwrap();
}

#[test]
fn dev_cluster_socket_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = common::reachable_tempdir();
    let dir = root.path().join("private");
    let _guard = StopOnDrop(&dir);
    let cluster = Cluster::persistent(&dir, &ClusterOptions::default()).unwrap();
    assert_eq!(
        cluster.relocated_to(),
        None,
        "a reachable directory is used as it is"
    );
    for sub in ["run", "log", "data"] {
        let mode = std::fs::metadata(dir.join(sub))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700, "{sub}");
    }
    let perms: String = cluster
        .connect("postgres")
        .unwrap()
        .query_one("SHOW unix_socket_permissions", &[])
        .unwrap()
        .get(0);
    assert_eq!(perms, "0700");
    common::assert_only_owner_connects(cluster.bindir(), cluster.socket_dir(), cluster.port());
    cluster.stop().unwrap();

    // A run directory left open by an older pgcluster is closed again on the next start.
    std::fs::set_permissions(dir.join("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let again = Cluster::persistent(&dir, &ClusterOptions::default()).unwrap();
    let mode = std::fs::metadata(dir.join("run"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
    again.stop().unwrap();
}

/// Running as root from a directory the `postgres` OS user cannot reach (a checkout under
/// `/root`, mode 0700): the files go to `/var/tmp`, recorded in `RELOCATED`.
#[test]
fn unreachable_dir_is_relocated_when_root() {
    if !common::is_root() {
        eprintln!("skipped: only root runs the server as another OS user");
        return;
    }
    let private = private_tempdir();
    let dir = private.path().join("checkout/.pgdata");
    let cluster = Cluster::persistent(&dir, &ClusterOptions::default()).unwrap();
    let home = cluster.relocated_to().expect("relocated").to_path_buf();
    struct Cleanup(std::path::PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            StopOnDrop(&self.0).drop_now();
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Cleanup(home.clone());
    assert!(
        home.starts_with("/var/tmp") || home.starts_with("/tmp"),
        "{}",
        home.display()
    );
    assert_eq!(cluster.data_dir(), home.join("data"));
    assert_eq!(cluster.socket_dir(), home.join("run"));
    let record = std::fs::read_to_string(dir.join("RELOCATED")).unwrap();
    assert_eq!(
        record.lines().next(),
        Some(home.to_str().unwrap()),
        "{record}"
    );
    cluster.create_database("kept").unwrap();
    cluster
        .connect("kept")
        .unwrap()
        .batch_execute("CREATE TABLE t (x int); INSERT INTO t VALUES (7)")
        .unwrap();
    let pid = cluster.postmaster_pid().unwrap();
    common::assert_only_owner_connects(cluster.bindir(), cluster.socket_dir(), cluster.port());

    // A later run finds it through the record, and reuses the running server.
    let again = Cluster::persistent(&dir, &ClusterOptions::default()).unwrap();
    assert_eq!(again.relocated_to(), Some(home.as_path()));
    assert_eq!(again.postmaster_pid(), Some(pid));
    again.stop().unwrap();
    // And restarts it, with its data, when it is stopped.
    let third = Cluster::persistent(&dir, &ClusterOptions::default()).unwrap();
    let x: i32 = third
        .connect("kept")
        .unwrap()
        .query_one("SELECT x FROM t", &[])
        .unwrap()
        .get(0);
    assert_eq!(x, 7);
    third.stop().unwrap();
}

#[test]
fn foreign_relocation_dir_is_refused() {
    if !common::is_root() {
        eprintln!("skipped: only root relocates");
        return;
    }
    let private = tempfile::Builder::new()
        .prefix("pgcp")
        .tempdir_in("/tmp")
        .unwrap();
    let dir = private.path().join(".pgdata");
    std::fs::create_dir_all(&dir).unwrap();
    // A directory another user prepared, named in the record.
    let trap = common::reachable_tempdir();
    let (uid, gid) = common::os_user("nobody");
    std::os::unix::fs::chown(trap.path(), Some(uid), Some(gid)).unwrap();
    std::fs::write(
        dir.join("RELOCATED"),
        format!("{}\n", trap.path().display()),
    )
    .unwrap();
    let err = Cluster::persistent(&dir, &ClusterOptions::default()).unwrap_err();
    assert!(matches!(err, Error::UnsafeDir { .. }), "{err:?}");
    assert!(err.to_string().contains("owned by uid"), "{err}");
}

/// A temp dir of mode 0700 owned by root, which `postgres` cannot traverse (like `/root`).
fn private_tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::Builder::new()
        .prefix("pgcp")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}
