//! `cargo xtask gen [--check]`: dump the migrated schema and generate typed Rust into generated/.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::database::resolve_dir;

#[derive(Debug, Args)]
pub struct GenArgs {
    /// Regenerate in memory and compare with the output folder: print a unified diff and exit 1
    /// when anything is stale or missing. Never writes.
    #[arg(long)]
    check: bool,
    /// Regenerate even when the recorded input hash says nothing changed.
    #[arg(long)]
    force: bool,
    /// Run on this server (a scratch database is created and dropped there) instead of a
    /// throwaway embedded cluster. `DATABASE_URL` is deliberately not read here.
    #[arg(long)]
    database_url: Option<String>,
    /// Migrations folder.
    #[arg(long, default_value = "migrations")]
    dir: PathBuf,
    /// Output folder for dump.sql and the generated Rust.
    #[arg(long, default_value = "generated")]
    out: PathBuf,
    /// Folder of annotated queries (`-- name: X :one`) to generate `queries.rs` and
    /// `queries_async.rs` from. Default: `crates/db/queries` beside the migrations folder,
    /// when it exists.
    #[arg(long)]
    queries: Option<PathBuf>,
    /// Generation settings (type mappings, renames, schemas). Default: `gen.toml` at the
    /// workspace root, when it exists.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Map a PostgreSQL type to a Rust type, e.g. `--type tsvector=String` (repeatable);
    /// wins over `[types]` in the configuration file.
    #[arg(long = "type", value_name = "PG_TYPE=RUST_TYPE")]
    types: Vec<String>,
    /// Write only dump.sql and SCHEMA.md (the schema reference), no Rust code.
    #[arg(long)]
    docs_only: bool,
    /// Print where the time went.
    #[arg(long)]
    timings: bool,
}

pub fn run(args: GenArgs) -> Result<ExitCode> {
    let mut request = generate::GenRequest::new(resolve_dir(&args.dir), resolve_dir(&args.out));
    request.database_url = args.database_url.clone();
    request.check = args.check;
    request.force = args.force;
    if let Some(q) = &args.queries {
        request.queries_dir = Some(resolve_dir(q));
    }
    if let Some(config) = &args.config {
        request.config_file = Some(resolve_dir(config));
    }
    request.type_args = args.types.clone();
    request.docs_only = args.docs_only;
    let outcome = generate::run(&request)?;
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
    }
    if args.timings {
        let t = &outcome.timings;
        eprintln!(
            "timings: cluster {:.0} ms, migrate {:.0} ms, dump {:.0} ms, introspect {:.0} ms, generate {:.0} ms, queries {:.0} ms, total {:.0} ms{}",
            t.cluster.as_secs_f64() * 1e3,
            t.migrate.as_secs_f64() * 1e3,
            t.dump.as_secs_f64() * 1e3,
            t.introspect.as_secs_f64() * 1e3,
            t.generate.as_secs_f64() * 1e3,
            t.queries.as_secs_f64() * 1e3,
            t.total.as_secs_f64() * 1e3,
            if outcome.skipped_database {
                " (inputs unchanged: no database work)"
            } else {
                ""
            }
        );
    }
    let out = request.out_dir.display();
    if args.check {
        return Ok(match &outcome.diff {
            Some(diff) => {
                println!("{diff}");
                eprintln!("error: {out} is stale: run `cargo xtask gen` and commit the result");
                ExitCode::from(1)
            }
            None => {
                println!("{out} is current");
                ExitCode::SUCCESS
            }
        });
    }
    if outcome.written.is_empty() {
        println!("{out} is current (nothing written)");
    } else {
        for f in &outcome.written {
            println!("wrote {}", request.out_dir.join(f).display());
        }
    }
    if !outcome.unparsed.is_empty() {
        eprintln!(
            "note: {} dump statement(s) not parsed by sqlparser (kept; the catalog covers their constraints)",
            outcome.unparsed.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
