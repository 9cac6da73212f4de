//! The pipeline end to end: write, no-op, check, drift, determinism, `--database-url`.

mod common;

use common::*;
use generate::{GenRequest, run};

fn request(out: &std::path::Path) -> GenRequest {
    GenRequest::new(root().join("migrations"), out)
}

#[test]
fn writes_then_skips_then_detects_drift_without_writing() {
    let out = tempfile::tempdir().unwrap();
    let first = run(&request(out.path())).unwrap();
    assert!(!first.skipped_database);
    let mut written: Vec<String> = first
        .written
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "SCHEMA.md",
            "constraints.rs",
            "dump.sql",
            "enums.rs",
            "models.rs",
            "queries.rs",
            "queries_async.rs"
        ]
    );
    for name in &written {
        let text = std::fs::read_to_string(out.path().join(name)).unwrap();
        let header = if name.ends_with(".sql") {
            generate::DUMP_HEADER
        } else if name.ends_with(".md") {
            codegen::docs::DOCS_HEADER
        } else {
            codegen::HEADER
        };
        assert_eq!(text.lines().next(), Some(header), "{name}");
    }

    // Nothing changed: no database work, nothing written, check passes.
    let second = run(&request(out.path())).unwrap();
    assert!(second.skipped_database && second.written.is_empty());
    let mut check = request(out.path());
    check.check = true;
    let outcome = run(&check).unwrap();
    assert!(outcome.skipped_database && outcome.diff.is_none());

    // A hand edit: check regenerates (the outputs hash no longer matches), diffs, never writes.
    let path = out.path().join("enums.rs");
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("pub enum", "pub  enum");
    std::fs::write(&path, &edited).unwrap();
    let outcome = run(&check).unwrap();
    assert!(!outcome.skipped_database);
    let diff = outcome.diff.expect("drift detected");
    assert!(
        diff.contains("--- a/enums.rs") && diff.contains("+pub enum"),
        "{diff}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        edited,
        "check never writes"
    );

    // A missing file shows as added.
    std::fs::remove_file(out.path().join("models.rs")).unwrap();
    let diff = run(&check).unwrap().diff.unwrap();
    assert!(diff.contains("--- /dev/null\n+++ b/models.rs"), "{diff}");

    // Forced regeneration restores byte-for-byte what the first run wrote.
    let fresh = tempfile::tempdir().unwrap();
    let mut forced = request(fresh.path());
    forced.force = true;
    run(&forced).unwrap();
    run(&request(out.path())).unwrap();
    for name in &written {
        assert_eq!(
            std::fs::read(out.path().join(name)).unwrap(),
            std::fs::read(fresh.path().join(name)).unwrap(),
            "{name} differs between runs"
        );
    }
}

#[test]
fn database_url_uses_and_drops_a_scratch_database() {
    let embedded = tempfile::tempdir().unwrap();
    run(&request(embedded.path())).unwrap();
    let remote = tempfile::tempdir().unwrap();
    let mut req = request(remote.path());
    req.database_url = Some(cluster().url("postgres"));
    let outcome = run(&req).unwrap();
    assert!(!outcome.skipped_database);
    for name in ["constraints.rs", "dump.sql", "enums.rs", "models.rs"] {
        assert_eq!(
            std::fs::read_to_string(embedded.path().join(name)).unwrap(),
            std::fs::read_to_string(remote.path().join(name)).unwrap(),
            "{name}: same output from an embedded cluster and a given server"
        );
    }
    let mut client = cluster().connect("postgres").unwrap();
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'xtask\\_gen\\_%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "scratch database dropped");
}

#[test]
fn errors_never_print_the_password() {
    let out = tempfile::tempdir().unwrap();
    let mut req = request(out.path());
    req.database_url =
        Some("postgres://someone:hunter2@127.0.0.1:1/postgres?connect_timeout=2".to_owned());
    let err = run(&req).unwrap_err().to_string();
    assert!(
        !err.contains("hunter2") && err.contains("someone:***@"),
        "{err}"
    );
}
