//! The `migrate` command line end to end: output, exit codes, errors for people.

use std::path::Path;
use std::process::{Command, Output};

use pgcluster::{Cluster, TestDatabase};

fn fresh_db() -> TestDatabase {
    Cluster::shared()
        .unwrap()
        .database_from_template("xtask_empty", |_| Ok(()))
        .unwrap()
}

fn xtask(args: &[&str], url: &str, dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .arg("--database-url")
        .arg(url)
        .arg("--dir")
        .arg(dir)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (rel, t) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    }
}

#[test]
fn migrate_then_nothing_to_apply_then_status_then_down() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("000001_users.up.sql", "CREATE TABLE users (id int);\n"),
            ("000001_users.down.sql", "DROP TABLE users;\n"),
            ("000002_orgs.up.sql", "CREATE TABLE orgs (id int);\n"),
            ("000002_orgs.down.sql", "DROP TABLE orgs;\n"),
        ],
    );
    let db = fresh_db();
    let o = xtask(&["migrate"], db.url(), dir.path());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(out.contains("applied 1 users"), "{out}");
    assert!(out.contains("2 migration(s) applied"), "{out}");

    let o = xtask(&["migrate", "up"], db.url(), dir.path());
    assert!(o.status.success());
    assert!(text(&o).0.starts_with("nothing to apply"), "{:?}", text(&o));

    let o = xtask(&["migrate", "status", "--json"], db.url(), dir.path());
    assert!(o.status.success());
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert_eq!(json[1]["state"], "applied");

    let o = xtask(&["migrate", "down"], db.url(), dir.path());
    assert!(o.status.success());
    assert_eq!(text(&o).0, "reverted 2 orgs\n");

    let o = xtask(&["migrate", "redo"], db.url(), dir.path());
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(text(&o).0, "redone 1 users (down, then up)\n");

    let o = xtask(&["migrate", "down", "--all"], db.url(), dir.path());
    assert_eq!(text(&o).0, "reverted 1 users\n");
}

#[test]
fn a_failing_migration_exits_1_with_file_line_and_sqlstate() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            (
                "000001_bad.up.sql",
                "CREATE TABLE t (id int);\nSELECT nope FROM t;\n",
            ),
            ("000001_bad.down.sql", "DROP TABLE t;\n"),
        ],
    );
    let db = fresh_db();
    let o = xtask(&["migrate"], db.url(), dir.path());
    assert_eq!(o.status.code(), Some(1));
    let (_, err) = text(&o);
    assert!(
        err.starts_with("error: migration 1 (bad) failed: "),
        "{err}"
    );
    assert!(
        err.contains("000001_bad.up.sql:2:8: ERROR 42703: column \"nope\" does not exist"),
        "{err}"
    );
}

#[test]
fn validation_problems_exit_1_and_list_every_path() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("000001_a.up.sql", "SELECT 1;"),
            ("000003_c.up.sql", "SELECT 1;"),
            ("000003_c.down.sql", "SELECT 1;"),
        ],
    );
    let db = fresh_db();
    let o = xtask(&["migrate"], db.url(), dir.path());
    assert_eq!(o.status.code(), Some(1));
    let (_, err) = text(&o);
    assert!(err.contains("2 problem(s) in migration folder"), "{err}");
    assert!(
        err.contains("000001_a.up.sql: has no matching down migration"),
        "{err}"
    );
    assert!(err.contains("000003_c.up.sql: gap in versions"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let o = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["migrate", "down", "--to", "3", "--all"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_bad_url_is_reported_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let o = xtask(
        &["migrate"],
        "postgresql://app:hunter2@127.0.0.1:1/app?connect_timeout=2",
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let (_, err) = text(&o);
    assert!(
        err.contains("cannot connect to postgresql://app:***@127.0.0.1:1/app"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn new_creates_the_next_pair_and_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["migrate", "new", name, "--dir"])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    assert!(run("Create users").status.success());
    assert!(run("add budget caps").status.success());
    for f in [
        "000001_create_users.up.sql",
        "000001_create_users.down.sql",
        "fixtures/000001_create_users.sql",
        "000002_add_budget_caps.up.sql",
        "fixtures/000002_add_budget_caps.sql",
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
}

#[test]
fn a_diesel_folder_with_a_stray_sql_file_applies_with_a_warning_and_strict_fails() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            (
                "2024-01-31-120000_users/up.sql",
                "CREATE TABLE users (id int);\n",
            ),
            ("2024-01-31-120000_users/down.sql", "DROP TABLE users;\n"),
            (
                "2026-05-05-180007-0000_orgs/up.sql",
                "CREATE TABLE orgs (id int);\n",
            ),
            ("2026-05-05-180007-0000_orgs/down.sql", "DROP TABLE orgs;\n"),
            ("backfill.sql", "UPDATE users SET id = id;\n"),
        ],
    );
    let db = fresh_db();
    let o = xtask(&["migrate", "--strict"], db.url(), dir.path());
    assert_eq!(o.status.code(), Some(1));
    let (_, err) = text(&o);
    assert!(
        err.contains("backfill.sql: ignored, as diesel ignores it"),
        "{err}"
    );
    assert!(err.contains("(an error with --strict)"), "{err}");

    let o = xtask(&["migrate"], db.url(), dir.path());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        err.starts_with("warning: ") && err.contains("backfill.sql: ignored, as diesel ignores it"),
        "{err}"
    );
    // Versions are shown as diesel writes them; --to takes them with or without dashes.
    assert!(out.contains("applied 20240131120000 users"), "{out}");
    assert!(out.contains("applied 202605051800070000 orgs"), "{out}");
    let o = xtask(
        &["migrate", "down", "--to", "2024-01-31-120000"],
        db.url(),
        dir.path(),
    );
    assert_eq!(
        text(&o).0,
        "reverted 202605051800070000 orgs\n",
        "{:?}",
        text(&o)
    );
}

#[test]
fn begin_commit_in_a_migration_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("000001_a.up.sql", "CREATE TABLE a (id int);\n"),
            ("000001_a.down.sql", "DROP TABLE a;\n"),
            (
                "000002_b.up.sql",
                "BEGIN;\nCREATE TABLE b (id int);\nCOMMIT;\n",
            ),
            ("000002_b.down.sql", "DROP TABLE b;\n"),
            ("000003_c.up.sql", "SELECT nope;\n"),
            ("000003_c.down.sql", "SELECT 1;\n"),
        ],
    );
    let db = fresh_db();
    let o = xtask(&["migrate"], db.url(), dir.path());
    assert_eq!(o.status.code(), Some(1));
    let (_, err) = text(&o);
    assert!(
        err.contains("000002_b.up.sql:3: `COMMIT` at top level"),
        "{err}"
    );
    assert!(err.contains("nothing was applied"), "{err}");
    let mut c = db.connect().unwrap();
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "nothing ran, not even the history table");
}

#[test]
fn adopt_and_baseline_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("000001_users.up.sql", "CREATE TABLE users (id int);\n"),
            ("000001_users.down.sql", "DROP TABLE users;\n"),
            ("000002_orgs.up.sql", "CREATE TABLE orgs (id int);\n"),
            ("000002_orgs.down.sql", "DROP TABLE orgs;\n"),
        ],
    );
    let db = fresh_db();
    let mut c = db.connect().unwrap();
    c.batch_execute(
        "CREATE TABLE users (id int);
         CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null);
         INSERT INTO schema_migrations VALUES (1, false);",
    )
    .unwrap();
    let o = xtask(&["migrate", "adopt", "--dry-run"], db.url(), dir.path());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(out.contains("would record 1 users as applied"), "{out}");
    assert!(out.contains("nothing was changed (--dry-run)"), "{out}");
    let o = xtask(&["migrate", "baseline", "--to", "1"], db.url(), dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o)
            .1
            .contains("Take it over with `cargo xtask migrate adopt`"),
        "{:?}",
        text(&o)
    );
    let o = xtask(&["migrate", "adopt"], db.url(), dir.path());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        out.contains("recorded 1 migration(s) from golang-migrate's history (schema_migrations)"),
        "{out}"
    );
    let o = xtask(&["migrate"], db.url(), dir.path());
    assert!(text(&o).0.contains("applied 2 orgs"), "{:?}", text(&o));

    let other = fresh_db();
    let o = xtask(
        &["migrate", "baseline", "--to", "2"],
        other.url(),
        dir.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(out.contains("recorded 2 migration(s) as applied"), "{out}");
    let o = xtask(&["migrate", "status"], other.url(), dir.path());
    assert!(
        text(&o).0.contains("2 applied, 0 pending"),
        "{:?}",
        text(&o)
    );
}

#[test]
fn lock_mode_in_status_and_a_lock_timeout_failure_names_the_blocker() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("000001_t.up.sql", "CREATE TABLE t (id int);\n"),
            ("000001_t.down.sql", "DROP TABLE t;\n"),
            ("000002_c.up.sql", "ALTER TABLE t ADD COLUMN c int;\n"),
            ("000002_c.down.sql", "ALTER TABLE t DROP COLUMN c;\n"),
        ],
    );
    let db = fresh_db();
    let o = xtask(&["migrate", "status"], db.url(), dir.path());
    let (out, err) = text(&o);
    assert!(out.contains("lock: advisory (detected)"), "{out}{err}");
    let o = xtask(
        &["migrate", "--lock", "table", "status"],
        db.url(),
        dir.path(),
    );
    assert!(text(&o).0.contains("lock: table (--lock)"));
    let o = xtask(
        &["migrate", "--lock", "table", "up", "--to", "1"],
        db.url(),
        dir.path(),
    );
    assert!(o.status.success(), "{:?}", text(&o));
    // A reader holds ACCESS SHARE on t: the ALTER gives up after 200 ms, twice retried.
    let mut blocker = db.connect().unwrap();
    blocker.batch_execute("BEGIN; SELECT * FROM t").unwrap();
    let pid: i32 = blocker
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    let o = xtask(
        &["migrate", "--lock-timeout", "200ms", "--lock-retries", "2"],
        db.url(),
        dir.path(),
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(err.contains("retry 2 of 2"), "{err}");
    assert!(
        err.contains("could not take its locks: 3 attempt(s)"),
        "{err}"
    );
    assert!(
        err.contains(&format!("pid {pid} (idle in transaction")),
        "{err}"
    );
    blocker.batch_execute("COMMIT").unwrap();
    let o = xtask(
        &["migrate", "--lock-timeout", "200ms"],
        db.url(),
        dir.path(),
    );
    assert!(o.status.success(), "{:?}", text(&o));
}
