//! `apply_next` and `revert_next`, the reversibility walk's calls: the same history rows,
//! error locations and guard as `up` and `down`, in fewer round trips (the transaction opened
//! with the first message and committed with the history row, the fixture sent with its up).

mod common;

use common::*;
use migrate::{DownTarget, Error, MigrationSet, Migrator};

/// Three migrations `a`, `b`, `c` (tables), `a` and `b` with fixtures; `fixture_b` replaces
/// b's fixture text in the files.
fn abc(fixture_b: &str) -> tempfile::TempDir {
    folder(&[
        ("000001_a.up.sql", "CREATE TABLE a (id int PRIMARY KEY);\n"),
        ("000001_a.down.sql", "DROP TABLE a;\n"),
        (
            "000002_b.up.sql",
            "CREATE TABLE b (\n    id int PRIMARY KEY,\n    a_id int REFERENCES a\n);\n",
        ),
        ("000002_b.down.sql", "DROP TABLE b;\n"),
        ("000003_c.up.sql", "CREATE TABLE c (id int);\n"),
        ("000003_c.down.sql", "DROP TABLE c;\n"),
        ("fixtures/000001_a.sql", "INSERT INTO a VALUES (1), (2);\n"),
        ("fixtures/000002_b.sql", fixture_b),
    ])
}

/// [`abc`]'s folder, its set, and a fresh database with a connection to it.
fn abc_on_fresh_db(
    fixture_b: &str,
) -> (
    tempfile::TempDir,
    MigrationSet,
    pgcluster::TestDatabase,
    postgres::Client,
) {
    let dir = abc(fixture_b);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let c = db.connect().unwrap();
    (dir, set, db, c)
}

/// The run-time guard's report that a script at `at` (`file:line`) committed the runner's
/// transaction: the error's text and the report's outcome.
fn committed_at(err: Error, at: &str) -> (String, String) {
    let text = err.to_string();
    let Error::TransactionEnded {
        at: found, outcome, ..
    } = err
    else {
        panic!("expected the guard to fire, got: {text}")
    };
    assert!(found.ends_with(at), "{text}");
    assert!(
        outcome.contains("It COMMITTED the runner's transaction"),
        "{text}"
    );
    (text, outcome)
}

/// `a` then `b` through `apply_next` with fixtures, `b` failing: its error.
fn b_fails_with_fixtures(set: &MigrationSet, c: &mut postgres::Client) -> Error {
    let with_fixtures = Migrator::new(set).with_fixtures(true);
    with_fixtures.apply_next(c, &set.migrations[0]).unwrap();
    with_fixtures.apply_next(c, &set.migrations[1]).unwrap_err()
}

/// The history rows without their time (`applied_on` is when the row was written).
fn rows(c: &mut postgres::Client) -> Vec<(i64, String, String)> {
    c.query(
        "SELECT version::int8, name, checksum FROM refinery_schema_history ORDER BY version",
        &[],
    )
    .unwrap()
    .into_iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

fn count(c: &mut postgres::Client, table: &str) -> i64 {
    c.query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0)
}

#[test]
fn apply_next_and_revert_next_write_the_rows_up_and_down_write() {
    let (_dir, set, _db, mut c) = abc_on_fresh_db("INSERT INTO b VALUES (1, 1);\n");
    let plain = Migrator::new(&set);
    let with_fixtures = Migrator::new(&set).with_fixtures(true);
    // The first migration creates the history table; the rest find it.
    with_fixtures
        .apply_next(&mut c, &set.migrations[0])
        .unwrap();
    let applied = plain.apply_next(&mut c, &set.migrations[1]).unwrap();
    assert_eq!(applied.len(), 1);
    assert_eq!((applied[0].version, applied[0].batch), (2, 1));
    let reverted = plain.revert_next(&mut c, &set.migrations[1]).unwrap();
    assert_eq!(reverted.len(), 1);
    assert!(reverted[0].path.ends_with("000002_b.down.sql"));
    assert_eq!(history(&mut c), [1]);
    assert_eq!(tables(&mut c), ["a", "refinery_schema_history"]);
    with_fixtures
        .apply_next(&mut c, &set.migrations[1])
        .unwrap();
    with_fixtures
        .apply_next(&mut c, &set.migrations[2])
        .unwrap();
    assert_eq!((count(&mut c, "a"), count(&mut c, "b")), (2, 1));
    let scratch_rows = rows(&mut c);

    // The same rows as `up` writes.
    let other = fresh_db();
    let mut o = other.connect().unwrap();
    Migrator::new(&set).with_fixtures(true).up(&mut o).unwrap();
    assert_eq!(scratch_rows, rows(&mut o));
    assert_eq!(scratch_rows.len(), 3);

    // And `down` takes them back as the walk left them.
    Migrator::new(&set).down(&mut c, DownTarget::All).unwrap();
    assert_eq!(tables(&mut c), ["refinery_schema_history"]);
    assert!(history(&mut c).is_empty());
}

#[test]
fn a_failing_fixture_is_named_with_its_line_and_nothing_stays() {
    // Line 2 refers to a column that does not exist: the server gives a position.
    let (_dir, set, _db, mut c) = abc_on_fresh_db(
        "INSERT INTO b VALUES (1, 1);\nINSERT INTO b (id, nosuch) VALUES (2, 2);\n",
    );
    let err = b_fails_with_fixtures(&set, &mut c);
    let (version, f, outcome) = located(&err);
    assert_eq!(version, 2, "{err}");
    assert!(f.path.ends_with("fixtures/000002_b.sql"), "{err}");
    assert_eq!(f.code, "42703", "{err}");
    assert_eq!(f.line, Some(2), "{err}");
    assert!(outcome.contains("rolled back"), "{err}");
    // The up and its history row were rolled back with the fixture.
    assert_eq!(history(&mut c), [1]);
    assert_eq!(tables(&mut c), ["a", "refinery_schema_history"]);
}

#[test]
fn a_fixture_error_without_a_position_still_names_the_fixture() {
    // A foreign key violation carries no position: the message carrying the up and the
    // fixture is run again with them apart, which tells which one failed.
    let (_dir, set, _db, mut c) =
        abc_on_fresh_db("INSERT INTO b VALUES (1, 1);\nINSERT INTO b VALUES (2, 99);\n");
    let err = b_fails_with_fixtures(&set, &mut c);
    let (version, f, _) = located(&err);
    assert_eq!(version, 2, "{err}");
    assert!(f.path.ends_with("fixtures/000002_b.sql"), "{err}");
    assert_eq!(f.code, "23503", "{err}");
    assert_eq!(f.constraint.as_deref(), Some("b_a_id_fkey"), "{err}");
    assert_eq!(history(&mut c), [1]);
    assert_eq!(tables(&mut c), ["a", "refinery_schema_history"]);
}

#[test]
fn a_failing_up_with_a_fixture_names_the_up_and_its_line() {
    let (_dir, mut set, _db, mut c) = abc_on_fresh_db("INSERT INTO b VALUES (1, 1);\n");
    set.migrations[1].up.sql =
        "CREATE TABLE b (\n    id int PRIMARY KEY,\n    a_id nosuchtype\n);\n".into();
    let err = b_fails_with_fixtures(&set, &mut c);
    let (version, f, _) = located(&err);
    assert_eq!(version, 2, "{err}");
    assert!(f.path.ends_with("000002_b.up.sql"), "{err}");
    assert_eq!(f.code, "42704", "{err}");
    assert_eq!((f.line, f.column), (Some(3), Some(10)), "{err}");
    assert_eq!(history(&mut c), [1]);
}

#[test]
fn a_failing_down_is_named_with_its_line_and_stays_applied() {
    let (_dir, mut set, _db, mut c) = abc_on_fresh_db("INSERT INTO b VALUES (1, 1);\n");
    Migrator::new(&set)
        .apply_next(&mut c, &set.migrations[0])
        .unwrap();
    Migrator::new(&set)
        .apply_next(&mut c, &set.migrations[1])
        .unwrap();
    set.migrations[1].down.as_mut().unwrap().sql =
        "DROP TABLE b;\nALTER TABLE a DROP COLUMN nosuch;\n".into();
    let err = Migrator::new(&set)
        .revert_next(&mut c, &set.migrations[1])
        .unwrap_err();
    let (version, f, outcome) = located(&err);
    assert_eq!(version, 2, "{err}");
    assert!(f.path.ends_with("000002_b.down.sql"), "{err}");
    assert_eq!(f.code, "42703", "{err}");
    assert!(
        outcome.contains("no migration of this run was reverted"),
        "{err}"
    );
    // Nothing of the down stayed: b exists, 2 is still recorded, and the connection is usable.
    assert_eq!(history(&mut c), [1, 2]);
    assert_eq!(tables(&mut c), ["a", "b", "refinery_schema_history"]);
}

#[test]
fn a_failing_down_with_a_position_is_located_on_its_line() {
    let (_dir, mut set, _db, mut c) = abc_on_fresh_db("INSERT INTO b VALUES (1, 1);\n");
    Migrator::new(&set)
        .apply_next(&mut c, &set.migrations[0])
        .unwrap();
    set.migrations[0].down.as_mut().unwrap().sql = "SELECT 1;\nSELECT nosuch FROM a;\n".into();
    let err = Migrator::new(&set)
        .revert_next(&mut c, &set.migrations[0])
        .unwrap_err();
    let (_, f, _) = located(&err);
    assert!(f.path.ends_with("000001_a.down.sql"), "{err}");
    assert_eq!((f.line, f.column), (Some(2), Some(8)), "{err}");
    assert_eq!(history(&mut c), [1]);
}

#[test]
fn a_down_that_commits_is_caught_by_revert_next() {
    let (_dir, mut set, _db, mut c) = abc_on_fresh_db("INSERT INTO b VALUES (1, 1);\n");
    Migrator::new(&set)
        .apply_next(&mut c, &set.migrations[0])
        .unwrap();
    Migrator::new(&set)
        .apply_next(&mut c, &set.migrations[1])
        .unwrap();
    // Validation refuses this; the guard must catch it all the same.
    set.migrations[1].down.as_mut().unwrap().sql = "DROP TABLE b;\nCOMMIT;\n".into();
    let err = Migrator::new(&set)
        .revert_next(&mut c, &set.migrations[1])
        .unwrap_err();
    let (text, outcome) = committed_at(err, "000002_b.down.sql:2");
    // The history row was not removed: the DELETE waits for the guard's verdict.
    assert!(
        outcome.contains("the history table now records as applied: 2; as reverted: none"),
        "{text}"
    );
    assert_eq!(history(&mut c), [1, 2]);
    assert_eq!(tables(&mut c), ["a", "refinery_schema_history"]);
}

#[test]
fn a_fixture_that_commits_is_caught_by_apply_next() {
    let (_dir, mut set, _db, mut c) = abc_on_fresh_db("INSERT INTO b VALUES (1, 1);\n");
    set.migrations[1].fixture.as_mut().unwrap().sql =
        "INSERT INTO b VALUES (1, 1);\nCOMMIT;\n".into();
    let err = b_fails_with_fixtures(&set, &mut c);
    let (text, outcome) = committed_at(err, "fixtures/000002_b.sql:2");
    assert!(
        outcome.contains("Of this run, the history table now records 2 as applied."),
        "{text}"
    );
    assert_eq!(history(&mut c), [1, 2]);
}

#[test]
fn one_pending_migration_in_the_default_mode_is_applied_and_reported_as_before() {
    // `up` with one pending migration takes the in-band transaction too.
    let (_dir, mut set, _db, mut c) = abc_on_fresh_db("INSERT INTO b VALUES (1, 1);\n");
    Migrator::new(&set).up_to(&mut c, 2).unwrap();
    set.migrations[2].up.sql = "CREATE TABLE c (id int);\nSELECT * FROM nosuch;\n".into();
    let err = Migrator::new(&set).up(&mut c).unwrap_err();
    let (version, f, outcome) = located(&err);
    assert_eq!(version, 3, "{err}");
    assert!(f.path.ends_with("000003_c.up.sql"), "{err}");
    assert_eq!((f.line, f.column), (Some(2), Some(15)), "{err}");
    assert!(
        outcome.contains("none of the 1 migration(s) it held are applied"),
        "{err}"
    );
    assert_eq!(history(&mut c), [1, 2]);
    assert_eq!(tables(&mut c), ["a", "b", "refinery_schema_history"]);
}

#[test]
fn a_migrator_that_ran_down_applies_next_without_the_released_lease() {
    // `down` takes and releases the lease; the same migrator's `apply_next` must not check
    // the lease it no longer holds.
    let (_dir, set, _db, mut c) = abc_on_fresh_db("INSERT INTO b VALUES (1, 1);\n");
    let m = Migrator::new(&set);
    m.up(&mut c).unwrap();
    m.down(&mut c, DownTarget::Newest).unwrap();
    m.apply_next(&mut c, &set.migrations[2]).unwrap();
    m.revert_next(&mut c, &set.migrations[2]).unwrap();
    m.up(&mut c).unwrap();
    assert_eq!(history(&mut c), [1, 2, 3]);
}

#[test]
fn a_down_refused_at_commit_reverts_nothing_and_says_so() {
    // A deferred foreign key is checked at COMMIT, which travels with the history DELETE.
    let dir = folder(&[
        (
            "000001_p.up.sql",
            "CREATE TABLE p (id int PRIMARY KEY);\nCREATE TABLE ch (p_id int REFERENCES p DEFERRABLE INITIALLY DEFERRED);\nINSERT INTO p VALUES (1);\nINSERT INTO ch VALUES (1);\n",
        ),
        ("000001_p.down.sql", "DROP TABLE ch;\nDROP TABLE p;\n"),
        ("000002_q.up.sql", "SELECT 1;\n"),
        ("000002_q.down.sql", "DELETE FROM p;\n"),
    ]);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    Migrator::new(&set).up(&mut c).unwrap();
    let err = Migrator::new(&set)
        .revert_next(&mut c, &set.migrations[1])
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Db { .. }), "{text}");
    assert!(
        text.contains("cannot remove migration 2 from history and commit the reverts; the transaction was rolled back: none of the 1 migration(s) it held is reverted."),
        "{text}"
    );
    assert_eq!(history(&mut c), [1, 2]);
    assert_eq!(count(&mut c, "p"), 1);
}

#[test]
fn a_fixture_refused_at_commit_applies_nothing_and_says_so() {
    // A deferred foreign key is checked at COMMIT, which travels with the history row.
    let dir = folder(&[
        (
            "000001_p.up.sql",
            "CREATE TABLE p (id int PRIMARY KEY);\nCREATE TABLE ch (p_id int REFERENCES p DEFERRABLE INITIALLY DEFERRED);\n",
        ),
        ("000001_p.down.sql", "DROP TABLE ch;\nDROP TABLE p;\n"),
        ("fixtures/000001_p.sql", "INSERT INTO ch VALUES (7);\n"),
    ]);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let err = Migrator::new(&set)
        .with_fixtures(true)
        .apply_next(&mut c, &set.migrations[0])
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Db { .. }), "{text}");
    assert!(
        text.starts_with("migration 1_p is not applied: recording it and committing its transaction (its fixture ran in it) failed, and the transaction was rolled back: ERROR 23503"),
        "{text}"
    );
    assert!(text.contains("violates foreign key constraint"), "{text}");
    assert!(history(&mut c).is_empty());
    assert_eq!(tables(&mut c), ["refinery_schema_history"]);
}

#[test]
fn a_fixture_that_does_not_tokenize_is_named_with_its_line() {
    // No transaction-control word, so it travels with its up without being tokenized; its
    // unterminated string swallows the rest of the message, which fails and runs again apart.
    let (_dir, set, _db, mut c) =
        abc_on_fresh_db("INSERT INTO b VALUES (1, 1);\nSELECT 'unterminated;\n");
    let err = b_fails_with_fixtures(&set, &mut c);
    let (version, f, _) = located(&err);
    assert_eq!(version, 2, "{err}");
    assert!(f.path.ends_with("fixtures/000002_b.sql"), "{err}");
    assert_eq!((f.code.as_str(), f.line), ("42601", Some(2)), "{err}");
    assert_eq!(history(&mut c), [1]);
    assert_eq!(tables(&mut c), ["a", "refinery_schema_history"]);
}

#[test]
fn an_up_with_a_syntax_error_and_a_fixture_is_named_with_its_line() {
    // The server refuses the whole message before running any of it, its BEGIN included.
    let (_dir, mut set, _db, mut c) = abc_on_fresh_db("INSERT INTO b VALUES (1, 1);\n");
    set.migrations[1].up.sql = "CREATE TABLE b (\n    id int PRIMARY KEY,,\n);\n".into();
    let err = b_fails_with_fixtures(&set, &mut c);
    let (version, f, outcome) = located(&err);
    assert_eq!(version, 2, "{err}");
    assert!(f.path.ends_with("000002_b.up.sql"), "{err}");
    assert_eq!((f.code.as_str(), f.line), ("42601", Some(2)), "{err}");
    assert!(outcome.contains("rolled back"), "{err}");
    assert_eq!(history(&mut c), [1]);
    assert_eq!(tables(&mut c), ["a", "refinery_schema_history"]);
}
