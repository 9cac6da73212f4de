//! Shared test helpers: a fresh empty database per test on the shared embedded cluster, and
//! migration folders written to temp dirs.
#![allow(dead_code)]

use std::path::Path;

use pgcluster::{Cluster, TestDatabase};

/// A fresh, empty database (a clone of an empty template).
pub fn fresh_db() -> TestDatabase {
    Cluster::shared()
        .expect("embedded PostgreSQL")
        .database_from_template("migrate_empty", |_| Ok(()))
        .expect("clone an empty database")
}

/// Write `files` (relative path, contents) into a new temp dir.
pub fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), files);
    dir
}

/// Write `files` below `root`, creating folders.
pub fn write(root: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Tables in the public schema, sorted, without the runners' lease table (`migrate_lock`).
pub fn tables(c: &mut postgres::Client) -> Vec<String> {
    c.query(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrate_lock' ORDER BY 1",
        &[],
    )
    .unwrap()
    .into_iter()
    .map(|r| r.get(0))
    .collect()
}

/// Versions recorded in the history table (empty if it does not exist).
pub fn history(c: &mut postgres::Client) -> Vec<i64> {
    let exists: bool = c
        .query_one(
            "SELECT to_regclass('refinery_schema_history') IS NOT NULL",
            &[],
        )
        .unwrap()
        .get(0);
    if !exists {
        return Vec::new();
    }
    c.query(
        "SELECT version::int8 FROM refinery_schema_history ORDER BY version",
        &[],
    )
    .unwrap()
    .into_iter()
    .map(|r| r.get(0))
    .collect()
}

/// A small valid paired set: users, then orgs, then a column.
pub const BASIC: &[(&str, &str)] = &[
    (
        "000001_create users.up.sql",
        "CREATE TABLE users (id int PRIMARY KEY);\n",
    ),
    ("000001_create users.down.sql", "DROP TABLE users;\n"),
    (
        "000002_orgs.up.sql",
        "CREATE TABLE orgs (id int PRIMARY KEY);\n",
    ),
    ("000002_orgs.down.sql", "DROP TABLE orgs;\n"),
    (
        "000003_user_name.up.sql",
        "ALTER TABLE users ADD COLUMN name text;\n",
    ),
    (
        "000003_user_name.down.sql",
        "ALTER TABLE users DROP COLUMN name;\n",
    ),
];

/// A failure located in a file (`Error::MigrationFailed`): its version, where and what
/// failed, and what the run says became of its transaction.
pub fn located(err: &migrate::Error) -> (i64, &migrate::SqlFailure, &str) {
    match err {
        migrate::Error::MigrationFailed {
            version,
            failure,
            outcome,
            ..
        } => (*version, failure, outcome),
        other => panic!("expected a located migration failure, got: {other}"),
    }
}
