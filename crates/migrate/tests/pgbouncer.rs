//! `migrate` behind a real PgBouncer (transaction and session pooling): concurrent runners
//! (real processes: this test binary re-executed in "child" mode) apply each migration exactly
//! once, none fails, none hangs; a runner killed with SIGKILL blocks the next one at most for
//! its lease. Skipped, with a message, when `pgbouncer` is not installed.

mod common;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use migrate::{LockMode, MigrationSet, Migrator};
use pgcluster::{Cluster, PgBouncer, PoolMode};

const CHILD_URL: &str = "MIGRATE_BOUNCER_CHILD_URL";
const CHILD_DIR: &str = "MIGRATE_BOUNCER_CHILD_DIR";
const CHILD_MODE: &str = "MIGRATE_BOUNCER_CHILD_MODE";
const CHILD_LEASE: &str = "MIGRATE_BOUNCER_CHILD_LEASE";

/// Not a test on its own: the body of a child migrator process (does nothing without its env).
#[test]
fn child_migrator() {
    let (Ok(url), Ok(dir)) = (std::env::var(CHILD_URL), std::env::var(CHILD_DIR)) else {
        return;
    };
    let mode = std::env::var(CHILD_MODE).unwrap_or_default();
    let lease = std::env::var(CHILD_LEASE)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let set = MigrationSet::discover(std::path::Path::new(&dir)).unwrap();
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let side_url = url.clone();
    let applied = Migrator::new(&set)
        .single_transaction(!mode.contains("per-migration"))
        .lock_mode(Some(if mode.contains("table") {
            LockMode::Table
        } else {
            LockMode::Advisory
        }))
        .lease(Duration::from_secs(lease))
        .side_connection(move || postgres::Client::connect(&side_url, postgres::NoTls).ok())
        .up(&mut c)
        .unwrap();
    println!("CHILD APPLIED {}", applied.len());
}

fn spawn_child(url: &str, dir: &std::path::Path, mode: &str, lease_secs: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_migrator",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_URL, url)
        .env(CHILD_DIR, dir)
        .env(CHILD_MODE, mode)
        .env(CHILD_LEASE, lease_secs.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait for `child` at most `limit`; kill it and fail when it takes longer.
fn wait_bounded(mut child: Child, limit: Duration) -> (std::process::ExitStatus, String, String) {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let (mut out, mut err) = (String::new(), String::new());
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status, out, err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("a runner did not finish within {limit:?} (hang)");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn bouncer(mode: PoolMode, pool_size: u32) -> Option<PgBouncer> {
    if PgBouncer::binary().is_none() {
        eprintln!(
            "SKIPPED: pgbouncer is not installed (apt-get install pgbouncer); PgBouncer tests did not run"
        );
        return None;
    }
    Some(
        PgBouncer::start(
            Cluster::shared().expect("embedded PostgreSQL"),
            mode,
            pool_size,
        )
        .unwrap(),
    )
}

/// 30 migrations, each logging its version (a migration applied twice logs twice); one data
/// migration, one `-- no-transaction` migration.
fn logging_set() -> tempfile::TempDir {
    let mut files: Vec<(String, String)> = vec![(
        "000001_log.up.sql".into(),
        "CREATE TABLE applied_log (version int NOT NULL, backend int NOT NULL DEFAULT pg_backend_pid());\nINSERT INTO applied_log (version) VALUES (1);\nSELECT pg_sleep(0.2);\n".into(),
    )];
    for v in 2..=30 {
        let body = match v {
            10 => "-- no-transaction\nCREATE TABLE t10 (id int);\nCREATE INDEX CONCURRENTLY t10_id ON t10 (id);\nINSERT INTO applied_log (version) VALUES (10);\n".to_string(),
            15 => "CREATE TABLE counter (n int);\nINSERT INTO counter VALUES (0);\nUPDATE counter SET n = n + 1;\nINSERT INTO applied_log (version) VALUES (15);\n".to_string(),
            _ => format!(
                "CREATE TABLE t{v} (id int);\nINSERT INTO applied_log (version) VALUES ({v});\nSELECT pg_sleep(0.02);\n"
            ),
        };
        files.push((format!("{v:06}_m{v}.up.sql"), body));
    }
    files.push(("000001_log.down.sql".into(), "SELECT 1;\n".into()));
    for v in 2..=30 {
        files.push((format!("{v:06}_m{v}.down.sql"), "SELECT 1;\n".into()));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    folder(&refs)
}

fn run_runners(bouncer: &PgBouncer, modes: &[&str]) {
    let dir = logging_set();
    let db = fresh_db();
    let url = bouncer.url(db.name());
    let children: Vec<Child> = modes
        .iter()
        .map(|m| spawn_child(&url, dir.path(), m, 30))
        .collect();
    let mut total = 0;
    for child in children {
        let (status, stdout, stderr) = wait_bounded(child, Duration::from_secs(120));
        assert!(status.success(), "a runner failed: {stdout}\n{stderr}");
        total += stdout
            .lines()
            .find_map(|l| l.split("CHILD APPLIED ").nth(1))
            .expect("child reported")
            .trim()
            .parse::<usize>()
            .unwrap();
    }
    assert_eq!(total, 30, "the runners applied 30 migrations between them");
    let mut c = db.connect().unwrap();
    let log: Vec<i32> = c
        .query("SELECT version FROM applied_log ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        log,
        (1..=30).collect::<Vec<_>>(),
        "each migration ran exactly once"
    );
    let n: i32 = c.query_one("SELECT n FROM counter", &[]).unwrap().get(0);
    assert_eq!(n, 1, "the data migration ran once");
    assert_eq!(history(&mut c), (1..=30).collect::<Vec<i64>>());
    // No lease left behind.
    let owner: Option<String> = c
        .query_one("SELECT owner FROM migrate_lock WHERE id = 1", &[])
        .unwrap()
        .get(0);
    assert_eq!(owner, None);
}

#[test]
fn eight_runners_through_transaction_pooling_apply_each_migration_exactly_once() {
    let Some(bouncer) = bouncer(PoolMode::Transaction, 3) else {
        return;
    };
    // 8 runners on 3 server connections, both lock modes, both transaction layouts.
    run_runners(
        &bouncer,
        &[
            "advisory",
            "table",
            "advisory per-migration",
            "table per-migration",
            "advisory",
            "table",
            "advisory per-migration",
            "table per-migration",
        ],
    );
}

#[test]
fn four_runners_through_session_pooling_apply_each_migration_exactly_once() {
    // Session pooling pins a server connection per client connection, and each runner has
    // two (the second watches its statements): 4 runners need 8.
    let Some(bouncer) = bouncer(PoolMode::Session, 8) else {
        return;
    };
    run_runners(
        &bouncer,
        &[
            "advisory",
            "table per-migration",
            "advisory per-migration",
            "table",
        ],
    );
}

#[test]
fn a_runner_killed_mid_run_blocks_the_next_one_at_most_for_its_lease() {
    let Some(bouncer) = bouncer(PoolMode::Transaction, 3) else {
        return;
    };
    let lease = 3;
    let dir_slow = folder(&[
        ("000001_a.up.sql", "CREATE TABLE a (id int);\n"),
        ("000001_a.down.sql", "DROP TABLE a;\n"),
        (
            "000002_slow.up.sql",
            "-- no-transaction\nCREATE TABLE IF NOT EXISTS b (id int);\nSELECT pg_sleep(60);\n",
        ),
        ("000002_slow.down.sql", "DROP TABLE b;\n"),
    ]);
    let dir_fast = folder(&[
        ("000001_a.up.sql", "CREATE TABLE a (id int);\n"),
        ("000001_a.down.sql", "DROP TABLE a;\n"),
        (
            "000002_slow.up.sql",
            "-- no-transaction\nCREATE TABLE IF NOT EXISTS b (id int);\n",
        ),
        ("000002_slow.down.sql", "DROP TABLE b;\n"),
    ]);
    let db = fresh_db();
    let url = bouncer.url(db.name());
    let mut child = spawn_child(&url, dir_slow.path(), "advisory per-migration", lease);
    let mut c = db.connect().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sleeping: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'",
                &[],
            )
            .unwrap()
            .get(0);
        if sleeping > 0 {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the slow runner ended early ({status})");
        }
        assert!(
            Instant::now() < deadline,
            "the slow runner never reached pg_sleep"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no release, no more renewals
    child.wait().unwrap();
    assert_eq!(history(&mut c), [1]);
    let started = Instant::now();
    let next = spawn_child(&url, dir_fast.path(), "advisory per-migration", lease);
    let (status, stdout, stderr) = wait_bounded(next, Duration::from_secs(60));
    let took = started.elapsed();
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("CHILD APPLIED 1"), "{stdout}");
    assert_eq!(history(&mut c), [1, 2]);
    eprintln!("the next runner finished {took:?} after the kill (lease {lease} s)");
    assert!(
        took < Duration::from_secs(lease + 5),
        "the next runner waited {took:?}, more than the {lease} s lease"
    );
    // The killed runner's statement is still sleeping on its server connection: end it.
    let _ = c.batch_execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'",
    );
}
