//! The committed `tests/fixture/generated/` (compiled by `fixture_code.rs`) is what the
//! generator writes for the fixture schema and queries. `UPDATE_GENERATED=1` rewrites it.

mod common;

use common::*;

#[test]
fn committed_fixture_code_is_current() {
    let db = fixture_db();
    let mut client = db.connect().unwrap();
    let model = model_of(&mut client);
    let mut files: Vec<codegen::GeneratedFile> = codegen::generate(&model)
        .unwrap()
        .into_iter()
        .filter(|f| f.path.to_str() != Some("constraints.rs"))
        .collect();
    let queries = querygen::generate(
        &[fixture_queries()],
        &mut client,
        &model,
        &querygen::Options::default(),
    )
    .unwrap();
    files.push(codegen::GeneratedFile::new("queries.rs", queries));
    let dir = manifest_dir().join("tests/fixture/generated");
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        codegen::write(&files, &dir).unwrap();
    }
    if let Some(diff) = codegen::check(&files, &dir).unwrap() {
        panic!("tests/fixture/generated is stale; rerun with UPDATE_GENERATED=1:\n{diff}");
    }
}
