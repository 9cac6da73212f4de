//! The run-time guard: a migration that ends the runner's transaction itself is caught right
//! after it ran, the run stops, and the report says what the server actually committed.
//! Validation refuses such scripts before anything runs, so these tests bypass it: they
//! discover a valid folder and then put transaction control into a migration's SQL.

mod common;

use common::*;
use migrate::{Error, MigrationSet, Migrator};

/// BASIC-like: a, b, c; migration 2's SQL replaced by `sql2` after validation.
fn bypassed(sql2: &str, third: &str) -> (tempfile::TempDir, MigrationSet) {
    let dir = folder(&[
        ("000001_a.up.sql", "CREATE TABLE a (id int);\n"),
        ("000001_a.down.sql", "DROP TABLE a;\n"),
        ("000002_b.up.sql", "SELECT 1;\n"),
        ("000002_b.down.sql", "DROP TABLE b;\n"),
        ("000003_c.up.sql", third),
        ("000003_c.down.sql", "SELECT 1;\n"),
    ]);
    let mut set = MigrationSet::discover(dir.path()).unwrap();
    set.migrations[1].up.sql = sql2.to_string();
    (dir, set)
}

fn ended(err: Error) -> (String, String) {
    match err {
        Error::TransactionEnded { at, outcome, .. } => (at, outcome),
        other => panic!("expected the guard to fire, got: {other}"),
    }
}

#[test]
fn the_issues_example_stops_after_the_commit_and_says_what_is_committed() {
    let (_dir, set) = bypassed(
        "BEGIN;\nCREATE TABLE b (id int);\nCOMMIT;\n",
        "SELECT * FROM no_such_table;\n",
    );
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let err = Migrator::new(&set).up(&mut c).unwrap_err();
    let text = err.to_string();
    let (at, outcome) = ended(err);
    assert!(
        at.starts_with("`COMMIT` at ") && at.ends_with("000002_b.up.sql:3"),
        "{text}"
    );
    assert!(
        outcome.contains(
            "It COMMITTED the runner's transaction: migration(s) 1 and the statements of"
        ),
        "{text}"
    );
    assert!(
        outcome.contains(
            "the history table now records 1 as applied; 2 is not recorded. Nothing after it ran."
        ),
        "{text}"
    );
    // Exactly what the message says: a and b exist, 1 is recorded, 3 never ran.
    assert_eq!(tables(&mut c), ["a", "b", "refinery_schema_history"]);
    assert_eq!(history(&mut c), [1]);
}

#[test]
fn a_rollback_in_a_migration_is_reported_as_rolled_back() {
    let (_dir, set) = bypassed(
        "CREATE TABLE b (id int);\nROLLBACK;\nCREATE TABLE after_rollback (id int);\n",
        "CREATE TABLE c (id int);\n",
    );
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let err = Migrator::new(&set).up(&mut c).unwrap_err();
    let text = err.to_string();
    let (at, outcome) = ended(err);
    assert!(at.ends_with("000002_b.up.sql:2"), "{text}");
    assert!(
        outcome.contains(
            "It ROLLED BACK the runner's transaction: none of migration(s) 1 and the statements of"
        ),
        "{text}"
    );
    assert!(
        outcome.contains("Its 1 statement(s) after line 2 ran outside the runner's transaction, in transaction(s) of their own; the last of them was committed."),
        "{text}"
    );
    assert!(
        outcome.contains("records no migration as applied"),
        "{text}"
    );
    assert_eq!(
        tables(&mut c),
        ["after_rollback", "refinery_schema_history"]
    );
    assert!(history(&mut c).is_empty());
}

#[test]
fn per_migration_mode_keeps_the_earlier_migrations_and_says_so() {
    let (_dir, set) = bypassed(
        "CREATE TABLE b (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE b2 (id int);\n",
        "CREATE TABLE c (id int);\n",
    );
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let err = Migrator::new(&set)
        .single_transaction(false)
        .up(&mut c)
        .unwrap_err();
    let text = err.to_string();
    let (_, outcome) = ended(err);
    assert!(
        outcome.contains("It COMMITTED the runner's transaction: the statements of"),
        "{text}"
    );
    assert!(
        outcome.contains("Its 2 statement(s) after line 2 ran outside the runner's transaction, in transaction(s) of their own; the last of them was rolled back."),
        "{text}"
    );
    assert!(
        outcome.contains("records 1 as applied; 2 is not recorded"),
        "{text}"
    );
    assert_eq!(tables(&mut c), ["a", "b", "refinery_schema_history"]);
    assert_eq!(history(&mut c), [1]);
}

#[test]
fn a_procedure_that_commits_is_refused_by_the_server_and_rolls_back() {
    // No transaction control in the file itself: CALL of a procedure that COMMITs fails
    // inside a transaction block, so the server refuses it and the run rolls back normally.
    let (_dir, set) = bypassed(
        "CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;\nCALL p();\n",
        "CREATE TABLE c (id int);\n",
    );
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let err = Migrator::new(&set).up(&mut c).unwrap_err();
    assert!(
        matches!(err, Error::MigrationFailed { version: 2, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("none of the 3 migration(s)"),
        "{err}"
    );
    assert!(history(&mut c).is_empty());
    assert_eq!(tables(&mut c), ["refinery_schema_history"]);
}

fn abc() -> tempfile::TempDir {
    folder(&[
        ("000001_a.up.sql", "CREATE TABLE a (id int);\n"),
        ("000001_a.down.sql", "DROP TABLE a;\n"),
        ("000002_b.up.sql", "CREATE TABLE b (id int);\n"),
        ("000002_b.down.sql", "DROP TABLE b;\n"),
        ("000003_c.up.sql", "CREATE TABLE c (id int);\n"),
        ("000003_c.down.sql", "DROP TABLE c;\n"),
        ("fixtures/000001_a.sql", "INSERT INTO a VALUES (1);\n"),
    ])
}

#[test]
fn a_down_that_commits_stops_the_revert_and_says_what_is_reverted() {
    let dir = abc();
    let mut set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    Migrator::new(&set).up(&mut c).unwrap();
    set.migrations[1].down.as_mut().unwrap().sql = "DROP TABLE b;\nCOMMIT;\n".into();
    let err = Migrator::new(&set)
        .down(&mut c, migrate::DownTarget::All)
        .unwrap_err();
    let text = err.to_string();
    let (at, outcome) = ended(err);
    assert!(at.ends_with("000002_b.down.sql:2"), "{text}");
    assert!(
        outcome.contains("It COMMITTED the runner's transaction: the reverts (down script and removal of the history row) of 3 and the statements of"),
        "{text}"
    );
    assert!(
        outcome.contains(
            "the history table now records as applied: 2, 1; as reverted: 3. Nothing after it ran."
        ),
        "{text}"
    );
    assert_eq!(tables(&mut c), ["a", "refinery_schema_history"]);
    assert_eq!(history(&mut c), [1, 2]);
}

#[test]
fn a_fixture_that_commits_is_caught_too() {
    let dir = abc();
    let mut set = MigrationSet::discover(dir.path()).unwrap();
    set.migrations[0].fixture.as_mut().unwrap().sql = "INSERT INTO a VALUES (1);\nCOMMIT;\n".into();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let err = Migrator::new(&set)
        .with_fixtures(true)
        .up(&mut c)
        .unwrap_err();
    let text = err.to_string();
    let (at, outcome) = ended(err);
    assert!(at.ends_with("fixtures/000001_a.sql:2"), "{text}");
    assert!(
        outcome.contains(
            "It COMMITTED the runner's transaction: migration(s) 1 and the statements of"
        ),
        "{text}"
    );
    assert!(
        outcome.contains("the history table now records 1 as applied. Nothing after it ran."),
        "{text}"
    );
    assert_eq!(tables(&mut c), ["a", "refinery_schema_history"]);
    assert_eq!(history(&mut c), [1]);
}
