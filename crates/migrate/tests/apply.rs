//! Applying: atomicity, error locations, checksums, ordering, no-transaction scripts, status.

mod common;

use common::*;
use migrate::{ChecksumState, Error, MigrationSet, Migrator, State};

fn set(dir: &tempfile::TempDir) -> MigrationSet {
    MigrationSet::discover(dir.path()).unwrap()
}

#[test]
fn applies_everything_then_nothing() {
    let dir = folder(BASIC);
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let applied = Migrator::new(&set(&dir)).up(&mut c).unwrap();
    assert_eq!(
        applied.iter().map(|a| a.version).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(history(&mut c), [1, 2, 3]);
    assert!(Migrator::new(&set(&dir)).up(&mut c).unwrap().is_empty());
}

#[test]
fn up_to_a_version_stops_there() {
    let dir = folder(BASIC);
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    Migrator::new(&set(&dir)).up_to(&mut c, 2).unwrap();
    assert_eq!(history(&mut c), [1, 2]);
}

const FAILING_THIRD: &str =
    "-- add a column\nALTER TABLE users\n  ADD COLUMN ok int;\nSELECT é, id FROM no_such_table;\n";

#[test]
fn a_failure_in_single_transaction_mode_applies_nothing_and_points_at_the_line() {
    let dir = folder(BASIC);
    std::fs::write(dir.path().join("000003_user_name.up.sql"), FAILING_THIRD).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let err = Migrator::new(&set(&dir)).up(&mut c).unwrap_err();
    let Error::MigrationFailed {
        version,
        failure,
        outcome,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(*version, 3);
    assert_eq!(failure.code, "42P01");
    assert!(failure.path.ends_with("000003_user_name.up.sql"));
    assert_eq!((failure.line, failure.column), (Some(4), Some(19)));
    assert!(
        outcome.contains("rolled back: none of the 3 migration(s)"),
        "{outcome}"
    );
    let text = err.to_string();
    assert!(
        text.contains(
            "000003_user_name.up.sql:4:19: ERROR 42P01: relation \"no_such_table\" does not exist"
        ),
        "{text}"
    );
    assert!(
        text.contains("  4 | SELECT é, id FROM no_such_table;\n    |                   ^"),
        "{text}"
    );
    assert!(history(&mut c).is_empty());
    assert_eq!(tables(&mut c), ["refinery_schema_history"]);
}

#[test]
fn a_failure_in_per_migration_mode_keeps_the_earlier_ones() {
    let dir = folder(BASIC);
    std::fs::write(dir.path().join("000003_user_name.up.sql"), FAILING_THIRD).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let err = Migrator::new(&set(&dir))
        .single_transaction(false)
        .up(&mut c)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Applied and committed earlier in this run: 1, 2."),
        "{err}"
    );
    // The error position is mapped into the file although `BEGIN;` travelled with the SQL.
    let Error::MigrationFailed { failure, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!((failure.line, failure.column), (Some(4), Some(19)));
    // The in-band transaction was rolled back: the connection is usable and outside a transaction.
    let in_tx: bool = c
        .query_one("SELECT txid_current_if_assigned() IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(!in_tx);
    assert_eq!(history(&mut c), [1, 2]);
    let cols: i64 = c
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        cols, 1,
        "the failing migration's first statement was rolled back"
    );
}

#[test]
fn detail_and_hint_reach_the_error() {
    let dir = folder(&[
        (
            "000001_a.up.sql",
            "CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (1), (1);\n",
        ),
        ("000001_a.down.sql", "DROP TABLE t;\n"),
    ]);
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let err = Migrator::new(&set(&dir))
        .up(&mut c)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ERROR 23505: duplicate key value violates unique constraint \"t_pkey\""),
        "{err}"
    );
    assert!(
        err.contains("detail: Key (id)=(1) already exists."),
        "{err}"
    );
    assert!(err.contains("constraint: t_pkey"), "{err}");
}

#[test]
fn a_changed_file_is_refused_with_both_checksums() {
    let dir = folder(BASIC);
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    Migrator::new(&set(&dir)).up_to(&mut c, 2).unwrap();
    let recorded = set(&dir).get(2).unwrap().checksum();
    std::fs::write(
        dir.path().join("000002_orgs.up.sql"),
        "CREATE TABLE orgs (id bigint PRIMARY KEY);\n",
    )
    .unwrap();
    let changed = set(&dir);
    let err = Migrator::new(&changed).up(&mut c).unwrap_err();
    let Error::ChecksumMismatch {
        version,
        path,
        recorded: r,
        current,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(*version, 2);
    assert!(path.ends_with("000002_orgs.up.sql"));
    assert_eq!(r, &recorded.to_string());
    assert_eq!(current, &changed.get(2).unwrap().checksum().to_string());
    assert_eq!(history(&mut c), [1, 2], "migration 3 not applied");
    let rows = Migrator::new(&changed).status(&mut c).unwrap();
    assert_eq!(rows[1].checksum, ChecksumState::Changed);
}

#[test]
fn crlf_line_endings_do_not_count_as_a_change() {
    let dir = folder(BASIC);
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    Migrator::new(&set(&dir)).up(&mut c).unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "sql") {
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, text.replace('\n', "\r\n")).unwrap();
        }
    }
    let rows = Migrator::new(&set(&dir)).status(&mut c).unwrap();
    assert!(
        rows.iter().all(|r| r.checksum == ChecksumState::Ok),
        "{rows:#?}"
    );
}

#[test]
fn a_merge_that_reuses_an_applied_version_is_a_checksum_mismatch() {
    let dir = folder(&[
        ("000001_a.up.sql", "SELECT 1;"),
        ("000001_a.down.sql", "SELECT 1;"),
        ("000003_c.up.sql", "SELECT 1;"),
        ("000003_c.down.sql", "SELECT 1;"),
    ]);
    // This branch applied its migration as 000002 on the dev database.
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    std::fs::rename(
        dir.path().join("000003_c.up.sql"),
        dir.path().join("000002_c.up.sql"),
    )
    .unwrap();
    std::fs::rename(
        dir.path().join("000003_c.down.sql"),
        dir.path().join("000002_c.down.sql"),
    )
    .unwrap();
    Migrator::new(&set(&dir)).up(&mut c).unwrap();
    // A merge brings a new 000002 and this branch's migration becomes 000003: out of order.
    std::fs::rename(
        dir.path().join("000002_c.up.sql"),
        dir.path().join("000003_c.up.sql"),
    )
    .unwrap();
    std::fs::rename(
        dir.path().join("000002_c.down.sql"),
        dir.path().join("000003_c.down.sql"),
    )
    .unwrap();
    write(
        dir.path(),
        &[
            ("000002_b.up.sql", "SELECT 2;"),
            ("000002_b.down.sql", "SELECT 2;"),
        ],
    );
    let err = Migrator::new(&set(&dir)).up(&mut c).unwrap_err();
    assert!(
        matches!(err, Error::ChecksumMismatch { version: 2, .. }),
        "{err}"
    );
}

#[test]
fn an_applied_migration_missing_from_the_folder_is_reported() {
    let dir = folder(BASIC);
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    Migrator::new(&set(&dir)).up(&mut c).unwrap();
    std::fs::remove_file(dir.path().join("000003_user_name.up.sql")).unwrap();
    std::fs::remove_file(dir.path().join("000003_user_name.down.sql")).unwrap();
    let smaller = set(&dir);
    let err = Migrator::new(&smaller).up(&mut c).unwrap_err();
    assert!(
        matches!(err, Error::MissingFromDisk { version: 3, .. }),
        "{err}"
    );
    let rows = Migrator::new(&smaller).status(&mut c).unwrap();
    assert_eq!(rows[2].state, State::MissingFile);
}

#[test]
fn out_of_order_pending_migration() {
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let dir = folder(&[
        ("20240101000000_a.up.sql", "SELECT 1;"),
        ("20240101000000_a.down.sql", "SELECT 1;"),
        ("20240301000000_c.up.sql", "SELECT 1;"),
        ("20240301000000_c.down.sql", "SELECT 1;"),
    ]);
    Migrator::new(&set(&dir)).up(&mut c).unwrap();
    write(
        dir.path(),
        &[
            ("20240201000000_b.up.sql", "SELECT 1;"),
            ("20240201000000_b.down.sql", "SELECT 1;"),
        ],
    );
    let err = Migrator::new(&set(&dir)).up(&mut c).unwrap_err();
    let Error::OutOfOrder {
        version, newest, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!((*version, *newest), (20240201000000, 20240301000000));
    assert!(err.to_string().contains("renumber"), "{err}");
}

#[test]
fn no_transaction_migrations_run_statement_by_statement() {
    let dir = folder(&[
        (
            "000001_t.up.sql",
            "CREATE TABLE t (id int, v text);\nINSERT INTO t SELECT g, g::text FROM generate_series(1, 1000) g;\n",
        ),
        ("000001_t.down.sql", "DROP TABLE t;\n"),
        (
            "000002_index.up.sql",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);\nCREATE INDEX CONCURRENTLY t_v ON t (v);\n",
        ),
        (
            "000002_index.down.sql",
            "-- no-transaction\nDROP INDEX CONCURRENTLY t_v;\nDROP INDEX CONCURRENTLY t_id;\n",
        ),
        ("000003_after.up.sql", "ALTER TABLE t ADD COLUMN w int;\n"),
        ("000003_after.down.sql", "ALTER TABLE t DROP COLUMN w;\n"),
    ]);
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let applied = Migrator::new(&set(&dir)).up(&mut c).unwrap();
    assert_eq!(
        applied
            .iter()
            .map(|a| (a.version, a.no_transaction))
            .collect::<Vec<_>>(),
        [(1, false), (2, true), (3, false)]
    );
    let valid: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_index WHERE indrelid = 't'::regclass AND indisvalid",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(valid, 2);
    let rows = Migrator::new(&set(&dir)).status(&mut c).unwrap();
    assert!(rows[1].no_transaction && rows[1].checksum == ChecksumState::Ok);
    let reverted = Migrator::new(&set(&dir))
        .down(&mut c, migrate::DownTarget::To(1))
        .unwrap();
    assert_eq!(
        reverted.iter().map(|r| r.version).collect::<Vec<_>>(),
        [3, 2]
    );
    assert_eq!(history(&mut c), [1]);
}

#[test]
fn a_failing_no_transaction_statement_is_located() {
    let dir = folder(&[
        ("000001_t.up.sql", "CREATE TABLE t (id int);\n"),
        ("000001_t.down.sql", "DROP TABLE t;\n"),
        (
            "000002_index.up.sql",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n\nCREATE INDEX CONCURRENTLY t_x ON t (id,);\n",
        ),
        (
            "000002_index.down.sql",
            "-- no-transaction\nDROP INDEX CONCURRENTLY t_id;\n",
        ),
    ]);
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let err = Migrator::new(&set(&dir)).up(&mut c).unwrap_err();
    let Error::MigrationFailed {
        failure, outcome, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!((failure.line, failure.column), (Some(4), Some(40)));
    assert!(
        outcome.contains("1 of its 2 statement(s) before the failing one stay committed"),
        "{outcome}"
    );
    assert_eq!(
        history(&mut c),
        [1],
        "migration 1 committed, 2 not recorded"
    );
}

#[test]
fn status_lists_applied_and_pending_as_json_too() {
    let dir = folder(BASIC);
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let m = set(&dir);
    assert!(
        Migrator::new(&m)
            .status(&mut c)
            .unwrap()
            .iter()
            .all(|r| r.state == State::Pending)
    );
    Migrator::new(&m).up_to(&mut c, 1).unwrap();
    let rows = Migrator::new(&m).status(&mut c).unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.version, r.state))
            .collect::<Vec<_>>(),
        [
            (1, State::Applied),
            (2, State::Pending),
            (3, State::Pending)
        ]
    );
    let json = serde_json::to_value(&rows).unwrap();
    assert_eq!(json[0]["state"], "applied");
    assert_eq!(json[0]["checksum"], "ok");
    assert_eq!(json[1]["name"], "orgs");
    assert!(json[0]["applied_on"].as_str().unwrap().ends_with('Z'));
}
