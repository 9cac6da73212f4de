//! A message of several migrations that ends the runner's transaction, on a real server.
//! Validation makes this all but impossible (a script with top-level transaction control
//! travels alone), so it is bypassed here: what the run then reports must still be true.

use crate::{Error, MigrationSet, Migrator};

#[test]
fn a_message_that_ends_the_transaction_is_reported_with_its_migrations() {
    let dir = tempfile::tempdir().unwrap();
    for i in 1..=4 {
        let path = |kind: &str| dir.path().join(format!("{i:06}_m{i}.{kind}.sql"));
        std::fs::write(path("up"), format!("CREATE TABLE t{i} (id int);\n")).unwrap();
        std::fs::write(path("down"), format!("DROP TABLE t{i};\n")).unwrap();
    }
    let mut set = MigrationSet::discover(dir.path()).unwrap();
    // Migration 2 commits, yet is marked as able to share a message.
    set.migrations[1].up.sql = "CREATE TABLE t2 (id int);\nCOMMIT;\n".into();
    set.migrations[1].up.shareable_checksum = Some(set.migrations[1].checksum());
    let db = pgcluster::Cluster::shared()
        .unwrap()
        .database_from_template("migrate_empty", |_| Ok(()))
        .unwrap();
    let mut c = db.connect().unwrap();
    let err = Migrator::new(&set).up(&mut c).unwrap_err();
    let Error::TransactionEndedInMessage {
        versions, outcome, ..
    } = &err
    else {
        panic!("expected the message's guard to fire, got: {err}")
    };
    assert_eq!(versions, &[1, 2, 3, 4], "{err}");
    // The COMMIT committed migrations 1 and 2 (and the history table); the rest of the
    // message failed at its RELEASE SAVEPOINT, so 3, 4 and the history rows did not.
    assert!(
        outcome.contains("The runner's transaction was COMMITTED"),
        "{outcome}"
    );
    assert!(
        outcome.contains("the history table now records no migration as applied"),
        "{outcome}"
    );
    let tables: Vec<String> = c
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        tables,
        ["migrate_lock", "refinery_schema_history", "t1", "t2"],
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("one of migrations 1, 2, 3, 4, sent in one message"),
        "{text}"
    );
}
