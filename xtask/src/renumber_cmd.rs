//! `cargo xtask migrate renumber`: printing around `migrate::renumber`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use migrate::renumber;

use crate::database;

pub fn run(
    dir: &Path,
    onto: Option<String>,
    dry_run: bool,
    database_url: Option<String>,
) -> Result<ExitCode> {
    let onto = match onto {
        Some(r) => r,
        None => renumber::default_onto(dir)?,
    };
    let main = renumber::main_migrations(dir, &onto)?;
    let plan = renumber::plan(dir, &onto, &main)?;
    if plan.moves.is_empty() {
        println!(
            "nothing to renumber: {} migration(s) of this branch already follow {onto}'s highest version {}",
            plan.branch.len(),
            plan.main_highest
        );
        return Ok(ExitCode::SUCCESS);
    }
    let target = database::resolve(database_url)?;
    let mut client = target.connect()?;
    let applied = plan.applied(&mut client)?;
    if !applied.is_empty() {
        eprintln!(
            "error: nothing was renamed: {} migration(s) to move are applied to {}:",
            applied.len(),
            target.display()
        );
        for m in &applied {
            eprintln!("  {} {}", m.from, m.name);
        }
        let lowest = applied.iter().map(|m| m.from).min().unwrap_or(0);
        eprintln!(
            "  revert them there first: cargo xtask migrate down --to {}",
            lowest - 1
        );
        return Ok(ExitCode::from(1));
    }
    println!(
        "{onto} ends at version {}; this branch's migrations move past it:",
        plan.main_highest
    );
    for m in &plan.moves {
        println!("  {} -> {}  {}", m.from, m.to, m.name);
        for (a, b) in &m.renames {
            println!("      {} -> {}", a.display(), b.display());
        }
    }
    if dry_run {
        println!("dry run: nothing renamed");
    } else {
        plan.execute()?;
        println!("renumbered {} migration(s)", plan.moves.len());
    }
    Ok(ExitCode::SUCCESS)
}
