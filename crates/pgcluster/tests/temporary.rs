//! Throwaway clusters: start, connect, settings, drop, and cleanup by the watchdog when the
//! owning process dies (SIGKILL, or exit with the shared static never dropped).

mod common;

use std::io::{BufReader, Read as _};
use std::path::PathBuf;
use std::str::FromStr as _;
use std::sync::mpsc;
use std::time::Duration;

use pgcluster::{Cluster, ClusterOptions, Error};

#[test]
fn helper() {
    let Some(mode) = common::helper_mode() else {
        return;
    };
    let cluster: &Cluster = match mode.as_str() {
        "sigkill" => Box::leak(Box::new(Cluster::temporary().unwrap())),
        "shared_exit" => Cluster::shared().unwrap(),
        other => panic!("unknown helper mode {other}"),
    };
    cluster
        .connect("postgres")
        .unwrap()
        .batch_execute("SELECT 1")
        .unwrap();
    println!(); // libtest printed "test helper ... " without a newline
    println!("DIR={}", cluster.socket_dir().display());
    println!("PID={}", cluster.postmaster_pid().unwrap());
    if mode == "sigkill" {
        // Wait to be killed.
        std::thread::sleep(Duration::from_secs(120));
    }
}

/// Reads the helper's stdout to EOF on a thread; EOF must come soon after the helper dies,
/// which proves neither the watchdog nor postgres inherited the pipe.
fn drain_in_background(mut stdout: BufReader<std::process::ChildStdout>) -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stdout.read_to_string(&mut rest);
        let _ = tx.send(());
    });
    rx
}

#[test]
fn start_connect_drop_removes_dir_and_process() {
    let cluster = Cluster::temporary().unwrap();
    let dir = cluster.socket_dir().to_path_buf();
    let pid = cluster.postmaster_pid().expect("running");
    assert!(dir.is_dir());
    assert!(cluster.data_dir().join("PG_VERSION").is_file());
    assert!(common::pid_alive(pid));
    assert_eq!(cluster.port(), 5432);

    let mut client = cluster.connect("postgres").unwrap();
    let row = client
        .query_one("SELECT current_user::text, 1 + 1", &[])
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "postgres");
    assert_eq!(row.get::<_, i32>(1), 2);
    drop(client);

    drop(cluster);
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(!common::pid_alive(pid), "postmaster {pid} still alive");
    common::assert_cleaned_up(&dir, pid, Duration::from_secs(5));
}

#[test]
fn throwaway_settings_are_applied() {
    let cluster = Cluster::shared().unwrap();
    let mut client = cluster.connect("postgres").unwrap();
    for (name, expected) in [
        ("fsync", "off"),
        ("full_page_writes", "off"),
        ("synchronous_commit", "off"),
        ("listen_addresses", ""),
        ("max_connections", "200"),
    ] {
        let value: String = client
            .query_one(&format!("SHOW {name}"), &[])
            .unwrap()
            .get(0);
        assert_eq!(value, expected, "{name}");
    }
    let socket_dir: String = client
        .query_one("SHOW unix_socket_directories", &[])
        .unwrap()
        .get(0);
    assert_eq!(PathBuf::from(socket_dir), cluster.socket_dir());
}

#[test]
fn extra_settings_win() {
    let opts = ClusterOptions {
        settings: vec![("work_mem".into(), "7MB".into())],
        ..Default::default()
    };
    let cluster = Cluster::temporary_with(&opts).unwrap();
    let value: String = cluster
        .connect("postgres")
        .unwrap()
        .query_one("SHOW work_mem", &[])
        .unwrap()
        .get(0);
    assert_eq!(value, "7MB");
}

#[test]
fn bad_setting_names_are_rejected() {
    let opts = ClusterOptions {
        settings: vec![("work_mem = '1MB'\nfsync".into(), "on".into())],
        ..Default::default()
    };
    let err = Cluster::temporary_with(&opts).unwrap_err();
    assert!(matches!(err, Error::InvalidName { .. }), "{err:?}");
}

#[test]
fn url_works_with_postgres_config() {
    let cluster = Cluster::shared().unwrap();
    cluster.create_database("url test").unwrap();
    let url = cluster.url("url test");
    assert!(url.starts_with("postgresql://postgres@%2F"), "{url}");
    let mut client = postgres::Config::from_str(&url)
        .unwrap()
        .connect(postgres::NoTls)
        .unwrap();
    let db: String = client
        .query_one("SELECT current_database()::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(db, "url test");
    drop(client);
    cluster.drop_database("url test").unwrap();
}

#[test]
fn url_works_with_psql() {
    let cluster = Cluster::shared().unwrap();
    let psql = cluster.bindir().join("psql");
    if !psql.is_file() {
        return;
    }
    let out = std::process::Command::new(psql)
        .args(["-XAtc", "SELECT 40 + 2"])
        .arg(cluster.url("postgres"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
}

#[test]
fn create_and_drop_database() {
    let cluster = Cluster::shared().unwrap();
    cluster.create_database("made_here").unwrap();
    let mut held_open = cluster.connect("made_here").unwrap();
    held_open.batch_execute("CREATE TABLE t (x int)").unwrap();
    // WITH (FORCE) ends the open session.
    cluster.drop_database("made_here").unwrap();
    cluster.drop_database("made_here").unwrap(); // IF EXISTS
    assert!(cluster.connect("made_here").is_err());
    assert!(matches!(
        cluster.create_database(""),
        Err(Error::InvalidName { .. })
    ));
}

#[test]
fn clusters_are_independent() {
    let a = Cluster::temporary().unwrap();
    let b = Cluster::temporary().unwrap();
    assert_ne!(a.socket_dir(), b.socket_dir());
    a.create_database("only_in_a").unwrap();
    assert!(b.connect("only_in_a").is_err());
    assert!(a.connect("only_in_a").is_ok());
}

#[test]
fn stop_then_use_is_a_clear_error() {
    let cluster = Cluster::temporary().unwrap();
    let pid = cluster.postmaster_pid().unwrap();
    cluster.stop().unwrap();
    assert!(!common::pid_alive(pid));
    cluster.stop().unwrap(); // idempotent
    let Err(err) = cluster.connect("postgres") else {
        panic!("connected to a stopped cluster");
    };
    assert!(matches!(err, Error::Stopped { .. }), "{err:?}");
    let dir = cluster.socket_dir().to_path_buf();
    drop(cluster);
    assert!(!dir.exists());
}

#[test]
fn start_failure_shows_the_log_tail_and_cleans_up() {
    let opts = ClusterOptions {
        settings: vec![("shared_buffers".into(), "not-a-size".into())],
        ..Default::default()
    };
    let err = Cluster::temporary_with(&opts).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Start { .. }), "{err:?}");
    assert!(message.contains("shared_buffers"), "{message}");
    assert!(message.contains("last lines of"), "{message}");
    let Error::Start { data_dir, .. } = err else {
        unreachable!()
    };
    let dir = data_dir.parent().unwrap().to_path_buf();
    common::wait_until(Duration::from_secs(5), || !dir.exists());
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
fn watchdog_cleans_up_after_sigkill() {
    let mut child = common::spawn_helper("sigkill", &[]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let values = common::read_values(&mut stdout, &["DIR", "PID"]);
    let dir = PathBuf::from(&values[0]);
    let pid: u32 = values[1].parse().unwrap();
    assert!(dir.is_dir());
    assert!(common::pid_alive(pid));

    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    let eof = drain_in_background(stdout);
    assert!(
        eof.recv_timeout(Duration::from_secs(10)).is_ok(),
        "the helper's stdout stayed open: a child process inherited it"
    );
    common::assert_cleaned_up(&dir, pid, Duration::from_secs(10));
}

#[test]
fn watchdog_cleans_up_shared_cluster_at_exit() {
    let mut child = common::spawn_helper("shared_exit", &[]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let values = common::read_values(&mut stdout, &["DIR", "PID"]);
    let dir = PathBuf::from(&values[0]);
    let pid: u32 = values[1].parse().unwrap();
    let eof = drain_in_background(stdout);
    assert!(child.wait().unwrap().success());
    assert!(
        eof.recv_timeout(Duration::from_secs(10)).is_ok(),
        "the helper's stdout stayed open: a child process inherited it"
    );
    common::assert_cleaned_up(&dir, pid, Duration::from_secs(10));
}

#[test]
fn only_the_owner_connects_to_a_throwaway_cluster() {
    let cluster = Cluster::temporary().unwrap();
    let perms: String = cluster
        .connect("postgres")
        .unwrap()
        .query_one("SHOW unix_socket_permissions", &[])
        .unwrap()
        .get(0);
    assert_eq!(perms, "0700");
    common::assert_only_owner_connects(cluster.bindir(), cluster.socket_dir(), cluster.port());
}
