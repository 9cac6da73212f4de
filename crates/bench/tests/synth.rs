//! The synthetic sets are valid: they apply, and every down reverts its up exactly.

use bench::synth;
use migrate::{DownTarget, MigrationSet, Migrator};

#[test]
fn a_synthetic_set_applies_and_reverts_completely() {
    let dir = tempfile::tempdir().unwrap();
    synth::write_set(dir.path(), 23).unwrap();
    let set = MigrationSet::discover(dir.path()).unwrap();
    assert_eq!(set.migrations.len(), 23);
    let db = pgcluster::Cluster::shared()
        .unwrap()
        .database_from_template("bench_empty", |_| Ok(()))
        .unwrap();
    let mut c = db.connect().unwrap();
    Migrator::new(&set).up(&mut c).unwrap();
    // The history table and the lease table (`migrate::LOCK_TABLE`) are the runner's own.
    assert_eq!(migrate::LOCK_TABLE, "migrate_lock");
    let count =
        |c: &mut postgres::Client, sql: &str| -> i64 { c.query_one(sql, &[]).unwrap().get(0) };
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrate_lock'"
        ),
        6
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM pg_views WHERE schemaname = 'public'"
        ),
        4
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"
        ),
        5
    );
    Migrator::new(&set).down(&mut c, DownTarget::All).unwrap();
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname NOT IN ('refinery_schema_history', 'refinery_schema_history_pkey', 'migrate_lock', 'migrate_lock_pkey')"
        ),
        0
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype = 'e'"
        ),
        0
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
        ),
        0
    );
}
