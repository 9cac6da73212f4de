//! `cargo xtask bench`: run the benchmark suite in a release build and write BENCHMARKS.md.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};
use clap::Args;

use bench::machine;
use bench::peers::Peer;

use crate::database::workspace_root;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Migration-set sizes to measure.
    #[arg(long, value_delimiter = ',', default_values_t = [30usize, 300, 1000])]
    n: Vec<usize>,
    /// Runs per figure (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Clones to time for the per-test database figure.
    #[arg(long, default_value_t = 50)]
    clones: usize,
    /// Print the table only; do not rewrite BENCHMARKS.md.
    #[arg(long)]
    no_write: bool,
    /// `cargo install` the peers (sqlx-cli, refinery_cli) into target/peers first (minutes).
    #[arg(long)]
    install_peers: bool,
    /// Only `gen`: on our schema and on a synthetic schema of 150 tables (150 views, 150
    /// enums, 150 trigger functions), cold and no-op, into BENCHMARKS.md's gen section.
    #[arg(long)]
    gen_only: bool,
    /// Only the lock figures: `up` of 300 synthetic migrations with `--lock advisory` and
    /// `--lock table`, and pgbench latency while a long transaction blocks a migration, with
    /// and without the lock timeout, into BENCHMARKS.md's locks section.
    #[arg(long)]
    locks_only: bool,
}

/// Migrations in the synthetic set for the large-schema `gen` figures: one table per five.
const GEN_SYNTH_N: usize = 750;

pub fn run(args: BenchArgs) -> Result<ExitCode> {
    if cfg!(debug_assertions) {
        // Figures from a debug build mean nothing: run ourselves again, optimised.
        eprintln!("bench: building and running the release binary ...");
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(workspace_root())
            .args([
                "run",
                "--release",
                "--quiet",
                "--package",
                "xtask",
                "--",
                "bench",
            ])
            .args(std::env::args().skip_while(|a| a != "bench").skip(1))
            .status()
            .context("cannot run cargo")?;
        return Ok(if status.success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let root = workspace_root();
    let work = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let machine = machine();
    eprintln!("bench: {machine}");
    if args.gen_only {
        return gen_only(&args, &root, &work, &machine);
    }
    if args.locks_only {
        return locks_only(&args, &work, &machine);
    }
    let mut peers = Vec::new();
    let mut missing = Vec::new();
    for peer in [Peer::Sqlx, Peer::Refinery, Peer::RefineryGrouped] {
        if args.install_peers && bench::peers::find(peer, &root).is_none() {
            eprintln!("bench: installing {} ...", peer.program());
            bench::peers::install(peer, &root)?;
        }
        match bench::peers::find(peer, &root) {
            Some(exe) => peers.push((peer, exe)),
            None => missing.push(format!(
                "{} (not installed: `cargo xtask bench --install-peers`)",
                peer.label()
            )),
        }
    }
    let mut rows = bench::migrate_figures(
        &args.n,
        args.runs,
        &work,
        &peers,
        std::env::current_exe().ok().as_deref(),
    )?;
    let growth = bench::growth(&rows);
    let versus_limit = bench::versus_limit(&rows);
    let clone_n = args
        .n
        .iter()
        .copied()
        .filter(|n| *n <= 300)
        .max()
        .unwrap_or(300);
    rows.extend(bench::clone_figures(clone_n, args.clones, &work)?);
    let exe = std::env::current_exe()?;
    rows.extend(bench::gen_figures(
        &exe,
        &root.join("migrations"),
        Some(&root.join("crates/db/queries")),
        args.runs,
        &work,
    )?);
    let memory_n = args.n.iter().copied().max().unwrap_or(1000);
    let memory = bench::memory_figures(&exe, memory_n, &work)?;
    let _ = std::fs::remove_dir_all(&work);
    let mut table = bench::markdown(&rows);
    table.push_str(
        "\nAgainst the limit (ours / the one-message limit of the same N, medians of the same run):\n\n",
    );
    table.push_str(&versus_limit);
    table.push_str("\nGrowth with N (from the smallest to the largest N measured):\n\n");
    table.push_str(&growth);
    table.push_str("\nPeak resident memory (GNU time, release binary):\n\n");
    for (what, kib) in &memory {
        match kib {
            Some(k) => table.push_str(&format!("- {what}: {:.1} MiB\n", *k as f64 / 1024.0)),
            None => table.push_str(&format!(
                "- {what}: not measured (GNU time not installed)\n"
            )),
        }
    }
    for m in &missing {
        table.push_str(&format!("\nNot measured: {m}.\n"));
    }
    println!("{table}");
    if !args.no_write {
        let path: PathBuf = workspace_root().join("BENCHMARKS.md");
        let command = format!(
            "cargo xtask bench --n {} --runs {} --clones {}",
            args.n
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(","),
            args.runs,
            args.clones
        );
        let section = format!(
            "{START}\n## migrate, redo, down, per-test databases\n\nProduced by `{command}` (release build), on {machine}.\n\
             Every figure is the median wall time of the runs; ratios are to the psql floor of the same N\n\
             (`psql -X -q -1 -v ON_ERROR_STOP=1 -f` of the concatenated ups, a process like the peers),\n\
             measured in the same run on the same throwaway cluster (fsync off), each on a fresh database,\n\
             everyone over loopback TCP. \"ours: ... process\" is the release binary of `cargo xtask migrate`,\n\
             a process like psql and the peers; \"ours in-process\" is the same code path (discovery +\n\
             connect + the operation) called as a library, without process start. The limit is what no\n\
             runner sending these ups can beat: connect, then every up concatenated in one simple-query\n\
             message (`BEGIN; ...; COMMIT`), in-process over the same loopback TCP; \"Against the limit\"\n\
             divides our medians by it. The machine may be shared with other builds: compare within one run.\n\n{table}{END}\n"
        );
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let text = replace_section(&old, &section);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("bench: wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `--gen-only`: our schema (the baseline) and the 150-table synthetic schema, same run.
fn gen_only(
    args: &BenchArgs,
    root: &std::path::Path,
    work: &std::path::Path,
    machine: &str,
) -> Result<ExitCode> {
    let exe = std::env::current_exe()?;
    let mut rows = bench::gen_figures(
        &exe,
        &root.join("migrations"),
        Some(&root.join("crates/db/queries")),
        args.runs,
        work,
    )?;
    let synth = work.join("synth-gen/migrations");
    std::fs::create_dir_all(&synth)?;
    bench::synth::write_set(&synth, GEN_SYNTH_N)?;
    let large = bench::gen_figures(&exe, &synth, None, args.runs, work)?;
    for (mut row, base) in large.into_iter().zip(rows.clone()) {
        row.ratio = Some(row.median.as_secs_f64() / base.median.as_secs_f64());
        row.what = format!("{} (150 tables)", row.what);
        rows.push(row);
    }
    let _ = std::fs::remove_dir_all(work);
    let table = bench::markdown(&rows);
    println!("{table}");
    if !args.no_write {
        let path: PathBuf = workspace_root().join("BENCHMARKS.md");
        let section = format!(
            "{GEN_START}\n## gen on a large schema\n\nProduced by `cargo xtask bench --gen-only --runs {}` \
             (release build), on {machine}. Our schema ({} migrations) against a synthetic one of {GEN_SYNTH_N} \
             migrations: 150 tables (with primary, unique, check and foreign keys), 150 views, 150 enums, 150 \
             trigger functions raising constraint names. Ratios are the synthetic schema's median to ours, same \
             run; every figure is the `gen` process, start to exit.\n\n{table}{GEN_END}\n",
            args.runs,
            rows.first().map_or(0, |r| r.n),
        );
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let text = replace_section_between(&old, &section, GEN_START, GEN_END);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("bench: wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `--locks-only`: lock modes on 300 migrations, pgbench under a blocked migration.
fn locks_only(args: &BenchArgs, work: &std::path::Path, machine: &str) -> Result<ExitCode> {
    let n = 300;
    eprintln!("bench: lock modes on {n} migrations ...");
    let modes = bench::locks::lock_mode_figures(n, args.runs, work)?;
    let timeouts = [
        migrate::DEFAULT_LOCK_TIMEOUT,
        std::time::Duration::from_millis(200),
    ];
    eprintln!(
        "bench: pgbench under a blocked migration (4 scenarios of {} s) ...",
        bench::locks::TRAFFIC.as_secs()
    );
    let traffic = bench::locks::pgbench_figures(&timeouts, work)?;
    let _ = std::fs::remove_dir_all(work);
    let modes_table = bench::markdown(&modes);
    let traffic_table = bench::locks::traffic_markdown(&traffic);
    println!("{modes_table}\n{traffic_table}");
    if !args.no_write {
        let path: PathBuf = workspace_root().join("BENCHMARKS.md");
        let section = format!(
            "{LOCKS_START}\n## Locks: lease modes and lock timeouts under traffic\n\n\
             Produced by `cargo xtask bench --locks-only --runs {runs}` (release build), on {machine}.\n\n\
             `up` of {n} synthetic migrations, in-process over the Unix socket, each run on a fresh \
             database, median of {runs}; the ratio is `--lock table` to `--lock advisory` of the same \
             transaction layout. Both take the lease row; advisory also takes `pg_advisory_xact_lock` \
             in every applying transaction, table relies on the lease row's lock alone.\n\n{modes_table}\n\
             pgbench: 4 clients for {traffic_s} s, each transaction a `SELECT` and an `UPDATE` of a random \
             row of a 10 000-row table. 1 s in, a transaction takes ACCESS SHARE on the table and holds \
             it {blocker_s} s; 2 s in, a migration runs `ALTER TABLE ... ADD COLUMN` (ACCESS EXCLUSIVE). \
             Latencies are from pgbench's per-transaction log, over the whole run and over the \
             transactions that started while the blocker held its lock. Without a lock timeout the \
             `ALTER` queues behind the blocker and every transaction queues behind the `ALTER`; with \
             it, each attempt gives up after the timeout, rolls back, backs off and retries, and \
             commits once the blocker has ended. \
             p99 counts transactions, and a client stalled behind the lock completes none while it \
             waits, so the stall shows in the maximum and in how many transactions completed during \
             the blocker (throughput), more than in p99.\n\n{traffic_table}{LOCKS_END}\n",
            runs = args.runs,
            traffic_s = bench::locks::TRAFFIC.as_secs(),
            blocker_s = bench::locks::BLOCKER.as_secs(),
        );
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let text = replace_section_between(&old, &section, LOCKS_START, LOCKS_END);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("bench: wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

const START: &str = "<!-- cargo xtask bench: start -->";
const END: &str = "<!-- cargo xtask bench: end -->";
const GEN_START: &str = "<!-- cargo xtask bench --gen-only: start -->";
const GEN_END: &str = "<!-- cargo xtask bench --gen-only: end -->";
const LOCKS_START: &str = "<!-- cargo xtask bench --locks-only: start -->";
const LOCKS_END: &str = "<!-- cargo xtask bench --locks-only: end -->";

/// Replace the bench section of BENCHMARKS.md, keeping every other section (written by hand
/// or by other commands).
fn replace_section(old: &str, section: &str) -> String {
    replace_section_between(old, section, START, END)
}

/// Replace the section between `start` and `end` (or put it after the title).
fn replace_section_between(old: &str, section: &str, start: &str, end: &str) -> String {
    match (old.find(start), old.find(end)) {
        (Some(a), Some(b)) if b > a => {
            let after = &old[b + end.len()..];
            format!(
                "{}{}{}",
                &old[..a],
                section,
                after.strip_prefix('\n').unwrap_or(after)
            )
        }
        _ if old.trim().is_empty() => format!("# Benchmarks\n\n{section}"),
        _ => {
            // Put ours right after the title line.
            match old.find('\n') {
                Some(nl) if old.starts_with("# ") => {
                    format!(
                        "{}\n\n{section}\n{}",
                        &old[..nl],
                        old[nl + 1..].trim_start()
                    )
                }
                _ => format!("# Benchmarks\n\n{section}\n{old}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bench_section_is_replaced() {
        let first = replace_section("", &format!("{START}\nA\n{END}\n"));
        assert_eq!(first, format!("# Benchmarks\n\n{START}\nA\n{END}\n"));
        let with_other = format!("{first}\n## check\nfigures\n");
        let second = replace_section(&with_other, &format!("{START}\nB\n{END}\n"));
        assert_eq!(
            second,
            format!("# Benchmarks\n\n{START}\nB\n{END}\n\n## check\nfigures\n")
        );
        let foreign = replace_section(
            "# Benchmarks\n\n## queries\nq\n",
            &format!("{START}\nC\n{END}\n"),
        );
        assert_eq!(
            foreign,
            format!("# Benchmarks\n\n{START}\nC\n{END}\n\n## queries\nq\n")
        );
    }
}
