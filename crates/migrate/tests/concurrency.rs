//! Concurrent runners serialise on the lease (and the advisory transaction lock); a killed runner leaves a consistent
//! database. Runners are real processes: this test binary re-executed in "child" mode.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use migrate::{MigrationSet, Migrator};

const CHILD_URL: &str = "MIGRATE_TEST_CHILD_URL";
const CHILD_DIR: &str = "MIGRATE_TEST_CHILD_DIR";

/// Not a test on its own: the body of a child migrator process (does nothing without its env).
#[test]
fn child_migrator() {
    let (Ok(url), Ok(dir)) = (std::env::var(CHILD_URL), std::env::var(CHILD_DIR)) else {
        return;
    };
    let set = MigrationSet::discover(std::path::Path::new(&dir)).unwrap();
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    // A short lease: a killed child blocks the next run at most this long.
    let applied = Migrator::new(&set)
        .lease(std::time::Duration::from_secs(5))
        .up(&mut c)
        .unwrap();
    println!("CHILD APPLIED {}", applied.len());
}

fn spawn_child(url: &str, dir: &std::path::Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_migrator",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_URL, url)
        .env(CHILD_DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn eight_processes_apply_each_migration_exactly_once() {
    // Each migration inserts a row into a log table: a migration applied twice logs twice.
    let mut files: Vec<(String, String)> = vec![
        (
            "000001_log.up.sql".into(),
            "CREATE TABLE applied_log (version int NOT NULL);\nINSERT INTO applied_log VALUES (1);\nSELECT pg_sleep(0.2);\n".into(),
        ),
        ("000001_log.down.sql".into(), "DROP TABLE applied_log;\n".into()),
    ];
    for v in 2..=20 {
        files.push((
            format!("{v:06}_m{v}.up.sql"),
            format!("CREATE TABLE t{v} (id int);\nINSERT INTO applied_log VALUES ({v});\n"),
        ));
        files.push((
            format!("{v:06}_m{v}.down.sql"),
            format!("DROP TABLE t{v};\n"),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = folder(&refs);
    let db = fresh_db();
    let children: Vec<_> = (0..8).map(|_| spawn_child(db.url(), dir.path())).collect();
    let mut total_applied = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let n: usize = stdout
            .lines()
            .find_map(|l| l.split("CHILD APPLIED ").nth(1))
            .expect("child reported")
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        total_applied += n;
    }
    assert_eq!(total_applied, 20, "exactly one runner applied the set");
    let mut c = db.connect().unwrap();
    let log: Vec<i32> = c
        .query("SELECT version FROM applied_log ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(log, (1..=20).collect::<Vec<_>>());
    assert_eq!(history(&mut c), (1..=20).collect::<Vec<i64>>());
}

#[test]
fn a_runner_killed_mid_migration_leaves_a_consistent_database() {
    let dir = folder(&[
        ("000001_a.up.sql", "CREATE TABLE a (id int);\n"),
        ("000001_a.down.sql", "DROP TABLE a;\n"),
        (
            "000002_slow.up.sql",
            "CREATE TABLE b (id int);\nSELECT pg_sleep(CASE WHEN current_setting('application_name') = 'slow-runner' THEN 60 ELSE 0 END);\n",
        ),
        ("000002_slow.down.sql", "DROP TABLE b;\n"),
    ]);
    let db = fresh_db();
    let slow_url = format!("{}?application_name=slow-runner", db.url());
    let mut child = spawn_child(&slow_url, dir.path());
    let mut c = db.connect().unwrap();
    // Wait until the child's migration is inside pg_sleep.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sleeping: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'slow-runner' AND wait_event = 'PgSleep'",
                &[],
            )
            .unwrap()
            .get(0);
        if sleeping > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the child never reached pg_sleep"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Nothing of the killed run is visible: its single transaction never committed.
    assert!(history(&mut c).is_empty());
    assert!(!tables(&mut c).contains(&"a".to_string()));
    // The next run waits for the dead runner's lease to expire (5 s; the server notices the
    // killed client within client_connection_check_interval and ends its transaction) and
    // completes.
    let started = Instant::now();
    let set = MigrationSet::discover(dir.path()).unwrap();
    let applied = Migrator::new(&set).up(&mut c).unwrap();
    assert_eq!(applied.len(), 2);
    assert_eq!(history(&mut c), [1, 2]);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "rerun took {:?}",
        started.elapsed()
    );
}
