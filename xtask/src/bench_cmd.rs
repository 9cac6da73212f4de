//! `cargo xtask bench`: run the benchmark suite in a release build and write BENCHMARKS.md.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};
use clap::Args;

use crate::database::workspace_root;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Migration-set sizes to measure.
    #[arg(long, value_delimiter = ',', default_values_t = [30usize, 300])]
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
}

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
    let work = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let machine = machine();
    eprintln!("bench: {machine}");
    let mut rows = bench::migrate_figures(&args.n, args.runs, &work)?;
    let clone_n = args.n.iter().copied().max().unwrap_or(300);
    rows.extend(bench::clone_figures(clone_n, args.clones, &work)?);
    let _ = std::fs::remove_dir_all(&work);
    let table = bench::markdown(&rows);
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
        let text = format!(
            "# Benchmarks\n\nProduced by `{command}` (release build), on {machine}.\n\
             Every figure is the median wall time of the runs; ratios are to the psql floor of the same N\n\
             (`psql -X -q -1 -v ON_ERROR_STOP=1 -f` of the concatenated ups, a process like ours),\n\
             measured in the same run on the same throwaway cluster (fsync off), each on a fresh database.\n\
             \"ours\" is discovery of the folder + connect + the operation, in-process.\n\n{table}"
        );
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("bench: wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let pg = Command::new("postgres")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {pg}")
}
