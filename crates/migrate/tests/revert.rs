//! down, down --to, down --all and redo.

mod common;

use common::*;
use migrate::{DownTarget, Error, MigrationSet, Migrator};

fn applied_db(
    files: &[(&str, &str)],
) -> (tempfile::TempDir, pgcluster::TestDatabase, postgres::Client) {
    let dir = folder(files);
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    Migrator::new(&MigrationSet::discover(dir.path()).unwrap())
        .up(&mut c)
        .unwrap();
    (dir, db, c)
}

#[test]
fn down_reverts_the_newest_only() {
    let (dir, _db, mut c) = applied_db(BASIC);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let reverted = Migrator::new(&set)
        .down(&mut c, DownTarget::Newest)
        .unwrap();
    assert_eq!(reverted.len(), 1);
    assert_eq!(reverted[0].version, 3);
    assert!(reverted[0].path.ends_with("000003_user_name.down.sql"));
    assert_eq!(history(&mut c), [1, 2]);
    let cols: i64 = c
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(cols, 1);
}

#[test]
fn down_to_and_all() {
    let (dir, _db, mut c) = applied_db(BASIC);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let m = Migrator::new(&set);
    let err = m.down(&mut c, DownTarget::To(7)).unwrap_err();
    assert!(matches!(err, Error::BadTarget { version: 7, .. }), "{err}");
    let r = m.down(&mut c, DownTarget::To(1)).unwrap();
    assert_eq!(r.iter().map(|r| r.version).collect::<Vec<_>>(), [3, 2]);
    assert_eq!(history(&mut c), [1]);
    let r = m.down(&mut c, DownTarget::All).unwrap();
    assert_eq!(r.iter().map(|r| r.version).collect::<Vec<_>>(), [1]);
    assert_eq!(tables(&mut c), ["refinery_schema_history"]);
    assert!(m.down(&mut c, DownTarget::Newest).unwrap().is_empty());
    // And all the way up again.
    assert_eq!(m.up(&mut c).unwrap().len(), 3);
}

#[test]
fn a_failing_down_reverts_nothing() {
    let mut files = BASIC.to_vec();
    files[1] = ("000001_create users.down.sql", "DROP TABLE userz;\n");
    let (dir, _db, mut c) = applied_db(&files);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let err = Migrator::new(&set)
        .down(&mut c, DownTarget::All)
        .unwrap_err();
    let Error::MigrationFailed {
        version, failure, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(*version, 1);
    assert!(failure.path.ends_with("000001_create users.down.sql"));
    assert_eq!(failure.code, "42P01");
    assert!(matches!(failure.line, None | Some(1)));
    assert_eq!(
        history(&mut c),
        [1, 2, 3],
        "single transaction: 3 and 2 were not reverted either"
    );
    assert_eq!(tables(&mut c), ["orgs", "refinery_schema_history", "users"]);
}

#[test]
fn redo_runs_down_then_up_in_one_transaction() {
    let (dir, _db, mut c) = applied_db(BASIC);
    let set = MigrationSet::discover(dir.path()).unwrap();
    c.batch_execute("INSERT INTO users (id, name) VALUES (1, 'x')")
        .unwrap();
    let (r, a) = Migrator::new(&set).redo(&mut c).unwrap().unwrap();
    assert_eq!((r.version, a.version), (3, 3));
    let name: Option<String> = c.query_one("SELECT name FROM users", &[]).unwrap().get(0);
    assert_eq!(name, None, "the column was dropped and re-added");
    assert_eq!(history(&mut c), [1, 2, 3]);

    // A redo whose up fails leaves the migration applied as it was.
    std::fs::write(
        dir.path().join("000003_user_name.up.sql"),
        "ALTER TABLE users ADD COLUMN name nosuchtype;\n",
    )
    .unwrap();
    // The file changed, so it is refused before anything runs.
    let changed = MigrationSet::discover(dir.path()).unwrap();
    let err = Migrator::new(&changed).redo(&mut c).unwrap_err();
    assert!(
        matches!(err, Error::ChecksumMismatch { version: 3, .. }),
        "{err}"
    );
}

#[test]
fn a_redo_whose_up_fails_changes_nothing() {
    let files = [
        (
            "000001_a.up.sql",
            "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n",
        ),
        // The down drops the table; the up then fails on the second run because of the sequence
        // the down leaves behind.
        (
            "000001_a.down.sql",
            "DROP TABLE a;\nCREATE TABLE a (id int);\n",
        ),
    ];
    let (dir, _db, mut c) = applied_db(&files);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let err = Migrator::new(&set).redo(&mut c).unwrap_err();
    assert!(err.to_string().contains("42P07"), "{err}");
    assert_eq!(history(&mut c), [1]);
    let n: i64 = c.query_one("SELECT count(*) FROM a", &[]).unwrap().get(0);
    assert_eq!(n, 1, "the down was rolled back too");
}
