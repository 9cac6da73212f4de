//! Lock timeouts under live traffic: a migration needing ACCESS EXCLUSIVE behind a long read
//! transaction gives up after `lock_timeout`, rolls back, says who blocks it, and retries with
//! backoff, so concurrent reads never queue behind it for longer than the lock timeout; it
//! lands once the blocker ends. When retries run out it fails with the report and nothing of
//! it is applied. Long statements print heartbeat lines.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use migrate::{MigrationSet, Migrator};

fn set_with_alter() -> (tempfile::TempDir, MigrationSet) {
    let dir = folder(&[
        (
            "000001_t.up.sql",
            "CREATE TABLE t (id int PRIMARY KEY, v int);\nINSERT INTO t SELECT g, g FROM generate_series(1, 100) g;\n",
        ),
        ("000001_t.down.sql", "DROP TABLE t;\n"),
        ("000002_c.up.sql", "ALTER TABLE t ADD COLUMN c int;\n"),
        ("000002_c.down.sql", "ALTER TABLE t DROP COLUMN c;\n"),
    ]);
    let set = MigrationSet::discover(dir.path()).unwrap();
    (dir, set)
}

/// Hold ACCESS SHARE on `t` for `hold` in a transaction of its own; returns the blocker's pid.
fn blocker(db: &pgcluster::TestDatabase, hold: Duration) -> (i32, std::thread::JoinHandle<()>) {
    let mut c = db.connect().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        c.batch_execute("BEGIN; SELECT count(*) FROM t").unwrap();
        let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
        tx.send(pid).unwrap();
        std::thread::sleep(hold);
        c.batch_execute("COMMIT").unwrap();
    });
    (rx.recv_timeout(Duration::from_secs(10)).unwrap(), handle)
}

/// Reads on `t` in a loop until `stop`; returns the slowest read. Each read has a 10 s
/// statement_timeout, so nothing here can hang.
fn reader(
    db: &pgcluster::TestDatabase,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(Duration, usize)> {
    let mut c = db.connect().unwrap();
    std::thread::spawn(move || {
        c.batch_execute("SET statement_timeout = '10s'").unwrap();
        let (mut worst, mut n) = (Duration::ZERO, 0);
        while !stop.load(Ordering::Relaxed) {
            let t = Instant::now();
            c.query_one("SELECT count(*) FROM t", &[]).unwrap();
            worst = worst.max(t.elapsed());
            n += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        (worst, n)
    })
}

fn capture() -> (
    Arc<Mutex<Vec<String>>>,
    impl Fn(&str) + Send + Sync + 'static,
) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    (lines, move |l: &str| {
        eprintln!("{l}");
        sink.lock().unwrap().push(l.to_string())
    })
}

#[test]
fn a_blocked_migration_retries_reads_do_not_queue_and_it_lands_after_the_blocker() {
    let (_dir, set) = set_with_alter();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    Migrator::new(&set).up_to(&mut c, 1).unwrap();
    let (pid, blocker) = blocker(&db, Duration::from_secs(4));
    let stop = Arc::new(AtomicBool::new(false));
    let reads = reader(&db, stop.clone());
    let (lines, print) = capture();
    let started = Instant::now();
    let url = db.url().to_string();
    let applied = Migrator::new(&set)
        .lock_timeout(Duration::from_millis(300))
        .lock_retries(40)
        .side_connection(move || postgres::Client::connect(&url, postgres::NoTls).ok())
        .on_message(print)
        .up(&mut c)
        .unwrap();
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (worst, n) = reads.join().unwrap();
    blocker.join().unwrap();
    assert_eq!(applied.len(), 1);
    assert_eq!(history(&mut c), [1, 2]);
    assert!(
        took >= Duration::from_secs(3),
        "landed after the blocker: {took:?}"
    );
    let lines = lines.lock().unwrap().join("\n");
    assert!(
        lines.contains("lock timeout: migration 2_c waited"),
        "{lines}"
    );
    assert!(
        lines.contains(&format!("pid {pid} (idle in transaction")),
        "the report names the blocker: {lines}"
    );
    eprintln!("{n} reads, slowest {worst:?}, migration landed after {took:?}");
    // Without the lock timeout a read would queue behind the ALTER for the blocker's 4 s.
    assert!(
        worst < Duration::from_millis(300 + 700),
        "a read waited {worst:?} behind the migration"
    );
}

#[test]
fn when_retries_run_out_it_fails_with_the_report_and_applies_nothing() {
    let (_dir, set) = set_with_alter();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    Migrator::new(&set).up_to(&mut c, 1).unwrap();
    let (pid, blocker) = blocker(&db, Duration::from_secs(5));
    let (lines, print) = capture();
    // No second connection: the blockers are guessed from pg_stat_activity after the timeout.
    let err = Migrator::new(&set)
        .single_transaction(false)
        .lock_timeout(Duration::from_millis(200))
        .lock_retries(2)
        .on_message(print)
        .up(&mut c)
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, migrate::Error::LockTimeout { attempts: 3, .. }),
        "{text}"
    );
    assert!(
        text.contains("nothing of its transaction is applied"),
        "{text}"
    );
    assert!(text.contains(&format!("pid {pid} ")), "{text}");
    assert_eq!(lines.lock().unwrap().len(), 2, "two retries announced");
    blocker.join().unwrap();
    assert_eq!(history(&mut c), [1]);
    let has_c: bool = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'c')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(!has_c);
    // The lease was released: a new run applies at once.
    assert_eq!(Migrator::new(&set).up(&mut c).unwrap().len(), 1);
}

#[test]
fn the_lock_timeout_directive_lets_one_migration_wait() {
    let dir = folder(&[
        ("000001_t.up.sql", "CREATE TABLE t (id int PRIMARY KEY);\n"),
        ("000001_t.down.sql", "DROP TABLE t;\n"),
        (
            "000002_c.up.sql",
            "-- lock-timeout: 0\nALTER TABLE t ADD COLUMN c int;\n",
        ),
        ("000002_c.down.sql", "ALTER TABLE t DROP COLUMN c;\n"),
    ]);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    Migrator::new(&set).up_to(&mut c, 1).unwrap();
    let (_pid, blocker) = blocker(&db, Duration::from_secs(2));
    let (lines, print) = capture();
    Migrator::new(&set)
        .lock_timeout(Duration::from_millis(100))
        .lock_retries(0)
        .on_message(print)
        .up(&mut c)
        .unwrap();
    blocker.join().unwrap();
    assert!(
        lines.lock().unwrap().is_empty(),
        "it waited instead of timing out"
    );
    assert_eq!(history(&mut c), [1, 2]);
}

#[test]
fn a_long_statement_prints_a_heartbeat() {
    let dir = folder(&[
        ("000001_slow.up.sql", "SELECT pg_sleep(11);\n"),
        ("000001_slow.down.sql", "SELECT 1;\n"),
    ]);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let (lines, print) = capture();
    let url = db.url().to_string();
    Migrator::new(&set)
        .side_connection(move || postgres::Client::connect(&url, postgres::NoTls).ok())
        .on_message(print)
        .up(&mut c)
        .unwrap();
    let lines = lines.lock().unwrap().join("\n");
    assert!(
        lines.contains("heartbeat: migration 1_slow still running after 10 s")
            && lines.contains("wait event Timeout/PgSleep"),
        "{lines}"
    );
}
