//! `sqlc.embed`, `:copyfrom` and `:batch*` on our schema, blocking and async, prepared and
//! unprepared: embedded rows are the model structs (`None` on the outer-join side), COPY
//! is all or nothing and counts as one metered call, batches name the failing item
//! (the blocking flavour stops there, the async one has sent every item already) and
//! are atomic inside a transaction, and the async batch is prepared once, then pipelined.

mod queries_support;

use db::queries::asynchronous::{AsyncQuerier, AsyncSession};
use db::queries::*;
use queries_support::*;

const EXECUTIONS: [Execution; 2] = [Execution::Prepared, Execution::Unprepared];

/// `count` spend rows of BOB in DESIGN, from `first` days after 2033-01-01 on.
fn spend(first: i64, count: i64) -> Vec<CopyUserAiDailySpendParams> {
    (first..first + count)
        .map(|d| CopyUserAiDailySpendParams {
            user_id: uuid(BOB),
            group_id: uuid(DESIGN),
            day: day("2033-01-01") + time::Duration::days(d),
            spend_micros: d,
        })
        .collect()
}

fn batch_items(spend_micros: &[i64]) -> Vec<InsertUserAiDailySpendsParams> {
    spend_micros
        .iter()
        .enumerate()
        .map(|(d, &spend_micros)| InsertUserAiDailySpendsParams {
            user_id: uuid(BOB),
            group_id: uuid(DESIGN),
            day: day("2034-01-01") + time::Duration::days(d as i64),
            spend_micros,
        })
        .collect()
}

fn rows_since(client: &mut postgres::Client, first: &str) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM user_ai_daily_spend WHERE day >= $1",
            &[&day(first)],
        )
        .unwrap()
        .get(0)
}

#[test]
fn embedded_organizations_are_the_model_structs_none_without_membership() {
    let db = fixtures_db();
    let mut q = session(&db);
    let loner = uuid("0b0b0000-0000-4000-8000-0000000000ee");
    let created = q
        .create_user(&CreateUserParams {
            id: loner,
            email: "loner@example.com".to_owned(),
            username: "loner".to_owned(),
            name: "Loner".to_owned(),
            status: db::enums::UserStatus::Active,
            login_type: db::enums::LoginType::Password,
        })
        .unwrap();
    let rows: Vec<ListUsersWithOrganizationsRow> = q.list_users_with_organizations(true).unwrap();
    let got: Vec<(String, Option<String>)> = rows
        .iter()
        .map(|r| {
            (
                r.users.username.clone(),
                r.organizations.as_ref().map(|o| o.name.clone()),
            )
        })
        .collect();
    let expected: Vec<(String, Option<String>)> = q
        .client()
        .query(
            "SELECT u.username, o.name FROM users u
               LEFT JOIN organization_members m ON m.user_id = u.id
               LEFT JOIN organizations o ON o.id = m.organization_id
              WHERE NOT u.deleted ORDER BY lower(u.username), u.id, o.name",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(got, expected);
    assert!(got.iter().any(|(_, org)| org.is_some()));
    let loner_row = rows.iter().find(|r| r.users.id == loner).unwrap();
    assert_eq!(loner_row.users, created, "the whole Users struct");
    assert_eq!(loner_row.organizations, None);
    let acme = rows
        .iter()
        .find_map(|r| r.organizations.clone().filter(|o| o.id == uuid(ACME)))
        .unwrap();
    assert!(!acme.deleted && !acme.name.is_empty());
}

#[test]
fn copy_is_one_metered_call_and_all_or_nothing_blocking_and_async() {
    for execution in EXECUTIONS {
        let db = fixtures_db();
        let mut q = Metered::new(session(&db).with_execution(execution));
        assert_eq!(q.copy_user_ai_daily_spend(&spend(0, 1000)).unwrap(), 1000);
        let stats = *q.metrics().get(QueryId::CopyUserAiDailySpend);
        assert_eq!((stats.calls, stats.rows, stats.errors), (1, 1000, 0));
        // Row 500 repeats a day of the first COPY: nothing of the second one stays.
        let err = q.copy_user_ai_daily_spend(&spend(999, 600)).unwrap_err();
        assert!(db::is_unique_violation(pg(&err), &[]), "{err}");
        assert_eq!(q.metrics().get(QueryId::CopyUserAiDailySpend).errors, 1);
        let mut client = q.into_inner().into_client();
        assert_eq!(rows_since(&mut client, "2033-01-01"), 1000, "{execution:?}");
        if execution == Execution::Unprepared {
            assert_eq!(prepared_statements(&mut client), 0);
        }

        let url = db.url().to_owned();
        runtime().block_on(async move {
            let mut q = Metered::new(
                AsyncSession::new(connect_async(&url).await).with_execution(execution),
            );
            assert_eq!(
                q.copy_user_ai_daily_spend(&spend(2000, 1000))
                    .await
                    .unwrap(),
                1000
            );
            let err = q
                .copy_user_ai_daily_spend(&spend(2999, 10))
                .await
                .unwrap_err();
            assert!(db::is_unique_violation(pg(&err), &[]), "{err}");
            let stats = *q.metrics().get(QueryId::CopyUserAiDailySpend);
            assert_eq!((stats.calls, stats.rows, stats.errors), (2, 1000, 1));
        });
        assert_eq!(rows_since(&mut client, "2033-01-01"), 2000, "{execution:?}");
    }
}

#[test]
fn a_blocking_batch_stops_at_the_failing_item_and_is_atomic_in_a_transaction() {
    for execution in EXECUTIONS {
        let db = fixtures_db();
        let mut q = session(&db).with_execution(execution);
        // Item 2 breaks the CHECK (spend_micros >= 0).
        let items = batch_items(&[1, 2, -1, 4]);
        let mut tx = q.transaction().unwrap();
        let err = tx.insert_user_ai_daily_spends(&items).unwrap_err();
        assert_eq!(err.batch_index(), Some(2), "{err}");
        assert!(db::is_check_violation(pg(&err), &[]), "{err}");
        assert!(
            err.to_string().contains("item 2 of the batch: ERROR 23514"),
            "{err}"
        );
        tx.rollback().unwrap();
        assert_eq!(rows_since(q.client(), "2034-01-01"), 0, "rolled back");
        // Outside a transaction the items before the failing one stay, none after it ran.
        let err = q.insert_user_ai_daily_spends(&items).unwrap_err();
        assert_eq!(err.batch_index(), Some(2));
        assert_eq!(rows_since(q.client(), "2034-01-01"), 2);
        let totals = q
            .record_ai_spends(&[
                RecordAiSpendsParams {
                    user_id: uuid(BOB),
                    group_id: uuid(DESIGN),
                    at: Some(at("2034-01-01T08:00:00Z")),
                    spend_micros: 10,
                },
                RecordAiSpendsParams {
                    user_id: uuid(BOB),
                    group_id: uuid(DESIGN),
                    at: Some(at("2034-01-01T09:00:00Z")),
                    spend_micros: 5,
                },
            ])
            .unwrap();
        assert_eq!(totals, [11, 16], "each item sees the ones before it");
    }
}

#[test]
fn an_async_batch_is_prepared_once_then_pipelined() {
    let db = fixtures_db();
    let url = db.url().to_owned();
    for execution in EXECUTIONS {
        let url = url.clone();
        runtime().block_on(async move {
            let mut q = AsyncSession::new(connect_async(&url).await).with_execution(execution);
            let items = batch_items(&[1, 2, -1, 4]);
            let err = q.insert_user_ai_daily_spends(&items).await.unwrap_err();
            assert_eq!(err.batch_index(), Some(2), "{err}");
            // Every item was sent before any result: the one after the failure ran too.
            let count: i64 = q
                .client()
                .query_one(
                    "SELECT count(*) FROM user_ai_daily_spend WHERE day >= '2034-01-01'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            assert_eq!(count, 3, "{execution:?}");
            let mut tx = q.transaction().await.unwrap();
            let lists = tx
                .list_user_skills_of_users(&[uuid(ALICE), uuid(NOBODY), uuid(ALICE)])
                .await
                .unwrap();
            tx.rollback().await.unwrap();
            assert_eq!(lists.iter().map(Vec::len).collect::<Vec<_>>(), [2, 0, 2]);
            assert_eq!(lists[0], lists[2]);
            let statements: i64 = q
                .client()
                .query_typed_one(
                    "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1",
                    &[(
                        &QueryId::ListUserSkillsOfUsers.sql(),
                        postgres::types::Type::TEXT,
                    )],
                )
                .await
                .unwrap()
                .get(0);
            let expected = i64::from(execution == Execution::Prepared);
            assert_eq!(statements, expected, "prepared once, or never");
            // Cleanup for the next execution mode.
            q.client()
                .execute(
                    "DELETE FROM user_ai_daily_spend WHERE day >= '2034-01-01'",
                    &[],
                )
                .await
                .unwrap();
        });
    }
}

/// The slice-taking methods keep `Querier` usable as a trait object.
fn import(q: &mut dyn Querier, rows: &[CopyUserAiDailySpendParams]) -> Result<u64, QueryError> {
    q.copy_user_ai_daily_spend(rows)
}

#[test]
fn copy_through_a_dyn_querier() {
    let db = fixtures_db();
    let mut q = Metered::new(session(&db));
    assert_eq!(import(&mut q, &spend(0, 3)).unwrap(), 3);
    assert_eq!(q.metrics().get(QueryId::CopyUserAiDailySpend).rows, 3);
}
