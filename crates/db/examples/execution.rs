//! Per-call cost of the generated queries prepared (named statements, cached per
//! connection) and unprepared (`query_typed`: Parse/Bind/Execute of an unnamed statement in
//! one round trip, pooler-safe), blocking and async, on one throwaway cluster (fsync off,
//! Unix socket) with every migration and fixture.
//!
//! `cargo run --release -p db --example execution [-- --write] [--rounds N] [--calls N]`
//! (`--write` replaces the section between the `execution bench` markers of BENCHMARKS.md).

use bench::{machine, median};
use db::queries::asynchronous::AsyncQuerier;
use db::queries::asynchronous::AsyncSession;
use db::queries::{Execution, Querier, Session};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn main() {
    let mut write = false;
    let mut rounds = 15usize;
    let mut calls = 1000usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = || args.next().and_then(|v| v.parse().ok()).expect("a number");
        match arg.as_str() {
            "--write" => write = true,
            "--rounds" => rounds = number(),
            "--calls" => calls = number(),
            other => panic!("unknown argument {other}"),
        }
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for meaningful figures");
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (cluster, url) =
        bench::migrated_cluster(&root.join("migrations")).expect("a throwaway cluster");
    let engineering: uuid::Uuid = "0c0c0000-0000-4000-8000-000000000001".parse().unwrap();

    let mut sync_sessions = [Execution::Prepared, Execution::Unprepared]
        .map(|e| Session::new(cluster.connect("bench").unwrap()).with_execution(e));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut async_sessions = [Execution::Prepared, Execution::Unprepared].map(|e| {
        rt.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(async move {
                let _ = connection.await;
            });
            AsyncSession::new(client).with_execution(e)
        })
    });
    // Warm up: statements prepared, types resolved.
    for s in &mut sync_sessions {
        s.get_group_ai_budget(engineering).unwrap();
        s.list_users(true).unwrap();
    }
    for s in &mut async_sessions {
        rt.block_on(s.get_group_ai_budget(engineering)).unwrap();
        rt.block_on(s.list_users(true)).unwrap();
    }

    // (label, per-call samples) for: sync one, sync many (enums), async one, async many.
    let names = [
        "blocking, `get_group_ai_budget` (one row, built-in types)",
        "blocking, `list_users(true)` (all users, enum columns)",
        "async, `get_group_ai_budget`",
        "async, `list_users(true)`",
    ];
    let mut samples: Vec<[Vec<Duration>; 2]> = (0..4).map(|_| [Vec::new(), Vec::new()]).collect();
    for round in 0..rounds {
        // Alternate which mode goes first.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for mode in order {
            let s = &mut sync_sessions[mode];
            let t = Instant::now();
            for _ in 0..calls {
                s.get_group_ai_budget(engineering).unwrap();
            }
            samples[0][mode].push(t.elapsed() / calls as u32);
            let t = Instant::now();
            for _ in 0..calls {
                s.list_users(true).unwrap();
            }
            samples[1][mode].push(t.elapsed() / calls as u32);
            let a = &mut async_sessions[mode];
            let (one, many) = rt.block_on(async {
                let t = Instant::now();
                for _ in 0..calls {
                    a.get_group_ai_budget(engineering).await.unwrap();
                }
                let one = t.elapsed() / calls as u32;
                let t = Instant::now();
                for _ in 0..calls {
                    a.list_users(true).await.unwrap();
                }
                (one, t.elapsed() / calls as u32)
            });
            samples[2][mode].push(one);
            samples[3][mode].push(many);
        }
    }

    let mut out = format!(
        "## queries: prepared vs unprepared (pooler-safe) execution\n\n\
         Produced by `cargo run --release -p db --example execution -- --write` on {}.\n\
         Throwaway embedded cluster (fsync off, Unix socket), all migrations with fixtures, \
         no pooler; one connection per session. Median (and min) per call over {rounds} \
         interleaved rounds of {calls} calls; the ratio is unprepared to prepared of the \
         same call in the same run. The machine is shared with other builds and tests, so \
         absolute times are noisy; the ratios are the figures to read.\n\n\
         | call | prepared (cached statement) | unprepared (`query_typed`) | ratio (median) |\n\
         | --- | ---: | ---: | ---: |\n",
        machine()
    );
    for (name, [prepared, unprepared]) in names.iter().zip(&samples) {
        let (p, u) = (median(prepared), median(unprepared));
        out.push_str(&format!(
            "| {name} | {:.1} µs (min {:.1}) | {:.1} µs (min {:.1}) | {:.2}x |\n",
            micros(p),
            micros(min(prepared)),
            micros(u),
            micros(min(unprepared)),
            u.as_secs_f64() / p.as_secs_f64()
        ));
    }
    out.push_str(
        "\nBoth are one round trip per call. The prepared call sends Bind/Execute of a \
         statement parsed and planned once per connection; the unprepared one sends Parse, \
         Bind, Describe and Execute of an unnamed statement, so the server parses, analyses \
         and plans the SQL on every call (a custom plan each time), and the client resolves \
         the columns' types from the Describe (cached by the driver). The one-time \
         resolution of the enum types (one transaction per connection) is outside the \
         timed loops.\n",
    );
    print!("{out}");
    if write {
        let path = root.join("BENCHMARKS.md");
        let existing = std::fs::read_to_string(&path).unwrap_or_default();
        std::fs::write(&path, replace_section(&existing, &out)).unwrap();
        eprintln!("wrote the execution section of {}", path.display());
    }
}

const START: &str = "<!-- execution bench: start -->";
const END: &str = "<!-- execution bench: end -->";

/// `text` with the part between the markers replaced by `section`, or with it appended.
fn replace_section(text: &str, section: &str) -> String {
    let block = format!("{START}\n{}\n{END}\n", section.trim_end());
    match (text.find(START), text.find(END)) {
        (Some(s), Some(e)) if s < e => {
            let after = &text[e + END.len()..];
            format!(
                "{}{block}{}",
                &text[..s],
                after.strip_prefix('\n').unwrap_or(after)
            )
        }
        _ => format!("{}\n\n{block}", text.trim_end()),
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn min(v: &[Duration]) -> Duration {
    v.iter().copied().min().unwrap_or_default()
}
