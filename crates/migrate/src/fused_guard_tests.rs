//! A migration whose fixture travels in the same message ([`crate::refinery_bridge::Bridge::with_fixture`])
//! and that ends the runner's transaction, on a real server. Only scripts free of transaction
//! control travel so, so validation is bypassed here: what the run then reports must still be
//! true.

use crate::{Error, MigrationSet, Migrator};

/// Migrations `t1`, `t2` with fixtures; migration 2's up replaced by `up2` and marked as
/// shareable anyway, its fixture by `fixture2`. Applies 1, then 2 with `apply_next` and
/// fixtures: the error, the history and the tables after it.
fn run(up2: &str, fixture2: &str) -> (Error, Vec<i64>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("fixtures")).unwrap();
    for i in 1..=2 {
        let path = |kind: &str| dir.path().join(format!("{i:06}_m{i}.{kind}.sql"));
        std::fs::write(path("up"), format!("CREATE TABLE t{i} (id int);\n")).unwrap();
        std::fs::write(path("down"), format!("DROP TABLE t{i};\n")).unwrap();
        std::fs::write(
            dir.path().join(format!("fixtures/{i:06}_m{i}.sql")),
            format!("INSERT INTO t{i} VALUES (1);\n"),
        )
        .unwrap();
    }
    let mut set = MigrationSet::discover(dir.path()).unwrap();
    set.migrations[1].up.sql = up2.into();
    set.migrations[1].up.shareable_checksum = Some(set.migrations[1].checksum());
    set.migrations[1].fixture.as_mut().unwrap().sql = fixture2.into();
    let db = crate::test_db::fresh();
    let mut c = db.connect().unwrap();
    let migrator = Migrator::new(&set).with_fixtures(true);
    migrator.apply_next(&mut c, &set.migrations[0]).unwrap();
    let err = migrator.apply_next(&mut c, &set.migrations[1]).unwrap_err();
    let history = c
        .query(
            "SELECT version::int8 FROM refinery_schema_history ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let tables = crate::test_db::tables(&mut c);
    (err, history, tables)
}

#[test]
fn an_up_that_commits_before_its_fixture_is_caught_and_its_row_not_written() {
    let (err, history, tables) = run(
        "CREATE TABLE t2 (id int);\nCOMMIT;\n",
        "INSERT INTO t2 VALUES (1);\n",
    );
    let text = err.to_string();
    let Error::TransactionEnded { at, outcome, .. } = err else {
        panic!("expected the guard to fire, got: {text}")
    };
    assert!(at.ends_with("000002_m2.up.sql:2"), "{text}");
    assert!(
        outcome.contains("It COMMITTED the runner's transaction"),
        "{text}"
    );
    assert!(
        outcome.contains("ran after it outside the runner's transaction"),
        "{text}"
    );
    assert!(outcome.contains("2 is not recorded"), "{text}");
    // The history insert waits for the guard's verdict: it never ran.
    assert_eq!(history, [1]);
    assert_eq!(tables, ["refinery_schema_history", "t1", "t2"]);
}

#[test]
fn an_up_that_commits_and_a_fixture_that_then_fails_are_reported_truthfully() {
    let (err, history, tables) = run(
        "CREATE TABLE t2 (id int);\nCOMMIT;\n",
        "INSERT INTO t2 VALUES ('not a number');\n",
    );
    let text = err.to_string();
    let Error::TransactionEndedInMessage {
        versions, outcome, ..
    } = err
    else {
        panic!("expected the guard to fire, got: {text}")
    };
    assert_eq!(versions, [2], "{text}");
    assert!(text.contains("had ended before the failure"), "{text}");
    assert!(
        outcome.contains("the history table now records no migration as applied"),
        "{text}"
    );
    assert_eq!(history, [1]);
    // What the COMMIT committed stays; the fixture's failed insert does not.
    assert_eq!(tables, ["refinery_schema_history", "t1", "t2"]);
}
