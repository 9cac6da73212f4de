//! The `set` part: what discovery validates, plus fixture files.

mod common;

use check::{Part, Status};
use common::*;

#[test]
fn our_migrations_pass() {
    let report = check(&our_migrations(), &[Part::Set]);
    assert!(report.passed(), "{report}");
    assert!(
        report
            .part(Part::Set)
            .unwrap()
            .summary
            .contains("12 fixture file(s)")
    );
}

#[test]
fn a_duplicate_version_fails_naming_both_files_and_blocks_the_other_parts() {
    let dir = base_with(&[
        ("000002_teams.up.sql", "CREATE TABLE teams (id int);\n"),
        ("000002_teams.down.sql", "DROP TABLE teams;\n"),
        (
            "fixtures/000002_teams.sql",
            "INSERT INTO teams VALUES (1);\n",
        ),
    ]);
    let report = check(dir.path(), &[]);
    assert!(!report.passed());
    let text = report.to_string();
    let f = failures(&report, Part::Set);
    assert!(
        f.iter().any(|f| f.message.contains("duplicate version 2")
            && f.location
                .as_ref()
                .unwrap()
                .path
                .ends_with("000002_orgs.up.sql")
            && f.message.contains("000002_teams.up.sql")),
        "{text}"
    );
    for part in [Part::Lint, Part::Reversibility, Part::Fixtures] {
        assert!(
            matches!(report.part(part).unwrap().status, Status::NotRun(_)),
            "{text}"
        );
    }
}

#[test]
fn a_gap_fails() {
    let dir = base_with(&[
        ("000004_teams.up.sql", "CREATE TABLE teams (id int);\n"),
        ("000004_teams.down.sql", "DROP TABLE teams;\n"),
        (
            "fixtures/000004_teams.sql",
            "INSERT INTO teams VALUES (1);\n",
        ),
    ]);
    let report = check(dir.path(), &[Part::Set]);
    let f = failures(&report, Part::Set);
    assert!(
        f.iter()
            .any(|f| f.message.contains("gap in versions: 4 follows 2")
                && f.location
                    .as_ref()
                    .unwrap()
                    .path
                    .ends_with("000004_teams.up.sql")),
        "{report}"
    );
}

#[test]
fn an_up_without_its_down_fails() {
    let dir = base_with(&[("000003_teams.up.sql", "CREATE TABLE teams (id int);\n")]);
    let report = check(dir.path(), &[Part::Set]);
    let f = failures(&report, Part::Set);
    assert!(
        f.iter()
            .any(|f| f.message.contains("has no matching down migration")),
        "{report}"
    );
}

#[test]
fn a_missing_fixture_fails_with_the_path_to_create() {
    let dir = base_with(&[
        ("000003_teams.up.sql", "CREATE TABLE teams (id int);\n"),
        ("000003_teams.down.sql", "DROP TABLE teams;\n"),
    ]);
    let report = check(dir.path(), &[Part::Set]);
    let f = failures(&report, Part::Set);
    assert_eq!(f.len(), 1, "{report}");
    assert_eq!(f[0].rule.as_deref(), Some("missing-fixture"));
    assert!(
        f[0].location
            .as_ref()
            .unwrap()
            .path
            .ends_with("fixtures/000003_teams.sql"),
        "{report}"
    );
}

#[test]
fn an_empty_fixture_needs_a_comment_saying_why() {
    let template = "-- Test data inserted right after 000003_view (tests and `cargo xtask check`).\n-- If this migration needs no data, say why here.\n";
    let files = |fixture: &'static str| {
        base_with(&[
            ("000003_view.up.sql", "CREATE VIEW v AS SELECT 1 AS one;\n"),
            ("000003_view.down.sql", "DROP VIEW v;\n"),
            ("fixtures/000003_view.sql", fixture),
        ])
    };
    let dir = files(template);
    let report = check(dir.path(), &[Part::Set]);
    let f = failures(&report, Part::Set);
    assert_eq!(f.len(), 1, "{report}");
    assert_eq!(f[0].rule.as_deref(), Some("empty-fixture"));

    let dir = files("-- Intentionally empty: a view has no rows of its own.\n");
    let report = check(dir.path(), &[Part::Set]);
    assert!(report.passed(), "{report}");
}

#[test]
fn a_layout_without_downs_or_fixtures_says_what_it_cannot_check() {
    let dir = folder(&[("V1__users.sql", "CREATE TABLE users (id int);\n")]);
    let report = check(dir.path(), &[]);
    let text = report.to_string();
    assert!(report.passed(), "not asked explicitly: {text}");
    for part in [Part::Reversibility, Part::Fixtures, Part::Drift] {
        assert!(
            matches!(report.part(part).unwrap().status, Status::NotAvailable(_)),
            "{text}"
        );
    }
    assert!(
        text.contains("the refinery layout has no down migrations"),
        "{text}"
    );
    let report = check(dir.path(), &[Part::Reversibility]);
    assert!(!report.passed(), "asked explicitly: {report}");
}

#[test]
fn transaction_control_in_a_migration_fails_with_file_and_line() {
    let dir = base_with(&[
        (
            "000003_teams.up.sql",
            "BEGIN;\nCREATE TABLE teams (id int);\nCOMMIT;\n",
        ),
        ("000003_teams.down.sql", "DROP TABLE teams;\n"),
        (
            "fixtures/000003_teams.sql",
            "INSERT INTO teams VALUES (1);\n",
        ),
    ]);
    let report = check(dir.path(), &[Part::Set]);
    let text = report.to_string();
    let f = failures(&report, Part::Set);
    let at = |kw: &str, line: usize| {
        f.iter().any(|f| {
            f.message.starts_with(&format!("`{kw}` at top level"))
                && f.message.contains("`-- no-transaction`")
                && f.location.as_ref().is_some_and(|l| {
                    l.path.ends_with("000003_teams.up.sql") && l.line == Some(line)
                })
        })
    };
    assert!(at("BEGIN", 1) && at("COMMIT", 3), "{text}");
    assert!(text.contains("000003_teams.up.sql:3"), "{text}");
}

#[test]
fn files_the_layouts_tool_ignores_are_shown_as_warnings() {
    let dir = folder(&[
        (
            "2024-01-31-120000_users/up.sql",
            "CREATE TABLE users (id int);\n",
        ),
        ("2024-01-31-120000_users/down.sql", "DROP TABLE users;\n"),
        ("backfill.sql", "UPDATE users SET id = id;\n"),
    ]);
    let report = check(dir.path(), &[Part::Set]);
    let text = report.to_string();
    assert!(report.passed(), "{text}");
    let notes = &report.part(Part::Set).unwrap().notes;
    assert!(
        notes.iter().any(|n| n
            .message
            .starts_with("warning: ignored, as diesel ignores it")
            && n.location
                .as_ref()
                .is_some_and(|l| l.path.ends_with("backfill.sql"))),
        "{text}"
    );
}
