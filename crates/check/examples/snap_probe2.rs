use std::time::Instant;
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir().unwrap();
    bench::synth::write_set(dir.path(), n).unwrap();
    let set = migrate::MigrationSet::discover(dir.path()).unwrap();
    let cluster = pgcluster::Cluster::temporary().unwrap();
    let db = check::reversibility::scratch(&cluster).unwrap();
    let mut c = db.connect().unwrap();
    migrate::Migrator::new(&set).up(&mut c).unwrap();
    for sql in [
        "SELECT pg_get_viewdef(oid) FROM pg_class WHERE relkind='v' AND oid >= 16384",
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indexrelid >= 16384",
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE oid >= 16384",
        "SELECT pg_get_functiondef(oid) FROM pg_proc WHERE oid >= 16384",
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid >= 16384",
        "SELECT classid, objid FROM pg_depend WHERE deptype = 'e'",
        "SELECT count(*) FROM pg_depend",
        "SELECT 1",
    ] {
        let st = c.prepare(sql).unwrap();
        let t = Instant::now();
        let mut rows = 0;
        for _ in 0..10 {
            rows = c.query(&st, &[]).unwrap().len();
        }
        eprintln!(
            "{:>8.2} ms {:>5} rows  {}",
            t.elapsed().as_secs_f64() * 1000.0 / 10.0,
            rows,
            sql
        );
    }
}
