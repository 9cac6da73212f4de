//! Catalog snapshot cost at N synthetic migrations: first and later snapshots, and the plan.
use std::time::Instant;
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir().unwrap();
    check::bench::synthetic_set(dir.path(), n).unwrap();
    let set = migrate::MigrationSet::discover(dir.path()).unwrap();
    let cluster = pgcluster::Cluster::temporary().unwrap();
    let db = check::reversibility::scratch(&cluster).unwrap();
    let mut c = db.connect().unwrap();
    migrate::Migrator::new(&set).up(&mut c).unwrap();
    let ex = check::reversibility::excluded();
    let s = check::snapshot::Snapshotter::new(&mut c, &ex).unwrap();
    let t = Instant::now();
    s.take(&mut c).unwrap();
    eprintln!("cold {:?}", t.elapsed());
    let t = Instant::now();
    for _ in 0..10 {
        s.take(&mut c).unwrap();
    }
    eprintln!("warm {:?}", t.elapsed() / 10);
    let known: Vec<String> = c
        .query(
            &format!(
                "SELECT key FROM ({}) q(key, value, ord)",
                check::snapshot::QUERY
            ),
            &[&ex],
        )
        .unwrap()
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    eprintln!("{} objects", known.len());
    if std::env::args().any(|a| a == "--plan") {
        let rows = c
            .query(
                &format!("EXPLAIN (ANALYZE) {}", check::snapshot::QUERY),
                &[&ex],
            )
            .unwrap();
        for r in rows {
            let l: String = r.get(0);
            eprintln!("{l}");
        }
    }
}
