//! Prints how long the embedded-PostgreSQL steps take on this machine:
//!
//! ```text
//! cargo run --release -p pgcluster --example clone_bench
//! ```
//!
//! - throwaway cluster start: first in the process, without the initdb cache (initdb runs),
//!   and median / p95 of five further starts,
//! - template build (a small schema) plus its first clone,
//! - median / p95 per clone over 50 clones, and per drop.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;
use std::time::{Duration, Instant};

use pgcluster::Cluster;

const CLONES: usize = 50;
const COLD_FLAG: &str = "--cold-start";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    if std::env::args().any(|a| a == COLD_FLAG) {
        // Child mode: PGCLUSTER_TMPDIR points at an empty directory: no initdb cache.
        let started = Instant::now();
        let cluster = Cluster::temporary()?;
        println!("{}", started.elapsed().as_micros());
        drop(cluster);
        return Ok(());
    }

    println!("pgcluster clone_bench");
    let bindir = pgcluster::find_bindir(None)?;
    println!("  bindir: {}", bindir.display());

    let started = Instant::now();
    let cluster = Cluster::temporary()?;
    println!(
        "  throwaway start, first in process (fills the initdb cache if absent): {}",
        ms(started.elapsed())
    );
    let root = cluster
        .socket_dir()
        .parent()
        .ok_or("cluster dir has no parent")?
        .to_path_buf();
    println!("  clusters live in: {}", root.display());
    println!(
        "  throwaway start, no initdb cache (initdb + start): {}",
        ms(cold_start(&root)?)
    );

    let mut starts = Vec::new();
    let mut stops = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let c = Cluster::temporary()?;
        starts.push(t.elapsed());
        let t = Instant::now();
        drop(c);
        stops.push(t.elapsed());
    }
    report("throwaway start, cached", &mut starts);
    report("throwaway drop (stop + remove)", &mut stops);

    let t = Instant::now();
    let first = cluster.database_from_template("bench_schema", build_schema)?;
    println!("  template build + first clone: {}", ms(t.elapsed()));
    drop(first);

    let mut clones = Vec::with_capacity(CLONES);
    let mut drops = Vec::with_capacity(CLONES);
    for _ in 0..CLONES {
        let t = Instant::now();
        let db = cluster.database_from_template("bench_schema", build_schema)?;
        clones.push(t.elapsed());
        let t = Instant::now();
        drop(db);
        drops.push(t.elapsed());
    }
    report("clone (database_from_template)", &mut clones);
    report("drop (TestDatabase::drop)", &mut drops);

    let mut connects = Vec::new();
    let db = cluster.database_from_template("bench_schema", build_schema)?;
    for _ in 0..20 {
        let t = Instant::now();
        let client = db.connect()?;
        connects.push(t.elapsed());
        drop(client);
    }
    report("connect to a clone", &mut connects);

    let t = Instant::now();
    drop(db);
    drop(cluster);
    println!("  drop database + cluster: {}", ms(t.elapsed()));
    Ok(())
}

/// A small but non-trivial schema: 20 tables with keys, indexes and a foreign key each.
fn build_schema(client: &mut postgres::Client) -> Result<(), BoxError> {
    let mut sql = String::from("CREATE TABLE t0 (id bigint PRIMARY KEY, name text NOT NULL);");
    for i in 1..20 {
        sql.push_str(&format!(
            "CREATE TABLE t{i} (id bigint PRIMARY KEY, parent bigint REFERENCES t{prev}(id), \
             name text NOT NULL UNIQUE, created timestamptz NOT NULL DEFAULT now(), \
             CHECK (length(name) > 0));
             CREATE INDEX t{i}_parent ON t{i}(parent);",
            prev = i - 1
        ));
    }
    sql.push_str("INSERT INTO t0 SELECT g, 'row ' || g FROM generate_series(1, 1000) g;");
    client.batch_execute(&sql)?;
    Ok(())
}

/// Runs this example in child mode with an empty `PGCLUSTER_TMPDIR` on the same filesystem
/// as the other clusters, so no initdb cache exists.
fn cold_start(root: &std::path::Path) -> Result<Duration, BoxError> {
    let tmp = root.join(format!("pgcluster-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    let output = Command::new(std::env::current_exe()?)
        .arg(COLD_FLAG)
        .env("PGCLUSTER_TMPDIR", &tmp)
        .output();
    let _ = std::fs::remove_dir_all(&tmp);
    let output = output?;
    if !output.status.success() {
        return Err(format!(
            "cold start failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let micros: u64 = String::from_utf8_lossy(&output.stdout).trim().parse()?;
    Ok(Duration::from_micros(micros))
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let n = samples.len();
    let median = samples[n / 2];
    let p95 = samples[((n * 95).div_ceil(100)).min(n) - 1];
    println!(
        "  {what}: median {} / p95 {} / max {} (n={n})",
        ms(median),
        ms(p95),
        ms(samples[n - 1])
    );
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
