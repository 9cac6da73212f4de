//! The nullability corpus (`tests/nullability_corpus/`): 40+ report queries over an
//! AI-spend schema, with the expected nullability of every column checked in
//! (`expected.txt`, one line per query: `Name column=T column=Option ...`). Prints how many
//! columns are `Option` with the column rule only (before expression proofs) and with the
//! proofs, for the corpus and for `crates/db/queries`:
//!
//! `cargo test -p querygen --test nullability_corpus -- --nocapture`
//!
//! `UPDATE_GENERATED=1` rewrites `expected.txt` (review the diff: it is the specification).

mod common;

use common::*;
use querygen::annotate::SourceFile;
use querygen::infer::{Expressions, InferredQuery, infer_with};

fn load(path: &str, display: &str) -> Vec<querygen::annotate::QueryDef> {
    let text = std::fs::read_to_string(manifest_dir().join(path)).unwrap();
    querygen::parse(&[SourceFile {
        display: display.to_owned(),
        text,
    }])
    .unwrap()
}

fn describe(queries: &[InferredQuery]) -> String {
    let mut out = String::new();
    for q in queries {
        out.push_str(&q.def.name);
        for c in &q.columns {
            let kind = if c.nullable { "Option" } else { "T" };
            out.push_str(&format!(" {}={kind}", c.name));
        }
        out.push('\n');
    }
    out
}

/// (columns, `Option` columns).
fn count(queries: &[InferredQuery]) -> (usize, usize) {
    let columns = queries.iter().map(|q| q.columns.len()).sum();
    let optional = queries
        .iter()
        .flat_map(|q| &q.columns)
        .filter(|c| c.nullable)
        .count();
    (columns, optional)
}

fn before_after(
    client: &mut postgres::Client,
    defs: &[querygen::annotate::QueryDef],
) -> (Vec<InferredQuery>, Vec<InferredQuery>) {
    let before = infer_with(client, defs, Expressions::Optional).unwrap();
    let after = infer_with(client, defs, Expressions::Proven).unwrap();
    // The proofs only ever turn an `Option` into a plain type.
    for (b, a) in before.iter().zip(&after) {
        for (cb, ca) in b.columns.iter().zip(&a.columns) {
            assert!(
                cb.nullable || !ca.nullable,
                "{}.{} became optional",
                b.def.name,
                cb.name
            );
        }
    }
    (before, after)
}

#[test]
fn corpus_matches_the_expected_nullability() {
    let db = corpus_db();
    let mut client = db.connect().unwrap();
    let defs = load(
        "tests/nullability_corpus/queries.sql",
        "nullability_corpus/queries.sql",
    );
    assert!(defs.len() >= 40, "the corpus has {} queries", defs.len());
    let (before, after) = before_after(&mut client, &defs);
    let (columns, optional_before) = count(&before);
    let (_, optional_after) = count(&after);
    println!(
        "nullability corpus: {} queries, {columns} columns; Option before {optional_before}, after {optional_after}",
        defs.len()
    );
    let got = describe(&after);
    let path = manifest_dir().join("tests/nullability_corpus/expected.txt");
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    for (g, e) in got.lines().zip(expected.lines()) {
        assert_eq!(g, e);
    }
    assert_eq!(got.lines().count(), expected.lines().count());
}

#[test]
fn our_own_queries() {
    let db = migrated_db();
    let mut client = db.connect().unwrap();
    let dir = manifest_dir().join("../db/queries");
    let root = manifest_dir().join("../..");
    let defs = querygen::load(&dir, Some(&root)).unwrap();
    let (before, after) = before_after(&mut client, &defs);
    let (columns, optional_before) = count(&before);
    let (_, optional_after) = count(&after);
    println!(
        "crates/db/queries: {} queries, {columns} columns; Option before {optional_before}, after {optional_after}",
        defs.len()
    );
}
