//! `check`, `diff` and `migrate renumber` on the command line: output and exit codes
//! (0 ok, 1 check failed, 2 usage).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pgcluster::Cluster;

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (rel, t) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    }
}

fn ours() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}

const GOOD: &[(&str, &str)] = &[
    (
        "000001_users.up.sql",
        "CREATE TABLE users (id int, email text);\n",
    ),
    ("000001_users.down.sql", "DROP TABLE users;\n"),
    (
        "fixtures/000001_users.sql",
        "INSERT INTO users VALUES (1, 'a');\n",
    ),
];

#[test]
fn check_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), GOOD);
    let d = dir.path().to_str().unwrap();
    let o = xtask(&[
        "check",
        "--dir",
        d,
        "--only",
        "set,lint,reversibility,fixtures",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("check passed: 4 passed"), "{}", text(&o));

    write(
        dir.path(),
        &[
            (
                "000002_idx.up.sql",
                "CREATE INDEX users_email_idx ON users (email);\n",
            ),
            ("000002_idx.down.sql", "SELECT 1;\n"),
        ],
    );
    let o = xtask(&["check", "--dir", d]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("error[set:missing-fixture]"), "{out}");
    assert!(
        out.contains("error[lint:index-without-concurrently]: "),
        "{out}"
    );
    assert!(out.contains("000002_idx.up.sql:1"), "{out}");
    assert!(out.contains("error[reversibility]"), "{out}");

    // --since 3: migrations 1 and 2 are applied, not checked, by every part.
    let parts = "set,lint,reversibility,fixtures";
    let o = xtask(&["check", "--dir", d, "--only", parts, "--since", "3"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("2 migration(s) before --since applied, not checked"),
        "{}",
        text(&o)
    );
    // --lint-since is an alias; --fail-fast is accepted (and stops the walk at migration 2).
    let o = xtask(&["check", "--dir", d, "--only", "lint", "--lint-since", "3"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = xtask(&[
        "check",
        "--dir",
        d,
        "--only",
        "reversibility",
        "--fail-fast",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("stopped at migration 2_idx"),
        "{}",
        text(&o)
    );

    // Explicitly asked for, but no generated folder next to it: not a pass.
    let o = xtask(&["check", "--dir", d, "--only", "drift"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("NOT AVAILABLE"), "{}", text(&o));

    let o = xtask(&["check", "--only", "everything"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn diff_exit_codes() {
    let db = Cluster::shared()
        .unwrap()
        .database_from_template("xtask_check_empty", |_| Ok(()))
        .unwrap();
    let dir = ours();
    let d = dir.to_str().unwrap();
    let o = xtask(&["migrate", "--database-url", db.url(), "--dir", d]);
    assert!(o.status.success(), "{}", text(&o));
    let o = xtask(&["diff", "--database-url", db.url(), "--dir", d]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("no drift"), "{}", text(&o));

    db.connect()
        .unwrap()
        .batch_execute("ALTER TABLE users ADD COLUMN hotfix text")
        .unwrap();
    let o = xtask(&["diff", "--database-url", db.url(), "--dir", d]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("+    hotfix text"), "{}", text(&o));

    let o = xtask(&["diff"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn renumber_refuses_when_applied_and_moves_otherwise() {
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .arg("-C")
            .arg(r)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    };
    git(&["init", "-q", "-b", "main"]);
    let m = r.join("migrations");
    write(&m, GOOD);
    write(
        &m,
        &[
            ("000002_main.up.sql", "CREATE TABLE main_t (id int);\n"),
            ("000002_main.down.sql", "DROP TABLE main_t;\n"),
            (
                "fixtures/000002_main.sql",
                "INSERT INTO main_t VALUES (1);\n",
            ),
        ],
    );
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "main"]);
    // This branch's migration, colliding with main's 2 (not committed: the working tree counts).
    write(
        &m,
        &[
            ("000002_mine.up.sql", "CREATE TABLE mine (id int);\n"),
            ("000002_mine.down.sql", "DROP TABLE mine;\n"),
            ("fixtures/000002_mine.sql", "INSERT INTO mine VALUES (1);\n"),
        ],
    );
    let db = Cluster::shared()
        .unwrap()
        .database_from_template("xtask_check_empty", |_| Ok(()))
        .unwrap();
    let md = m.to_str().unwrap();
    db.connect()
        .unwrap()
        .batch_execute(
            "CREATE TABLE refinery_schema_history (version int8 PRIMARY KEY, name varchar(255), applied_on varchar(255), checksum varchar(255));
             INSERT INTO refinery_schema_history VALUES (2, 'mine', '', '1');",
        )
        .unwrap();
    let o = xtask(&[
        "migrate",
        "renumber",
        "--database-url",
        db.url(),
        "--dir",
        md,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("nothing was renamed"), "{}", text(&o));
    assert!(m.join("000002_mine.up.sql").exists());

    db.connect()
        .unwrap()
        .batch_execute("DELETE FROM refinery_schema_history")
        .unwrap();
    let o = xtask(&[
        "migrate",
        "renumber",
        "--dry-run",
        "--database-url",
        db.url(),
        "--dir",
        md,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("2 -> 3  mine"), "{}", text(&o));
    assert!(m.join("000002_mine.up.sql").exists());

    let o = xtask(&[
        "migrate",
        "renumber",
        "--onto",
        "main",
        "--database-url",
        db.url(),
        "--dir",
        md,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(m.join("000003_mine.up.sql").exists());
    assert!(m.join("fixtures/000003_mine.sql").exists());
    let o = xtask(&["migrate", "status", "--database-url", db.url(), "--dir", md]);
    assert!(o.status.success(), "{}", text(&o));
}
