//! Every validation problem is reported with its path before anything runs.

mod common;

use common::*;
use migrate::{Error, MigrationSet};

fn problems(files: &[(&str, &str)]) -> Vec<String> {
    let dir = folder(files);
    match MigrationSet::discover(dir.path()) {
        Err(Error::Invalid { problems, .. }) => problems
            .iter()
            .map(|p| {
                format!(
                    "{}: {}",
                    p.path.strip_prefix(dir.path()).unwrap().display(),
                    p.message
                )
            })
            .collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn duplicate_versions_name_both_files() {
    let p = problems(&[
        ("000001_a.up.sql", "SELECT 1;"),
        ("000001_a.down.sql", "SELECT 1;"),
        ("000002_b.up.sql", "SELECT 1;"),
        ("000002_b.down.sql", "SELECT 1;"),
        ("000002_c.up.sql", "SELECT 1;"),
        ("000002_c.down.sql", "SELECT 1;"),
    ]);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(
        p[0].starts_with("000002_b.up.sql: duplicate version 2"),
        "{p:#?}"
    );
    assert!(p[0].contains("000002_c.up.sql"), "{p:#?}");
    assert!(
        p[1].starts_with("000002_c.up.sql: duplicate version 2"),
        "{p:#?}"
    );
}

#[test]
fn an_up_without_its_down_and_a_down_without_its_up() {
    let p = problems(&[
        ("000001_a.up.sql", "SELECT 1;"),
        ("000002_b.down.sql", "SELECT 1;"),
    ]);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(p[0].starts_with("000001_a.up.sql: has no matching down migration: create "));
    assert!(p[0].ends_with("000001_a.down.sql"), "{p:#?}");
    assert!(p[1].starts_with("000002_b.down.sql: has no matching up migration"));
}

#[test]
fn unparsable_names_are_errors_not_skipped() {
    let p = problems(&[
        ("000001_a.up.sql", "SELECT 1;"),
        ("000001_a.down.sql", "SELECT 1;"),
        ("add_users.up.sql", "SELECT 1;"),
        ("000002_b.sql", "SELECT 1;"),
        ("0003_.up.sql", "SELECT 1;"),
        ("misc/notes.sql", "SELECT 1;"),
        ("fixtures/users.sql", "SELECT 1;"),
    ]);
    assert_eq!(p.len(), 5, "{p:#?}");
    assert!(
        p.iter()
            .any(|l| l.starts_with("add_users.up.sql: unparsable migration name"))
    );
    assert!(
        p.iter()
            .any(|l| l.starts_with("000002_b.sql: not a migration name"))
    );
    assert!(
        p.iter()
            .any(|l| l.starts_with("0003_.up.sql: unparsable migration name"))
    );
    assert!(
        p.iter()
            .any(|l| l.starts_with("misc/notes.sql: SQL file outside the layout"))
    );
    assert!(
        p.iter()
            .any(|l| l.starts_with("fixtures/users.sql: fixture name must be"))
    );
}

#[test]
fn gaps_in_sequence_numbers() {
    let p = problems(&[
        ("000001_a.up.sql", "SELECT 1;"),
        ("000001_a.down.sql", "SELECT 1;"),
        ("000004_b.up.sql", "SELECT 1;"),
        ("000004_b.down.sql", "SELECT 1;"),
    ]);
    assert_eq!(
        p,
        [
            "000004_b.up.sql: gap in versions: 4 follows 1 (missing 2..=3); versions must be contiguous, renumber it to 2"
        ]
    );
}

#[test]
fn timestamps_may_have_gaps() {
    let dir = folder(&[
        ("20240101120000_a.up.sql", "SELECT 1;"),
        ("20240101120000_a.down.sql", "SELECT 1;"),
        ("20240301120000_b.up.sql", "SELECT 1;"),
        ("20240301120000_b.down.sql", "SELECT 1;"),
    ]);
    assert_eq!(
        MigrationSet::discover(dir.path()).unwrap().migrations.len(),
        2
    );
}

#[test]
fn orphan_fixture_and_non_utf8_file() {
    let dir = folder(&[
        ("000001_a.up.sql", "SELECT 1;"),
        ("fixtures/000002_b.sql", "SELECT 1;"),
    ]);
    std::fs::write(dir.path().join("000001_a.down.sql"), b"SELECT '\xff';").unwrap();
    let err = MigrationSet::discover(dir.path()).unwrap_err().to_string();
    assert!(err.contains("000001_a.down.sql: not valid UTF-8"), "{err}");
    assert!(
        err.contains("fixture for a migration that does not exist (2_b)"),
        "{err}"
    );
    assert!(err.contains("nothing was applied"), "{err}");
}

#[test]
fn mixed_layouts_are_refused() {
    let p = problems(&[
        ("000001_a.up.sql", "SELECT 1;"),
        ("000001_a.down.sql", "SELECT 1;"),
        ("V2__b.sql", "SELECT 1;"),
    ]);
    assert_eq!(p.len(), 1);
    assert!(
        p[0].contains("files of several layouts found (paired, refinery)"),
        "{p:?}"
    );
}

#[test]
fn diesel_folder_without_down() {
    let p = problems(&[
        ("2024-01-01-000000_a/up.sql", "SELECT 1;"),
        ("2024-01-02-000000_b/up.sql", "SELECT 1;"),
        ("2024-01-02-000000_b/down.sql", "SELECT 1;"),
        (
            "2024-01-02-000000_b/metadata.toml",
            "run_in_transaction = \"no\"\n",
        ),
    ]);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(p[0].starts_with("2024-01-01-000000_a: has no down.sql"));
    assert!(p[1].contains("metadata.toml: run_in_transaction must be true or false"));
}

#[test]
fn an_empty_folder_is_an_empty_set() {
    let dir = folder(&[]);
    assert!(
        MigrationSet::discover(dir.path())
            .unwrap()
            .migrations
            .is_empty()
    );
}

#[test]
fn a_missing_folder_names_itself() {
    let err = MigrationSet::discover(std::path::Path::new("/nonexistent/migrations")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/migrations"), "{err}");
}

/// The example: a migration with its own BEGIN/COMMIT between two others.
pub const OWN_TRANSACTION: &[(&str, &str)] = &[
    ("000001_a.up.sql", "CREATE TABLE a (id int);\n"),
    ("000001_a.down.sql", "DROP TABLE a;\n"),
    (
        "000002_b.up.sql",
        "BEGIN;\nCREATE TABLE b (id int);\nCOMMIT;\n",
    ),
    ("000002_b.down.sql", "DROP TABLE b;\n"),
    ("000003_fails.up.sql", "SELECT * FROM no_such_table;\n"),
    ("000003_fails.down.sql", "SELECT 1;\n"),
];

#[test]
fn transaction_control_in_a_transactional_migration_is_refused_before_anything_runs() {
    let p = problems(OWN_TRANSACTION);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(
        p[0].starts_with("000002_b.up.sql: `BEGIN` at top level"),
        "{p:#?}"
    );
    assert!(
        p[1].starts_with("000002_b.up.sql: `COMMIT` at top level"),
        "{p:#?}"
    );
    assert!(
        p[0].contains("remove it (the runner owns the transaction)"),
        "{p:#?}"
    );
    assert!(
        p[0].contains("`-- no-transaction` as its first line"),
        "{p:#?}"
    );
    // The line is part of the problem and of its display.
    let dir = folder(OWN_TRANSACTION);
    let err = MigrationSet::discover(dir.path()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("000002_b.up.sql:1: `BEGIN`"), "{text}");
    assert!(text.contains("000002_b.up.sql:3: `COMMIT`"), "{text}");
    assert!(text.contains("nothing was applied"), "{text}");
}

#[test]
fn transaction_control_is_fine_outside_a_transaction_and_inside_bodies() {
    let dir = folder(&[
        (
            "000001_a.up.sql",
            "-- no-transaction\nBEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n",
        ),
        ("000001_a.down.sql", "DROP TABLE a;\n"),
        (
            "000002_f.up.sql",
            "DO $$ BEGIN PERFORM 1; END $$;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\nCREATE PROCEDURE p() LANGUAGE plpgsql AS $p$ BEGIN COMMIT; END $p$;\n",
        ),
        (
            "000002_f.down.sql",
            "DROP FUNCTION f(); DROP PROCEDURE p();\n",
        ),
    ]);
    MigrationSet::discover(dir.path()).unwrap();
}

#[test]
fn transaction_control_in_downs_fixtures_and_diesel_folders() {
    let p = problems(&[
        ("000001_a.up.sql", "CREATE TABLE a (id int);\n"),
        ("000001_a.down.sql", "DROP TABLE a;\nCOMMIT;\n"),
        (
            "fixtures/000001_a.sql",
            "INSERT INTO a VALUES (1);\nSAVEPOINT s;\n",
        ),
    ]);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(p[0].starts_with("000001_a.down.sql: `COMMIT`"), "{p:#?}");
    assert!(
        p[1].starts_with("fixtures/000001_a.sql: `SAVEPOINT`"),
        "{p:#?}"
    );
    assert!(
        p[1].contains("a fixture runs in its migration's transaction"),
        "{p:#?}"
    );

    let p = problems(&[
        (
            "2024-01-01-000000_a/up.sql",
            "START TRANSACTION;\nCREATE TABLE a (id int);\nEND;\n",
        ),
        ("2024-01-01-000000_a/down.sql", "DROP TABLE a;\n"),
    ]);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(p[0].contains("`START TRANSACTION`"), "{p:#?}");
    assert!(p[1].contains("`END`"), "{p:#?}");
    assert!(p[0].contains("run_in_transaction = false"), "{p:#?}");
}
