//! The generated runtime: statements prepared once per connection and shared with
//! transactions, the metering wrapper (and a tour calling every query through it), and
//! typed errors when the database does not match what was generated (NULL in a NOT NULL
//! field, too many rows, changed types, stale statements, a cache of another connection).

mod queries_support;

use db::enums::{AiBudgetPeriod, LoginType, UserStatus};
use db::queries::*;
use queries_support::*;

/// Prepared statements of the session's connection (asked with the simple protocol, which
/// prepares nothing itself).
fn prepared_on_server(q: &mut Session<postgres::Client>) -> i64 {
    let messages = q
        .client()
        .simple_query("SELECT count(*) FROM pg_prepared_statements")
        .unwrap();
    messages
        .iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get(0).map(|v| v.parse().unwrap()),
            _ => None,
        })
        .unwrap()
}

#[test]
fn statements_are_prepared_once_per_connection_and_shared_with_transactions() {
    let db = fixtures_db();
    let mut q = session(&db);
    assert_eq!(prepared_on_server(&mut q), 0);
    for _ in 0..5 {
        q.get_group_ai_budget(uuid(ENGINEERING)).unwrap();
        q.count_user_skills(uuid(ALICE)).unwrap();
    }
    assert_eq!(q.statement_cache().len(), 2);
    assert!(q.statement_cache().contains(QueryId::CountUserSkills));
    assert_eq!(prepared_on_server(&mut q), 2);

    {
        let mut tx = q.transaction().unwrap();
        tx.count_user_skills(uuid(BOB)).unwrap(); // cached
        tx.list_user_skills(uuid(BOB)).unwrap(); // prepared into the shared cache
        let mut savepoint = tx.transaction().unwrap();
        savepoint.list_user_skills(uuid(ALICE)).unwrap();
        savepoint.commit().unwrap();
        tx.rollback().unwrap();
    }
    assert_eq!(q.statement_cache().len(), 3);
    assert_eq!(
        prepared_on_server(&mut q),
        3,
        "prepared statements outlive the rollback"
    );
    q.list_user_skills(uuid(ALICE)).unwrap();
    assert_eq!(prepared_on_server(&mut q), 3);

    // A session over a borrowed client, with a cache kept beside it.
    let mut client = db.connect().unwrap();
    let mut cache = StatementCache::new();
    Session::with_cache(&mut client, &mut cache)
        .get_group_ai_budget(uuid(ENGINEERING))
        .unwrap();
    Session::with_cache(&mut client, &mut cache)
        .get_group_ai_budget(uuid(ENGINEERING))
        .unwrap();
    assert_eq!(cache.len(), 1);
}

#[test]
fn a_cache_used_on_another_connection_empties_itself() {
    let db = fixtures_db();
    let mut first = db.connect().unwrap();
    let mut cache = StatementCache::new();
    Session::with_cache(&mut first, &mut cache)
        .count_user_skills(uuid(ALICE))
        .unwrap();
    let mut second = db.connect().unwrap();
    let err = Session::with_cache(&mut second, &mut cache)
        .count_user_skills(uuid(ALICE))
        .unwrap_err();
    assert_eq!(
        pg(&err).code(),
        Some(&postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME),
        "{err}"
    );
    assert!(cache.is_empty());
    assert_eq!(
        Session::with_cache(&mut second, &mut cache)
            .count_user_skills(uuid(ALICE))
            .unwrap(),
        2
    );
}

#[test]
fn a_statement_invalidated_by_ddl_is_prepared_again() {
    let db = fixtures_db();
    let mut q = session(&db);
    let key = GetUserSkillParams {
        user_id: uuid(ALICE),
        name: "code-review".to_owned(),
    };
    let before = q.get_user_skill(&key).unwrap().unwrap();
    q.client()
        .batch_execute("ALTER TABLE user_skills ADD COLUMN extra integer")
        .unwrap();
    // `SELECT *` now has another column: the server refuses the old statement once...
    let err = q.get_user_skill(&key).unwrap_err();
    assert_eq!(
        pg(&err).code(),
        Some(&postgres::error::SqlState::FEATURE_NOT_SUPPORTED),
        "{err}"
    );
    assert!(!q.statement_cache().contains(QueryId::GetUserSkill));
    // ... and the next call prepares it again (the extra column is not read).
    assert_eq!(q.get_user_skill(&key).unwrap(), Some(before));
}

#[test]
fn null_in_a_not_null_column_is_a_typed_error() {
    let db = fixtures_db();
    let mut q = session(&db);
    q.client()
        .batch_execute(
            "ALTER TABLE user_skills ALTER COLUMN description DROP NOT NULL;
             UPDATE user_skills SET description = NULL WHERE name = 'code-review';",
        )
        .unwrap();
    let err = q
        .get_user_skill(&GetUserSkillParams {
            user_id: uuid(ALICE),
            name: "code-review".to_owned(),
        })
        .unwrap_err();
    match &err {
        QueryError::UnexpectedNull { query, column } => {
            assert_eq!((*query, *column), (QueryId::GetUserSkill, "description"));
        }
        other => panic!("expected UnexpectedNull, got {other:?}"),
    }
    assert!(
        err.to_string()
            .ends_with("column description is NULL but is declared NOT NULL"),
        "{err}"
    );
}

#[test]
fn a_forced_not_null_that_does_not_hold_is_a_typed_error() {
    let db = fixtures_db();
    let mut q = session(&db);
    // The query forces `spent_micros!`; a function that breaks the promise:
    q.client()
        .batch_execute(
            "CREATE OR REPLACE FUNCTION effective_ai_budget(p_user_id uuid, p_at timestamp with time zone)
                RETURNS TABLE (limit_micros bigint, source ai_budget_source, attributed_group_id uuid,
                    organization_id uuid, period_start timestamp with time zone,
                    period_end timestamp with time zone, spent_micros bigint, remaining_micros bigint,
                    subscription_cap_exceeded boolean, exceeded boolean)
                LANGUAGE sql AS $$ SELECT NULL::bigint, NULL::ai_budget_source, NULL::uuid, NULL::uuid,
                    p_at, p_at, NULL::bigint, NULL::bigint, false, false $$",
        )
        .unwrap();
    let err = q
        .get_effective_ai_budget(&GetEffectiveAiBudgetParams {
            user_id: uuid(ALICE),
            at: at("2024-01-23T12:00:00Z"),
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            QueryError::UnexpectedNull {
                query: QueryId::GetEffectiveAiBudget,
                column: "spent_micros"
            }
        ),
        "{err:?}"
    );
}

#[test]
fn more_rows_than_the_command_allows_is_a_typed_error() {
    let db = fixtures_db();
    let mut q = session(&db);
    q.client()
        .batch_execute(
            "DROP INDEX users_username_key;
             INSERT INTO users (id, email, username) VALUES ('0b0b0000-0000-4000-8000-0000000000cc', 'a2@example.com', 'Alice');",
        )
        .unwrap();
    let err = q
        .get_user_by_username(&GetUserByUsernameParams {
            username: "alice".to_owned(),
            include_system: false,
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            QueryError::TooManyRows {
                query: QueryId::GetUserByUsername,
                rows: 2
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_changed_column_type_is_a_typed_decode_error() {
    let db = fixtures_db();
    let mut q = session(&db);
    q.client()
        .batch_execute("ALTER TABLE user_skills ALTER COLUMN content TYPE bytea USING convert_to(content, 'UTF8')")
        .unwrap();
    let err = q.list_user_skills(uuid(ALICE)).unwrap_err();
    match &err {
        QueryError::Decode { query, column, .. } => {
            assert_eq!((*query, *column), (QueryId::ListUserSkills, "content"));
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn metered_counts_and_times_every_call() {
    let db = fixtures_db();
    let mut q = Metered::new(session(&db));
    for _ in 0..3 {
        q.list_user_skills(uuid(ALICE)).unwrap();
    }
    q.get_group_ai_budget(uuid(DESIGN)).unwrap_err();
    q.soft_delete_user(uuid(BOB)).unwrap();

    let m = q.metrics();
    let skills = m.get(QueryId::ListUserSkills);
    assert_eq!((skills.calls, skills.errors, skills.rows), (3, 0, 6));
    assert!(skills.total >= skills.max && skills.max >= skills.mean());
    assert!(skills.mean() > std::time::Duration::ZERO);
    let budget = m.get(QueryId::GetGroupAiBudget);
    assert_eq!((budget.calls, budget.errors, budget.rows), (1, 1, 0));
    assert_eq!(
        m.get(QueryId::SoftDeleteUser).rows,
        1,
        ":execrows counts affected rows"
    );
    assert_eq!(m.called().count(), 3);
    assert_eq!(m.total().calls, 5);
    let table = m.to_string();
    assert!(
        table.lines().next().unwrap().starts_with("query"),
        "{table}"
    );
    assert!(table.contains("ListUserSkills"), "{table}");

    // Shared metrics across a connection's session and its transaction's.
    let mut metrics = QueryMetrics::new();
    let mut session = session(&db);
    Metered::with_metrics(&mut session, &mut metrics)
        .count_user_skills(uuid(ALICE))
        .unwrap();
    {
        let tx = session.transaction().unwrap();
        let mut metered = Metered::with_metrics(tx, &mut metrics);
        metered.count_user_skills(uuid(BOB)).unwrap();
        metered.into_inner().commit().unwrap();
    }
    assert_eq!(metrics.get(QueryId::CountUserSkills).calls, 2);
    let mut merged = q.metrics().clone();
    merged.merge(&metrics);
    assert_eq!(merged.total().calls, 7);
    q.reset_metrics();
    assert_eq!(q.metrics().total().calls, 0);
}

/// Every query of `crates/db/queries`, once, through `Metered` on a transaction session:
/// proves that each one runs against the real schema and that the wrapper forwards all.
#[test]
fn tour_of_every_query() {
    let db = fixtures_db();
    let mut session = session(&db);
    let mut metrics = QueryMetrics::new();
    let tx = session.transaction().unwrap();
    let mut q = Metered::with_metrics(tx, &mut metrics);
    let new_user = uuid("0b0b0000-0000-4000-8000-0000000000dd");

    q.create_user(&CreateUserParams {
        id: new_user,
        email: "tour@example.com".to_owned(),
        username: "tour".to_owned(),
        name: "Tour".to_owned(),
        status: UserStatus::Active,
        login_type: LoginType::Password,
    })
    .unwrap();
    q.get_user(&GetUserParams {
        id: new_user,
        include_system: false,
    })
    .unwrap();
    q.get_user_by_username(&GetUserByUsernameParams {
        username: "tour".to_owned(),
        include_system: false,
    })
    .unwrap()
    .unwrap();
    q.list_users(true).unwrap();

    q.upsert_group_ai_budget(&UpsertGroupAiBudgetParams {
        group_id: uuid(DESIGN),
        spend_limit_micros: 1,
    })
    .unwrap();
    q.get_group_ai_budget(uuid(DESIGN)).unwrap();
    q.list_group_ai_budgets(uuid(ACME)).unwrap();
    q.delete_group_ai_budget(uuid(DESIGN)).unwrap();

    q.get_organization_ai_budget_caps(uuid(BETA))
        .unwrap()
        .unwrap();
    q.upsert_organization_ai_budget_caps(&UpsertOrganizationAiBudgetCapsParams {
        organization_id: uuid(BETA),
        budget_period: AiBudgetPeriod::Month,
        subscription_cap_micros: Some(5),
        subscription_cap_enabled: false,
        flat_user_cap_micros: None,
        flat_user_cap_enabled: false,
    })
    .unwrap();

    q.get_user_ai_budget_override(uuid(BOB)).unwrap().unwrap();
    q.list_user_ai_budget_overrides_by_organization(uuid(ACME))
        .unwrap();
    q.upsert_user_ai_budget_override(&UpsertUserAiBudgetOverrideParams {
        user_id: uuid(DAVE),
        group_id: uuid(ACME),
        spend_limit_micros: 1,
        enabled: true,
    })
    .unwrap();
    q.set_user_ai_budget_override_enabled(&SetUserAiBudgetOverrideEnabledParams {
        enabled: false,
        user_id: uuid(DAVE),
    })
    .unwrap();
    q.upsert_user_ai_budget_overrides(&UpsertUserAiBudgetOverridesParams {
        user_ids: vec![uuid(DAVE)],
        group_ids: vec![uuid(ACME)],
        spend_limit_micros: vec![2],
        enabled: vec![true],
    })
    .unwrap();
    q.delete_user_ai_budget_override(uuid(DAVE)).unwrap();

    q.record_ai_spend(&RecordAiSpendParams {
        user_id: uuid(BOB),
        group_id: uuid(DESIGN),
        at: None,
        spend_micros: 1,
    })
    .unwrap();
    q.list_user_ai_daily_spend(&ListUserAiDailySpendParams {
        user_id: uuid(BOB),
        first_day: day("2024-01-01"),
        last_day: day("2024-12-31"),
    })
    .unwrap();
    q.get_effective_ai_budget(&GetEffectiveAiBudgetParams {
        user_id: uuid(BOB),
        at: at("2024-01-23T12:00:00Z"),
    })
    .unwrap();

    q.create_user_skill(&CreateUserSkillParams {
        id: uuid("0d0d0000-0000-4000-8000-0000000000dd"),
        user_id: new_user,
        name: "tour".to_owned(),
        description: String::new(),
        content: String::new(),
    })
    .unwrap();
    q.get_user_skill(&GetUserSkillParams {
        user_id: new_user,
        name: "tour".to_owned(),
    })
    .unwrap()
    .unwrap();
    q.list_user_skills(new_user).unwrap();
    q.count_user_skills(new_user).unwrap();
    q.update_user_skill(&UpdateUserSkillParams {
        description: "d".to_owned(),
        content: "c".to_owned(),
        user_id: new_user,
        name: "tour".to_owned(),
    })
    .unwrap();
    q.delete_user_skill(&DeleteUserSkillParams {
        user_id: new_user,
        name: "tour".to_owned(),
    })
    .unwrap();

    // sqlc.embed, :copyfrom and :batch* (their results: queries_bulk.rs).
    let rows = q.list_users_with_organizations(false).unwrap();
    assert!(
        rows.iter()
            .any(|r| r.users.id == new_user && r.organizations.is_none())
    );
    let spend = |d: u8| (uuid(BOB), uuid(DESIGN), day(&format!("2035-01-0{d}")), 1);
    let (user_id, group_id, d, spend_micros) = spend(1);
    q.insert_user_ai_daily_spend(&InsertUserAiDailySpendParams {
        user_id,
        group_id,
        day: d,
        spend_micros,
    })
    .unwrap();
    let (user_id, group_id, d, spend_micros) = spend(2);
    q.insert_user_ai_daily_spends(&[InsertUserAiDailySpendsParams {
        user_id,
        group_id,
        day: d,
        spend_micros,
    }])
    .unwrap();
    let (user_id, group_id, d, spend_micros) = spend(3);
    let copied = q
        .copy_user_ai_daily_spend(&[CopyUserAiDailySpendParams {
            user_id,
            group_id,
            day: d,
            spend_micros,
        }])
        .unwrap();
    assert_eq!(copied, 1);
    let totals = q
        .record_ai_spends(&[RecordAiSpendsParams {
            user_id,
            group_id,
            at: Some(at("2035-01-03T12:00:00Z")),
            spend_micros: 2,
        }])
        .unwrap();
    assert_eq!(totals, [3]);
    let skills = [CopyUserSkillsParams {
        id: uuid("0d0d0000-0000-4000-8000-0000000000ef"),
        user_id: new_user,
        name: "copied".to_owned(),
        description: String::new(),
        content: "c".to_owned(),
    }];
    assert_eq!(q.copy_user_skills(&skills).unwrap(), 1);
    let lists = q.list_user_skills_of_users(&[new_user]).unwrap();
    assert_eq!(lists[0].len(), 1);
    q.delete_user_skills(&[DeleteUserSkillsParams {
        user_id: new_user,
        name: "copied".to_owned(),
    }])
    .unwrap();

    let imported = [CopyUsersParams {
        id: uuid("0b0b0000-0000-4000-8000-0000000000cf"),
        email: "imported@example.com".to_owned(),
        username: "imported".to_owned(),
        name: "Imported".to_owned(),
        status: UserStatus::Dormant,
        login_type: LoginType::Oidc,
    }];
    assert_eq!(q.copy_users(&imported).unwrap(), 1);

    q.delete_organization_ai_budget_caps(uuid(BETA)).unwrap();
    q.soft_delete_user(new_user).unwrap();
    q.into_inner().commit().unwrap();

    let uncalled: Vec<&str> = metrics
        .iter()
        .filter(|(_, s)| s.calls == 0)
        .map(|(q, _)| q.name())
        .collect();
    assert!(
        uncalled.is_empty(),
        "queries the tour does not call: {uncalled:?}"
    );
    assert_eq!(metrics.total().errors, 0);
    assert_eq!(metrics.called().count(), QueryId::COUNT);
}
