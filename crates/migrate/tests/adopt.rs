//! `adopt` (another tool's history) and `baseline` (no history), on real databases. Every
//! refusal leaves the database exactly as it was.

mod common;

use common::*;
use migrate::{AdoptError, Error, MigrationSet, Migrator, State, Tool};

/// Tables of the public schema with their row counts, and every history table's content.
fn fingerprint(c: &mut postgres::Client) -> Vec<String> {
    let mut out = Vec::new();
    for t in tables(c) {
        let rows: Vec<String> = c
            .query(&format!("SELECT t::text FROM \"{t}\" t ORDER BY 1"), &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        out.push(format!("{t}: {rows:?}"));
    }
    out
}

fn adopt_err(set: &MigrationSet, c: &mut postgres::Client, from: Option<Tool>) -> AdoptError {
    match Migrator::new(set).adopt(c, from, false) {
        Err(Error::Adopt(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn all_applied_then_nothing_to_do(set: &MigrationSet, c: &mut postgres::Client) {
    let status = Migrator::new(set).status(c).unwrap();
    assert!(
        status
            .iter()
            .all(|r| r.state == State::Applied && r.checksum == migrate::ChecksumState::Ok),
        "{status:#?}"
    );
    assert!(Migrator::new(set).up(c).unwrap().is_empty());
}

// --- golang-migrate -------------------------------------------------------------------------

/// golang-migrate's postgres driver: `CREATE TABLE IF NOT EXISTS schema_migrations (version
/// bigint not null primary key, dirty boolean not null)`, one row holding the current version.
fn golang_migrated(version: i64, dirty: bool) -> (pgcluster::TestDatabase, postgres::Client) {
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    c.batch_execute(&format!(
        "CREATE TABLE users (id int PRIMARY KEY);
         CREATE TABLE orgs (id int PRIMARY KEY);
         CREATE TABLE IF NOT EXISTS schema_migrations (version bigint not null primary key, dirty boolean not null);
         INSERT INTO schema_migrations (version, dirty) VALUES ({version}, {dirty});"
    ))
    .unwrap();
    (db, c)
}

#[test]
fn golang_migrate_history_is_adopted_up_to_its_version() {
    let dir = folder(BASIC);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let (_db, mut c) = golang_migrated(2, false);
    let before = fingerprint(&mut c);
    let dry = Migrator::new(&set).adopt(&mut c, None, true).unwrap();
    assert_eq!(dry.tool, Tool::GolangMigrate);
    assert_eq!(
        dry.recorded.iter().map(|r| r.version).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(fingerprint(&mut c), before, "--dry-run changes nothing");

    let adopted = Migrator::new(&set).adopt(&mut c, None, false).unwrap();
    assert_eq!(adopted.recorded.len(), 2);
    assert_eq!(history(&mut c), [1, 2]);
    let status = Migrator::new(&set).status(&mut c).unwrap();
    assert_eq!(
        status.iter().map(|r| r.state).collect::<Vec<_>>(),
        [State::Applied, State::Applied, State::Pending]
    );
    // Only 3 runs: adopt ran no SQL, and the tables 1 and 2 made are not made again.
    let applied = Migrator::new(&set).up(&mut c).unwrap();
    assert_eq!(applied.iter().map(|a| a.version).collect::<Vec<_>>(), [3]);
    // A second adopt: the database has our history now.
    assert!(matches!(
        adopt_err(&set, &mut c, None),
        AdoptError::AlreadyAdopted { rows: 3 }
    ));
}

#[test]
fn a_dirty_golang_migrate_row_is_refused_and_nothing_changes() {
    let dir = folder(BASIC);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let (_db, mut c) = golang_migrated(2, true);
    let before = fingerprint(&mut c);
    let err = adopt_err(&set, &mut c, None);
    assert!(
        matches!(&err, AdoptError::Dirty { version, .. } if version == "2"),
        "{err}"
    );
    assert!(err.to_string().contains("migrate force VERSION"), "{err}");
    assert!(err.to_string().contains("nothing was changed"), "{err}");
    assert_eq!(fingerprint(&mut c), before);
}

#[test]
fn a_version_the_folder_lacks_is_refused_and_nothing_changes() {
    let dir = folder(BASIC);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let (_db, mut c) = golang_migrated(7, false);
    let before = fingerprint(&mut c);
    let err = adopt_err(&set, &mut c, None);
    assert!(
        matches!(&err, AdoptError::MissingFromFolder { version, tool: Tool::GolangMigrate, .. } if version == "7"),
        "{err}"
    );
    assert_eq!(fingerprint(&mut c), before);
}

// --- sqlx -----------------------------------------------------------------------------------

/// sqlx's table, as sqlx-cli creates it, and its rows as sqlx writes them: the description is
/// the name with `_` as spaces, the checksum SHA-384 of the up script.
fn sqlx_migrated(
    dir: &std::path::Path,
    rows: &[(i64, bool)],
) -> (pgcluster::TestDatabase, postgres::Client) {
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    c.batch_execute(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
            version BIGINT PRIMARY KEY,
            description TEXT NOT NULL,
            installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
            success BOOLEAN NOT NULL,
            checksum BYTEA NOT NULL,
            execution_time BIGINT NOT NULL
        );",
    )
    .unwrap();
    let set = MigrationSet::discover(dir).unwrap();
    for (version, success) in rows {
        let m = set.get(*version).unwrap();
        c.batch_execute(&m.up.sql).unwrap();
        c.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES ($1, $2, $3, sha384(convert_to($4, 'UTF8')), 1234567)",
            &[version, &m.name.replace('_', " "), success, &m.up.sql],
        )
        .unwrap();
    }
    (db, c)
}

#[test]
fn sqlx_history_is_adopted_with_its_dates() {
    let dir = folder(BASIC);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let (_db, mut c) = sqlx_migrated(dir.path(), &[(1, true), (2, true), (3, true)]);
    let adopted = Migrator::new(&set).adopt(&mut c, None, false).unwrap();
    assert_eq!(adopted.tool, Tool::Sqlx);
    assert_eq!(history(&mut c), [1, 2, 3]);
    let installed: String = c
        .query_one(
            "SELECT to_char(installed_on AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM _sqlx_migrations WHERE version = 1",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(adopted.recorded[0].applied_on, installed);
    all_applied_then_nothing_to_do(&set, &mut c);
}

#[test]
fn a_failed_sqlx_migration_a_changed_file_or_a_hole_is_refused_and_nothing_changes() {
    let dir = folder(BASIC);
    let set = MigrationSet::discover(dir.path()).unwrap();

    let (_db, mut c) = sqlx_migrated(dir.path(), &[(1, true), (2, false)]);
    let before = fingerprint(&mut c);
    let err = adopt_err(&set, &mut c, None);
    assert!(
        matches!(&err, AdoptError::Dirty { tool: Tool::Sqlx, version } if version == "2"),
        "{err}"
    );
    assert_eq!(fingerprint(&mut c), before);

    let (_db, mut c) = sqlx_migrated(dir.path(), &[(1, true), (3, true)]);
    let before = fingerprint(&mut c);
    let err = adopt_err(&set, &mut c, None);
    assert!(
        matches!(&err, AdoptError::NotRecorded { missing, .. } if missing.len() == 1 && missing[0].ends_with("000002_orgs.up.sql")),
        "{err}"
    );
    assert_eq!(fingerprint(&mut c), before);

    let (_db, mut c) = sqlx_migrated(dir.path(), &[(1, true)]);
    std::fs::write(
        dir.path().join("000001_create users.up.sql"),
        "CREATE TABLE users (id bigint PRIMARY KEY);\n",
    )
    .unwrap();
    let changed = MigrationSet::discover(dir.path()).unwrap();
    let before = fingerprint(&mut c);
    let err = adopt_err(&changed, &mut c, None);
    assert!(
        matches!(&err, AdoptError::Changed { path, .. } if path.ends_with("000001_create users.up.sql")),
        "{err}"
    );
    assert_eq!(fingerprint(&mut c), before);
}

// --- refinery (int4) ------------------------------------------------------------------------

#[test]
fn a_refinery_int4_table_becomes_ours() {
    let dir = folder(&[
        ("V1__create_users.sql", "CREATE TABLE users (id int);\n"),
        ("V2__orgs.sql", "CREATE TABLE orgs (id int);\n"),
    ]);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    // A default refinery build: int4 versions, checksums hashed with an i32 version.
    let checksum = |name: &str, v: i32, sql: &str| {
        use std::hash::{Hash, Hasher};
        let mut h = siphasher::sip::SipHasher13::new();
        name.to_string().hash(&mut h);
        v.hash(&mut h);
        sql.hash(&mut h);
        h.finish()
    };
    c.batch_execute(&format!(
        "CREATE TABLE refinery_schema_history (version int4 PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));
         CREATE TABLE users (id int);
         INSERT INTO refinery_schema_history VALUES (1, 'create_users', '2024-01-01T00:00:00Z', '{}');",
        checksum("create_users", 1, "CREATE TABLE users (id int);\n")
    ))
    .unwrap();
    let adopted = Migrator::new(&set).adopt(&mut c, None, false).unwrap();
    assert_eq!(adopted.tool, Tool::Refinery);
    assert_eq!(adopted.recorded.len(), 1);
    let ty: String = c
        .query_one(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'refinery_schema_history'::regclass AND attname = 'version'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(ty, "bigint");
    let recorded: String = c
        .query_one(
            "SELECT checksum FROM refinery_schema_history WHERE version = 1",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        recorded,
        set.get(1).unwrap().checksum().to_string(),
        "today's checksum"
    );
    let applied = Migrator::new(&set).up(&mut c).unwrap();
    assert_eq!(applied.iter().map(|a| a.version).collect::<Vec<_>>(), [2]);
}

// --- ours, none, several ----------------------------------------------------------------------

#[test]
fn a_database_with_our_history_or_none_is_refused_and_nothing_changes() {
    let dir = folder(BASIC);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    assert!(matches!(
        adopt_err(&set, &mut c, None),
        AdoptError::NothingToAdopt
    ));
    assert!(
        tables(&mut c).is_empty(),
        "not even our history table was created"
    );

    Migrator::new(&set).up_to(&mut c, 1).unwrap();
    c.batch_execute("CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null); INSERT INTO schema_migrations VALUES (3, false);")
        .unwrap();
    let before = fingerprint(&mut c);
    assert!(matches!(
        adopt_err(&set, &mut c, None),
        AdoptError::AlreadyAdopted { rows: 1 }
    ));
    assert_eq!(fingerprint(&mut c), before);
}

#[test]
fn several_tools_need_from() {
    let dir = folder(BASIC);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let (_db, mut c) = golang_migrated(2, false);
    c.batch_execute("CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);")
        .unwrap();
    let before = fingerprint(&mut c);
    let err = adopt_err(&set, &mut c, None);
    assert!(
        matches!(&err, AdoptError::Ambiguous(t) if t == &[Tool::Diesel, Tool::GolangMigrate]),
        "{err}"
    );
    assert!(err.to_string().contains("--from TOOL"), "{err}");
    assert_eq!(fingerprint(&mut c), before);
    assert!(matches!(
        adopt_err(&set, &mut c, Some(Tool::Sqlx)),
        AdoptError::NotFound { tool: Tool::Sqlx }
    ));
    let adopted = Migrator::new(&set)
        .adopt(&mut c, Some(Tool::GolangMigrate), false)
        .unwrap();
    assert_eq!(adopted.recorded.len(), 2);
}

// --- baseline -------------------------------------------------------------------------------

#[test]
fn baseline_records_up_to_a_version_without_running_anything() {
    let dir = folder(BASIC);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    // The schema of 1 and 2, restored from a dump.
    c.batch_execute(
        "CREATE TABLE users (id int PRIMARY KEY); CREATE TABLE orgs (id int PRIMARY KEY);",
    )
    .unwrap();
    let dry = Migrator::new(&set).baseline(&mut c, 2, true).unwrap();
    assert_eq!(dry.len(), 2);
    assert_eq!(
        tables(&mut c),
        ["orgs", "users"],
        "--dry-run changes nothing"
    );
    let err = match Migrator::new(&set).baseline(&mut c, 5, false) {
        Err(Error::Adopt(e)) => e,
        other => panic!("{other:?}"),
    };
    assert!(matches!(err, AdoptError::UnknownVersion { .. }), "{err}");
    assert_eq!(tables(&mut c), ["orgs", "users"]);

    let recorded = Migrator::new(&set).baseline(&mut c, 2, false).unwrap();
    assert_eq!(
        recorded.iter().map(|r| r.version).collect::<Vec<_>>(),
        [1, 2]
    );
    let status = Migrator::new(&set).status(&mut c).unwrap();
    assert_eq!(
        status.iter().map(|r| r.state).collect::<Vec<_>>(),
        [State::Applied, State::Applied, State::Pending]
    );
    assert_eq!(
        Migrator::new(&set)
            .up(&mut c)
            .unwrap()
            .iter()
            .map(|a| a.version)
            .collect::<Vec<_>>(),
        [3]
    );
    let err = match Migrator::new(&set).baseline(&mut c, 3, false) {
        Err(Error::Adopt(e)) => e,
        other => panic!("{other:?}"),
    };
    assert!(
        matches!(err, AdoptError::AlreadyAdopted { rows: 3 }),
        "{err}"
    );
}

#[test]
fn baseline_refuses_a_database_another_tool_manages() {
    let dir = folder(BASIC);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let (_db, mut c) = golang_migrated(2, false);
    let before = fingerprint(&mut c);
    let err = match Migrator::new(&set).baseline(&mut c, 2, false) {
        Err(Error::Adopt(e)) => e,
        other => panic!("{other:?}"),
    };
    assert!(
        matches!(
            err,
            AdoptError::ForeignHistory {
                tool: Tool::GolangMigrate
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("cargo xtask migrate adopt"),
        "{err}"
    );
    assert_eq!(fingerprint(&mut c), before);
}
