//! What is generated, checked against the server: the constraint set equals the catalog's
//! (plus the trigger-raised names), for the project's migrations and the nasty schema; the
//! nasty schema's generated code (compiled and exercised by `crates/db/tests/nasty.rs`) and
//! the committed `generated/` are current.

mod common;

use common::*;
use schema::model::Origin;
use std::collections::BTreeSet;

fn assert_generated_set_equals_catalog(db: &pgcluster::TestDatabase) {
    let model = model_of(db);
    let files = codegen::generate(&model).unwrap();
    let constraints = files
        .iter()
        .find(|f| f.path.to_str() == Some("constraints.rs"))
        .unwrap();
    let generated = generated_constraint_names(&constraints.contents);
    let generated_names: BTreeSet<String> = generated.iter().map(|(_, n)| n.clone()).collect();

    let mut client = db.connect().unwrap();
    let mut expected = pg_constraint_names(&mut client);
    let pseudo: BTreeSet<String> = model
        .constraints
        .iter()
        .filter(|c| c.origin == Origin::Trigger)
        .map(|c| c.name.clone())
        .collect();
    expected.extend(pseudo.iter().cloned());
    assert_eq!(generated_names, expected);

    // Each catalog constraint sits in the enum of its kind.
    for row in client
        .query(
            "SELECT conname::text, contype::text FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
              WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND contype IN ('c', 'u', 'p', 'f', 'x')
                AND conrelid IS DISTINCT FROM to_regclass($1) AND conrelid IS DISTINCT FROM to_regclass($2)",
            &[&migrate::HISTORY_TABLE, &migrate::LOCK_TABLE],
        )
        .unwrap()
    {
        let (name, contype): (String, String) = (row.get(0), row.get(1));
        let enum_name = match contype.as_str() {
            "c" => "CheckConstraint",
            "u" | "p" => "UniqueConstraint",
            "f" => "ForeignKeyConstraint",
            _ => "ExcludeConstraint",
        };
        assert!(generated.contains(&(enum_name.to_owned(), name.clone())), "{name} not in {enum_name}");
    }
}

#[test]
fn migrations_generated_constraints_equal_the_catalog() {
    assert_generated_set_equals_catalog(&migrated_db());
}

#[test]
fn nasty_generated_constraints_equal_the_catalog() {
    assert_generated_set_equals_catalog(&nasty_db());
}

/// A large schema (bench's synthetic set: 150 tables with primary, unique, check and foreign
/// keys, 150 trigger functions raising names): still exactly the catalog's set.
#[test]
fn large_schema_generated_constraints_equal_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    bench::synth::write_set(dir.path(), 750).unwrap();
    let set = migrate::MigrationSet::discover(dir.path()).unwrap();
    let db = cluster()
        .database_from_template(&format!("gen_synth_{}", set.hash()), |c| {
            migrate::Migrator::new(&set).up(c)?;
            Ok(())
        })
        .unwrap();
    let model = model_of(&db);
    assert_eq!(
        model
            .relations
            .iter()
            .filter(|r| r.kind == schema::model::RelationKind::Table)
            .count(),
        150
    );
    assert_generated_set_equals_catalog(&db);
}

#[test]
fn generation_is_deterministic() {
    let db = nasty_db();
    let first = codegen::generate(&model_of(&db)).unwrap();
    let second = codegen::generate(&model_of(&db)).unwrap();
    assert_eq!(first, second);
}

/// The nasty schema's generated files live in `crates/db/tests/nasty/`, where the db crate's
/// tests compile and run them. Set `UPDATE_GENERATED=1` to rewrite them.
#[test]
fn nasty_generated_code_in_db_tests_is_current() {
    let files = codegen::generate(&model_of(&nasty_db())).unwrap();
    let dir = root().join("crates/db/tests/nasty");
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        codegen::write(&files, &dir).unwrap();
    }
    if let Some(diff) = codegen::check(&files, &dir).unwrap() {
        panic!("crates/db/tests/nasty is stale; rerun with UPDATE_GENERATED=1:\n{diff}");
    }
}

/// Like CI's `cargo xtask gen --check`: the committed `generated/` is what the migrations
/// produce. Set `UPDATE_GENERATED=1` to rewrite it.
#[test]
fn committed_generated_dir_is_current() {
    let mut request =
        generate::GenRequest::new(root().join("migrations"), root().join("generated"));
    request.check = std::env::var_os("UPDATE_GENERATED").is_none();
    let outcome = generate::run(&request).unwrap();
    if let Some(diff) = outcome.diff {
        panic!("generated/ is stale; run `cargo xtask gen` (or UPDATE_GENERATED=1):\n{diff}");
    }
}
