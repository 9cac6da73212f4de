//! Figures for BENCHMARKS.md, section `## queries`:
//!
//! - how long query inference takes for all of `crates/db/queries` (parse, prepare and
//!   describe with the generic-plan EXPLAINs, emit and format), on a migrated throwaway
//!   database;
//! - the per-call cost of generated queries against hand-written `client.query` of the same
//!   SQL (with the SQL text, which prepares every call, and with a statement prepared once),
//!   in the same run, on the same connection, interleaved.
//!
//! `cargo run --release -p querygen --example bench [-- --write] [--rounds N] [--calls N]`
//! (`--write` replaces the `## queries` section of BENCHMARKS.md, between its markers, or
//! appends it; other sections are left as they are).

use bench::{machine, median};
use db::models::{GroupAiBudgets, UserSkills};
use db::queries::{Metered, Querier, QueryId, Session};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn main() {
    let mut write = false;
    let mut rounds = 15usize;
    let mut calls = 2000usize;
    let mut inference_runs = 30usize;
    let mut pairs = 20000usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = || args.next().and_then(|v| v.parse().ok()).expect("a number");
        match arg.as_str() {
            "--write" => write = true,
            "--rounds" => rounds = number(),
            "--calls" => calls = number(),
            "--inference-runs" => inference_runs = number(),
            "--pairs" => pairs = number(),
            other => panic!("unknown argument {other}"),
        }
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for meaningful figures");
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (cluster, _) =
        bench::migrated_cluster(&root.join("migrations")).expect("a throwaway cluster");
    let mut client = cluster.connect("bench").unwrap();
    let model = schema::introspect(
        &mut client,
        None,
        &schema::CatalogOptions {
            exclude_tables: vec![migrate::HISTORY_TABLE.to_owned()],
        },
    )
    .unwrap();

    // Inference: every query of crates/db/queries.
    let dir = root.join("crates/db/queries");
    let mut parse = Vec::new();
    let mut infer = Vec::new();
    let mut emit = Vec::new();
    let mut total = Vec::new();
    let mut count = 0;
    for _ in 0..inference_runs {
        // A fresh connection each run, as `gen` has: its type cache starts empty.
        let mut fresh = cluster.connect("bench").unwrap();
        let t0 = Instant::now();
        let defs = querygen::load(&dir, Some(&root)).unwrap();
        let t1 = Instant::now();
        let inferred = querygen::infer::infer(&mut fresh, &defs).unwrap();
        let t2 = Instant::now();
        let text = querygen::render(&inferred, &model, &querygen::Options::default()).unwrap();
        let t3 = Instant::now();
        assert!(!text.is_empty());
        count = defs.len();
        parse.push(t1 - t0);
        infer.push(t2 - t1);
        emit.push(t3 - t2);
        total.push(t3 - t0);
    }
    let explained = {
        let defs = querygen::load(&dir, Some(&root)).unwrap();
        querygen::infer::infer(&mut client, &defs)
            .unwrap()
            .iter()
            .filter(|q| {
                q.columns.iter().any(|c| {
                    matches!(
                        c.why,
                        querygen::infer::Nullability::NotNullColumn
                            | querygen::infer::Nullability::OuterJoin
                            | querygen::infer::Nullability::Unproven
                    )
                })
            })
            .count()
    };

    // Per-call: generated vs hand-written, same SQL, same connection, interleaved rounds.
    let engineering: uuid::Uuid = "0c0c0000-0000-4000-8000-000000000001".parse().unwrap();
    let alice: uuid::Uuid = "0b0b0000-0000-4000-8000-000000000001".parse().unwrap();
    let one_sql = QueryId::GetGroupAiBudget.sql();
    let many_sql = QueryId::ListUserSkills.sql();
    // One connection for every case: generated calls through the session, hand-written
    // ones on its client, so all of them talk to the same server backend.
    drop(client);
    let mut session = Session::new(cluster.connect("bench").unwrap());
    let one_stmt = session.client().prepare(one_sql).unwrap();
    let many_stmt = session.client().prepare(many_sql).unwrap();
    let mut metrics = db::queries::QueryMetrics::new();

    let hand_one = |row: &postgres::Row| GroupAiBudgets {
        group_id: row.get(0),
        spend_limit_micros: row.get(1),
        created_at: row.get(2),
        updated_at: row.get(3),
    };
    let hand_many = |row: &postgres::Row| UserSkills {
        id: row.get(0),
        user_id: row.get(1),
        name: row.get(2),
        description: row.get(3),
        content: row.get(4),
        created_at: row.get(5),
        updated_at: row.get(6),
    };

    type Case<'a> = (&'static str, Box<dyn FnMut() + 'a>);
    let figures: Vec<(&'static str, Vec<Duration>)>;
    let mut paired: Vec<(&str, f64, f64, f64)> = Vec::new();
    {
        let session = std::cell::RefCell::new(&mut session);
        let metrics = std::cell::RefCell::new(&mut metrics);
        let mut cases: Vec<Case> = vec![
            (
                "one: generated `Session::get_group_ai_budget`",
                Box::new(|| {
                    let b = session
                        .borrow_mut()
                        .get_group_ai_budget(engineering)
                        .unwrap();
                    std::hint::black_box(b);
                }),
            ),
            (
                "one: generated, through `Metered`",
                Box::new(|| {
                    let mut session = session.borrow_mut();
                    let mut metrics = metrics.borrow_mut();
                    let mut metered = Metered::with_metrics(&mut **session, &mut **metrics);
                    let b = metered.get_group_ai_budget(engineering).unwrap();
                    std::hint::black_box(b);
                }),
            ),
            (
                "one: hand-written `client.query(&stmt, ..)` (prepared once)",
                Box::new(|| {
                    let rows = session
                        .borrow_mut()
                        .client()
                        .query(&one_stmt, &[&engineering])
                        .unwrap();
                    std::hint::black_box(hand_one(&rows[0]));
                }),
            ),
            (
                "one: hand-written `client.query(sql, ..)` (SQL text)",
                Box::new(|| {
                    let rows = session
                        .borrow_mut()
                        .client()
                        .query(one_sql, &[&engineering])
                        .unwrap();
                    std::hint::black_box(hand_one(&rows[0]));
                }),
            ),
            (
                "many: generated `Session::list_user_skills` (2 rows)",
                Box::new(|| {
                    let s = session.borrow_mut().list_user_skills(alice).unwrap();
                    std::hint::black_box(s);
                }),
            ),
            (
                "many: hand-written `client.query(&stmt, ..)` (prepared once)",
                Box::new(|| {
                    let rows = session
                        .borrow_mut()
                        .client()
                        .query(&many_stmt, &[&alice])
                        .unwrap();
                    let v: Vec<UserSkills> = rows.iter().map(hand_many).collect();
                    std::hint::black_box(v);
                }),
            ),
            (
                "many: hand-written `client.query(sql, ..)` (SQL text)",
                Box::new(|| {
                    let rows = session
                        .borrow_mut()
                        .client()
                        .query(many_sql, &[&alice])
                        .unwrap();
                    let v: Vec<UserSkills> = rows.iter().map(hand_many).collect();
                    std::hint::black_box(v);
                }),
            ),
        ];
        for (_, f) in cases.iter_mut() {
            for _ in 0..200 {
                f(); // warm up: prepare, caches
            }
        }
        let mut timed: Vec<(&'static str, Vec<Duration>)> =
            cases.iter().map(|(n, _)| (*n, Vec::new())).collect();
        for _ in 0..rounds {
            for (i, (_, f)) in cases.iter_mut().enumerate() {
                let t = Instant::now();
                for _ in 0..calls {
                    f();
                }
                timed[i].1.push(t.elapsed() / calls as u32);
            }
        }
        figures = timed;

        // Paired: generated and hand-written prepared, one right after the other (order
        // alternating), so drift in the machine's load cancels out of each difference.
        for (label, generated, hand) in [("one", 0usize, 2usize), ("many", 4, 5)] {
            let mut diffs = Vec::with_capacity(pairs);
            for i in 0..pairs {
                let (first, second) = if i % 2 == 0 {
                    (generated, hand)
                } else {
                    (hand, generated)
                };
                let t0 = Instant::now();
                (cases[first].1)();
                let t1 = Instant::now();
                (cases[second].1)();
                let t2 = Instant::now();
                let (g, h) = if i % 2 == 0 {
                    (t1 - t0, t2 - t1)
                } else {
                    (t2 - t1, t1 - t0)
                };
                diffs.push(g.as_secs_f64() - h.as_secs_f64());
            }
            diffs.sort_by(f64::total_cmp);
            let q = |f: f64| diffs[((diffs.len() - 1) as f64 * f) as usize] * 1e6;
            paired.push((label, q(0.25), q(0.5), q(0.75)));
        }
    }

    let machine = machine();
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    let us = |d: Duration| format!("{:.1} µs", d.as_secs_f64() * 1e6);
    let mut out = String::new();
    out.push_str("## queries\n\n");
    out.push_str(&format!(
        "Produced by `cargo run --release -p querygen --example bench -- --write` on {machine}.\n\
         Throwaway embedded cluster (fsync off, Unix socket), all migrations with fixtures; the per-call cases share one \
         connection. The machine may be shared with other builds, so figures are noisy: compare within one run.\n\n"
    ));
    out.push_str(&format!(
        "### Inference of all {count} queries of `crates/db/queries` (median of {inference_runs} runs, each on a new connection; min)\n\n\
         | step | median | min |\n| --- | ---: | ---: |\n"
    ));
    for (name, v) in [
        ("parse the annotated files", &parse),
        (
            "prepare + describe every query, catalog lookups, generic-plan EXPLAIN",
            &infer,
        ),
        ("emit + format `queries.rs`", &emit),
        ("total", &total),
    ] {
        out.push_str(&format!(
            "| {name} | {} | {} |\n",
            ms(median(v)),
            ms(min(v))
        ));
    }
    out.push_str(&format!(
        "\n{explained} of the {count} queries return a NOT NULL table column and get an EXPLAIN; \
         per query, inference costs about {} (median total / {count}). \
         In `cargo xtask gen` the middle row is `Timings::queries` (on top of cluster start, migrate, dump and introspection); parsing runs before any database work and emitting is part of `generate`.\n\n",
        us(median(&total) / count.max(1) as u32)
    ));
    out.push_str(&format!(
        "### Per call: generated vs hand-written, same SQL (median of {rounds} interleaved rounds of {calls} calls; min)\n\n\
         | call | median | min | median vs hand-written prepared | min vs hand-written prepared |\n| --- | ---: | ---: | ---: | ---: |\n"
    ));
    let delta = |v: Duration, base: Duration| {
        let diff = v.as_secs_f64() - base.as_secs_f64();
        format!(
            "{}{:.2} µs ({:+.1} %)",
            if diff >= 0.0 { "+" } else { "−" },
            diff.abs() * 1e6,
            diff / base.as_secs_f64() * 100.0
        )
    };
    for (name, v) in &figures {
        let base = if name.starts_with("one") {
            &figures[2].1
        } else {
            &figures[5].1
        };
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} |\n",
            us(median(v)),
            us(min(v)),
            delta(median(v), median(base)),
            delta(min(v), min(base)),
        ));
    }
    out.push_str(&format!(
        "\nPaired differences, generated minus hand-written prepared, each pair called back to back \
         ({pairs} pairs, order alternating; quartiles):\n\n\
         | query | 25 % | median | 75 % |\n| --- | ---: | ---: | ---: |\n"
    ));
    for (label, q1, q2, q3) in &paired {
        out.push_str(&format!(
            "| {label} | {q1:+.2} µs | {q2:+.2} µs | {q3:+.2} µs |\n"
        ));
    }
    out.push_str(
        "\nThe generated call does what the hand-written prepared call does (one Bind/Execute round \
         trip on a statement prepared once per connection, decode by index) plus a cache lookup, \
         an `Arc` clone of the statement and `try_get` error mapping; `client.query(sql, ..)` \
         with SQL text prepares and closes a statement on every call (an extra round trip). \
         `Metered` adds two `Instant::now()` and a counter update.\n",
    );
    print!("{out}");
    if write {
        let path = root.join("BENCHMARKS.md");
        let existing = std::fs::read_to_string(&path).unwrap_or_default();
        let updated = replace_section(&existing, &out);
        std::fs::write(&path, updated).unwrap();
        eprintln!("wrote the `## queries` section of {}", path.display());
    }
}

const START: &str = "<!-- queries bench: start -->";
const END: &str = "<!-- queries bench: end -->";

/// `text` with the part between the queries markers replaced by `section` (markers
/// included), or with it appended; the other sections stay as they are.
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
        _ if text.trim().is_empty() => format!("# Benchmarks\n\n{block}"),
        _ => format!("{}\n\n{block}", text.trim_end()),
    }
}

fn min(v: &[Duration]) -> Duration {
    v.iter().copied().min().unwrap_or_default()
}
