//! Where the walk's time goes at N migrations: engine calls versus catalog snapshots.
use std::time::{Duration, Instant};
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
    let snaps =
        check::snapshot::Snapshotter::new(&mut c, &check::reversibility::excluded()).unwrap();
    let plain = migrate::Migrator::new(&set);
    let fx = migrate::Migrator::new(&set).with_fixtures(true);
    let (mut engine, mut snap) = (Duration::ZERO, Duration::ZERO);
    for m in &set.migrations {
        let t = Instant::now();
        plain.up_to(&mut c, m.version).unwrap();
        plain.down(&mut c, migrate::DownTarget::Newest).unwrap();
        engine += t.elapsed();
        let t = Instant::now();
        snaps.take(&mut c).unwrap();
        snap += t.elapsed();
        let t = Instant::now();
        fx.up_to(&mut c, m.version).unwrap();
        engine += t.elapsed();
        let t = Instant::now();
        snaps.take(&mut c).unwrap();
        snap += t.elapsed();
    }
    eprintln!("n={n}: engine {engine:?}, snapshots {snap:?}");
}
