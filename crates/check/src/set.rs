//! The migration set: names, contiguous versions without duplicates, every up with its down
//! (all from [`migrate::MigrationSet::discover`]'s validation), and every migration with a
//! fixture file. An empty fixture (no statement) is allowed when a comment says why; the
//! placeholder lines `cargo xtask migrate new` writes do not count as a reason.

use std::path::{Path, PathBuf};
use std::time::Instant;

use migrate::{Layout, MigrationSet};

use crate::report::{Finding, Location, Part, PartReport};

/// Lines of the fixture template of `migrate new` (after `-- `, prefix match): not a reason.
const TEMPLATE_LINES: [&str; 2] = [
    "Test data inserted right after ",
    "If this migration needs no data, say why here.",
];

/// Discover `dir` and check it. Returns the report and, when discovery succeeded, the set.
pub fn run(
    dir: &Path,
    layout: Option<Layout>,
    since: Option<i64>,
) -> (PartReport, Option<MigrationSet>) {
    let started = Instant::now();
    let set = match MigrationSet::discover_with(dir, layout) {
        Ok(set) => set,
        Err(migrate::Error::Invalid { problems, .. }) => {
            let failures = problems
                .into_iter()
                .map(|p| {
                    let at = match p.line {
                        Some(line) => Location::line(&p.path, line),
                        None => Location::file(&p.path),
                    };
                    Finding::new(p.message).at(at)
                })
                .collect::<Vec<_>>();
            let n = failures.len();
            return (
                PartReport::from_findings(
                    Part::Set,
                    format!("{n} problem(s) in {}", dir.display()),
                    failures,
                    Vec::new(),
                    started.elapsed(),
                ),
                None,
            );
        }
        Err(e) => {
            return (
                PartReport::failed(
                    Part::Set,
                    Finding::new(e.to_string()).at(Location::file(dir)),
                    started.elapsed(),
                ),
                None,
            );
        }
    };
    let mut failures = Vec::new();
    let mut notes: Vec<Finding> = set
        .warnings
        .iter()
        .map(|w| {
            Finding::new(format!("warning: {}", w.message))
                .at(Location::file(&w.path))
                .rule("ignored-file")
        })
        .collect();
    let fixtures = match set.layout {
        Layout::Paired => {
            for m in set
                .migrations
                .iter()
                .filter(|m| since.is_none_or(|v| m.version >= v))
            {
                match &m.fixture {
                    None => failures.push(
                        Finding::new(format!("migration {} has no fixture file", m.label()))
                            .at(Location::file(&fixture_path(&set.dir, &m.up.path)))
                            .rule("missing-fixture")
                            .hint("create it with the rows this migration's tables need; if it needs none, leave it empty with a comment saying why"),
                    ),
                    Some(f) if !has_statements(&f.sql) && !has_reason(&f.sql) => failures.push(
                        Finding::new(format!(
                            "the fixture of migration {} is empty and does not say why",
                            m.label()
                        ))
                        .at(Location::file(&f.path))
                        .rule("empty-fixture")
                        .hint("insert rows for the tables this migration creates or changes, or write a comment saying why it needs none"),
                    ),
                    Some(_) => {}
                }
            }
            format!(
                ", {} fixture file(s)",
                set.migrations
                    .iter()
                    .filter(|m| m.fixture.is_some())
                    .count()
            )
        }
        other => {
            notes.push(Finding::new(format!(
                "the {other} layout has no fixture files: the fixture-file rule does not apply"
            )));
            String::new()
        }
    };
    let versions = match (set.migrations.first(), set.migrations.last()) {
        (Some(a), Some(b)) => format!(", versions {}..{}", a.version, b.version),
        _ => String::new(),
    };
    let before = since.map_or(0, |v| {
        set.migrations.iter().filter(|m| m.version < v).count()
    });
    let since_note = if before > 0 {
        format!(", fixture files of {before} migration(s) before --since not checked")
    } else {
        String::new()
    };
    let report = PartReport::from_findings(
        Part::Set,
        format!(
            "{} migration(s) ({} layout){versions}{fixtures}{since_note}",
            set.migrations.len(),
            set.layout
        ),
        failures,
        notes,
        started.elapsed(),
    );
    (report, Some(set))
}

/// `dir/fixtures/<stem>.sql` for `dir/<stem>.up.sql`.
fn fixture_path(dir: &Path, up: &Path) -> PathBuf {
    let name = up
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".up.sql").unwrap_or(&name);
    dir.join(migrate::FIXTURES_DIR).join(format!("{stem}.sql"))
}

fn has_statements(sql: &str) -> bool {
    !migrate::split::statements(sql).is_empty()
}

/// A comment line that is not the `migrate new` placeholder.
fn has_reason(sql: &str) -> bool {
    sql.lines().any(|l| {
        let Some(c) = l.trim().strip_prefix("--") else {
            return false;
        };
        let c = c.trim();
        !c.is_empty() && !TEMPLATE_LINES.iter().any(|t| c.starts_with(t))
    }) || sql.contains("/*")
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholder_comments_are_no_reason() {
        assert!(!super::has_reason(
            "-- Test data inserted right after 000003_x (tests and `cargo xtask check`).\n-- If this migration needs no data, say why here.\n"
        ));
        assert!(super::has_reason(
            "-- Intentionally empty: the migration only adds a view.\n"
        ));
        assert!(!super::has_reason("\n\n"));
    }
}
