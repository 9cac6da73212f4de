//! Where `migrate up` (default mode: one transaction) spends its time beside the one-message
//! limit, on the synthetic set: discovery, connect, the whole `up`, and variants of the limit
//! message with what our messages add (a `txid_current()` guard after every migration, a
//! savepoint around each group, the history rows). A profiling aid; prints figures.
//!
//! ```sh
//! cargo run --release -p bench --example up_profile -- 300 9
//! cargo run --release -p bench --example up_profile -- 1000 0 200   # discovery alone, 200 times
//! ```

use std::time::{Duration, Instant};

use bench::{median, ms, synth};
use migrate::{MigrationSet, Migrator};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(300);
    let runs = args.get(1).copied().unwrap_or(9);
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let cluster = pgcluster::Cluster::temporary_with(&pgcluster::ClusterOptions {
        settings: vec![
            ("listen_addresses".into(), "127.0.0.1".into()),
            ("port".into(), port.to_string()),
        ],
        ..Default::default()
    })?;
    let dir = tempfile::tempdir()?;
    synth::write_set(dir.path(), n)?;
    if let Some(&loops) = args.get(2) {
        // Discovery alone, `loops` times (to profile it: `perf record ... -- up_profile N 0 LOOPS`).
        let mut samples = Vec::new();
        for _ in 0..loops {
            let t = Instant::now();
            MigrationSet::discover(dir.path())?;
            samples.push(t.elapsed());
        }
        println!(
            "discover, N = {n}: median {} of {loops}",
            ms(median(&samples))
        );
        return Ok(());
    }
    let ups: Vec<String> = (1..=n).map(|i| synth::migration(i).up).collect();
    // The limit row's message, built as `cargo xtask bench` builds it (`bench::migrate_figures`).
    let plain = format!("BEGIN;\n{}\n;COMMIT", synth::concatenated_ups(n));
    let guarded = format!(
        "BEGIN;\nSELECT txid_current();\n{}\n;COMMIT",
        ups.iter()
            .map(|u| format!("{u}\n;SELECT txid_current() AS migrate_batch_xid;"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let savepoints = format!(
        "BEGIN;\n{}\n;COMMIT",
        ups.chunks(256)
            .map(|c| format!("SAVEPOINT s;\n{}\n;RELEASE SAVEPOINT s;", c.join("\n")))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let mut db = 0usize;
    let mut fresh = || -> Result<String, Box<dyn std::error::Error>> {
        db += 1;
        let name = format!("p{db}");
        cluster.create_database(&name)?;
        Ok(format!("postgres://postgres@127.0.0.1:{port}/{name}"))
    };
    let names = [
        "limit: one message",
        "limit + txid_current() after each",
        "limit + savepoint per 256",
        "ours: discover",
        "ours: connect",
        "ours: up (after connect)",
        "ours: discover + connect + up",
    ];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    for _ in 0..runs {
        for (k, text) in [&plain, &guarded, &savepoints].into_iter().enumerate() {
            let url = fresh()?;
            let t = Instant::now();
            let mut c = postgres::Client::connect(&url, postgres::NoTls)?;
            c.batch_execute(text)?;
            samples[k].push(t.elapsed());
        }
        let url = fresh()?;
        let t0 = Instant::now();
        let set = MigrationSet::discover(dir.path())?;
        let t1 = Instant::now();
        let mut c = postgres::Client::connect(&url, postgres::NoTls)?;
        let t2 = Instant::now();
        Migrator::new(&set).up(&mut c)?;
        let t3 = Instant::now();
        samples[3].push(t1 - t0);
        samples[4].push(t2 - t1);
        samples[5].push(t3 - t2);
        samples[6].push(t3 - t0);
    }
    let base = median(&samples[0]);
    println!("N = {n}, {runs} runs, {}", bench::machine());
    for (name, s) in names.iter().zip(&samples) {
        let m = median(s);
        println!(
            "{name:40} {:>10}  {:.2}x of the limit",
            ms(m),
            m.as_secs_f64() / base.as_secs_f64()
        );
    }
    Ok(())
}
