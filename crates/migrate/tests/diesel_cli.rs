//! Against the real diesel_cli: the same folder, applied by diesel and by us, runs in the same
//! order, and `adopt` takes over a database diesel migrated. Skipped, with a message, when
//! diesel_cli is not installed (`cargo install diesel_cli --no-default-features --features
//! postgres`; `.ci/run` installs it).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use migrate::{MigrationSet, Migrator};

/// The diesel binary: `$DIESEL`, `~/.cargo/bin/diesel`, or `diesel` on `PATH`.
pub fn diesel() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("DIESEL").map(PathBuf::from),
        std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
            .map(|h| h.join("bin/diesel")),
        Some(PathBuf::from("diesel")),
    ];
    for c in candidates.into_iter().flatten() {
        if Command::new(&c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(c);
        }
    }
    eprintln!(
        "SKIPPED: diesel_cli is not installed (cargo install diesel_cli --no-default-features --features postgres)"
    );
    None
}

/// `diesel migration <args> --migration-dir dir --database-url url`, which must succeed.
pub fn run_diesel(diesel: &Path, args: &[&str], dir: &Path, url: &str) {
    let out = Command::new(diesel)
        .arg("migration")
        .args(args)
        .arg("--migration-dir")
        .arg(dir)
        .arg("--database-url")
        .arg(url)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "diesel migration {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn strings(c: &mut postgres::Client, sql: &str) -> Vec<String> {
    c.query(sql, &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// A diesel folder mixing old (14-digit) and current (18-digit) diesel_cli versions; each up
/// logs its name and each down `down <name>` in `run_log`, so the order they ran in shows.
const MIXED: &[(&str, &str)] = &[
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
        "2025-11-20-080000_create_orgs/up.sql",
        "CREATE TABLE orgs (id int PRIMARY KEY);\nINSERT INTO run_log (what) VALUES ('create_orgs');\n",
    ),
    (
        "2025-11-20-080000_create_orgs/down.sql",
        "DROP TABLE orgs;\nINSERT INTO run_log (what) VALUES ('down create_orgs');\n",
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
        "ALTER TABLE users ADD COLUMN username text;\nINSERT INTO run_log (what) VALUES ('add_username');\n",
    ),
    (
        "2026-05-27-120000_add_username/down.sql",
        "ALTER TABLE users DROP COLUMN username;\nINSERT INTO run_log (what) VALUES ('down add_username');\n",
    ),
    ("one_off_backfill.sql", "UPDATE users SET id = id;\n"),
];

#[test]
fn we_apply_and_revert_a_mixed_width_folder_in_diesel_clis_order() {
    let Some(diesel) = diesel() else { return };
    let dir = folder(MIXED);

    // diesel_cli on one database ...
    let theirs = fresh_db();
    run_diesel(&diesel, &["run"], dir.path(), theirs.url());
    let mut d = theirs.connect().unwrap();
    let diesel_up = strings(&mut d, "SELECT what FROM run_log ORDER BY n");
    // diesel records the dash-less version of each folder.
    let diesel_versions = strings(
        &mut d,
        "SELECT version::text FROM __diesel_schema_migrations ORDER BY version",
    );

    // ... us on another.
    let set = MigrationSet::discover(dir.path()).unwrap();
    assert_eq!(
        set.warnings.len(),
        1,
        "the one-off script is ignored with a warning"
    );
    let ours = fresh_db();
    let mut c = ours.connect().unwrap();
    Migrator::new(&set).up(&mut c).unwrap();
    let our_up = strings(&mut c, "SELECT what FROM run_log ORDER BY n");
    assert_eq!(our_up, diesel_up, "same order as diesel_cli");
    assert_eq!(
        diesel_up,
        [
            "initial",
            "create_users",
            "create_orgs",
            "create_posts",
            "add_email",
            "add_username"
        ]
    );
    let our_versions: Vec<String> = set
        .migrations
        .iter()
        .map(|m| m.version_text.clone())
        .collect();
    assert_eq!(our_versions, diesel_versions, "same versions, same order");

    // Revert one at a time, newest first, on both: the same reverse order.
    for _ in 0..5 {
        run_diesel(&diesel, &["revert"], dir.path(), theirs.url());
        Migrator::new(&set)
            .down(&mut c, migrate::DownTarget::Newest)
            .unwrap();
    }
    let diesel_log = strings(&mut d, "SELECT what FROM run_log ORDER BY n");
    let our_log = strings(&mut c, "SELECT what FROM run_log ORDER BY n");
    assert_eq!(our_log, diesel_log);
    assert_eq!(
        our_log[6..],
        [
            "down add_username",
            "down add_email",
            "down create_posts",
            "down create_orgs",
            "down create_users"
        ]
    );
}

#[test]
fn adopt_takes_over_a_database_diesel_cli_migrated() {
    let Some(diesel) = diesel() else { return };
    let dir = folder(MIXED);
    let db = fresh_db();
    run_diesel(&diesel, &["run"], dir.path(), db.url());
    let mut c = db.connect().unwrap();

    // A migration diesel never saw, newer than all: pending after the adoption.
    write(
        dir.path(),
        &[
            (
                "2026-06-01-000000-0000_add_bio/up.sql",
                "ALTER TABLE users ADD COLUMN bio text;\n",
            ),
            (
                "2026-06-01-000000-0000_add_bio/down.sql",
                "ALTER TABLE users DROP COLUMN bio;\n",
            ),
        ],
    );
    // A folder that lacks a migration diesel applied is refused, changing nothing.
    let partial = folder(MIXED);
    std::fs::remove_dir_all(partial.path().join("2025-11-20-080000_create_orgs")).unwrap();
    let partial_set = MigrationSet::discover(partial.path()).unwrap();
    match Migrator::new(&partial_set).adopt(&mut c, None, false) {
        Err(migrate::Error::Adopt(migrate::AdoptError::MissingFromFolder { version, .. })) => {
            assert_eq!(version, "20251120080000")
        }
        other => panic!("{other:?}"),
    }
    assert!(history(&mut c).is_empty(), "nothing recorded");
    assert!(!tables(&mut c).contains(&"refinery_schema_history".to_string()));

    let set = MigrationSet::discover(dir.path()).unwrap();
    let adopted = Migrator::new(&set).adopt(&mut c, None, false).unwrap();
    assert_eq!(adopted.tool, migrate::Tool::Diesel);
    let diesel_versions = strings(
        &mut c,
        "SELECT version::text FROM __diesel_schema_migrations ORDER BY version",
    );
    assert_eq!(
        adopted
            .recorded
            .iter()
            .map(|r| r.version_text.clone())
            .collect::<Vec<_>>(),
        diesel_versions
    );
    let status = Migrator::new(&set).status(&mut c).unwrap();
    assert_eq!(
        status
            .iter()
            .filter(|r| r.state == migrate::State::Applied)
            .count(),
        6
    );
    let applied = Migrator::new(&set).up(&mut c).unwrap();
    assert_eq!(applied.len(), 1);
    assert_eq!(set.show_version(applied[0].version), "202606010000000000");
    // diesel's log shows no migration ran twice.
    assert_eq!(
        strings(&mut c, "SELECT what FROM run_log ORDER BY n").len(),
        6
    );
}
