//! Time `check` (every part but drift, as `cargo xtask check` runs them, a throwaway cluster
//! started per run) on our migrations and on synthetic sets; print a Markdown section and,
//! with `--write`, put it in BENCHMARKS.md under `## check` (replacing only that section).
//!
//! ```sh
//! cargo run --release -p check --example check_bench -- --runs 3 --n 300 --write
//! ```

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bench::{machine, median, ms};
use check::{Options, Part, Report};

const START: &str = "<!-- check bench: start -->";
const END: &str = "<!-- check bench: end -->";

struct Row {
    set: String,
    n: usize,
    walkers: usize,
    parts: Vec<(Part, Duration)>,
    total: Duration,
}

fn measure(set: &str, dir: &Path, runs: usize, walkers: Option<usize>) -> Row {
    let n = migrate::MigrationSet::discover(dir)
        .unwrap()
        .migrations
        .len();
    let parts = [Part::Set, Part::Lint, Part::Reversibility, Part::Fixtures];
    let mut totals = Vec::new();
    let mut per_part: Vec<Vec<Duration>> = vec![Vec::new(); parts.len()];
    for _ in 0..runs {
        let started = Instant::now();
        let report: Report = match walkers {
            None => check::run(&Options::new(dir).only(&parts)),
            Some(w) => {
                // The walk alone with a fixed number of walkers, on its own cluster.
                let cluster = pgcluster::Cluster::temporary().unwrap();
                let set = migrate::MigrationSet::discover(dir).unwrap();
                let walked = check::reversibility::run_with(&set, &cluster, w);
                Report {
                    dir: dir.to_path_buf(),
                    parts: vec![walked.report],
                    explicit: true,
                }
            }
        };
        totals.push(started.elapsed());
        assert!(report.passed(), "{report}");
        for (k, p) in parts.iter().enumerate() {
            if let Some(r) = report.part(*p) {
                per_part[k].push(r.elapsed);
            }
        }
    }
    Row {
        set: set.to_string(),
        n,
        walkers: walkers.unwrap_or_else(|| check::reversibility::default_segments(n)),
        parts: parts
            .iter()
            .zip(per_part)
            .filter(|(_, v)| !v.is_empty())
            .map(|(p, v)| (*p, median(&v)))
            .collect(),
        total: median(&totals),
    }
}

/// The growth exponent of reversibility between consecutive synthetic rows with the same
/// walker setting: `t ~ N^x`.
fn growth(rows: &[Row]) -> String {
    let mut out = String::new();
    for set in ["synthetic", "synthetic, reversibility alone, 1 walker"] {
        let timed: Vec<(usize, f64)> = rows
            .iter()
            .filter(|r| r.set == set)
            .filter_map(|r| {
                let (_, d) = r.parts.iter().find(|(p, _)| *p == Part::Reversibility)?;
                Some((r.n, d.as_secs_f64()))
            })
            .collect();
        for w in timed.windows(2) {
            let ((n1, t1), (n2, t2)) = (w[0], w[1]);
            if n2 > n1 && t1 > 0.0 {
                let x = (t2 / t1).ln() / (n2 as f64 / n1 as f64).ln();
                out.push_str(&format!(
                    "\nReversibility growth ({set}), N = {n1} to {n2}: {:.2}x the time for {:.2}x the migrations, t ~ N^{x:.2}.\n",
                    t2 / t1,
                    n2 as f64 / n1 as f64
                ));
            }
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let runs: usize = value("--runs").and_then(|v| v.parse().ok()).unwrap_or(3);
    let ns: Vec<usize> = value("--n")
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![30, 300]);
    let write = args.iter().any(|a| a == "--write");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap();

    let mut rows = vec![measure(
        "ours (`migrations/`)",
        &root.join("migrations"),
        runs,
        None,
    )];
    let work = tempfile::tempdir().unwrap();
    for &n in &ns {
        let dir = work.path().join(format!("n{n}"));
        check::bench::synthetic_set(&dir, n).unwrap();
        rows.push(measure("synthetic", &dir, runs, None));
        if check::reversibility::default_segments(n) > 1 {
            rows.push(measure(
                "synthetic, reversibility alone, 1 walker",
                &dir,
                runs,
                Some(1),
            ));
        }
    }
    // The whole command as CI runs it: the release binary, every part (drift included).
    let binary = root.join("target/release/xtask");
    let cli = if binary.is_file() {
        let mut times = Vec::new();
        let mut failed = None;
        for _ in 0..runs {
            let started = Instant::now();
            let out = Command::new(&binary)
                .arg("check")
                .current_dir(&root)
                .output()
                .unwrap();
            times.push(started.elapsed());
            if !out.status.success() {
                let text = String::from_utf8_lossy(&out.stdout);
                failed = text
                    .lines()
                    .find(|l| l.contains("FAILED"))
                    .map(str::to_string);
            }
        }
        format!(
            "\n`target/release/xtask check` on our migrations, every part including drift (`gen --check`, \
             which skips its database work when its input hashes match), process start included: \
             **{}** (median of {runs}){}.\n",
            ms(median(&times)),
            match failed {
                Some(line) => format!(
                    "; it did not pass at the time: \"{}\"",
                    line.split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .replace('`', "")
                ),
                None => String::new(),
            }
        )
    } else {
        "\n`cargo xtask check` as a process: not measured (build `cargo build --release -p xtask` first).\n"
            .to_string()
    };
    let mut table = String::from(
        "| set | migrations | walkers | set | lint | reversibility | fixtures | total |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in &rows {
        let part = |p: Part| {
            r.parts
                .iter()
                .find(|(q, _)| *q == p)
                .map_or("-".to_string(), |(_, d)| ms(*d))
        };
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.set,
            r.n,
            r.walkers,
            part(Part::Set),
            part(Part::Lint),
            part(Part::Reversibility),
            part(Part::Fixtures),
            ms(r.total)
        ));
    }
    let growth = growth(&rows);
    let command = format!(
        "cargo run --release -p check --example check_bench -- --runs {runs} --n {}{}",
        ns.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(","),
        if write { " --write" } else { "" }
    );
    let section = format!(
        "{START}\n## check\n\nProduced by `{command}`, on {}.\n\
         Median wall time of {runs} run(s) of `check::run` with the parts `cargo xtask check` runs\n\
         except drift (that is `gen --check`, measured with `gen`), in process, each run starting its\n\
         own throwaway cluster (included in \"total\"). The synthetic sets are `bench::synth` plus a\n\
         fixture per migration (`check::bench::synthetic_set`). Reversibility applies every\n\
         migration, its down, and the migration again with its fixture, and after the down and\n\
         after the re-apply brings its in-memory catalog snapshot up to date by reading only\n\
         the objects that step's commands created, altered or dropped, as a change log written\n\
         by event triggers in the walker's database reports them (`check::ddl_log`,\n\
         `check::incremental`), plus small scans of the catalogs event triggers do not report\n\
         (`pg_index`, `pg_inherits`, event triggers, roles), on a connection of its own, with\n\
         a catalog query holding only the parts for the kinds of object changed; every 50 steps\n\
         it vacuums the catalogs. Its ups and downs skip the lease and history reads\n\
         (`Migrator::apply_next`, `Migrator::revert_next`). Every irreversible migration is reported (the walk\n\
         rebuilds the state after it and goes on). \"walkers\" is the number of databases walking\n\
         parallel segments of the chain (one per core, for 40+ migrations). The machine (2 cores)\n\
         is shared with other sessions' builds and tests: compare rows of one run.\n\n{table}{growth}{cli}{END}\n",
        machine()
    );
    println!("{section}");
    if write {
        let path = root.join("BENCHMARKS.md");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let text = match (old.find(START), old.find(END)) {
            (Some(a), Some(b)) if a < b => {
                format!(
                    "{}{}{}",
                    &old[..a],
                    section,
                    old[b + END.len()..].trim_start_matches('\n')
                )
            }
            _ if old.is_empty() => format!("# Benchmarks\n\n{section}"),
            _ => format!("{}\n\n{section}", old.trim_end()),
        };
        std::fs::write(&path, text).unwrap();
        eprintln!("wrote {}", path.display());
    }
}
