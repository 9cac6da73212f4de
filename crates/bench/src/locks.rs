//! `cargo xtask bench --locks-only`: the cost of the lock modes on a synthetic set, and
//! pgbench latency under a migration blocked by a long transaction, with and without the
//! lock timeout.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use migrate::{LockMode, MigrationSet, Migrator};
use pgcluster::Cluster;

use crate::{Error, Row, median};

/// `up` of `n` synthetic migrations with each lock mode, one transaction and per migration,
/// each on a fresh database (in-process, over the cluster's Unix socket).
pub fn lock_mode_figures(n: usize, runs: usize, work: &Path) -> Result<Vec<Row>, Error> {
    let cluster = Cluster::temporary()?;
    let dir = work.join(format!("locks_synthetic_{n}"));
    let _ = std::fs::remove_dir_all(&dir);
    crate::synth::write_set(&dir, n)?;
    let set = MigrationSet::discover(&dir)?;
    let mut rows = Vec::new();
    let mut counter = 0;
    for per_migration in [false, true] {
        let mut base: Option<Duration> = None;
        for mode in [LockMode::Advisory, LockMode::Table] {
            let mut samples = Vec::new();
            for _ in 0..runs {
                counter += 1;
                let name = format!("locks_{counter}");
                cluster.create_database(&name)?;
                let mut c = cluster.connect(&name)?;
                let t = Instant::now();
                let applied = Migrator::new(&set)
                    .single_transaction(!per_migration)
                    .lock_mode(Some(mode))
                    .up(&mut c)?;
                samples.push(t.elapsed());
                assert_eq!(applied.len(), n);
                drop(c);
                cluster.drop_database(&name)?;
            }
            let m = median(&samples);
            let ratio = base.map(|b| m.as_secs_f64() / b.as_secs_f64());
            base.get_or_insert(m);
            rows.push(Row {
                n,
                what: format!(
                    "up, {}, --lock {mode}",
                    if per_migration {
                        "per migration"
                    } else {
                        "one transaction"
                    }
                ),
                median: m,
                ratio,
                samples,
            });
        }
    }
    Ok(rows)
}

/// One pgbench scenario's result.
#[derive(Debug, Clone)]
pub struct TrafficRow {
    /// Scenario.
    pub what: String,
    /// Transactions pgbench completed.
    pub transactions: usize,
    /// Latency percentiles and maximum.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Maximum.
    pub max: Duration,
    /// Transactions that started while the blocker held its lock.
    pub during: usize,
    /// Their median, 99th percentile and maximum latency.
    pub during_p50: Duration,
    /// 99th percentile during the wait.
    pub during_p99: Duration,
    /// Maximum during the wait.
    pub during_max: Duration,
    /// When the migration committed, from the blocker's end (None: no migration).
    pub landed_after_blocker: Option<Duration>,
    /// Lock-timeout retries the migration made.
    pub retries: usize,
}

/// The blocker holds ACCESS SHARE on the table this long.
pub const BLOCKER: Duration = Duration::from_secs(8);
/// pgbench runs this long (the blocker starts 1 s in, the migration 2 s in).
pub const TRAFFIC: Duration = Duration::from_secs(14);

/// pgbench (4 clients, a read and an update of a random row per transaction) on a 10 000-row
/// table while a transaction holds ACCESS SHARE on it for [`BLOCKER`] and a migration needing
/// ACCESS EXCLUSIVE (`ALTER TABLE ... ADD COLUMN`) runs: no migration (baseline), ours with
/// the given lock timeout, and ours with `lock_timeout` 0 (the plain behaviour).
pub fn pgbench_figures(lock_timeouts: &[Duration], work: &Path) -> Result<Vec<TrafficRow>, Error> {
    let cluster = Cluster::temporary()?;
    let pgbench = cluster.bindir().join("pgbench");
    if !pgbench.exists() {
        return Err(Error::Tool {
            tool: "pgbench".into(),
            stderr: format!("not found at {}", pgbench.display()),
        });
    }
    let script = work.join("traffic.sql");
    std::fs::write(
        &script,
        "\\set id random(1, 10000)\nSELECT v FROM accounts WHERE id = :id;\nUPDATE accounts SET v = v + 1 WHERE id = :id;\n",
    )?;
    let mut rows = Vec::new();
    let mut scenarios: Vec<(String, Option<Duration>)> =
        vec![("baseline: blocker, no migration".into(), None)];
    for t in lock_timeouts {
        scenarios.push((
            format!("migration with lock_timeout {} ms, retries", t.as_millis()),
            Some(*t),
        ));
    }
    scenarios.push((
        "migration without lock timeout (lock_timeout 0)".into(),
        Some(Duration::ZERO),
    ));
    for (i, (what, timeout)) in scenarios.into_iter().enumerate() {
        let name = format!("traffic_{i}");
        cluster.create_database(&name)?;
        let mut c = cluster.connect(&name)?;
        c.batch_execute(
            "CREATE TABLE accounts (id int PRIMARY KEY, v int NOT NULL);
             INSERT INTO accounts SELECT g, 0 FROM generate_series(1, 10000) g; ANALYZE accounts;",
        )?;
        let mig = work.join(format!("traffic_migrations_{i}"));
        let _ = std::fs::remove_dir_all(&mig);
        std::fs::create_dir_all(&mig)?;
        std::fs::write(
            mig.join("000001_add_note.up.sql"),
            "ALTER TABLE accounts ADD COLUMN note text;\n",
        )?;
        std::fs::write(
            mig.join("000001_add_note.down.sql"),
            "ALTER TABLE accounts DROP COLUMN note;\n",
        )?;
        let logs = work.join(format!("pgbench_{i}"));
        let _ = std::fs::remove_dir_all(&logs);
        std::fs::create_dir_all(&logs)?;
        let bench = Command::new(&pgbench)
            .args(["-n", "-c", "4", "-j", "2", "-T"])
            .arg(TRAFFIC.as_secs().to_string())
            .arg("-f")
            .arg(&script)
            .arg("-l")
            .arg(format!("--log-prefix={}/tx", logs.display()))
            .arg("-h")
            .arg(cluster.socket_dir())
            .arg("-p")
            .arg(cluster.port().to_string())
            .args(["-U", "postgres"])
            .arg(&name)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        std::thread::sleep(Duration::from_secs(1));
        let mut blocker = cluster.connect(&name)?;
        blocker.batch_execute("BEGIN; SELECT count(*) FROM accounts")?;
        let wall_start = std::time::SystemTime::now();
        let blocker_thread = std::thread::spawn(move || {
            std::thread::sleep(BLOCKER);
            let _ = blocker.batch_execute("COMMIT");
            (Instant::now(), std::time::SystemTime::now())
        });
        std::thread::sleep(Duration::from_secs(1));
        let mut landed = None;
        let mut retries = 0;
        if let Some(timeout) = timeout {
            let set = MigrationSet::discover(&mig)?;
            let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let seen = counter.clone();
            Migrator::new(&set)
                .lock_timeout(timeout)
                .lock_retries(100)
                .on_message(move |line| {
                    if line.starts_with("lock timeout:") {
                        seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                })
                .up(&mut c)?;
            landed = Some(Instant::now());
            retries = counter.load(std::sync::atomic::Ordering::Relaxed);
        }
        let (blocker_end, wall_end) = blocker_thread.join().expect("blocker thread");
        let epoch = |t: std::time::SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64()
        };
        let (window_start, window_end) = (epoch(wall_start), epoch(wall_end));
        let mut during = Vec::new();
        let out = bench.wait_with_output()?;
        if !out.status.success() {
            return Err(Error::Tool {
                tool: "pgbench".into(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        let mut latencies = Vec::new();
        for entry in std::fs::read_dir(&logs)? {
            let text = std::fs::read_to_string(entry?.path())?;
            for line in text.lines() {
                // client_id transaction_no latency_us script_no end_epoch_s end_us
                let f: Vec<f64> = line
                    .split_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect();
                if f.len() >= 6 {
                    let latency = Duration::from_micros(f[2] as u64);
                    let started = f[4] + f[5] / 1e6 - latency.as_secs_f64();
                    if started >= window_start && started <= window_end {
                        during.push(latency);
                    }
                    latencies.push(latency);
                }
            }
        }
        latencies.sort();
        during.sort();
        let pct = |v: &[Duration], p: f64| -> Duration {
            if v.is_empty() {
                return Duration::ZERO;
            }
            let idx = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
            v[idx]
        };
        rows.push(TrafficRow {
            what,
            transactions: latencies.len(),
            p50: pct(&latencies, 0.50),
            p99: pct(&latencies, 0.99),
            max: latencies.last().copied().unwrap_or_default(),
            during: during.len(),
            during_p50: pct(&during, 0.50),
            during_p99: pct(&during, 0.99),
            during_max: during.last().copied().unwrap_or_default(),
            landed_after_blocker: landed.map(|l| l.saturating_duration_since(blocker_end)),
            retries,
        });
        drop(c);
        cluster.drop_database(&name)?;
    }
    Ok(rows)
}

/// The pgbench table as markdown.
pub fn traffic_markdown(rows: &[TrafficRow]) -> String {
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let mut out = String::from(
        "| scenario | transactions (whole run) | p50 | p99 | max | transactions started during the blocker | p50 | p99 | max | migration committed after the blocker ended | lock-timeout retries |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.what,
            r.transactions,
            ms(r.p50),
            ms(r.p99),
            ms(r.max),
            r.during,
            ms(r.during_p50),
            ms(r.during_p99),
            ms(r.during_max),
            r.landed_after_blocker.map_or("-".into(), ms),
            r.retries
        ));
    }
    out
}
