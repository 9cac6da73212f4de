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
        [202401311200000000, 202402010900000000]
    );
    assert!(set.migrations[1].up.no_transaction);
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    Migrator::new(&set).up(&mut c).unwrap();
    assert_eq!(history(&mut c), [202401311200000000, 202402010900000000]);
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

#[test]
fn a_diesel_folder_with_stray_files_applies_with_warnings_and_strict_refuses_it() {
    let files: &[(&str, &str)] = &[
        (
            "2024-01-31-120000_create_users/up.sql",
            "CREATE TABLE users (id int);\n",
        ),
        (
            "2024-01-31-120000_create_users/down.sql",
            "DROP TABLE users;\n",
        ),
        (
            "2024-01-31-120000_create_users/notes.sql",
            "SELECT 'scratch';\n",
        ),
        ("backfill_once.sql", "UPDATE users SET id = id;\n"),
        ("README.md", "how we migrate\n"),
        (".keep", ""),
    ];
    let dir = folder(files);
    let set = MigrationSet::discover(dir.path()).unwrap();
    assert_eq!(set.layout, Layout::Diesel);
    let warnings: Vec<String> = set
        .warnings
        .iter()
        .map(|w| {
            format!(
                "{}: {}",
                w.path.strip_prefix(dir.path()).unwrap().display(),
                w.message
            )
        })
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(
        warnings[0].starts_with("2024-01-31-120000_create_users/notes.sql: ignored, as diesel ignores it: diesel reads only up.sql, down.sql and metadata.toml"),
        "{warnings:#?}"
    );
    assert!(
        warnings[1].starts_with("backfill_once.sql: ignored, as diesel ignores it: diesel runs only the migration folders"),
        "{warnings:#?}"
    );
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    assert_eq!(Migrator::new(&set).up(&mut c).unwrap().len(), 1);
    assert_eq!(tables(&mut c), ["refinery_schema_history", "users"]);

    let err = MigrationSet::discover_opts(
        dir.path(),
        migrate::DiscoverOptions {
            layout: None,
            strict: true,
        },
    )
    .unwrap_err();
    let migrate::Error::Invalid { problems, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(problems.len(), 2, "{err}");
    assert!(
        err.to_string().contains("backfill_once.sql: ignored"),
        "{err}"
    );
    assert!(
        err.to_string().contains("(an error with --strict)"),
        "{err}"
    );
}

#[test]
fn a_refinery_folder_warns_about_what_refinery_ignores() {
    let dir = folder(&[
        ("V1__create_users.sql", "CREATE TABLE users (id int);\n"),
        ("V2__add-orgs.sql", "CREATE TABLE orgs (id int);\n"),
        ("seed.sql", "INSERT INTO users VALUES (1);\n"),
    ]);
    let set = MigrationSet::discover(dir.path()).unwrap();
    assert_eq!(set.layout, Layout::Refinery);
    assert_eq!(set.migrations.len(), 1);
    let paths: Vec<_> = set
        .warnings
        .iter()
        .map(|w| w.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(paths, ["V2__add-orgs.sql", "seed.sql"]);
    assert!(
        set.warnings[0]
            .message
            .contains("does not match refinery's V{n}__name.sql"),
        "{:?}",
        set.warnings
    );
}

#[test]
fn a_stray_sql_file_in_the_paired_layout_stays_an_error() {
    let mut files = BASIC.to_vec();
    files.push(("backfill.sql", "SELECT 1;\n"));
    let dir = folder(&files);
    let err = MigrationSet::discover(dir.path()).unwrap_err();
    assert!(
        err.to_string()
            .contains("backfill.sql: not a migration name"),
        "{err}"
    );
}

/// A diesel folder mixing old (14-digit) and current (18-digit) diesel_cli versions. Each up
/// logs its name, each down logs `down <name>`, so the order they ran in can be compared.
pub const MIXED_DIESEL: &[(&str, &str)] = &[
    (
        "00000000000000_diesel_initial_setup/up.sql",
        "CREATE TABLE run_log (n serial PRIMARY KEY, what text NOT NULL);\nINSERT INTO run_log (what) VALUES ('initial');\n",
    ),
    (
        "00000000000000_diesel_initial_setup/down.sql",
        "DROP TABLE run_log;\n",
    ),
    (
        "2025-11-03-101500-0000_create_users/up.sql",
        "CREATE TABLE users (id int PRIMARY KEY);\nINSERT INTO run_log (what) VALUES ('create_users');\n",
    ),
    (
        "2025-11-03-101500-0000_create_users/down.sql",
        "DROP TABLE users;\nINSERT INTO run_log (what) VALUES ('down create_users');\n",
    ),
    (
        "2025-12-01-090000-0000_create_posts/up.sql",
        "CREATE TABLE posts (id int PRIMARY KEY, user_id int REFERENCES users);\nINSERT INTO run_log (what) VALUES ('create_posts');\n",
    ),
    (
        "2025-12-01-090000-0000_create_posts/down.sql",
        "DROP TABLE posts;\nINSERT INTO run_log (what) VALUES ('down create_posts');\n",
    ),
    (
        "2026-05-05-180007-0000_add_email/up.sql",
        "ALTER TABLE users ADD COLUMN email text;\nINSERT INTO run_log (what) VALUES ('add_email');\n",
    ),
    (
        "2026-05-05-180007-0000_add_email/down.sql",
        "ALTER TABLE users DROP COLUMN email;\nINSERT INTO run_log (what) VALUES ('down add_email');\n",
    ),
    (
        "2026-05-27-120000_add_username/up.sql",
        "ALTER TABLE users ADD COLUMN username text;\nUPDATE users SET username = email;\nINSERT INTO run_log (what) VALUES ('add_username');\n",
    ),
    (
        "2026-05-27-120000_add_username/down.sql",
        "ALTER TABLE users DROP COLUMN username;\nINSERT INTO run_log (what) VALUES ('down add_username');\n",
    ),
];

/// diesel's order on MIXED_DIESEL: versions compared as strings.
pub const DIESEL_ORDER: [&str; 5] = [
    "initial",
    "create_users",
    "create_posts",
    "add_email",
    "add_username",
];

fn run_log(c: &mut postgres::Client) -> Vec<String> {
    c.query("SELECT what FROM run_log ORDER BY n", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn mixed_width_diesel_versions_apply_in_diesels_order_and_revert_in_reverse() {
    let dir = folder(MIXED_DIESEL);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let texts: Vec<_> = set
        .migrations
        .iter()
        .map(|m| m.version_text.as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "00000000000000",
            "202511031015000000",
            "202512010900000000",
            "202605051800070000",
            "20260527120000"
        ]
    );
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    Migrator::new(&set).up(&mut c).unwrap();
    assert_eq!(run_log(&mut c), DIESEL_ORDER);
    assert_eq!(
        history(&mut c),
        [
            0,
            202511031015000000,
            202512010900000000,
            202605051800070000,
            202605271200000000
        ]
    );
    // One migration at a time, newest (in diesel's order) first, down to the setup.
    let migrator = Migrator::new(&set);
    for _ in 0..4 {
        migrator.down(&mut c, migrate::DownTarget::Newest).unwrap();
    }
    let log = run_log(&mut c);
    assert_eq!(
        log[5..],
        [
            "down add_username",
            "down add_email",
            "down create_posts",
            "down create_users"
        ]
    );
    assert_eq!(history(&mut c), [0]);
    assert_eq!(
        set.parse_version("2026-05-27-120000"),
        Some(202605271200000000)
    );
    assert_eq!(
        set.parse_version("20260527120000"),
        Some(202605271200000000)
    );
}

#[test]
fn history_rows_written_before_padding_are_rewritten() {
    // What the previous version of this tool recorded for a diesel folder: the digits as a
    // number, and the checksum of that number.
    let dir = folder(MIXED_DIESEL);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    Migrator::new(&set)
        .up_to(&mut c, 202605051800070000)
        .unwrap();
    let add_username = set.migrations.last().unwrap();
    // Down-grade one row to the old encoding by hand: 20251103101500 was never 18 digits in
    // the old code, so write a 14-digit folder's row as the old code wrote it.
    let old_version: i64 = 20260527120000;
    let old_checksum = migrate::checksum::of(old_version, "add_username", &add_username.up.sql);
    c.batch_execute(&add_username.up.sql).unwrap();
    c.execute(
        "INSERT INTO refinery_schema_history VALUES ($1, 'add_username', '2026-05-27T12:00:00Z', $2)",
        &[&old_version, &old_checksum.to_string()],
    )
    .unwrap();
    // status reads it as applied (without writing), and up rewrites it and has nothing to do.
    let status = Migrator::new(&set).status(&mut c).unwrap();
    assert!(
        status
            .iter()
            .all(|r| r.state == migrate::State::Applied && r.checksum == migrate::ChecksumState::Ok),
        "{status:#?}"
    );
    assert!(history(&mut c).contains(&old_version), "status only reads");
    assert!(Migrator::new(&set).up(&mut c).unwrap().is_empty());
    assert_eq!(
        history(&mut c),
        [
            0,
            202511031015000000,
            202512010900000000,
            202605051800070000,
            202605271200000000
        ]
    );
    let recorded: String = c
        .query_one(
            "SELECT checksum FROM refinery_schema_history WHERE version = 202605271200000000",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(recorded, add_username.checksum().to_string());
}

#[test]
fn a_diesel_metadata_toml_without_the_key_means_no_transaction_as_in_diesel() {
    // diesel's TomlMetadata: `#[serde(default)] run_in_transaction: bool`, read only when the
    // file exists; so an existing file without the key runs the migration outside a transaction.
    let dir = folder(&[
        ("2024-01-31-120000_a/up.sql", "CREATE TABLE a (id int);\n"),
        ("2024-01-31-120000_a/down.sql", "DROP TABLE a;\n"),
        ("2024-01-31-120000_a/metadata.toml", "# nothing set\n"),
        ("2024-02-01-120000_b/up.sql", "CREATE TABLE b (id int);\n"),
        ("2024-02-01-120000_b/down.sql", "DROP TABLE b;\n"),
        (
            "2024-02-01-120000_b/metadata.toml",
            "run_in_transaction = true\n",
        ),
    ]);
    let set = MigrationSet::discover(dir.path()).unwrap();
    assert!(set.migrations[0].up.no_transaction);
    assert!(!set.migrations[1].up.no_transaction);
}

#[test]
fn diesel_errors_show_diesels_versions() {
    let dir = folder(&[
        ("2024-01-31-120000_a/up.sql", "CREATE TABLE a (id int);\n"),
        ("2024-01-31-120000_a/down.sql", "DROP TABLE a;\n"),
        ("2024-02-01-120000_b/up.sql", "SELECT nope;\n"),
        ("2024-02-01-120000_b/down.sql", "SELECT 1;\n"),
    ]);
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    let err = Migrator::new(&set).up(&mut c).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("migration 20240201120000 (b) failed: "),
        "{err}"
    );
}
