//! The three folder layouts, discovered and applied on a real database.

mod common;

use common::*;
use migrate::{Layout, MigrationSet, Migrator};

#[test]
fn paired_layout_with_spaces_and_utf8_names() {
    let dir = folder(&[
        (
            "000001_create users.up.sql",
            "CREATE TABLE users (id int);\n",
        ),
        ("000001_create users.down.sql", "DROP TABLE users;\n"),
        (
            "000002_größe ändern.up.sql",
            "CREATE TABLE sizes (id int);\n",
        ),
        ("000002_größe ändern.down.sql", "DROP TABLE sizes;\n"),
        (
            "fixtures/000001_create users.sql",
            "INSERT INTO users VALUES (1);\n",
        ),
        ("README.md", "not a migration\n"),
    ]);
    let set = MigrationSet::discover(dir.path()).unwrap();
    assert_eq!(set.layout, Layout::Paired);
    let names: Vec<_> = set.migrations.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["create users", "größe ändern"]);
    assert!(set.migrations[0].fixture.is_some());

    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let applied = Migrator::new(&set).with_fixtures(true).up(&mut c).unwrap();
    assert_eq!(applied.len(), 2);
    assert_eq!(
        tables(&mut c),
        ["refinery_schema_history", "sizes", "users"]
    );
    let n: i64 = c
        .query_one("SELECT count(*) FROM users", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "fixture inserted");
    // refinery's name grammar is \w+: the space becomes _, the umlauts stay.
    let recorded: Vec<String> = c
        .query(
            "SELECT name FROM refinery_schema_history ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(recorded, ["create_users", "größe_ändern"]);
    assert!(Migrator::new(&set).up(&mut c).unwrap().is_empty());
}

#[test]
fn diesel_layout_with_metadata() {
    let dir = folder(&[
        (
            "2024-01-31-120000_create_users/up.sql",
            "CREATE TABLE users (id int);\n",
        ),
        (
            "2024-01-31-120000_create_users/down.sql",
            "DROP TABLE users;\n",
        ),
        (
            "2024-02-01-090000_index users/up.sql",
            "CREATE INDEX CONCURRENTLY users_id ON users (id);\n",
        ),
        (
            "2024-02-01-090000_index users/down.sql",
            "DROP INDEX CONCURRENTLY users_id;\n",
        ),
        (
            "2024-02-01-090000_index users/metadata.toml",
            "run_in_transaction = false\n",
        ),
    ]);
    let set = MigrationSet::discover(dir.path()).unwrap();
    assert_eq!(set.layout, Layout::Diesel);
    assert_eq!(
        set.migrations.iter().map(|m| m.version).collect::<Vec<_>>(),
        [20240131120000, 20240201090000]
    );
    assert!(set.migrations[1].up.no_transaction);
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    Migrator::new(&set).up(&mut c).unwrap();
    assert_eq!(history(&mut c), [20240131120000, 20240201090000]);
    let valid: bool = c
        .query_one(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_id'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(valid);
    Migrator::new(&set)
        .down(&mut c, migrate::DownTarget::All)
        .unwrap();
    assert!(history(&mut c).is_empty());
    assert_eq!(tables(&mut c), ["refinery_schema_history"]);
}

#[test]
fn refinery_layout_is_up_only() {
    let dir = folder(&[
        ("V1__create_users.sql", "CREATE TABLE users (id int);\n"),
        ("nested/V2__orgs.sql", "CREATE TABLE orgs (id int);\n"),
    ]);
    let set = MigrationSet::discover(dir.path()).unwrap();
    assert_eq!(set.layout, Layout::Refinery);
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    Migrator::new(&set).up(&mut c).unwrap();
    assert_eq!(history(&mut c), [1, 2]);
    let err = Migrator::new(&set)
        .down(&mut c, migrate::DownTarget::Newest)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("refinery layout has no down migrations"),
        "{err}"
    );
    assert_eq!(history(&mut c), [1, 2], "nothing reverted");
}

#[test]
fn explicit_layout_overrides_detection() {
    let dir = folder(&[("V1__a.sql", "SELECT 1;\n")]);
    let err = MigrationSet::discover_with(dir.path(), Some(Layout::Paired)).unwrap_err();
    assert!(err.to_string().contains("V1__a.sql"), "{err}");
}

#[test]
fn a_database_refinery_itself_migrated_is_adopted() {
    // What a default refinery build leaves: an int4 version column and i32-hashed checksums.
    let dir = folder(&[
        ("V1__create_users.sql", "CREATE TABLE users (id int);\n"),
        ("V2__orgs.sql", "CREATE TABLE orgs (id int);\n"),
    ]);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let checksum = {
        use std::hash::{Hash, Hasher};
        let mut h = siphasher::sip::SipHasher13::new();
        "create_users".to_string().hash(&mut h);
        1i32.hash(&mut h);
        "CREATE TABLE users (id int);\n".hash(&mut h);
        h.finish()
    };
    c.batch_execute(&format!(
        "CREATE TABLE refinery_schema_history (version int4 PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));
         CREATE TABLE users (id int);
         INSERT INTO refinery_schema_history VALUES (1, 'create_users', '2024-01-01T00:00:00Z', '{checksum}');"
    ))
    .unwrap();
    let applied = Migrator::new(&set).up(&mut c).unwrap();
    assert_eq!(applied.iter().map(|a| a.version).collect::<Vec<_>>(), [2]);
    assert_eq!(history(&mut c), [1, 2]);
}
