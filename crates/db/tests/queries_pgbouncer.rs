//! The generated queries through a real PgBouncer in transaction mode with two server
//! connections, where consecutive transactions of one client run on different server
//! connections: a prepared session's statement is missing on the other connection (26000)
//! and its statements stay behind on the servers; an unprepared session, blocking or async,
//! runs every query, enums and the one-time type resolution included, and leaves nothing.
//! Skipped, with a message, when `pgbouncer` is not installed.

mod queries_support;

use db::queries::asynchronous::{AsyncQuerier, AsyncSession};
use db::queries::*;
use pgcluster::{PgBouncer, PoolMode};
use queries_support::*;

fn bouncer() -> Option<PgBouncer> {
    if PgBouncer::binary().is_none() {
        eprintln!(
            "SKIPPED: pgbouncer is not installed (apt-get install pgbouncer); PgBouncer tests did not run"
        );
        return None;
    }
    Some(PgBouncer::start(cluster(), PoolMode::Transaction, 2).unwrap())
}

fn connect(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

/// A client holding one server connection (an open transaction) until dropped.
struct Holder(postgres::Client);

impl Holder {
    fn take(url: &str) -> Holder {
        let mut client = connect(url);
        client.batch_execute("BEGIN; SELECT 1").unwrap();
        Holder(client)
    }

    fn release(mut self) {
        self.0.batch_execute("COMMIT").unwrap();
    }
}

/// Prepared statements on both server connections (each pinned by a transaction, asked
/// with the simple protocol).
fn prepared_on_every_server(url: &str) -> i64 {
    let mut clients = [Holder::take(url), Holder::take(url)];
    let total = clients
        .iter_mut()
        .map(|h| prepared_statements(&mut h.0))
        .sum();
    for h in clients {
        h.release();
    }
    total
}

/// Runs `call` once with the session's server connection, then moves the session to the
/// other one: `call` is run with the first server held by someone else, then again with
/// the second held.
fn on_both_servers<T>(url: &str, mut call: impl FnMut() -> T) -> (T, T) {
    let first_held = Holder::take(url);
    let first = call(); // on the other server
    let second_held = Holder::take(url); // takes the one `call` used
    first_held.release();
    let second = call(); // back on the first server
    second_held.release();
    (first, second)
}

#[test]
fn prepared_statements_break_under_transaction_pooling() {
    let Some(bouncer) = bouncer() else { return };
    let db = fixtures_db();
    let url = bouncer.url(db.name());
    let mut q = Session::new(connect(&url)).with_execution(Execution::Prepared);
    let (first, second) = on_both_servers(&url, || q.count_user_skills(uuid(ALICE)));
    assert_eq!(first.unwrap(), 2);
    let err = second.unwrap_err();
    assert_eq!(
        pg(&err).code(),
        Some(&postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME),
        "the statement prepared on the other server connection: {err}"
    );
    assert!(
        prepared_on_every_server(&url) > 0,
        "a prepared session leaves its statements on the servers"
    );
}

#[test]
fn unprepared_sessions_work_under_transaction_pooling() {
    let Some(bouncer) = bouncer() else { return };
    let db = fixtures_db();
    let url = bouncer.url(db.name());
    let mut q = Session::unprepared(connect(&url));
    // The first call with enums resolves the types; each call on either server.
    let (first, second) = on_both_servers(&url, || {
        let users = q.list_users(true).unwrap();
        let skills = q.count_user_skills(uuid(ALICE)).unwrap();
        (users, skills)
    });
    assert_eq!(first, second);
    assert!(q.statement_cache().custom_types_resolved());
    // Every query, twice, in transactions that run on whichever server is free.
    for _ in 0..2 {
        let mut tx = q.transaction().unwrap();
        let seen = tour!(tx);
        assert!(!seen.is_empty());
        tx.rollback().unwrap();
    }
    assert_eq!(prepared_on_every_server(&url), 0, "nothing left behind");
}

#[test]
fn unprepared_sessions_of_many_threads_share_two_server_connections() {
    let Some(bouncer) = bouncer() else { return };
    let db = fixtures_db();
    let url = bouncer.url(db.name());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut q = Metered::new(Session::unprepared(connect(&url)));
                for _ in 0..25 {
                    q.list_users(true).unwrap();
                    q.get_user(&GetUserParams {
                        id: uuid(ALICE),
                        include_system: false,
                    })
                    .unwrap();
                    q.count_user_skills(uuid(ALICE)).unwrap();
                }
                q.metrics().total()
            })
        })
        .collect();
    for t in threads {
        let total = t.join().unwrap();
        assert_eq!((total.calls, total.errors), (75, 0));
    }
    assert_eq!(prepared_on_every_server(&url), 0);
}

#[test]
fn async_sessions_under_transaction_pooling() {
    let Some(bouncer) = bouncer() else { return };
    let db = fixtures_db();
    let url = bouncer.url(db.name());
    let rt = runtime();
    let mut prepared =
        AsyncSession::new(rt.block_on(connect_async(&url))).with_execution(Execution::Prepared);
    let (first, second) = on_both_servers(&url, || {
        rt.block_on(prepared.count_user_skills(uuid(ALICE)))
    });
    assert_eq!(first.unwrap(), 2);
    let err = second.unwrap_err();
    assert_eq!(
        pg(&err).code(),
        Some(&postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME),
        "{err}"
    );
    drop(prepared);
    // What the prepared session left on the servers; the unprepared one adds nothing.
    let left_by_prepared = prepared_on_every_server(&url);

    let mut q = AsyncSession::unprepared(rt.block_on(connect_async(&url)));
    let (first, second) = on_both_servers(&url, || {
        rt.block_on(async {
            let users = q.list_users(true).await.unwrap();
            let skills = q.count_user_skills(uuid(ALICE)).await.unwrap();
            (users, skills)
        })
    });
    assert_eq!(first, second);
    rt.block_on(async {
        let mut tx = q.transaction().await.unwrap();
        let seen = tour!(tx, await);
        assert!(!seen.is_empty());
        tx.rollback().await.unwrap();
    });
    drop(q);
    assert_eq!(
        prepared_on_every_server(&url),
        left_by_prepared,
        "nothing left behind"
    );
}

/// `count` spend rows of BOB in DESIGN from day `first` of 2032 on (distinct per call).
fn spend_rows(first: usize, count: usize) -> Vec<CopyUserAiDailySpendParams> {
    let start = day("2032-01-01");
    (first..first + count)
        .map(|d| CopyUserAiDailySpendParams {
            user_id: uuid(BOB),
            group_id: uuid(DESIGN),
            day: start + time::Duration::days(d as i64),
            spend_micros: d as i64,
        })
        .collect()
}

#[test]
fn copy_and_batches_work_unprepared_under_transaction_pooling() {
    let Some(bouncer) = bouncer() else { return };
    let db = fixtures_db();
    let url = bouncer.url(db.name());
    let mut q = Session::unprepared(connect(&url));
    let mut calls = 0;
    // Outside any transaction of the caller: the COPY runs in one of its own, the batch
    // items one by one, on whichever server is free.
    let (first, second) = on_both_servers(&url, || {
        calls += 1;
        let copied = q
            .copy_user_ai_daily_spend(&spend_rows(calls * 100, 50))
            .unwrap();
        let lists = q
            .list_user_skills_of_users(&[uuid(ALICE), uuid(BOB)])
            .unwrap();
        (copied, lists.iter().map(Vec::len).collect::<Vec<_>>())
    });
    assert_eq!(first, second);
    assert_eq!(first.0, 50);

    let rt = runtime();
    let mut aq = AsyncSession::unprepared(rt.block_on(connect_async(&url)));
    let (first, second) = on_both_servers(&url, || {
        calls += 1;
        rt.block_on(async {
            let copied = aq
                .copy_user_ai_daily_spend(&spend_rows(calls * 100, 50))
                .await
                .unwrap();
            let lists = aq
                .list_user_skills_of_users(&[uuid(ALICE), uuid(BOB)])
                .await
                .unwrap();
            (copied, lists.iter().map(Vec::len).collect::<Vec<_>>())
        })
    });
    assert_eq!(first, second);
    drop(aq);
    let mut check = connect(&url);
    let rows: i64 = check
        .query_typed_one(
            "SELECT count(*) FROM user_ai_daily_spend WHERE day >= '2032-01-01'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(rows, 200);
    assert_eq!(prepared_on_every_server(&url), 0, "nothing left behind");
}
