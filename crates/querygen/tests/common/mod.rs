#![allow(dead_code)]

use pgcluster::{Cluster, TestDatabase};
use std::path::{Path, PathBuf};

pub fn cluster() -> &'static Cluster {
    Cluster::shared().expect("embedded PostgreSQL cluster")
}

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture_sql() -> String {
    std::fs::read_to_string(manifest_dir().join("tests/fixture/schema.sql")).unwrap()
}

/// A fresh clone of the fixture schema (with its rows).
pub fn fixture_db() -> TestDatabase {
    let sql = fixture_sql();
    cluster()
        .database_from_template(&pgcluster::template_key("q_fx", &sql), |c| {
            c.batch_execute(&sql)?;
            Ok(())
        })
        .unwrap()
}

/// A fresh clone of the nullability corpus schema (`tests/nullability_corpus/schema.sql`).
pub fn corpus_db() -> TestDatabase {
    let sql = std::fs::read_to_string(manifest_dir().join("tests/nullability_corpus/schema.sql"))
        .unwrap();
    cluster()
        .database_from_template(&pgcluster::template_key("q_nc", &sql), |c| {
            c.batch_execute(&sql)?;
            Ok(())
        })
        .unwrap()
}

/// A fresh clone of the project's migrated schema (no fixtures).
pub fn migrated_db() -> TestDatabase {
    let root = manifest_dir().join("../..");
    let set = migrate::MigrationSet::discover(&root.join("migrations")).unwrap();
    cluster()
        .database_from_template(&format!("q_mig_{}", set.hash()), |c| {
            migrate::Migrator::new(&set).up(c)?;
            Ok(())
        })
        .unwrap()
}

pub fn model_of(client: &mut postgres::Client) -> schema::SchemaModel {
    schema::introspect(
        client,
        None,
        &schema::CatalogOptions {
            exclude_tables: vec![migrate::HISTORY_TABLE.to_owned()],
        },
    )
    .unwrap()
}

/// The fixture queries, shown as `fixture/queries.sql`.
pub fn fixture_queries() -> querygen::annotate::SourceFile {
    let path: &Path = &manifest_dir().join("tests/fixture/queries.sql");
    querygen::annotate::SourceFile {
        display: "fixture/queries.sql".to_owned(),
        text: std::fs::read_to_string(path).unwrap(),
    }
}
