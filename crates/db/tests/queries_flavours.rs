//! Both flavours of the generated queries (blocking `Session`, async `AsyncSession`), each
//! prepared and unprepared, against the real database: every query gives the same results
//! in all four, an unprepared session leaves no prepared statement on the server (not
//! even the driver's type lookups), async futures are `Send` (they run in `tokio::spawn`),
//! and transactions and `Metered` work the same.

mod queries_support;

use db::queries::asynchronous::{AsyncQuerier, AsyncSession};
use db::queries::*;
use queries_support::*;

/// The tour on a blocking session in a transaction, rolled back; with the prepared
/// statements left on the server.
fn sync_tour(execution: Execution) -> (Vec<String>, i64) {
    let db = fixtures_db();
    let mut session = Session::new(db.connect().unwrap()).with_execution(execution);
    let mut metrics = QueryMetrics::new();
    let tx = session.transaction().unwrap();
    let mut q = Metered::with_metrics(tx, &mut metrics);
    let seen = tour!(q);
    q.into_inner().rollback().unwrap();
    assert_eq!(metrics.called().count(), QueryId::COUNT);
    assert_eq!(metrics.total().errors, 0);
    (seen, prepared_statements(session.client()))
}

/// The same on an async session.
fn async_tour(execution: Execution) -> (Vec<String>, i64) {
    let db = fixtures_db();
    let url = db.url().to_owned();
    runtime().block_on(async move {
        let client = connect_async(&url).await;
        let mut session = AsyncSession::new(client).with_execution(execution);
        let mut metrics = QueryMetrics::new();
        let tx = session.transaction().await.unwrap();
        let mut q = Metered::with_metrics(tx, &mut metrics);
        let seen = tour!(q, await);
        q.into_inner().rollback().await.unwrap();
        assert_eq!(metrics.called().count(), QueryId::COUNT);
        assert_eq!(metrics.total().errors, 0);
        let prepared: i64 = session
            .client()
            .query_typed_one("SELECT count(*) FROM pg_prepared_statements", &[])
            .await
            .unwrap()
            .get(0);
        (seen, prepared)
    })
}

#[test]
fn every_query_gives_the_same_results_in_both_flavours_prepared_or_not() {
    let (prepared, statements) = sync_tour(Execution::Prepared);
    // One per query, and the driver's type lookups.
    assert!(statements >= QueryId::COUNT as i64, "{statements}");
    let (unprepared, statements) = sync_tour(Execution::Unprepared);
    assert_eq!(statements, 0, "an unprepared session leaves no statement");
    assert_eq!(unprepared, prepared);

    let (async_prepared, statements) = async_tour(Execution::Prepared);
    assert!(statements >= QueryId::COUNT as i64, "{statements}");
    assert_eq!(async_prepared, prepared);
    let (async_unprepared, statements) = async_tour(Execution::Unprepared);
    assert_eq!(statements, 0, "an unprepared session leaves no statement");
    assert_eq!(async_unprepared, prepared);
}

#[test]
fn unprepared_sessions_resolve_custom_types_once_and_leave_nothing_behind() {
    let db = fixtures_db();
    let mut q = Session::unprepared(db.connect().unwrap());
    assert_eq!(q.execution(), Execution::Unprepared);
    // Built-in types only: nothing to resolve.
    assert_eq!(q.count_user_skills(uuid(ALICE)).unwrap(), 2);
    assert!(!q.statement_cache().custom_types_resolved());
    // An enum parameter and enum columns: resolved in one transaction, once.
    let users = q.list_users(true).unwrap();
    assert!(q.statement_cache().custom_types_resolved());
    assert!(
        users
            .iter()
            .any(|u| u.status == db::enums::UserStatus::Active)
    );
    assert_eq!(
        prepared_statements(q.client()),
        0,
        "the driver's type lookups are deallocated"
    );
    let again = q.list_users(true).unwrap();
    assert_eq!(again, users);
    assert!(q.statement_cache().is_empty());
    assert_eq!(prepared_statements(q.client()), 0);

    // Inside a transaction the lookups run in a savepoint; the transaction goes on.
    let mut fresh = Session::unprepared(db.connect().unwrap());
    let mut tx = fresh.transaction().unwrap();
    tx.soft_delete_user(uuid(CAROL)).unwrap();
    let user = tx
        .get_user(&GetUserParams {
            id: uuid(CAROL),
            include_system: true,
        })
        .unwrap();
    assert!(user.deleted);
    tx.rollback().unwrap();
    let user = fresh
        .get_user(&GetUserParams {
            id: uuid(CAROL),
            include_system: true,
        })
        .unwrap();
    assert!(!user.deleted, "the rollback undid the delete");
    assert_eq!(prepared_statements(fresh.client()), 0);
}

#[test]
fn errors_are_the_same_unprepared() {
    let db = fixtures_db();
    let mut q = Session::unprepared(db.connect().unwrap());
    let err = q
        .get_user(&GetUserParams {
            id: uuid(NOBODY),
            include_system: true,
        })
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = q
        .upsert_group_ai_budget(&UpsertGroupAiBudgetParams {
            group_id: uuid(DESIGN),
            spend_limit_micros: -1,
        })
        .unwrap_err();
    assert!(
        db::is_check_violation(pg(&err), &[]),
        "a CHECK violation: {err}"
    );
    assert_eq!(err.query(), QueryId::UpsertGroupAiBudget);
}

#[test]
fn async_queries_run_inside_tokio_spawn() {
    let db = fixtures_db();
    let url = db.url().to_owned();
    runtime().block_on(async move {
        let mut tasks = Vec::new();
        for execution in [Execution::Prepared, Execution::Unprepared] {
            let url = url.clone();
            tasks.push(tokio::spawn(async move {
                let session = AsyncSession::new(connect_async(&url).await);
                let mut q = Metered::new(session.with_execution(execution));
                let mut counts = Vec::new();
                for user in [ALICE, ALICE] {
                    counts.push(q.count_user_skills(uuid(user)).await.unwrap());
                }
                let users = q.list_users(true).await.unwrap();
                assert_eq!(q.metrics().total().calls, 3);
                (counts, users.len())
            }));
        }
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        assert_eq!(results[0], results[1]);
        assert_eq!(results[0].0, [2, 2]);
    });
}

/// A generic function over any `AsyncQuerier` whose futures cross a `tokio::spawn`.
fn spawn_count<Q: AsyncQuerier + Send + 'static>(
    mut q: Q,
    user: uuid::Uuid,
) -> tokio::task::JoinHandle<i64> {
    tokio::spawn(async move { q.count_user_skills(user).await.unwrap() })
}

#[test]
fn a_generic_async_querier_is_spawnable() {
    let db = fixtures_db();
    let url = db.url().to_owned();
    runtime().block_on(async move {
        let session = AsyncSession::unprepared(connect_async(&url).await);
        assert_eq!(spawn_count(session, uuid(ALICE)).await.unwrap(), 2);
        let metered = Metered::new(AsyncSession::new(connect_async(&url).await));
        assert_eq!(spawn_count(metered, uuid(ALICE)).await.unwrap(), 2);
    });
}

#[test]
fn async_transactions_share_the_cache_and_roll_back() {
    let db = fixtures_db();
    let url = db.url().to_owned();
    runtime().block_on(async move {
        let mut q = AsyncSession::new(connect_async(&url).await);
        q.count_user_skills(uuid(ALICE)).await.unwrap();
        {
            let mut tx = q.transaction().await.unwrap();
            assert_eq!(tx.soft_delete_user(uuid(CAROL)).await.unwrap(), 1);
            let mut savepoint = tx.transaction().await.unwrap();
            savepoint.list_user_skills(uuid(ALICE)).await.unwrap();
            savepoint.commit().await.unwrap();
            tx.rollback().await.unwrap();
        }
        assert_eq!(q.statement_cache().len(), 3);
        let carol = q
            .get_user(&GetUserParams {
                id: uuid(CAROL),
                include_system: true,
            })
            .await
            .unwrap();
        assert!(!carol.deleted);
        let err = q
            .get_user(&GetUserParams {
                id: uuid(NOBODY),
                include_system: true,
            })
            .await
            .unwrap_err();
        assert!(err.is_not_found());
    });
}
