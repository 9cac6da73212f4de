//! `cargo xtask check` and `cargo xtask diff`: argument parsing and printing; the checks live
//! in the `check` crate.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use check::lint::queries::ReleaseQueries;
use check::{DriftOutcome, LintOptions, Part, Release};
use clap::{Args, ValueEnum};
use migrate::{Layout, MigrationSet};

use crate::database::resolve_dir;
use crate::database::workspace_root;

/// A part of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PartArg {
    /// Names, contiguous versions, duplicates, up/down pairs, fixture files.
    Set,
    /// Risky DDL in up migrations.
    Lint,
    /// Each down restores the schema exactly.
    Reversibility,
    /// Every table has rows after the chain with fixtures.
    Fixtures,
    /// generated/ is current (`gen --check`).
    Drift,
}

impl From<PartArg> for Part {
    fn from(p: PartArg) -> Part {
        match p {
            PartArg::Set => Part::Set,
            PartArg::Lint => Part::Lint,
            PartArg::Reversibility => Part::Reversibility,
            PartArg::Fixtures => Part::Fixtures,
            PartArg::Drift => Part::Drift,
        }
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Run only these parts (repeat or comma-separate). Default: all of them.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "PART")]
    only: Vec<PartArg>,

    /// Migrations folder.
    #[arg(long, default_value = "migrations")]
    dir: PathBuf,

    /// Folder layout: paired, diesel or refinery. Default: detected.
    #[arg(long)]
    layout: Option<Layout>,

    /// Check only migrations with this version or above, in every part that reads
    /// migrations (set, lint, reversibility, fixtures): the ones before are applied with
    /// their fixtures but not checked. `--lint-since` is an alias.
    #[arg(long, value_name = "VERSION", alias = "lint-since")]
    since: Option<i64>,

    /// Stop the reversibility walk at the first migration that does not revert (default:
    /// report every one, each with its diff).
    #[arg(long)]
    fail_fast: bool,

    /// Git revision of the earlier release whose queries `drop-or-rename-in-use` protects.
    /// Default: the newest tag reachable from HEAD.
    #[arg(long, value_name = "REF", conflicts_with = "release_queries")]
    release: Option<String>,

    /// Folder holding the earlier release's query files, instead of a git revision.
    #[arg(long, value_name = "DIR")]
    release_queries: Option<PathBuf>,

    /// Where the query files live in the repository (read at the release revision).
    #[arg(long, value_name = "PATH", default_value = "crates/db/queries")]
    queries: String,

    /// The generated folder the drift check compares. Default: `generated/` next to the
    /// migrations folder.
    #[arg(long, value_name = "DIR")]
    generated: Option<PathBuf>,
}

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let dir = resolve_dir(&args.dir);
    let repo = workspace_root();
    let release = match (&args.release_queries, &args.release) {
        (Some(d), _) => match ReleaseQueries::from_dir(d) {
            Ok(q) => Release::Queries(q),
            Err(e) => anyhow::bail!("cannot read --release-queries {}: {e}", d.display()),
        },
        (None, Some(r)) => Release::Queries(
            ReleaseQueries::from_git(&repo, r, &args.queries).map_err(anyhow::Error::msg)?,
        ),
        (None, None) => match ReleaseQueries::newest_tag(&repo) {
            Some(tag) => match ReleaseQueries::from_git(&repo, &tag, &args.queries) {
                Ok(q) => Release::Queries(q),
                // The release predates the queries folder: nothing of it can break.
                Err(_) => Release::Queries(ReleaseQueries {
                    label: format!("{tag}:{} (absent)", args.queries),
                    files: Vec::new(),
                }),
            },
            None => Release::Unavailable(
                "no release tag in this repository (pass --release REF, e.g. origin/main, or --release-queries DIR)"
                    .into(),
            ),
        },
    };
    let generated = args.generated.clone().unwrap_or_else(|| {
        dir.parent()
            .map(|p| p.join("generated"))
            .unwrap_or_else(|| PathBuf::from("generated"))
    });
    let drift = move |migrations: &Path| drift(migrations, &generated);
    let mut options = check::Options::new(dir);
    options.layout = args.layout;
    options.only = args.only.iter().map(|p| Part::from(*p)).collect();
    options.lint = LintOptions {
        since: None,
        release,
    };
    options.since = args.since;
    options.fail_fast = args.fail_fast;
    options.drift = Some(&drift);
    let report = check::run(&options);
    print!("{report}");
    println!("({:.2} s)", started.elapsed().as_secs_f64());
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `cargo xtask gen --check`, in process.
fn drift(migrations: &Path, generated: &Path) -> DriftOutcome {
    if !generated.is_dir() {
        return DriftOutcome::NotAvailable(format!(
            "no generated folder at {} (pass --generated DIR)",
            generated.display()
        ));
    }
    match generate::run_gen(migrations, generated, None, true) {
        Ok(outcome) => match outcome.diff {
            None => DriftOutcome::Current(format!(
                "{}/ is current{}",
                generated.display().to_string().trim_end_matches('/'),
                if outcome.skipped_database {
                    " (input hashes match)"
                } else {
                    ""
                }
            )),
            Some(diff) => DriftOutcome::Stale(diff),
        },
        Err(e) => DriftOutcome::Failed(e.to_string()),
    }
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The live database to compare (e.g. production). Only read.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,

    /// Migrations folder.
    #[arg(long, default_value = "migrations")]
    dir: PathBuf,

    /// Folder layout: paired, diesel or refinery. Default: detected.
    #[arg(long)]
    layout: Option<Layout>,
}

pub fn run_diff(args: DiffArgs) -> Result<ExitCode> {
    let dir = resolve_dir(&args.dir);
    let set = MigrationSet::discover_with(&dir, args.layout)?;
    let cluster = pgcluster::Cluster::temporary()?;
    let outcome = check::diff::diff(&args.database_url, &set, &cluster)?;
    if outcome.differs {
        print!("{}", outcome.diff);
        println!(
            "drift: {} differs from what {} produce ({} migration(s) applied); `-` lines are what the migrations produce, `+` what the database has",
            outcome.target,
            dir.display(),
            outcome.applied.len()
        );
    } else {
        println!(
            "no drift: {} matches what {} produce ({} migration(s) applied)",
            outcome.target,
            dir.display(),
            outcome.applied.len()
        );
    }
    if !outcome.pending.is_empty() {
        println!(
            "not compared: {} pending migration(s): {}",
            outcome.pending.len(),
            outcome.pending.join(", ")
        );
    }
    Ok(if outcome.differs {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
