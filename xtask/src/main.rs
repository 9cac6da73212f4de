//! `cargo xtask`: the project's command line. Argument parsing and printing only; every
//! behaviour lives in a library crate (`migrate`, `pgcluster`, ...) and is tested there.

mod bench_cmd;
mod check_cmd;
mod database;
mod gen_cmd;
mod migrate_cmd;
mod renumber_cmd;
mod report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The database toolchain of the AI-spend governance platform: versioned migrations, schema
/// dump and typed Rust generated from the real schema.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply, revert and inspect migrations (`cargo xtask migrate` alone applies all pending).
    Migrate(migrate_cmd::MigrateArgs),
    /// Measure migrate, per-test databases and friends against the psql floor; writes BENCHMARKS.md.
    Bench(bench_cmd::BenchArgs),
    /// The CI gate: migration set, lint, reversibility, fixtures and drift (`--only PART`).
    Check(check_cmd::CheckArgs),
    /// Dump the migrated schema to generated/dump.sql and generate typed Rust (`--check`: drift).
    Gen(gen_cmd::GenArgs),
    /// Compare a live database's schema with what the migrations produce (exit 1 on drift).
    Diff(check_cmd::DiffArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Migrate(args) => migrate_cmd::run(args),
        Command::Bench(args) => bench_cmd::run(args),
        Command::Check(args) => check_cmd::run(args),
        Command::Gen(args) => gen_cmd::run(args),
        Command::Diff(args) => check_cmd::run_diff(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            report::error(&err);
            ExitCode::from(1)
        }
    }
}
