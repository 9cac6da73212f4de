//! The normalised dump: deterministic, free of noise, and a faithful schema.

mod common;

use common::*;
use std::process::Command;

fn psql_file(url: &str, path: &std::path::Path) {
    let out = Command::new(cluster().bindir().join("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn round_trip(db: &pgcluster::TestDatabase, label: &str) {
    let first = schema::dump::dump(db.url(), cluster().bindir(), &exclude()).unwrap();
    let second = schema::dump::dump(db.url(), cluster().bindir(), &exclude()).unwrap();
    assert_eq!(first, second, "{label}: two dumps differ");
    for noise in [
        "\\restrict",
        "\\unrestrict",
        "Dumped from",
        "Dumped by",
        "Owner: postgres",
        "OWNER TO",
        "GRANT ",
        "statement_timeout",
    ] {
        assert!(!first.contains(noise), "{label}: dump contains {noise:?}");
    }
    assert!(
        !first.contains("\n\n\n"),
        "{label}: blank lines not collapsed"
    );
    assert!(first.starts_with(schema::dump::PREAMBLE));

    // Load into an empty database: the result dumps identically.
    let empty = cluster()
        .database_from_template("schema_empty", |_| Ok(()))
        .unwrap();
    let file = std::env::temp_dir().join(format!("schema-dump-{}-{label}.sql", std::process::id()));
    std::fs::write(&file, &first).unwrap();
    psql_file(empty.url(), &file);
    std::fs::remove_file(&file).unwrap();
    let reloaded = schema::dump::dump(empty.url(), cluster().bindir(), &exclude()).unwrap();
    assert_eq!(first, reloaded, "{label}: reloaded dump differs");
}

#[test]
fn nasty_dump_is_deterministic_and_reloads_identically() {
    round_trip(&fixture_db("nasty.sql"), "nasty");
}

#[test]
fn migrations_dump_is_deterministic_and_reloads_identically() {
    round_trip(&migrated_db(), "migrations");
}

#[test]
fn function_bodies_are_byte_exact() {
    let db = fixture_db("nasty.sql");
    let dump = schema::dump::dump(db.url(), cluster().bindir(), &exclude()).unwrap();
    let mut client = db.connect().unwrap();
    for row in client
        .query("SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'", &[])
        .unwrap()
    {
        let body: String = row.get(0);
        assert!(dump.contains(&body), "body not found verbatim:\n{body}");
    }
    assert!(
        dump.contains("AS $_$"),
        "the $$-containing body is quoted with $_$"
    );
}

#[test]
fn pg_dump_errors_name_the_database_without_password() {
    let url = cluster()
        .url("no_such_database")
        .replace("postgres@", "postgres:hunter2@");
    let err = schema::dump::dump(&url, cluster().bindir(), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("no_such_database"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
