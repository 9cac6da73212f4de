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
    // raw costs
    let db = check::reversibility::scratch(&cluster).unwrap();
    let mut c = db.connect().unwrap();
    let t = Instant::now();
    migrate::Migrator::new(&set).up(&mut c).unwrap();
    eprintln!("up all: {:?}", t.elapsed());
    let ex = check::reversibility::excluded();
    let t = Instant::now();
    for _ in 0..10 {
        check::snapshot::take(&mut c, &ex).unwrap();
    }
    eprintln!("snapshot at full: {:?} each", t.elapsed() / 10);
    let s = check::snapshot::take(&mut c, &ex).unwrap();
    eprintln!("objects {} bytes {}", s.objects.len(), s.render().len());
    let t = Instant::now();
    let _ = schema::dump::dump(db.url(), cluster.bindir(), &ex).unwrap();
    eprintln!("pg_dump: {:?}", t.elapsed());
    let t = Instant::now();
    let w = check::reversibility::run(&set, &cluster);
    eprintln!("walk: {:?} {:?}", t.elapsed(), w.report.status);
    for f in &w.report.failures {
        eprintln!("{f:?}");
    }
}
