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
    let ex = check::reversibility::excluded();
    let q = check::snapshot::QUERY;
    let head_end = q.find("SELECT 'schema").unwrap();
    let head = &q[..head_end];
    for part in q[head_end..].split("UNION ALL\n") {
        let sql = format!("{head}{part}");
        let st = c.prepare(&sql).unwrap();
        let t = Instant::now();
        let mut rows = 0;
        for _ in 0..5 {
            rows = c.query(&st, &[&ex]).unwrap().len();
        }
        eprintln!(
            "{:>8.2} ms {:>5} rows  {}",
            t.elapsed().as_secs_f64() * 1000.0 / 5.0,
            rows,
            part.lines().next().unwrap()
        );
    }
}
