//! A message of several migrations that ends the runner's transaction, on a real server.
//! Validation makes this all but impossible (a script with top-level transaction control
//! travels alone), so it is bypassed here: what the run then reports must still be true.

use crate::{Error, MigrationSet, Migrator};

/// Four migrations `t1`..`t4`, migration 2's up replaced by `second` and marked as able to
/// share a message anyway; the error of `up` on a fresh database, and the tables after it.
fn run(second: &str) -> (Error, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    for i in 1..=4 {
        let path = |kind: &str| dir.path().join(format!("{i:06}_m{i}.{kind}.sql"));
        std::fs::write(path("up"), format!("CREATE TABLE t{i} (id int);\n")).unwrap();
        std::fs::write(path("down"), format!("DROP TABLE t{i};\n")).unwrap();
    }
    let mut set = MigrationSet::discover(dir.path()).unwrap();
    set.migrations[1].up.sql = second.into();
    set.migrations[1].up.shareable_checksum = Some(set.migrations[1].checksum());
    let db = crate::test_db::fresh();
    let mut c = db.connect().unwrap();
    let err = Migrator::new(&set).up(&mut c).unwrap_err();
    let tables = crate::test_db::tables(&mut c);
    (err, tables)
}

fn outcome(err: &Error) -> &str {
    let Error::TransactionEndedInMessage {
        versions, outcome, ..
    } = err
    else {
        panic!("expected the message's guard to fire, got: {err}")
    };
    assert_eq!(versions, &[1, 2, 3, 4], "{err}");
    assert!(
        err.to_string()
            .starts_with("one of migrations 1, 2, 3, 4, sent in one message"),
        "{err}"
    );
    outcome
}

#[test]
fn a_message_that_ends_the_transaction_is_reported_with_its_migrations() {
    // The COMMIT commits 1 and 2; the rest of the message (3, 4, the history rows) runs in
    // a transaction of its own that commits too: the guard after the last migration sees
    // another transaction id.
    let (err, tables) = run("CREATE TABLE t2 (id int);\nCOMMIT;\n");
    let outcome = outcome(&err);
    assert!(
        err.to_string().contains("transaction id after the last"),
        "{err}"
    );
    assert!(
        outcome.contains("The runner's transaction was COMMITTED"),
        "{outcome}"
    );
    assert!(
        outcome.contains("the history table now records 1, 2, 3, 4 as applied"),
        "{outcome}"
    );
    assert_eq!(
        tables,
        [
            "migrate_lock",
            "refinery_schema_history",
            "t1",
            "t2",
            "t3",
            "t4"
        ]
    );
}

#[test]
fn a_message_that_ends_the_transaction_and_then_fails_is_reported_truthfully() {
    // The COMMIT commits 1 and 2; then migration 2 fails in the message's own transaction,
    // which rolls back (3, 4 and the history rows never commit).
    let (err, tables) = run("CREATE TABLE t2 (id int);\nCOMMIT;\nSELECT 1 / 0;\n");
    let outcome = outcome(&err);
    assert!(
        err.to_string().contains("had ended before the failure"),
        "{err}"
    );
    assert!(
        outcome.contains("The runner's transaction was COMMITTED"),
        "{outcome}"
    );
    assert!(
        outcome.contains("the history table now records no migration as applied"),
        "{outcome}"
    );
    assert_eq!(
        tables,
        ["migrate_lock", "refinery_schema_history", "t1", "t2"]
    );
}
