use migrate::{MigrationSet, Migrator};
fn main() {
    let cluster = pgcluster::Cluster::temporary().unwrap();
    let n = 1000;
    let dir = tempfile::tempdir().unwrap();
    check::bench::synthetic_set(dir.path(), n).unwrap();
    let set = MigrationSet::discover(dir.path()).unwrap();
    let db = check::reversibility::scratch(&cluster).unwrap();
    let mut c = db.connect().unwrap();
    Migrator::new(&set)
        .with_fixtures(true)
        .single_transaction(false)
        .up_to(&mut c, set.migrations[n - 2].version)
        .unwrap();
    let exclude = check::reversibility::excluded();
    let _t = check::incremental::Tracker::with_ddl_log(&mut c, &exclude).unwrap();
    let kinds = check::snapshot::Kinds::of([b'r', b't']);
    std::fs::write(
        "/tmp/zz_rt.sql",
        check::snapshot::query(check::snapshot::Scope::Owners(kinds)),
    )
    .unwrap();
    let kinds = check::snapshot::Kinds::of([b'r', b't', b'p']);
    std::fs::write(
        "/tmp/zz_rtp.sql",
        check::snapshot::query(check::snapshot::Scope::Owners(kinds)),
    )
    .unwrap();
    std::fs::write(
        "/tmp/zz_all.sql",
        check::snapshot::query(check::snapshot::Scope::All),
    )
    .unwrap();
    std::fs::write(
        "/tmp/zz_url",
        format!("{} {}", cluster.socket_dir().display(), db.name()),
    )
    .unwrap();
    drop(c);
    eprintln!("ready");
    std::thread::sleep(std::time::Duration::from_secs(3000));
}
