//! `migrate renumber`: two branches' migrations collide after a merge; this branch's move past
//! main's highest version, fixtures included, in one step; refused when one is applied.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use migrate::renumber;

fn git(repo: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn migration(version: u32, name: &str, table: &str) -> Vec<(String, String)> {
    let stem = format!("{version:06}_{name}");
    vec![
        (
            format!("migrations/{stem}.up.sql"),
            format!("CREATE TABLE {table} (id int);\n"),
        ),
        (
            format!("migrations/{stem}.down.sql"),
            format!("DROP TABLE {table};\n"),
        ),
        (
            format!("migrations/fixtures/{stem}.sql"),
            format!("INSERT INTO {table} VALUES (1);\n"),
        ),
    ]
}

fn add(repo: &Path, files: Vec<(String, String)>, message: &str) {
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    write(repo, &refs);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", message]);
}

/// A repository on branch `feature` that just merged `main`: main added 3 main_audit, the
/// branch 3 feature_skills and 4 feature_tags.
fn merged_repo() -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    git(r, &["init", "-q", "-b", "main"]);
    add(
        r,
        [migration(1, "users", "users"), migration(2, "orgs", "orgs")].concat(),
        "base",
    );
    git(r, &["checkout", "-q", "-b", "feature"]);
    add(
        r,
        [
            migration(3, "feature_skills", "skills"),
            migration(4, "feature_tags", "tags"),
        ]
        .concat(),
        "feature",
    );
    git(r, &["checkout", "-q", "main"]);
    add(r, migration(3, "main_audit", "audit"), "main");
    git(r, &["checkout", "-q", "feature"]);
    git(r, &["merge", "-q", "--no-edit", "main"]);
    repo
}

#[test]
fn this_branchs_migrations_move_past_main_with_their_fixtures() {
    let repo = merged_repo();
    let dir = repo.path().join("migrations");
    // The collision: discovery refuses the folder.
    let err = migrate::MigrationSet::discover(&dir).unwrap_err();
    assert!(err.to_string().contains("duplicate version 3"), "{err}");

    let onto = renumber::default_onto(&dir).unwrap();
    assert_eq!(onto, "main");
    let main = renumber::main_migrations(&dir, &onto).unwrap();
    assert_eq!(main.iter().map(|(v, _)| *v).collect::<Vec<_>>(), [1, 2, 3]);
    let plan = renumber::plan(&dir, &onto, &main).unwrap();
    assert_eq!(plan.main_highest, 3);
    let moves: Vec<(i64, i64, &str)> = plan
        .moves
        .iter()
        .map(|m| (m.from, m.to, m.name.as_str()))
        .collect();
    assert_eq!(moves, [(3, 4, "feature_skills"), (4, 5, "feature_tags")]);
    assert_eq!(plan.moves[0].renames.len(), 3, "up, down and fixture");

    // A dev database that has none of them applied: allowed.
    let db = cluster()
        .database_from_template("check_renumber_empty", |_| Ok(()))
        .unwrap();
    let mut c = db.connect().unwrap();
    assert!(plan.applied(&mut c).unwrap().is_empty());
    plan.execute().unwrap();

    let set = migrate::MigrationSet::discover(&dir).unwrap();
    let names: Vec<String> = set.migrations.iter().map(|m| m.label()).collect();
    assert_eq!(
        names,
        [
            "1_users",
            "2_orgs",
            "3_main_audit",
            "4_feature_skills",
            "5_feature_tags"
        ]
    );
    assert!(dir.join("fixtures/000005_feature_tags.sql").is_file());
    assert!(!dir.join("fixtures/000004_feature_tags.sql").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("000004_feature_skills.up.sql")).unwrap(),
        "CREATE TABLE skills (id int);\n"
    );

    // Run again: nothing left to move.
    let plan = renumber::plan(&dir, &onto, &main).unwrap();
    assert!(plan.moves.is_empty());
    assert_eq!(plan.branch.len(), 2);
}

#[test]
fn a_migration_applied_to_the_dev_database_blocks_every_rename() {
    let repo = merged_repo();
    let dir = repo.path().join("migrations");
    let main = renumber::main_migrations(&dir, "main").unwrap();
    let plan = renumber::plan(&dir, "main", &main).unwrap();
    let db = cluster()
        .database_from_template("check_renumber_empty", |_| Ok(()))
        .unwrap();
    let mut c = db.connect().unwrap();
    // The dev database ran the branch (1, 2, 3 feature_skills) before the merge.
    c.batch_execute(
        "CREATE TABLE refinery_schema_history (version int8 PRIMARY KEY, name varchar(255), applied_on varchar(255), checksum varchar(255));
         INSERT INTO refinery_schema_history VALUES
           (1, 'users', '', '1'), (2, 'orgs', '', '1'), (3, 'feature_skills', '', '1');",
    )
    .unwrap();
    let applied = plan.applied(&mut c).unwrap();
    assert_eq!(applied.len(), 1);
    assert_eq!(
        (applied[0].from, applied[0].name.as_str()),
        (3, "feature_skills")
    );
    // main's own migration 3 applied under its name does not count.
    c.batch_execute("UPDATE refinery_schema_history SET name = 'main_audit' WHERE version = 3")
        .unwrap();
    assert!(plan.applied(&mut c).unwrap().is_empty());
}

#[test]
fn an_unknown_revision_is_an_error() {
    let repo = merged_repo();
    let dir = repo.path().join("migrations");
    let err = renumber::main_migrations(&dir, "no-such-branch").unwrap_err();
    assert!(err.to_string().contains("no-such-branch"), "{err}");
}
