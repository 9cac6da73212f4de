#![allow(dead_code)]

use pgcluster::{Cluster, TestDatabase};
use std::path::{Path, PathBuf};

pub fn cluster() -> &'static Cluster {
    Cluster::shared().expect("embedded PostgreSQL cluster")
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn migrated_db() -> TestDatabase {
    let set = migrate::MigrationSet::discover(&root().join("migrations")).unwrap();
    cluster()
        .database_from_template(&format!("db_mig_{}", set.hash()), |c| {
            migrate::Migrator::new(&set).up(c)?;
            Ok(())
        })
        .unwrap()
}

pub fn nasty_db() -> TestDatabase {
    let sql =
        std::fs::read_to_string(root().join("crates/schema/tests/fixtures/nasty.sql")).unwrap();
    cluster()
        .database_from_template(&pgcluster::template_key("db_fx", &sql), |c| {
            for stmt in schema::split::split(&sql)? {
                c.batch_execute(&stmt.sql)?;
            }
            Ok(())
        })
        .unwrap()
}

/// Run `sql` in a transaction that is rolled back, returning its error.
pub fn failing(client: &mut postgres::Client, sql: &str) -> postgres::Error {
    let mut tx = client.transaction().unwrap();
    let err = tx.batch_execute(sql).expect_err(sql);
    tx.rollback().unwrap();
    err
}
