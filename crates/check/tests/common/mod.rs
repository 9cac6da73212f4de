//! Shared helpers: migration folders in temp dirs, our migrations folder, the shared cluster.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use check::{Finding, Options, Part, Report};
use pgcluster::Cluster;

/// Write `files` (relative path, text) into a new temp dir.
pub fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), files);
    dir
}

/// Write `files` below `root`.
pub fn write(root: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// The workspace's `migrations/`.
pub fn our_migrations() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations")
}

/// The process-wide embedded cluster.
pub fn cluster() -> &'static Cluster {
    Cluster::shared().expect("embedded PostgreSQL")
}

/// Run `parts` of check on `dir` with the shared cluster.
pub fn check(dir: &Path, parts: &[Part]) -> Report {
    check::run(&Options::new(dir).only(parts).cluster(cluster()))
}

/// The failures of `part`, printed, for assertions.
pub fn failures(report: &Report, part: Part) -> Vec<Finding> {
    report
        .part(part)
        .unwrap_or_else(|| panic!("part {part} did not run:\n{report}"))
        .failures
        .clone()
}

/// A valid two-migration base: users (with a row), then orgs (with a row).
pub const BASE: &[(&str, &str)] = &[
    (
        "000001_users.up.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n",
    ),
    ("000001_users.down.sql", "DROP TABLE users;\n"),
    (
        "fixtures/000001_users.sql",
        "INSERT INTO users VALUES (1, 'a@example.com');\n",
    ),
    (
        "000002_orgs.up.sql",
        "CREATE TABLE orgs (id bigint PRIMARY KEY, name text NOT NULL);\n",
    ),
    ("000002_orgs.down.sql", "DROP TABLE orgs;\n"),
    (
        "fixtures/000002_orgs.sql",
        "INSERT INTO orgs VALUES (1, 'acme');\n",
    ),
];

/// BASE plus `extra` files.
pub fn base_with(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = folder(BASE);
    write(dir.path(), extra);
    dir
}
