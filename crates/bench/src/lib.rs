//! Reproducible benchmarks (`cargo xtask bench`): synthetic migration sets measured side by
//! side with the floor PostgreSQL allows (`psql -1 -f` of the same SQL), in one run, on one
//! throwaway cluster, median of several runs.

pub mod locks;
pub mod peers;
pub mod synth;
mod timing;

pub use timing::{Sample, machine, median, ms};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use migrate::{DownTarget, MigrationSet, Migrator};
use pgcluster::Cluster;

/// What can fail while benchmarking.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Embedded PostgreSQL.
    #[error(transparent)]
    Cluster(#[from] pgcluster::Error),
    /// The engine under test.
    #[error(transparent)]
    Migrate(#[from] migrate::Error),
    /// Files.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A database call of the harness.
    #[error("{0}")]
    Db(#[from] postgres::Error),
    /// A peer tool failed.
    #[error("{tool} failed: {stderr}")]
    Tool {
        /// Which.
        tool: String,
        /// What it printed.
        stderr: String,
    },
}

/// One line of the results table.
#[derive(Debug, Clone)]
pub struct Row {
    /// Number of migrations.
    pub n: usize,
    /// What was measured.
    pub what: String,
    /// Median wall time.
    pub median: Duration,
    /// Ratio to the floor of the same N (None for the floor itself or unrelated figures).
    pub ratio: Option<f64>,
    /// All samples, for the curious.
    pub samples: Vec<Duration>,
}

/// A throwaway cluster with database `bench` holding the migrations of `migrations_dir`
/// with their fixtures: where the query benchmarks run. Returns the cluster (stopped when
/// dropped) and the database's URL.
pub fn migrated_cluster(migrations_dir: &Path) -> Result<(Cluster, String), Error> {
    let cluster = Cluster::temporary()?;
    cluster.create_database("bench")?;
    let set = MigrationSet::discover(migrations_dir)?;
    Migrator::new(&set)
        .with_fixtures(true)
        .up(&mut cluster.connect("bench")?)?;
    let url = cluster.url("bench");
    Ok((cluster, url))
}

/// Time `migrate up` for each N: the psql floor, our default (one transaction) and
/// per-migration modes, the installed peers, then `down --all` and `redo`.
pub fn migrate_figures(
    ns: &[usize],
    runs: usize,
    work: &Path,
    peers: &[(peers::Peer, PathBuf)],
    cli: Option<&Path>,
) -> Result<Vec<Row>, Error> {
    // Peers may not speak Unix sockets: listen on loopback TCP too.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let cluster = Cluster::temporary_with(&pgcluster::ClusterOptions {
        settings: vec![
            ("listen_addresses".into(), "127.0.0.1".into()),
            ("port".into(), port.to_string()),
        ],
        ..Default::default()
    })?;
    let psql = cluster.bindir().join("psql");
    let psql = if psql.exists() {
        psql
    } else {
        PathBuf::from("psql")
    };
    let mut rows = Vec::new();
    let mut db_counter = 0usize;
    let mut fresh_named = |cluster: &Cluster| -> Result<(String, String), Error> {
        db_counter += 1;
        let name = format!("bench_{db_counter}");
        cluster.create_database(&name)?;
        // Everyone connects the same way: loopback TCP (peers may not speak Unix sockets).
        Ok((format!("postgres://postgres@127.0.0.1:{port}/{name}"), name))
    };
    for &n in ns {
        let dir = work.join(format!("synthetic_{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        synth::write_set(&dir, n)?;
        let all = work.join(format!("synthetic_{n}.sql"));
        std::fs::write(&all, synth::concatenated_ups(n))?;
        let refinery_dir = work.join(format!("refinery_{n}"));
        let _ = std::fs::remove_dir_all(&refinery_dir);
        synth::write_refinery_set(&refinery_dir, n)?;
        let mut peer_samples: Vec<Vec<Duration>> = vec![Vec::new(); peers.len()];
        let mut cli_single = Vec::new();
        let mut cli_per = Vec::new();

        let concatenated = std::fs::read_to_string(&all)?;
        let one_message = format!("BEGIN;\n{concatenated}\n;COMMIT");
        let mut floor = Vec::new();
        let mut limit = Vec::new();
        let mut single = Vec::new();
        let mut per = Vec::new();
        let mut down_all = Vec::new();
        let mut redo = Vec::new();
        for _ in 0..runs {
            // Floor: psql, one transaction, the same SQL concatenated.
            let (url, _) = fresh_named(&cluster)?;
            let t = Instant::now();
            let out = Command::new(&psql)
                .args(["-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", &url, "-f"])
                .arg(&all)
                .output()?;
            floor.push(t.elapsed());
            if !out.status.success() {
                return Err(Error::Tool {
                    tool: "psql".into(),
                    stderr: String::from_utf8_lossy(&out.stderr).into(),
                });
            }
            // The limit: every up in one simple-query message, one transaction, one
            // connection (connect + the message), what no runner that sends the SQL can beat.
            let (url, _) = fresh_named(&cluster)?;
            let t = Instant::now();
            let mut c = postgres::Client::connect(&url, postgres::NoTls)?;
            c.batch_execute(&one_message)?;
            limit.push(t.elapsed());
            drop(c);
            // Ours, whole run in one transaction: discovery + connect + up.
            let (url, _) = fresh_named(&cluster)?;
            let t = Instant::now();
            let set = MigrationSet::discover(&dir)?;
            let mut c = postgres::Client::connect(&url, postgres::NoTls)?;
            Migrator::new(&set).up(&mut c)?;
            single.push(t.elapsed());
            // redo and down --all on that database.
            let t = Instant::now();
            Migrator::new(&set).redo(&mut c)?;
            redo.push(t.elapsed());
            let t = Instant::now();
            Migrator::new(&set).down(&mut c, DownTarget::All)?;
            down_all.push(t.elapsed());
            // Ours as a process, as a user runs it (the release binary of `cargo xtask`).
            if let Some(exe) = cli {
                for (per_migration, samples) in [(false, &mut cli_single), (true, &mut cli_per)] {
                    let (url, _) = fresh_named(&cluster)?;
                    let mut cmd = Command::new(exe);
                    cmd.args(["migrate", "--database-url", &url, "--dir"])
                        .arg(&dir);
                    if per_migration {
                        cmd.arg("--per-migration");
                    }
                    let t = Instant::now();
                    let out = cmd.output()?;
                    samples.push(t.elapsed());
                    if !out.status.success() {
                        return Err(Error::Tool {
                            tool: "cargo xtask migrate".into(),
                            stderr: String::from_utf8_lossy(&out.stderr).into(),
                        });
                    }
                }
            }
            // Peers, on the same SQL, over loopback TCP.
            for (i, (peer, exe)) in peers.iter().enumerate() {
                let (tcp, _) = fresh_named(&cluster)?;
                let t = Instant::now();
                let out = peer.command(exe, &dir, &refinery_dir, &tcp).output()?;
                peer_samples[i].push(t.elapsed());
                if !out.status.success() {
                    return Err(Error::Tool {
                        tool: peer.label().into(),
                        stderr: format!(
                            "{}{}",
                            String::from_utf8_lossy(&out.stdout),
                            String::from_utf8_lossy(&out.stderr)
                        ),
                    });
                }
            }
            // Ours, one transaction per migration.
            let (url, _) = fresh_named(&cluster)?;
            let t = Instant::now();
            let set = MigrationSet::discover(&dir)?;
            let mut c = postgres::Client::connect(&url, postgres::NoTls)?;
            Migrator::new(&set).single_transaction(false).up(&mut c)?;
            per.push(t.elapsed());
        }
        let floor_median = median(&floor);
        let mut push = |what: &str, samples: Vec<Duration>, vs_floor: bool| {
            let m = median(&samples);
            rows.push(Row {
                n,
                what: what.into(),
                median: m,
                ratio: vs_floor.then(|| m.as_secs_f64() / floor_median.as_secs_f64()),
                samples,
            });
        };
        push("floor: psql -1 -f (concatenated ups)", floor, false);
        push(LIMIT, limit, true);
        if cli.is_some() {
            push(
                "ours: `migrate` process (one transaction)",
                cli_single,
                true,
            );
            push("ours: `migrate --per-migration` process", cli_per, true);
        }
        push(
            "ours in-process: migrate up (one transaction)",
            single,
            true,
        );
        push("ours in-process: migrate up --per-migration", per, true);
        for ((peer, _), samples) in peers.iter().zip(peer_samples) {
            push(peer.label(), samples, true);
        }
        push("ours: migrate down --all", down_all, false);
        push("ours: migrate redo", redo, false);
    }
    Ok(rows)
}

/// The label of the one-message limit's rows.
pub const LIMIT: &str =
    "limit: all ups as one simple-query message, one transaction (in-process, one connection)";

/// Our `up` rows against the one-message limit of the same N ([`LIMIT`]), one line each.
pub fn versus_limit(rows: &[Row]) -> String {
    let mut out = String::new();
    for limit in rows.iter().filter(|r| r.what == LIMIT) {
        for r in rows.iter().filter(|r| {
            r.n == limit.n
                && r.what.starts_with("ours")
                && !r.what.contains("down")
                && !r.what.contains("redo")
        }) {
            out.push_str(&format!(
                "- N = {}: {}: {:.2}x the limit ({:.1} ms / {:.1} ms)\n",
                r.n,
                r.what,
                r.median.as_secs_f64() / limit.median.as_secs_f64(),
                r.median.as_secs_f64() * 1000.0,
                limit.median.as_secs_f64() * 1000.0
            ));
        }
    }
    out
}

/// Per-test database: `CREATE DATABASE ... TEMPLATE` of a migrated template, against
/// migrating an empty database from scratch, for a synthetic set of `n` migrations.
pub fn clone_figures(n: usize, clones: usize, work: &Path) -> Result<Vec<Row>, Error> {
    let cluster = Cluster::temporary()?;
    let dir = work.join(format!("synthetic_{n}"));
    let _ = std::fs::remove_dir_all(&dir);
    synth::write_set(&dir, n)?;
    let set = MigrationSet::discover(&dir)?;
    let key = format!("bench_{}", set.hash());
    let build = |c: &mut postgres::Client| -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Migrator::new(&set).up(c)?;
        Ok(())
    };
    let t = Instant::now();
    drop(cluster.database_from_template(&key, build)?);
    let first = t.elapsed();
    let mut samples = Vec::new();
    for _ in 0..clones {
        let t = Instant::now();
        let db = cluster.database_from_template(&key, |_| Ok(()))?;
        samples.push(t.elapsed());
        drop(db);
    }
    let mut scratch = Vec::new();
    for i in 0..5 {
        let name = format!("scratch_{i}");
        cluster.create_database(&name)?;
        let t = Instant::now();
        let mut c = cluster.connect(&name)?;
        Migrator::new(&set).up(&mut c)?;
        scratch.push(t.elapsed());
    }
    let clone_median = median(&samples);
    Ok(vec![
        Row {
            n,
            what: "first template build (migrate + mark template)".into(),
            median: first,
            ratio: None,
            samples: vec![first],
        },
        Row {
            n,
            what: format!("per-test clone (CREATE DATABASE ... TEMPLATE), {clones} clones"),
            median: clone_median,
            ratio: None,
            samples: samples.clone(),
        },
        Row {
            n,
            what: "per-test database by migrating from empty".into(),
            median: median(&scratch),
            ratio: Some(median(&scratch).as_secs_f64() / clone_median.as_secs_f64()),
            samples: scratch,
        },
    ])
}

/// Render rows as a Markdown table.
pub fn markdown(rows: &[Row]) -> String {
    let mut s = String::from(
        "| N | what | median | ratio | samples |\n| ---: | --- | ---: | ---: | --- |\n",
    );
    for r in rows {
        let samples = r
            .samples
            .iter()
            .map(|d| format!("{:.1}", d.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>();
        let shown = if samples.len() > 8 {
            format!(
                "{} values, p95 {:.1} ms",
                samples.len(),
                timing::p95(&r.samples).as_secs_f64() * 1000.0
            )
        } else {
            samples.join(", ")
        };
        s.push_str(&format!(
            "| {} | {} | {:.1} ms | {} | {} |\n",
            r.n,
            r.what,
            r.median.as_secs_f64() * 1000.0,
            r.ratio
                .map(|x| format!("{x:.2}x"))
                .unwrap_or_else(|| "-".into()),
            shown
        ));
    }
    s
}

/// `cargo xtask gen` as a user runs it (the release binary `cli`), on the schema of
/// `migrations` (with its queries, if any, in `queries`): end to end with a throwaway cluster,
/// on an already running server (no cluster start), and the no-op run.
pub fn gen_figures(
    cli: &Path,
    migrations: &Path,
    queries: Option<&Path>,
    runs: usize,
    work: &Path,
) -> Result<Vec<Row>, Error> {
    let out = work.join("gen-out");
    let server = Cluster::temporary()?;
    let url = server.url("postgres");
    let gen_cmd = |extra: &[&str]| -> Result<Duration, Error> {
        let mut c = Command::new(cli);
        c.args(["gen", "--dir"])
            .arg(migrations)
            .arg("--out")
            .arg(&out);
        if let Some(q) = queries {
            c.arg("--queries").arg(q);
        }
        c.args(extra);
        let t = Instant::now();
        let o = c.output()?;
        let took = t.elapsed();
        if !o.status.success() {
            return Err(Error::Tool {
                tool: "cargo xtask gen".into(),
                stderr: String::from_utf8_lossy(&o.stderr).into(),
            });
        }
        Ok(took)
    };
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out)?;
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut noop = Vec::new();
    for _ in 0..runs {
        cold.push(gen_cmd(&["--force"])?);
        warm.push(gen_cmd(&["--force", "--database-url", &url])?);
        noop.push(gen_cmd(&[])?);
    }
    let n = MigrationSet::discover(migrations)?.migrations.len();
    let row = |what: &str, samples: Vec<Duration>| Row {
        n,
        what: what.into(),
        median: median(&samples),
        ratio: None,
        samples,
    };
    Ok(vec![
        row("gen end to end, throwaway cluster started", cold),
        row("gen end to end, running server (--database-url)", warm),
        row("gen no-op (inputs unchanged)", noop),
    ])
}

/// Peak resident memory (KiB) of a command, from GNU time (`/usr/bin/time -f %M`); `None`
/// when GNU time is not installed.
pub fn peak_rss_kib(cmd: &Command) -> Result<Option<u64>, Error> {
    let time = Path::new("/usr/bin/time");
    if !time.is_file() {
        return Ok(None);
    }
    let mut wrapped = Command::new(time);
    wrapped
        .args(["-f", "PEAK_RSS_KIB=%M"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            wrapped.env(k, v);
        }
    }
    let o = wrapped.output()?;
    if !o.status.success() {
        return Err(Error::Tool {
            tool: format!("{:?}", cmd.get_program()),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
        });
    }
    Ok(String::from_utf8_lossy(&o.stderr)
        .lines()
        .find_map(|l| l.strip_prefix("PEAK_RSS_KIB="))
        .and_then(|v| v.trim().parse().ok()))
}

/// Peak RSS of `migrate` (a synthetic set of `n` on a fresh database) and `gen` on it.
pub fn memory_figures(
    cli: &Path,
    n: usize,
    work: &Path,
) -> Result<Vec<(String, Option<u64>)>, Error> {
    let dir = work.join(format!("synthetic_{n}"));
    let _ = std::fs::remove_dir_all(&dir);
    synth::write_set(&dir, n)?;
    let cluster = Cluster::temporary()?;
    cluster.create_database("mem")?;
    let mut migrate = Command::new(cli);
    migrate
        .args(["migrate", "--database-url", &cluster.url("mem"), "--dir"])
        .arg(&dir);
    let out = work.join("gen-mem");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out)?;
    let mut gen_cmd = Command::new(cli);
    gen_cmd
        .args([
            "gen",
            "--force",
            "--database-url",
            &cluster.url("postgres"),
            "--dir",
        ])
        .arg(&dir)
        .arg("--out")
        .arg(&out);
    Ok(vec![
        (format!("`migrate` up, N = {n}"), peak_rss_kib(&migrate)?),
        (format!("`gen`, N = {n}"), peak_rss_kib(&gen_cmd)?),
    ])
}

/// How each measure grows with N: for every `what` measured at several N, the time ratio
/// between the largest and smallest N against the ratio of the Ns, with a verdict.
pub fn growth(rows: &[Row]) -> String {
    let mut whats: Vec<&str> = Vec::new();
    for r in rows {
        if !whats.contains(&r.what.as_str()) {
            whats.push(&r.what);
        }
    }
    let mut out = String::new();
    for what in whats {
        let mut pts: Vec<&Row> = rows.iter().filter(|r| r.what == what).collect();
        if pts.len() < 2 {
            continue;
        }
        pts.sort_by_key(|r| r.n);
        let (a, b) = (pts[0], pts[pts.len() - 1]);
        let n_ratio = b.n as f64 / a.n as f64;
        let t_ratio = b.median.as_secs_f64() / a.median.as_secs_f64().max(1e-9);
        // Exponent k in t ~ N^k.
        let k = t_ratio.ln() / n_ratio.ln();
        let verdict = if k < 0.8 {
            "sub-linear (fixed costs dominate at small N)"
        } else if k <= 1.2 {
            "linear"
        } else if k <= 1.6 {
            "worse than linear"
        } else {
            "about quadratic or worse"
        };
        out.push_str(&format!(
            "- {what}: N {}→{} (×{n_ratio:.0}) takes ×{t_ratio:.1} the time, t ~ N^{k:.2}: {verdict}\n",
            a.n, b.n
        ));
    }
    out
}
