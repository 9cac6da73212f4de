//! Stand-in for `cargo xtask gen` while the CLI is wired:
//! `cargo run -p generate --example gen -- [--check] [--force] [--database-url URL] [--dir D] [--out O]`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut request = generate::GenRequest::new(root.join("migrations"), root.join("generated"));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => request.check = true,
            "--force" => request.force = true,
            "--database-url" => request.database_url = args.next(),
            "--dir" => request.migrations_dir = args.next().map(PathBuf::from).unwrap_or_default(),
            "--out" => request.out_dir = args.next().map(PathBuf::from).unwrap_or_default(),
            other => {
                eprintln!("unknown argument {other}");
                return ExitCode::from(2);
            }
        }
    }
    match generate::run(&request) {
        Ok(outcome) => {
            for w in &outcome.warnings {
                eprintln!("warning: {w}");
            }
            eprintln!(
                "skipped_database={} unparsed={} timings={:?}",
                outcome.skipped_database,
                outcome.unparsed.len(),
                outcome.timings
            );
            for path in &outcome.written {
                eprintln!("wrote {}", path.display());
            }
            match outcome.diff {
                Some(diff) => {
                    print!("{diff}");
                    ExitCode::from(1)
                }
                None => ExitCode::SUCCESS,
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
