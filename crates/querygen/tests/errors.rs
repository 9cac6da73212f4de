//! Generation errors name the file, the line, the query and the cause: statements that do
//! not prepare, types without a Rust mapping, commands that do not fit the statement,
//! unusable column names, annotation problems; and `GenStep` reports them before touching
//! a database.

mod common;

use common::*;
use querygen::annotate::SourceFile;

fn generate(sql: &str) -> Result<String, querygen::Error> {
    let db = fixture_db();
    let mut client = db.connect().unwrap();
    let model = model_of(&mut client);
    querygen::generate_str(sql, &mut client, &model)
}

fn error(sql: &str) -> String {
    generate(sql).unwrap_err().to_string()
}

#[test]
fn a_statement_that_does_not_prepare_names_file_line_query_and_message() {
    let sql = "-- name: Fine :one\nSELECT 1;\n\n-- name: Broken :many\nSELECT id,\n    nope\nFROM parent;\n";
    let err = generate(sql).unwrap_err();
    match &err {
        querygen::Error::Prepare {
            file, line, name, ..
        } => assert_eq!(
            (file.as_str(), *line, name.as_str()),
            ("queries.sql", 6, "Broken")
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "queries.sql:6: query `Broken` does not prepare: ERROR 42703: column \"nope\" does not exist \
         (hint: Perhaps you meant to reference the column \"parent.note\".)"
    );
    let err = error("-- name: NoTable :exec\nDELETE FROM nowhere WHERE id = @id");
    assert!(
        err.starts_with("queries.sql:2: query `NoTable` does not prepare: ERROR 42P01: relation \"nowhere\" does not exist"),
        "{err}"
    );
}

#[test]
fn unmapped_types_name_the_column_or_parameter_and_the_override_key() {
    let err = error("-- name: Pairs :one\nSELECT ROW(1, 'a')::pair AS p, 1 AS x;");
    assert_eq!(
        err,
        "queries.sql:1: query `Pairs`: column 1 (`p`) has type pair, which has no built-in Rust \
         mapping; map it in gen.toml with `[types] pair = \"String\"` (and select the value as \
         `...::text`) or a Rust type that implements `FromSql` for pair; or pass \
         `--type pair=RustType`"
    );
    let err = error("-- name: Ranges :many\nSELECT id FROM parent WHERE id <@ @r::int4range;");
    assert!(
        err.starts_with("queries.sql:1: query `Ranges`: parameter `r` has type int4range"),
        "{err}"
    );

    // The override the message suggests maps it.
    let db = fixture_db();
    let mut client = db.connect().unwrap();
    let model = model_of(&mut client);
    let mut options = querygen::Options::default();
    options
        .codegen
        .type_overrides
        .insert("pair".to_owned(), "crate::Pair".to_owned());
    let file = SourceFile {
        display: "q.sql".to_owned(),
        text: "-- name: Pairs :one\nSELECT ROW(1, 'a')::pair AS p, 1 AS x;".to_owned(),
    };
    let code = querygen::generate(&[file], &mut client, &model, &options).unwrap();
    assert!(code.contains("pub p: Option<crate::Pair>,"), "{code}");
}

#[test]
fn commands_and_columns_that_do_not_fit() {
    assert_eq!(
        error("-- name: NoRows :one\nUPDATE parent SET note = NULL"),
        "queries.sql:1: query `NoRows`: :one returns rows, but the statement returns no columns; use :exec or :execrows (or add RETURNING)"
    );
    // Colliding and unnamed columns are named, not refused (see collisions.rs).
    assert!(
        generate(
            "-- name: Twice :many\nSELECT p.id, c.id FROM parent p JOIN child c ON c.parent_id = p.id"
        )
        .is_ok()
    );
    assert!(generate("-- name: Unnamed :one\nSELECT 1, 2").is_ok());
    // A single unnamed column needs no name.
    assert!(generate("-- name: Single :one\nSELECT 1 + 1").is_ok());
}

#[test]
fn annotation_errors_come_first_and_all_together() {
    let err =
        error("SELECT 1;\n-- name: A :uno\nSELECT 1;\n-- name: B :one\nSELECT 1; SELECT 2;\n");
    assert_eq!(
        err,
        "queries.sql:1: SQL outside any query: every statement needs a `-- name: Name :command` line above it\n\
         queries.sql:2: unknown command `:uno` for query `A`; expected one of :one, :opt, :many, :exec, :execrows, :execresult, :batchexec, :batchone, :batchmany, :copyfrom\n\
         queries.sql:5: unannotated statement after query `B`: each statement needs its own `-- name: Name :command` line"
    );
}

#[test]
fn gen_step_parses_before_any_database_work_and_tracks_its_inputs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.sql"), "-- name: A :one\nSELECT 1;\n").unwrap();
    std::fs::write(dir.path().join("b.sql"), "-- name: A :one\nSELECT 2;\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not SQL").unwrap();
    let err = querygen::GenStep::load(dir.path(), Some(dir.path()), "upstream").unwrap_err();
    assert_eq!(
        err.to_string(),
        "b.sql:1: duplicate query name `A` (first defined at a.sql:1)"
    );

    std::fs::write(
        dir.path().join("b.sql"),
        "-- name: B :one\nSELECT 2 AS two;\n",
    )
    .unwrap();
    let step = querygen::GenStep::load(dir.path(), Some(dir.path()), "upstream").unwrap();
    assert_eq!(step.queries().len(), 2);
    let out = tempfile::tempdir().unwrap();
    assert!(!step.is_current(out.path()));

    let db = fixture_db();
    let mut client = db.connect().unwrap();
    let model = model_of(&mut client);
    let inferred = step.infer(&mut client).unwrap();
    let files = step
        .files(&inferred, &model, &querygen::Options::default())
        .unwrap();
    let names: Vec<_> = files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(
        names,
        [querygen::FILE, querygen::ASYNC_FILE].map(std::path::PathBuf::from)
    );
    codegen::write(&files[..1], out.path()).unwrap();
    assert!(!step.is_current(out.path()), "queries_async.rs is missing");
    codegen::write(&files, out.path()).unwrap();
    assert!(step.is_current(out.path()));
    for file in &files {
        assert!(
            file.contents
                .lines()
                .nth(1)
                .unwrap()
                .starts_with("// gen-hash: inputs ")
        );
    }

    // Another schema, another query text, or a hand edit: no longer current.
    let other = querygen::GenStep::load(dir.path(), Some(dir.path()), "other schema").unwrap();
    assert!(!other.is_current(out.path()));
    std::fs::write(
        dir.path().join("b.sql"),
        "-- name: B :one\nSELECT 3 AS two;\n",
    )
    .unwrap();
    let edited = querygen::GenStep::load(dir.path(), Some(dir.path()), "upstream").unwrap();
    assert!(!edited.is_current(out.path()));
    let path = out.path().join(querygen::FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("SELECT 2", "SELECT 9")).unwrap();
    assert!(!step.is_current(out.path()));
    std::fs::write(&path, text).unwrap();
    assert!(step.is_current(out.path()));
    let path = out.path().join(querygen::ASYNC_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("AsyncQuerier", "AsyncQuerie")).unwrap();
    assert!(!step.is_current(out.path()), "an edit of queries_async.rs");
}

#[test]
fn embed_problems_name_the_line_and_what_to_write() {
    let e = error("-- name: InExpr :many\nSELECT row_to_json(\n  sqlc.embed(parent))\nFROM parent");
    assert!(
        e.starts_with("queries.sql:3: query `InExpr`: sqlc.embed(parent) must be a whole item of the query's SELECT list"),
        "{e}"
    );
    let e = error("-- name: Sub :many\nSELECT sqlc.embed(s) FROM (SELECT id FROM parent) s");
    assert!(
        e.starts_with("queries.sql:2: query `Sub`: sqlc.embed(s): its columns (id) are not every column of `parent`"),
        "{e}"
    );
    let e = error("-- name: Copy :copyfrom\nINSERT INTO parent (id) VALUES (@id) RETURNING id");
    assert!(
        e.contains("queries.sql:2: query `Copy`: :copyfrom needs"),
        "{e}"
    );
}

#[test]
fn embed_of_a_table_without_a_model_struct_is_an_error() {
    let db = fixture_db();
    let mut client = db.connect().unwrap();
    let mut model = model_of(&mut client);
    model.relations.retain(|r| r.name.name != "parent");
    let e = querygen::generate_str(
        "-- name: E :many\n\nSELECT sqlc.embed(parent) FROM parent",
        &mut client,
        &model,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "queries.sql:3: query `E`: sqlc.embed(parent): `parent` has no struct in models.rs (is it excluded by gen.toml's filter?); include it there or select `parent.*` instead"
    );
}
