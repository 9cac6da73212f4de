//! `migrate new NAME`: the next numbered up/down pair and its fixture.

use std::path::{Path, PathBuf};

use crate::discover::FIXTURES_DIR;
use crate::error::{Error, Problem, Result};
use crate::set::{Layout, MigrationSet};

/// Files created by [`new_migration`].
#[derive(Debug, Clone)]
pub struct Created {
    /// The version given.
    pub version: i64,
    /// `NNNNNN_name.up.sql`.
    pub up: PathBuf,
    /// `NNNNNN_name.down.sql`.
    pub down: PathBuf,
    /// `fixtures/NNNNNN_name.sql`.
    pub fixture: PathBuf,
}

/// Create the next migration of a paired-layout folder (creating the folder if needed).
/// `name` is turned into snake case; the version is one more than the highest, six digits.
pub fn new_migration(dir: &Path, name: &str) -> Result<Created> {
    let invalid = |message: String| Error::Invalid {
        dir: dir.to_path_buf(),
        problems: vec![Problem {
            path: dir.to_path_buf(),
            line: None,
            message,
        }],
    };
    let snake = snake(name);
    if snake.is_empty() {
        return Err(invalid(format!(
            "`{name}` is not a usable migration name: use letters, digits and spaces or _"
        )));
    }
    std::fs::create_dir_all(dir.join(FIXTURES_DIR)).map_err(|source| Error::Io {
        path: dir.join(FIXTURES_DIR),
        source,
    })?;
    let set = MigrationSet::discover_with(dir, None)?;
    if set.layout != Layout::Paired {
        return Err(invalid(format!(
            "`migrate new` writes the paired layout, but this folder uses the {} layout",
            set.layout
        )));
    }
    let version = set.migrations.last().map_or(1, |m| m.version + 1);
    let stem = format!("{version:06}_{snake}");
    let up = dir.join(format!("{stem}.up.sql"));
    let down = dir.join(format!("{stem}.down.sql"));
    let fixture = dir.join(FIXTURES_DIR).join(format!("{stem}.sql"));
    let files = [
        (&up, format!("-- {name}: the change.\n")),
        (
            &down,
            format!(
                "-- Revert {stem}.up.sql exactly: the schema after this must equal the schema before the up.\n"
            ),
        ),
        (
            &fixture,
            format!(
                "-- Test data inserted right after {stem} (tests and `cargo xtask check`).\n-- If this migration needs no data, say why here.\n"
            ),
        ),
    ];
    for (path, _) in &files {
        if path.exists() {
            return Err(invalid(format!("{} already exists", path.display())));
        }
    }
    for (path, text) in files {
        std::fs::write(path, text).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
    }
    Ok(Created {
        version,
        up,
        down,
        fixture,
    })
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_become_snake_case() {
        assert_eq!(super::snake("Add budget caps"), "add_budget_caps");
        assert_eq!(super::snake("  ÄI-Spend v2 "), "äi_spend_v2");
        assert_eq!(super::snake("--"), "");
    }
}
