//! What the crate's own tests (`*_guard_tests.rs`) share: a fresh database on the shared
//! embedded cluster, and the tables in it.

/// A fresh, empty database on the shared embedded cluster.
pub(crate) fn fresh() -> pgcluster::TestDatabase {
    pgcluster::Cluster::shared()
        .unwrap()
        .database_from_template("migrate_empty", |_| Ok(()))
        .unwrap()
}

/// The tables of schema `public`, sorted.
pub(crate) fn tables(c: &mut postgres::Client) -> Vec<String> {
    c.query(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}
