//! Where a walk step's time goes at the end of a long chain, at N = 100 and N = 1000: each
//! engine call as the walk makes them (the up and the re-apply with its fixture with
//! `Migrator::apply_next`, the down with `Migrator::revert_next`; and, for comparison, the up
//! through `Migrator::up_to`, which takes the lease and reads the history), and the refreshes
//! on the tracker's own connection, reading the change log (`Tracker::with_ddl_log`, as the
//! walk does) or scanning the catalogs (`Tracker::new`, the fallback). A profiling aid; prints
//! figures.
//!
//! ```sh
//! cargo run --release -p check --example walk_profile
//! ```

use std::time::Instant;

use check::incremental::Tracker;
use migrate::{DownTarget, MigrationSet, Migrator};

/// Milliseconds per step from seconds over `STEPS` steps.
const STEPS: usize = 5;

fn per_step(secs: f64) -> f64 {
    secs * 1000.0 / STEPS as f64
}

fn main() {
    let cluster = pgcluster::Cluster::temporary().unwrap();
    for n in [100usize, 1000] {
        let dir = tempfile::tempdir().unwrap();
        check::bench::synthetic_set(dir.path(), n).unwrap();
        let set = MigrationSet::discover(dir.path()).unwrap();
        for logged in [true, false] {
            let db = check::reversibility::scratch(&cluster).unwrap();
            let mut c = db.connect().unwrap();
            let last = set.migrations[n - STEPS - 1].version;
            Migrator::new(&set)
                .with_fixtures(true)
                .single_transaction(false)
                .up_to(&mut c, last)
                .unwrap();
            let exclude = check::reversibility::excluded();
            let mut watch = db.connect().unwrap();
            let mut tracker = if logged {
                Tracker::with_ddl_log(&mut watch, &exclude).unwrap()
            } else {
                Tracker::new(&mut watch, &exclude).unwrap()
            };
            let (mut up, mut up_to, mut down, mut again) = (0.0, 0.0, 0.0, 0.0);
            let (mut refresh, mut idle) = (0.0, 0.0);
            for m in &set.migrations[n - STEPS..] {
                let plain = Migrator::new(&set);
                let t = Instant::now();
                plain.apply_next(&mut c, m).unwrap();
                up += t.elapsed().as_secs_f64();
                let t = Instant::now();
                plain.revert_next(&mut c, m).unwrap();
                down += t.elapsed().as_secs_f64();
                let t = Instant::now();
                plain.up_to(&mut c, m.version).unwrap();
                up_to += t.elapsed().as_secs_f64();
                plain.down(&mut c, DownTarget::Newest).unwrap();
                let t = Instant::now();
                tracker.refresh(&mut watch).unwrap();
                refresh += t.elapsed().as_secs_f64();
                let t = Instant::now();
                Migrator::new(&set)
                    .with_fixtures(true)
                    .apply_next(&mut c, m)
                    .unwrap();
                again += t.elapsed().as_secs_f64();
                let t = Instant::now();
                tracker.refresh(&mut watch).unwrap();
                refresh += t.elapsed().as_secs_f64();
                let t = Instant::now();
                tracker.refresh(&mut watch).unwrap();
                idle += t.elapsed().as_secs_f64();
            }
            println!(
                "N = {n}, {}: per step up (apply_next) {:.1} ms, down {:.1} ms, up again with fixture {:.1} ms \
                 [up through up_to: {:.1} ms]; two refreshes {:.1} ms, a refresh with nothing changed {:.1} ms; {:?}",
                if logged { "change log" } else { "catalog scan" },
                per_step(up),
                per_step(down),
                per_step(again),
                per_step(up_to),
                per_step(refresh),
                per_step(idle),
                tracker.counters()
            );
        }
    }
}
