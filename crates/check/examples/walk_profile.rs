//! Where a walk step's time goes at the end of a long chain: the engine calls and the two
//! refreshes, at N = 100 and N = 1000 (a profiling aid; prints figures).
//!
//! ```sh
//! cargo run --release -p check --example walk_profile
//! ```

use std::time::Instant;

use check::incremental::Tracker;
use migrate::{DownTarget, MigrationSet, Migrator};

fn main() {
    let cluster = pgcluster::Cluster::temporary().unwrap();
    for n in [100usize, 1000] {
        let dir = tempfile::tempdir().unwrap();
        check::bench::synthetic_set(dir.path(), n).unwrap();
        let set = MigrationSet::discover(dir.path()).unwrap();
        let db = check::reversibility::scratch(&cluster).unwrap();
        let mut c = db.connect().unwrap();
        let last = set.migrations[n - 6].version;
        Migrator::new(&set)
            .with_fixtures(true)
            .single_transaction(false)
            .up_to(&mut c, last)
            .unwrap();
        let mut tracker = Tracker::new(&mut c, &check::reversibility::excluded()).unwrap();
        let (mut engine, mut refresh, mut idle) = (0.0, 0.0, 0.0);
        for m in &set.migrations[n - 5..] {
            let t = Instant::now();
            Migrator::new(&set).up_to(&mut c, m.version).unwrap();
            Migrator::new(&set)
                .down(&mut c, DownTarget::Newest)
                .unwrap();
            engine += t.elapsed().as_secs_f64();
            let t = Instant::now();
            tracker.refresh(&mut c).unwrap();
            refresh += t.elapsed().as_secs_f64();
            let t = Instant::now();
            Migrator::new(&set)
                .with_fixtures(true)
                .up_to(&mut c, m.version)
                .unwrap();
            engine += t.elapsed().as_secs_f64();
            let t = Instant::now();
            tracker.refresh(&mut c).unwrap();
            refresh += t.elapsed().as_secs_f64();
            let t = Instant::now();
            tracker.refresh(&mut c).unwrap();
            idle += t.elapsed().as_secs_f64();
        }
        println!(
            "N = {n}: per step engine {:.1} ms, two refreshes {:.1} ms, a refresh with nothing changed {:.1} ms; {:?}",
            engine * 200.0,
            refresh * 200.0,
            idle * 200.0,
            tracker.counters()
        );
    }
}
