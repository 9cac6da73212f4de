//! Test databases on the shared embedded cluster: the nasty fixture schema and the project's
//! migrations, each built once into a template and cloned per test.
#![allow(dead_code)]

use pgcluster::{Cluster, TestDatabase};
use std::path::{Path, PathBuf};

pub const HISTORY_TABLE: &str = migrate::HISTORY_TABLE;

pub fn cluster() -> &'static Cluster {
    Cluster::shared().expect("embedded PostgreSQL cluster")
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn migrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations")
}

/// Run every statement of `sql` on its own (so `ALTER TYPE ... ADD VALUE` commits before use).
pub fn run_script(
    client: &mut postgres::Client,
    sql: &str,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    for stmt in schema::split::split(sql)? {
        client
            .batch_execute(&stmt.sql)
            .map_err(|e| format!("line {}: {e:?}\n{}", stmt.line, stmt.sql))?;
    }
    Ok(())
}

/// A fresh database holding `tests/fixtures/<name>`.
pub fn fixture_db(name: &str) -> TestDatabase {
    let sql = std::fs::read_to_string(fixture(name)).unwrap();
    let key = pgcluster::template_key("schema_fx", &sql);
    cluster()
        .database_from_template(&key, |c| run_script(c, &sql))
        .unwrap()
}

/// A fresh database with every migration of `migrations/` applied (through `migrate`).
pub fn migrated_db() -> TestDatabase {
    let set = migrate::MigrationSet::discover(&migrations_dir()).expect("discover migrations");
    let key = format!("schema_mig_{}", set.hash());
    cluster()
        .database_from_template(&key, |c| {
            migrate::Migrator::new(&set).up(c)?;
            Ok(())
        })
        .unwrap()
}

pub fn catalog_options() -> schema::CatalogOptions {
    schema::CatalogOptions {
        exclude_tables: vec![HISTORY_TABLE.to_owned()],
    }
}

pub fn exclude() -> Vec<String> {
    vec![HISTORY_TABLE.to_owned()]
}

/// Normalised dump and model of a database.
pub fn introspect(db: &TestDatabase) -> (String, schema::SchemaModel) {
    let dump = schema::dump::dump(db.url(), cluster().bindir(), &exclude()).unwrap();
    let mut client = db.connect().unwrap();
    let model = schema::introspect(&mut client, Some(&dump), &catalog_options()).unwrap();
    (dump, model)
}

/// Every constraint name the catalog has, written independently of `schema::catalog`:
/// all of pg_constraint except NOT NULL (PG 18) and constraint triggers, plus unique
/// indexes no constraint owns; system schemas and the history table excluded.
pub fn pg_constraint_names(client: &mut postgres::Client) -> Vec<String> {
    let rows = client
        .query(
            "WITH user_ns AS (
                 SELECT oid FROM pg_namespace
                  WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_(toast|temp)'
             )
             SELECT conname::text FROM pg_constraint
              WHERE connamespace IN (SELECT oid FROM user_ns) AND contype NOT IN ('n', 't')
                AND conrelid IS DISTINCT FROM to_regclass($1)
             UNION
             SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
              WHERE i.indisunique AND c.relnamespace IN (SELECT oid FROM user_ns)
                AND i.indrelid IS DISTINCT FROM to_regclass($1)
                AND i.indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE contype IN ('p', 'u', 'x'))
             ORDER BY 1",
            &[&HISTORY_TABLE],
        )
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}
