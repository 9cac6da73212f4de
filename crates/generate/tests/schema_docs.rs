//! `SCHEMA.md`, the schema reference: it names every table and draws every foreign key of the
//! catalog, Mermaid's own parser accepts every diagram (ours, the torture schema's, a
//! 150-table schema split into parts), `gen --check` fails when it is stale, and `--docs-only`
//! writes only it and the dump.

mod common;

use common::*;
use generate::GenRequest;
use std::path::{Path, PathBuf};
use std::process::Command;

fn mermaid_dir() -> PathBuf {
    root().join("crates/generate/tests/mermaid")
}

/// Parse every diagram of `markdown` with Mermaid (node + `crates/generate/tests/mermaid`,
/// installed with `npm ci` on first use). `None`, with a visible message, where node or the
/// npm packages cannot be had.
fn mermaid_parse(markdown: &Path) -> Option<Result<String, String>> {
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!(
            "SKIPPED: Mermaid parse of {}: node is not installed",
            markdown.display()
        );
        return None;
    }
    let dir = mermaid_dir();
    if !dir.join("node_modules/mermaid").is_dir() {
        let installed = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            eprintln!(
                "SKIPPED: Mermaid parse of {}: `npm ci` in {} failed (no npm or no registry)",
                markdown.display(),
                dir.display()
            );
            return None;
        }
    }
    let out = Command::new("node")
        .arg(dir.join("check.mjs"))
        .arg(markdown)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    })
}

fn assert_mermaid_accepts(markdown: &Path) {
    if let Some(result) = mermaid_parse(markdown) {
        match result {
            Ok(summary) => assert!(summary.contains(", 0 failed"), "{summary}"),
            Err(e) => panic!("Mermaid rejects {}:\n{e}", markdown.display()),
        }
    }
}

fn generate_into(migrations: &Path, out: &Path) -> String {
    let mut request = GenRequest::new(migrations, out);
    request.queries_dir = None;
    generate::run(&request).unwrap();
    std::fs::read_to_string(out.join("SCHEMA.md")).unwrap()
}

/// Every table (not partitions, not the history table) and every foreign key of the
/// catalog appear: the table's anchor, and the relationship line with the key's name.
fn assert_complete(db: &pgcluster::TestDatabase, markdown: &str) {
    let mut client = db.connect().unwrap();
    let tables = client
        .query(
            "SELECT n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
                AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
                AND c.oid IS DISTINCT FROM to_regclass($1) AND c.oid IS DISTINCT FROM to_regclass($2)",
            &[&migrate::HISTORY_TABLE, &migrate::LOCK_TABLE],
        )
        .unwrap();
    assert!(!tables.is_empty());
    for row in &tables {
        let (schema, name): (String, String) = (row.get(0), row.get(1));
        let shown = if schema == "public" {
            name.clone()
        } else {
            format!("{schema}.{name}")
        };
        assert!(
            markdown.contains(&format!("### `{shown}`")),
            "SCHEMA.md has no section for table {shown}"
        );
    }
    let fks = client
        .query(
            "SELECT conname::text FROM pg_constraint WHERE contype = 'f' AND conparentid = 0",
            &[],
        )
        .unwrap();
    for row in &fks {
        let name: String = row.get(0);
        let drawn = markdown.lines().any(|l| {
            l.starts_with("    ")
                && l.ends_with(&format!(" : \"{name}\""))
                && l.contains("--") | l.contains("..")
        });
        assert!(drawn, "foreign key {name} is not drawn");
    }
}

#[test]
fn our_schema_reference_is_complete_and_parses() {
    let out = tempfile::tempdir().unwrap();
    let markdown = generate_into(&root().join("migrations"), out.path());
    assert!(markdown.starts_with(codegen::docs::DOCS_HEADER));
    assert_complete(&migrated_db(), &markdown);
    assert!(
        markdown
            .contains("users ||--o{ organization_members : \"organization_members_user_id_fkey\"")
    );
    assert!(
        markdown.contains("groups ||--o| group_ai_budgets"),
        "a foreign key that is the primary key: at most one child"
    );
    assert!(markdown.contains("**Referenced by**"));
    assert!(markdown.contains("**Raised by triggers**"));
    assert_mermaid_accepts(&out.path().join("SCHEMA.md"));
    // The committed one too (kept current by `committed_generated_dir_is_current`).
    assert_mermaid_accepts(&root().join("generated/SCHEMA.md"));
}

#[test]
fn the_torture_schema_reference_parses() {
    // Odd names, a second schema, partitions, views with `?column?`: written by
    // `torture_generated_code_in_db_tests_is_current`.
    let path = root().join("crates/db/tests/torture/SCHEMA.md");
    let markdown = std::fs::read_to_string(&path).unwrap();
    assert!(markdown.contains("### `Mixed Case.Order Items`"));
    assert!(
        !markdown.contains("ignored.secret"),
        "schemas in gen.toml only"
    );
    assert_mermaid_accepts(&path);
}

#[test]
fn a_large_schema_is_split_into_readable_parts() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    bench::synth::write_set(&migrations, 750).unwrap();
    let markdown = generate_into(&migrations, &dir.path().join("generated"));
    let parts = markdown.matches("\n### Part ").count();
    assert!(parts >= 4, "150 tables in {parts} parts");
    // Each part draws at most 40 tables with their columns.
    let sections: Vec<&str> = markdown.split("\n### ").collect();
    for section in sections.iter().filter(|s| s.starts_with("Part ")) {
        let full_entities = section.lines().filter(|l| l.ends_with(" {")).count();
        assert!(
            full_entities <= codegen::docs::MAX_DIAGRAM_TABLES,
            "{full_entities}"
        );
    }
    let full = sections
        .iter()
        .find(|s| s.starts_with("Full schema"))
        .unwrap();
    assert_eq!(full.lines().filter(|l| l.ends_with(" {")).count(), 150);
    let set = migrate::MigrationSet::discover(&migrations).unwrap();
    let db = cluster()
        .database_from_template(&format!("gen_synth_{}", set.hash()), |c| {
            migrate::Migrator::new(&set).up(c)?;
            Ok(())
        })
        .unwrap();
    assert_complete(&db, &markdown);
    assert_mermaid_accepts(&dir.path().join("generated/SCHEMA.md"));
}

#[test]
fn gen_check_fails_when_schema_md_is_stale() {
    let out = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(root().join("generated")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), out.path().join(entry.file_name())).unwrap();
    }
    let mut request = GenRequest::new(root().join("migrations"), out.path());
    request.check = true;
    assert!(generate::run(&request).unwrap().diff.is_none());
    let path = out.path().join("SCHEMA.md");
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("# Schema reference", "# Schema reference (edited)");
    std::fs::write(&path, edited).unwrap();
    let diff = generate::run(&request)
        .unwrap()
        .diff
        .expect("stale SCHEMA.md");
    assert!(
        diff.contains("SCHEMA.md") && diff.contains("(edited)"),
        "{diff}"
    );
}

#[test]
fn docs_only_writes_the_reference_and_the_dump() {
    let out = tempfile::tempdir().unwrap();
    let mut request = GenRequest::new(root().join("migrations"), out.path());
    request.docs_only = true;
    let first = generate::run(&request).unwrap();
    let mut written: Vec<String> = first
        .written
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    written.sort();
    assert_eq!(written, ["SCHEMA.md", "dump.sql"]);
    let second = generate::run(&request).unwrap();
    assert!(second.skipped_database && second.written.is_empty());
}
