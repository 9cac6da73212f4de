//! Bulk writes of the generated queries: 10,000 rows into `user_ai_daily_spend` as a loop
//! of `:exec` calls, as one `:batchexec` call (a loop on the blocking client, pipelined on
//! the async one) and as one `:copyfrom` call (binary COPY), each inside one transaction
//! on a prepared session, on one throwaway cluster (fsync off, Unix socket) with every
//! migration and fixture.
//!
//! `cargo run --release -p db --example bulk [-- --write] [--rounds N] [--rows N]`
//! (`--write` replaces the section between the `bulk bench` markers of BENCHMARKS.md).

use bench::{machine, median};
use db::queries::asynchronous::{AsyncQuerier, AsyncSession};
use db::queries::{
    CopyUserAiDailySpendParams, InsertUserAiDailySpendParams, InsertUserAiDailySpendsParams,
    Querier, Session,
};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const METHODS: [&str; 6] = [
    "blocking, `:exec` loop (baseline)",
    "blocking, `:batchexec` (a loop, one round trip per row)",
    "blocking, `:copyfrom` (binary COPY)",
    "async, `:exec` loop (awaited one by one)",
    "async, `:batchexec` (pipelined)",
    "async, `:copyfrom` (binary COPY)",
];

fn main() {
    let mut write = false;
    let mut rounds = 5usize;
    let mut rows = 10_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = || args.next().and_then(|v| v.parse().ok()).expect("a number");
        match arg.as_str() {
            "--write" => write = true,
            "--rounds" => rounds = number(),
            "--rows" => rows = number(),
            other => panic!("unknown argument {other}"),
        }
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for meaningful figures");
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (cluster, url) =
        bench::migrated_cluster(&root.join("migrations")).expect("a throwaway cluster");
    let bob: uuid::Uuid = "0b0b0000-0000-4000-8000-000000000002".parse().unwrap();
    let design: uuid::Uuid = "0c0c0000-0000-4000-8000-000000000002".parse().unwrap();
    let first_day = time::Date::from_calendar_date(2040, time::Month::January, 1).unwrap();
    let days: Vec<time::Date> = (0..rows)
        .map(|d| first_day + time::Duration::days(d as i64))
        .collect();
    let copy: Vec<CopyUserAiDailySpendParams> = days
        .iter()
        .map(|&day| CopyUserAiDailySpendParams {
            user_id: bob,
            group_id: design,
            day,
            spend_micros: 1,
        })
        .collect();
    let exec: Vec<InsertUserAiDailySpendParams> = days
        .iter()
        .map(|&day| InsertUserAiDailySpendParams {
            user_id: bob,
            group_id: design,
            day,
            spend_micros: 1,
        })
        .collect();
    let batch: Vec<InsertUserAiDailySpendsParams> = days
        .iter()
        .map(|&day| InsertUserAiDailySpendsParams {
            user_id: bob,
            group_id: design,
            day,
            spend_micros: 1,
        })
        .collect();

    let mut sync = Session::new(cluster.connect("bench").unwrap());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut asynchronous = rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(async move {
            let _ = connection.await;
        });
        AsyncSession::new(client)
    });
    let mut cleanup = cluster.connect("bench").unwrap();
    let mut clean = || {
        cleanup
            .execute(
                "DELETE FROM user_ai_daily_spend WHERE day >= $1",
                &[&first_day],
            )
            .unwrap();
        cleanup.batch_execute("VACUUM user_ai_daily_spend").unwrap();
    };

    // One method: insert every row in one transaction; the rows are deleted afterwards
    // (not timed), so every run starts from the same table.
    let mut run = |method: usize| -> Duration {
        let t = Instant::now();
        match method {
            0 => {
                let mut tx = sync.transaction().unwrap();
                for p in &exec {
                    tx.insert_user_ai_daily_spend(p).unwrap();
                }
                tx.commit().unwrap();
            }
            1 => {
                let mut tx = sync.transaction().unwrap();
                tx.insert_user_ai_daily_spends(&batch).unwrap();
                tx.commit().unwrap();
            }
            2 => {
                let mut tx = sync.transaction().unwrap();
                assert_eq!(tx.copy_user_ai_daily_spend(&copy).unwrap(), rows as u64);
                tx.commit().unwrap();
            }
            _ => rt.block_on(async {
                let mut tx = asynchronous.transaction().await.unwrap();
                match method {
                    3 => {
                        for p in &exec {
                            tx.insert_user_ai_daily_spend(p).await.unwrap();
                        }
                    }
                    4 => tx.insert_user_ai_daily_spends(&batch).await.unwrap(),
                    _ => {
                        let copied = tx.copy_user_ai_daily_spend(&copy).await.unwrap();
                        assert_eq!(copied, rows as u64);
                    }
                }
                tx.commit().await.unwrap();
            }),
        }
        let elapsed = t.elapsed();
        clean();
        elapsed
    };
    // Warm up: statements prepared, caches filled.
    for method in 0..METHODS.len() {
        run(method);
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); METHODS.len()];
    for round in 0..rounds {
        // Rotate the order, so no method always runs first.
        for k in 0..METHODS.len() {
            let method = (k + round) % METHODS.len();
            samples[method].push(run(method));
        }
    }

    let baseline = median(&samples[0]);
    let mut out = format!(
        "## queries: bulk writes, `:copyfrom` and `:batchexec` vs an `:exec` loop\n\n\
         Produced by `cargo run --release -p db --example bulk -- --write` on {}.\n\
         {rows} rows into `user_ai_daily_spend` (4 columns: uuid, uuid, date, bigint; a \
         primary key and two foreign keys), each method inside one transaction on a \
         prepared session, on a throwaway embedded cluster (fsync off, Unix socket); the \
         rows are deleted (and the table vacuumed) after each run, untimed. Median (and \
         min) over {rounds} rounds in rotating order, after one warm-up run of each; the \
         ratio is the blocking `:exec` loop's median over the method's, in the same run \
         (higher is faster). The machine is shared with other builds and tests, so \
         absolute times are noisy; the ratios are the figures to read.\n\n\
         | method | {rows} rows | per row | speed-up vs `:exec` loop |\n\
         | --- | ---: | ---: | ---: |\n",
        machine()
    );
    for (name, s) in METHODS.iter().zip(&samples) {
        let m = median(s);
        let min = s.iter().copied().min().unwrap_or_default();
        out.push_str(&format!(
            "| {name} | {:.1} ms (min {:.1}) | {:.2} µs | {:.1}x |\n",
            m.as_secs_f64() * 1e3,
            min.as_secs_f64() * 1e3,
            m.as_secs_f64() * 1e6 / rows as f64,
            baseline.as_secs_f64() / m.as_secs_f64()
        ));
    }
    out.push_str(
        "\nThe `:exec` loop and the blocking `:batchexec` pay one round trip per row (Bind/\
         Execute of the cached statement, then wait); the async `:batchexec` sends every \
         row before reading the first result, so the round trips overlap; `:copyfrom` sends \
         the rows as one binary COPY stream: no per-row statement execution, no per-row \
         round trip.\n",
    );
    print!("{out}");
    if write {
        let path = root.join("BENCHMARKS.md");
        let existing = std::fs::read_to_string(&path).unwrap_or_default();
        std::fs::write(&path, replace_section(&existing, &out)).unwrap();
        eprintln!("wrote the bulk section of {}", path.display());
    }
}

const START: &str = "<!-- bulk bench: start -->";
const END: &str = "<!-- bulk bench: end -->";

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
