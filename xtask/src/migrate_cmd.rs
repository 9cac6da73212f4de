//! `cargo xtask migrate ...`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::{Args, Subcommand};
use migrate::{ChecksumState, DiscoverOptions, DownTarget, Layout, MigrationSet, Migrator, State};

use crate::database;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = false)]
pub struct MigrateArgs {
    #[command(subcommand)]
    command: Option<MigrateCommand>,

    /// Database to migrate. Default: `DATABASE_URL`, else the embedded dev cluster in `.pgdata/`.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,

    /// Migrations folder.
    #[arg(long, global = true, default_value = "migrations")]
    dir: PathBuf,

    /// Folder layout: paired (NNNNNN_name.up.sql/.down.sql), diesel or refinery. Default: detected.
    #[arg(long, global = true)]
    layout: Option<Layout>,

    /// One transaction per migration instead of one for the whole run (a failure then keeps
    /// the migrations before it).
    #[arg(long, global = true)]
    per_migration: bool,

    /// Also insert each migration's fixture (`fixtures/NNNNNN_name.sql`) right after it.
    #[arg(long, global = true)]
    fixtures: bool,

    /// How concurrent runners are serialised: `advisory` (a lease row plus
    /// pg_advisory_xact_lock in every applying transaction) or `table` (the lease row alone,
    /// for PostgreSQL-compatible engines without advisory locks). Both work behind PgBouncer in
    /// transaction pooling. Default: advisory when the server has advisory locks.
    #[arg(long, global = true, value_name = "MODE")]
    lock: Option<migrate::LockMode>,

    /// How long the run's lease lasts without renewal: a killed runner blocks the next one at
    /// most this long (e.g. 30s).
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    lock_lease: std::time::Duration,

    /// lock_timeout of each migration statement (0: wait as long as it takes); on expiry the
    /// transaction rolls back and is retried. A migration can set its own with a
    /// `-- lock-timeout: VALUE` line at its top.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration, default_value = "2s")]
    lock_timeout: std::time::Duration,

    /// Retries after a lock timeout, with exponential backoff and jitter.
    #[arg(long, global = true, value_name = "N", default_value_t = migrate::DEFAULT_LOCK_RETRIES)]
    lock_retries: u32,

    /// Files the layout's own tool ignores (a stray .sql beside diesel's folders) are errors
    /// instead of warnings (for CI).
    #[arg(long, global = true)]
    strict: bool,
}

#[derive(Debug, Subcommand)]
enum MigrateCommand {
    /// Apply every pending migration (the default).
    Up {
        /// Stop after this version (diesel: the folder's version, dashes optional).
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
    },
    /// Revert the newest applied migration (its down script and history row, in one transaction).
    Down {
        /// Revert every migration newer than VERSION (0: all).
        #[arg(long, value_name = "VERSION", conflicts_with = "all")]
        to: Option<String>,
        /// Revert every applied migration.
        #[arg(long)]
        all: bool,
    },
    /// Revert the newest applied migration and apply it again, in one transaction.
    Redo,
    /// Show every migration: applied or pending, when, and whether its file changed since.
    Status {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Create the next numbered migration pair and its fixture file.
    New {
        /// What the migration does, e.g. "add budget caps".
        name: String,
    },
    /// Take over a database another tool migrated (diesel, golang-migrate, sqlx, refinery):
    /// record the migrations its history table lists as applied, running none of them.
    Adopt {
        /// The tool whose history to read: diesel, golang-migrate, sqlx or refinery. Default:
        /// the one whose table is found.
        #[arg(long, value_name = "TOOL")]
        from: Option<migrate::Tool>,
        /// Check and show what would be recorded; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// For a database with no history at all (schema made by hand or restored from a dump):
    /// record every migration up to VERSION as applied, running none of them.
    Baseline {
        /// The newest migration the database already has.
        #[arg(long, value_name = "VERSION")]
        to: String,
        /// Show what would be recorded; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// After merging the main branch: move this branch's new migrations (and fixtures) past
    /// the main branch's highest version, refusing if one is applied to the database.
    Renumber {
        /// Git revision of the main branch. Default: `origin/main` if it exists, else `main`.
        #[arg(long, value_name = "REF")]
        onto: Option<String>,
        /// Show the moves without renaming anything.
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn run(args: MigrateArgs) -> Result<ExitCode> {
    let dir = database::resolve_dir(&args.dir);
    if let Some(MigrateCommand::New { name }) = &args.command {
        let created = migrate::new_migration(&dir, name)?;
        println!("created migration {:06}:", created.version);
        for p in [&created.up, &created.down, &created.fixture] {
            println!("  {}", p.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(MigrateCommand::Renumber { onto, dry_run }) = &args.command {
        return crate::renumber_cmd::run(&dir, onto.clone(), *dry_run, args.database_url.clone());
    }
    let set = MigrationSet::discover_opts(
        &dir,
        DiscoverOptions {
            layout: args.layout,
            strict: args.strict,
        },
    )?;
    for w in &set.warnings {
        eprintln!("warning: {w}");
    }
    let version = |text: &str| -> Result<i64> {
        set.parse_version(text).ok_or_else(|| {
            anyhow::anyhow!(
                "`{text}` is not a version of {} ({} layout): give a migration's version number{}",
                dir.display(),
                set.layout,
                if set.layout == Layout::Diesel {
                    " (its folder's version, e.g. 2024-01-31-120000 or 20240131120000)"
                } else {
                    ""
                }
            )
        })
    };
    let target = database::resolve(args.database_url.clone())?;
    let mut client = target.connect()?;
    let migrator = Migrator::new(&set)
        .single_transaction(!args.per_migration)
        .with_fixtures(args.fixtures)
        .lock_mode(args.lock)
        .lease(args.lock_lease)
        .lock_timeout(args.lock_timeout)
        .lock_retries(args.lock_retries)
        .side_connection(|| target.connect().ok())
        .on_lock_wait(|holder| {
            eprintln!(
                "waiting for another migrator to finish{} ...",
                holder
                    .map(|h| format!(" (lock held by {h})"))
                    .unwrap_or_default()
            )
        });
    let started = Instant::now();
    match args.command.unwrap_or(MigrateCommand::Up { to: None }) {
        MigrateCommand::Up { to } => {
            let applied = match to {
                Some(v) => migrator.up_to(&mut client, version(&v)?)?,
                None => migrator.up(&mut client)?,
            };
            if applied.is_empty() {
                println!(
                    "nothing to apply: {} is up to date ({} migration(s) in {})",
                    target.display(),
                    set.migrations.len(),
                    dir.display()
                );
            } else {
                for a in &applied {
                    let ms = a.duration.as_secs_f64() * 1000.0;
                    println!(
                        "applied {} {}{} ({})",
                        set.show_version(a.version),
                        a.name,
                        if a.no_transaction {
                            " [no-transaction]"
                        } else {
                            ""
                        },
                        if a.batch > 1 {
                            format!(
                                "{ms:.1} ms for the message of {} migrations that carried it",
                                a.batch
                            )
                        } else {
                            format!("{ms:.1} ms")
                        }
                    );
                }
                println!(
                    "{} migration(s) applied to {} in {:.1} ms",
                    applied.len(),
                    target.display(),
                    started.elapsed().as_secs_f64() * 1000.0
                );
            }
        }
        MigrateCommand::Down { to, all } => {
            let down_target = match (to, all) {
                (_, true) => DownTarget::All,
                (Some(v), false) => DownTarget::To(version(&v)?),
                (None, false) => DownTarget::Newest,
            };
            let reverted = migrator.down(&mut client, down_target)?;
            if reverted.is_empty() {
                println!("nothing to revert: no applied migration above the target");
            }
            for r in &reverted {
                println!("reverted {} {}", set.show_version(r.version), r.name);
            }
        }
        MigrateCommand::Redo => match migrator.redo(&mut client)? {
            Some((r, _)) => println!(
                "redone {} {} (down, then up)",
                set.show_version(r.version),
                r.name
            ),
            None => println!("nothing to redo: no migration is applied"),
        },
        MigrateCommand::Status { json } => {
            let rows = migrator.status(&mut client)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print_status(&set, &rows);
                let mode = migrator.effective_lock_mode(&mut client);
                println!(
                    "lock: {mode} ({})",
                    if args.lock.is_some() {
                        "--lock"
                    } else {
                        "detected"
                    }
                );
            }
            let problem = rows
                .iter()
                .any(|r| r.state == State::MissingFile || r.checksum == ChecksumState::Changed);
            if problem {
                return Ok(ExitCode::from(1));
            }
        }
        MigrateCommand::Adopt { from, dry_run } => {
            let adoption = migrator.adopt(&mut client, from, dry_run)?;
            let verb = if dry_run { "would record" } else { "recorded" };
            for r in &adoption.recorded {
                println!(
                    "{verb} {} {} as applied (applied on {})",
                    r.version_text, r.name, r.applied_on
                );
            }
            println!(
                "{} {} migration(s) from {}'s history ({}) in {}; no migration SQL ran{}",
                verb,
                adoption.recorded.len(),
                adoption.tool,
                adoption.tool.table(),
                target.display(),
                if dry_run {
                    "; nothing was changed (--dry-run)"
                } else if adoption.tool == migrate::Tool::Refinery {
                    "; refinery_schema_history now has int8 versions"
                } else {
                    "; the other tool's table is left as it was"
                }
            );
        }
        MigrateCommand::Baseline { to, dry_run } => {
            let recorded = migrator.baseline(&mut client, version(&to)?, dry_run)?;
            let verb = if dry_run { "would record" } else { "recorded" };
            for r in &recorded {
                println!("{verb} {} {} as applied", r.version_text, r.name);
            }
            println!(
                "{verb} {} migration(s) as applied in {}; no migration SQL ran{}",
                recorded.len(),
                target.display(),
                if dry_run {
                    "; nothing was changed (--dry-run)"
                } else {
                    ""
                }
            );
        }
        MigrateCommand::New { .. } | MigrateCommand::Renumber { .. } => {
            unreachable!("handled above")
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_status(set: &MigrationSet, rows: &[migrate::StatusRow]) {
    let width = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:>8}  {:<width$}  {:<12}  {:<25}  checksum",
        "version", "name", "state", "applied at"
    );
    for r in rows {
        let state = match r.state {
            State::Applied => "applied",
            State::Pending => "pending",
            State::MissingFile => "MISSING FILE",
        };
        let checksum = match r.checksum {
            ChecksumState::Ok => "ok",
            ChecksumState::Changed => "CHANGED",
            ChecksumState::None => "-",
        };
        println!(
            "{:>8}  {:<width$}  {:<12}  {:<25}  {}",
            set.show_version(r.version),
            r.name,
            state,
            r.applied_on.as_deref().unwrap_or("-"),
            checksum
        );
    }
    let pending = rows.iter().filter(|r| r.state == State::Pending).count();
    println!(
        "{} migration(s): {} applied, {} pending",
        rows.len(),
        rows.len() - pending,
        pending
    );
}

fn parse_duration(text: &str) -> std::result::Result<std::time::Duration, String> {
    migrate::parse_duration(text)
        .ok_or_else(|| format!("`{text}`: give 0, or a number with ms, s or min (e.g. 2s)"))
}
