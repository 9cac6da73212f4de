//! Several migrations per message in the default mode (one transaction for the run): a
//! failure inside a message is still reported at its file and line with nothing applied,
//! messages end at their bounds, and `-- no-transaction` migrations and migrations with
//! transaction control travel alone.

mod common;

use common::*;
use migrate::{ChecksumState, Error, MigrationSet, Migrator};

/// `n` small migrations, each creating table `t{i}`; `(version, up)` pairs override ups.
fn small_set(n: usize, overrides: &[(usize, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 1..=n {
        let up = overrides
            .iter()
            .find(|(v, _)| *v == i)
            .map(|(_, sql)| sql.to_string())
            .unwrap_or_else(|| format!("CREATE TABLE t{i} (id int PRIMARY KEY);\n"));
        std::fs::write(dir.path().join(format!("{i:06}_m{i}.up.sql")), up).unwrap();
        std::fs::write(
            dir.path().join(format!("{i:06}_m{i}.down.sql")),
            format!("DROP TABLE IF EXISTS t{i};\n"),
        )
        .unwrap();
    }
    dir
}

#[test]
fn small_migrations_travel_together_and_are_recorded_each() {
    let dir = small_set(20, &[]);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let applied = Migrator::new(&set).up(&mut c).unwrap();
    assert_eq!(applied.len(), 20);
    assert!(applied.iter().all(|a| a.batch == 20), "{applied:?}");
    assert_eq!(history(&mut c), (1..=20).collect::<Vec<i64>>());
    let status = Migrator::new(&set).status(&mut c).unwrap();
    assert!(status.iter().all(|r| r.checksum == ChecksumState::Ok));
    assert!(Migrator::new(&set).up(&mut c).unwrap().is_empty());
}

#[test]
fn an_error_in_the_middle_of_a_message_names_its_file_and_line_and_applies_nothing() {
    let dir = small_set(
        20,
        &[(
            10,
            "CREATE TABLE t10 (id int);\n\nSELECT id FROM no_such_table;\n",
        )],
    );
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let err = Migrator::new(&set).up(&mut c).unwrap_err();
    let (version, failure, outcome) = located(&err);
    assert_eq!(version, 10, "{err}");
    assert!(failure.path.ends_with("000010_m10.up.sql"), "{err}");
    assert_eq!(failure.code, "42P01");
    assert_eq!((failure.line, failure.column), (Some(3), Some(16)), "{err}");
    assert!(
        outcome.contains("rolled back: none of the 20 migration(s)"),
        "{outcome}"
    );
    assert!(
        err.to_string()
            .contains("000010_m10.up.sql:3:16: ERROR 42P01: relation \"no_such_table\""),
        "{err}"
    );
    assert!(history(&mut c).is_empty());
    assert_eq!(tables(&mut c), ["refinery_schema_history"]);
}

#[test]
fn an_error_without_a_position_is_still_attributed_to_its_migration() {
    // t3 exists already when migration 7 runs: the server names no position.
    let dir = small_set(12, &[(7, "CREATE TABLE t3 (id int);\n")]);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let err = Migrator::new(&set).up(&mut c).unwrap_err();
    let (version, failure, _) = located(&err);
    assert_eq!(version, 7, "{err}");
    assert!(failure.path.ends_with("000007_m7.up.sql"), "{err}");
    assert_eq!(failure.code, "42P07");
    assert!(history(&mut c).is_empty());
    assert_eq!(tables(&mut c), ["refinery_schema_history"]);
}

#[test]
fn messages_end_at_their_bound_and_errors_on_either_side_of_a_boundary_are_located() {
    // 600 migrations: messages of 256, 256 and 88.
    let dir = small_set(600, &[]);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let applied = Migrator::new(&set).up(&mut c).unwrap();
    let sizes: Vec<usize> = applied.iter().map(|a| a.batch).collect();
    let mut expected = vec![256; 512];
    expected.extend(vec![88; 88]);
    assert_eq!(sizes, expected);
    assert_eq!(history(&mut c).len(), 600);
    assert!(
        Migrator::new(&set)
            .status(&mut c)
            .unwrap()
            .iter()
            .all(|r| r.checksum == ChecksumState::Ok)
    );
    drop(c);
    for bad in [256, 257, 600] {
        let dir = small_set(600, &[(bad, "CREATE TABLE t1 (id int);\n")]);
        let set = MigrationSet::discover(dir.path()).unwrap();
        let db = fresh_db();
        let mut c = db.connect().unwrap();
        let err = Migrator::new(&set).up(&mut c).unwrap_err();
        let (version, failure, outcome) = located(&err);
        assert_eq!(version, bad as i64, "{err}");
        assert!(
            failure.path.ends_with(format!("{bad:06}_m{bad}.up.sql")),
            "{err}"
        );
        assert!(
            outcome.contains("none of the 600 migration(s)"),
            "{outcome}"
        );
        assert!(history(&mut c).is_empty());
        assert_eq!(tables(&mut c), ["refinery_schema_history"]);
    }
}

#[test]
fn a_no_transaction_migration_between_batched_ones_runs_alone_outside_the_transaction() {
    let dir = small_set(
        10,
        &[(
            6,
            "-- no-transaction\nCREATE INDEX CONCURRENTLY t5_id ON t5 (id);\n",
        )],
    );
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let applied = Migrator::new(&set).up(&mut c).unwrap();
    assert_eq!(
        applied
            .iter()
            .map(|a| (a.version, a.no_transaction, a.batch))
            .collect::<Vec<_>>(),
        [
            (1, false, 5),
            (2, false, 5),
            (3, false, 5),
            (4, false, 5),
            (5, false, 5),
            (6, true, 1),
            (7, false, 4),
            (8, false, 4),
            (9, false, 4),
            (10, false, 4)
        ]
    );
    let valid: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_index WHERE indexrelid = 't5_id'::regclass AND indisvalid",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(valid, 1);
    assert_eq!(history(&mut c), (1..=10).collect::<Vec<i64>>());
}

#[test]
fn after_a_no_transaction_migration_a_failing_message_keeps_what_was_committed_before() {
    let dir = small_set(
        10,
        &[
            (
                6,
                "-- no-transaction\nCREATE INDEX CONCURRENTLY t5_id ON t5 (id);\n",
            ),
            (9, "CREATE TABLE t9 (id int);\nSELECT 1/0;\n"),
        ],
    );
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let err = Migrator::new(&set).up(&mut c).unwrap_err();
    let (version, failure, outcome) = located(&err);
    assert_eq!(version, 9, "{err}");
    assert!(failure.path.ends_with("000009_m9.up.sql"), "{err}");
    assert_eq!(failure.code, "22012");
    assert!(
        outcome.contains("none of the 4 migration(s)")
            && outcome.contains("Applied and committed earlier in this run: 1, 2, 3, 4, 5, 6."),
        "{outcome}"
    );
    assert_eq!(history(&mut c), (1..=6).collect::<Vec<i64>>());
    let mut expected: Vec<String> = (1..=5).map(|i| format!("t{i}")).collect();
    expected.push("refinery_schema_history".into());
    expected.sort();
    assert_eq!(tables(&mut c), expected);
}

#[test]
fn a_migration_with_transaction_control_travels_alone() {
    // Validation refuses it; bypassed here, as the guard tests do. Migration 3 commits the
    // runner's transaction: the guard stops the run right after it, and the migrations
    // after it (which would have shared a message) never ran.
    let dir = small_set(8, &[]);
    let mut set = MigrationSet::discover(dir.path()).unwrap();
    set.migrations[2].up.sql = "CREATE TABLE t3 (id int);\nCOMMIT;\n".into();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let err = Migrator::new(&set).up(&mut c).unwrap_err();
    let Error::TransactionEnded {
        version, outcome, ..
    } = &err
    else {
        panic!("expected the guard to fire, got: {err}")
    };
    assert_eq!(*version, 3);
    assert!(outcome.contains("Nothing after it ran."), "{outcome}");
    assert_eq!(
        tables(&mut c),
        ["refinery_schema_history", "t1", "t2", "t3"]
    );
    assert_eq!(history(&mut c), [1, 2]);
}

#[test]
fn each_migration_of_a_message_runs_with_its_own_lock_timeout() {
    // Migration 2 changes lock_timeout for the rest of the transaction; 3 still gets the
    // runner's, 4 its directive's, 5 the runner's again.
    let dir = small_set(
        5,
        &[
            (2, "SET LOCAL lock_timeout = '9s';\n"),
            (
                3,
                "CREATE TABLE t3 AS SELECT current_setting('lock_timeout') AS v;\n",
            ),
            (
                4,
                "-- lock-timeout: 5s\nCREATE TABLE t4 AS SELECT current_setting('lock_timeout') AS v;\n",
            ),
            (
                5,
                "CREATE TABLE t5 AS SELECT current_setting('lock_timeout') AS v;\n",
            ),
        ],
    );
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let applied = Migrator::new(&set).up(&mut c).unwrap();
    assert!(applied.iter().all(|a| a.batch == 5), "{applied:?}");
    let seen: Vec<String> = ["t3", "t4", "t5"]
        .iter()
        .map(|t| {
            c.query_one(&format!("SELECT v FROM {t}"), &[])
                .unwrap()
                .get(0)
        })
        .collect();
    assert_eq!(seen, ["2s", "5s", "2s"]);
}
