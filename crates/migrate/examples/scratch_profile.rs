//! Round trips and time of the reversibility walk's engine calls, on a chain of small
//! migrations with fixtures: `Migrator::apply_next` (the walk's up), `Migrator::revert_next`
//! (its down), `apply_next` with fixtures (its re-apply), and for comparison `Migrator::down`
//! of the newest migration (lease, history read and verification first). A profiling aid;
//! prints figures.
//!
//! Round trips are counted by a proxy between the client and the server's Unix socket: every
//! simple query (`Q`) and every extended-protocol `Sync` (`S`) the client sends is one round
//! trip (the client waits for the server's `ReadyForQuery`). Times are medians over `STEPS`
//! calls (default 300) on a direct connection.
//!
//! ```sh
//! cargo run --release -p migrate --example scratch_profile -- 300
//! ```

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use migrate::{DownTarget, MigrationSet, Migrator};

/// Migrations in the chain; the last one is the one stepped.
const CHAIN: usize = 30;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let steps: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300);
    let cluster = pgcluster::Cluster::temporary()?;
    cluster.create_database("walk")?;
    let dir = tempfile::tempdir()?;
    write_chain(dir.path(), CHAIN)?;
    let set = MigrationSet::discover(dir.path())?;
    let m = &set.migrations[CHAIN - 1];
    let mut c = cluster.connect("walk")?;
    Migrator::new(&set)
        .with_fixtures(true)
        .single_transaction(false)
        .up_to(&mut c, set.migrations[CHAIN - 2].version)?;

    let plain = Migrator::new(&set);
    let with_fixtures = Migrator::new(&set).with_fixtures(true);

    // Round trips, through the counting proxy.
    let proxy_dir = tempfile::tempdir()?;
    let trips = start_proxy(
        proxy_dir.path(),
        &cluster
            .socket_dir()
            .join(format!(".s.PGSQL.{}", cluster.port())),
        cluster.port(),
    )?;
    let mut counted = postgres::Config::new()
        .host_path(proxy_dir.path())
        .port(cluster.port())
        .user("postgres")
        .dbname("walk")
        .connect(postgres::NoTls)?;
    let mut count = |f: &mut dyn FnMut(&mut postgres::Client) -> Result<(), migrate::Error>|
     -> Result<usize, migrate::Error> {
        let before = trips.load(Ordering::SeqCst);
        f(&mut counted)?;
        Ok(trips.load(Ordering::SeqCst) - before)
    };
    let trips_up = count(&mut |c| plain.apply_next(c, m).map(drop))?;
    let trips_revert = count(&mut |c| plain.revert_next(c, m).map(drop))?;
    let trips_fixture = count(&mut |c| with_fixtures.apply_next(c, m).map(drop))?;
    let trips_down = count(&mut |c| Migrator::new(&set).down(c, DownTarget::Newest).map(drop))?;
    drop(counted);

    // Times, on a direct connection.
    let mut samples: [Vec<Duration>; 4] = Default::default();
    for _ in 0..steps {
        let t = Instant::now();
        plain.apply_next(&mut c, m)?;
        samples[0].push(t.elapsed());
        let t = Instant::now();
        plain.revert_next(&mut c, m)?;
        samples[1].push(t.elapsed());
        let t = Instant::now();
        with_fixtures.apply_next(&mut c, m)?;
        samples[2].push(t.elapsed());
        let t = Instant::now();
        Migrator::new(&set).down(&mut c, DownTarget::Newest)?;
        samples[3].push(t.elapsed());
    }
    println!(
        "chain of {CHAIN}, stepping migration {}, {steps} steps (medians):",
        m.label()
    );
    let names = [
        "apply_next",
        "revert_next",
        "apply_next with fixture",
        "down (newest)",
    ];
    let counts = [trips_up, trips_revert, trips_fixture, trips_down];
    for ((name, s), n) in names.iter().zip(&mut samples).zip(counts) {
        s.sort();
        println!(
            "  {name:24} {n:2} round trips  {:7.3} ms",
            s[s.len() / 2].as_secs_f64() * 1000.0
        );
    }
    Ok(())
}

/// `n` migrations like an application's: a table with a foreign key to the one before, an
/// index, and a fixture of three rows.
fn write_chain(dir: &Path, n: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("fixtures"))?;
    for i in 1..=n {
        let parent = if i == 1 {
            String::new()
        } else {
            format!(",\n    parent_id bigint REFERENCES t{:03}", i - 1)
        };
        std::fs::write(
            dir.join(format!("{i:06}_t{i:03}.up.sql")),
            format!(
                "CREATE TABLE t{i:03} (\n    id bigint PRIMARY KEY,\n    amount_micros bigint NOT NULL DEFAULT 0,\n    created_at timestamptz NOT NULL DEFAULT now(){parent}\n);\nCREATE INDEX t{i:03}_created ON t{i:03} (created_at);\n"
            ),
        )?;
        std::fs::write(
            dir.join(format!("{i:06}_t{i:03}.down.sql")),
            format!("DROP TABLE t{i:03};\n"),
        )?;
        let parent_value = if i == 1 { "" } else { ", 1" };
        let parent_column = if i == 1 { "" } else { ", parent_id" };
        std::fs::write(
            dir.join(format!("fixtures/{i:06}_t{i:03}.sql")),
            format!(
                "INSERT INTO t{i:03} (id, amount_micros{parent_column}) VALUES (1, 10{parent_value}), (2, 20{parent_value}), (3, 30{parent_value});\n"
            ),
        )?;
    }
    Ok(())
}

/// Listen on `dir/.s.PGSQL.<port>` and forward every connection to `upstream`; the counter
/// holds the round trips the clients started.
fn start_proxy(dir: &Path, upstream: &Path, port: u16) -> std::io::Result<Arc<AtomicUsize>> {
    let listener = UnixListener::bind(dir.join(format!(".s.PGSQL.{port}")))?;
    let trips = Arc::new(AtomicUsize::new(0));
    let counter = trips.clone();
    let upstream = upstream.to_path_buf();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = UnixStream::connect(&upstream) else {
                continue;
            };
            let counter = counter.clone();
            std::thread::spawn(move || forward(client, server, &counter));
        }
    });
    Ok(trips)
}

/// Copy both ways; count the client's `Q` and `S` messages.
fn forward(mut client: UnixStream, mut server: UnixStream, trips: &AtomicUsize) {
    let (Ok(mut server_out), Ok(mut client_in)) = (server.try_clone(), client.try_clone()) else {
        return;
    };
    std::thread::spawn(move || std::io::copy(&mut server_out, &mut client_in));
    let mut buf = [0u8; 64 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    // The startup message has no type byte.
    let mut started = false;
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        loop {
            let head = usize::from(started);
            if pending.len() < head + 4 {
                break;
            }
            let len = u32::from_be_bytes([
                pending[head],
                pending[head + 1],
                pending[head + 2],
                pending[head + 3],
            ]) as usize;
            if pending.len() < head + len {
                break;
            }
            if started && matches!(pending[0], b'Q' | b'S') {
                trips.fetch_add(1, Ordering::SeqCst);
            }
            pending.drain(..head + len);
            started = true;
        }
        if server.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = server.shutdown(std::net::Shutdown::Both);
}
