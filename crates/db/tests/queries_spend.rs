//! The spend increment upsert, the daily rollup listing and the effective budget.

mod queries_support;

use db::CheckConstraint;
use db::enums::AiBudgetSource;
use db::queries::*;
use queries_support::*;

#[test]
fn record_spend_increments_the_utc_day_of_at() {
    let db = fixtures_db();
    let mut q = session(&db);
    let record = |q: &mut Session<postgres::Client>, at: Option<&str>, micros: i64| {
        q.record_ai_spend(&RecordAiSpendParams {
            user_id: uuid(ALICE),
            group_id: uuid(ENGINEERING),
            at: at.map(queries_support::at),
            spend_micros: micros,
        })
    };
    // 2024-01-23 already holds 2.5 + 0.5 units.
    assert_eq!(
        record(&mut q, Some("2024-01-23T23:59:59Z"), 100).unwrap(),
        3_000_100
    );
    // 01:00 at +02:00 is still the 23rd in UTC.
    assert_eq!(
        record(&mut q, Some("2024-01-24T01:00:00+02:00"), 100).unwrap(),
        3_000_200
    );
    // NULL: now, a day without spend so far.
    assert_eq!(record(&mut q, None, 7).unwrap(), 7);
    let err = record(&mut q, Some("2024-01-23T12:00:00Z"), -10_000_000).unwrap_err();
    assert!(
        db::is_check_violation(
            pg(&err),
            &[CheckConstraint::UserAiDailySpendSpendMicrosCheck]
        ),
        "{err}"
    );

    let rows = q
        .list_user_ai_daily_spend(&ListUserAiDailySpendParams {
            user_id: uuid(ALICE),
            first_day: day("2024-01-22"),
            last_day: day("2024-01-23"),
        })
        .unwrap();
    let got: Vec<(time::Date, i64)> = rows.iter().map(|r| (r.day, r.spend_micros)).collect();
    assert_eq!(
        got,
        [
            (day("2024-01-22"), 1_500_000),
            (day("2024-01-23"), 3_000_200)
        ]
    );
    assert!(rows.iter().all(|r| r.group_id == uuid(ENGINEERING)));
}

#[test]
fn effective_budget_of_a_user_with_an_override() {
    let db = fixtures_db();
    let mut q = session(&db);
    let b = q
        .get_effective_ai_budget(&GetEffectiveAiBudgetParams {
            user_id: uuid(ALICE),
            at: at("2024-01-23T12:00:00Z"),
        })
        .unwrap();
    assert_eq!(b.limit_micros, Some(60_000_000));
    assert_eq!(b.source, Some(AiBudgetSource::UserOverride));
    assert_eq!(b.attributed_group_id, Some(uuid(ENGINEERING)));
    assert_eq!(b.organization_id, Some(uuid(ACME)));
    // acme counts weekly, from Monday 00:00 UTC.
    assert_eq!(
        (b.period_start, b.period_end),
        (at("2024-01-22T00:00:00Z"), at("2024-01-29T00:00:00Z"))
    );
    assert_eq!(b.spent_micros, 4_500_000);
    assert_eq!(b.remaining_micros, Some(55_500_000));
    assert!(!b.subscription_cap_exceeded && !b.exceeded);
}

#[test]
fn effective_budget_of_system_and_unknown_users() {
    let db = fixtures_db();
    let mut q = session(&db);
    let system = q
        .get_effective_ai_budget(&GetEffectiveAiBudgetParams {
            user_id: uuid(PREBUILDS),
            at: at("2024-01-23T12:00:00Z"),
        })
        .unwrap();
    assert_eq!(
        (
            system.limit_micros,
            system.source,
            system.attributed_group_id
        ),
        (None, None, None)
    );
    assert_eq!(
        (
            system.spent_micros,
            system.remaining_micros,
            system.exceeded
        ),
        (0, Some(0), true)
    );
    let unknown = q
        .get_effective_ai_budget(&GetEffectiveAiBudgetParams {
            user_id: uuid(NOBODY),
            at: at("2024-01-23T12:00:00Z"),
        })
        .unwrap_err();
    assert!(unknown.is_not_found(), "{unknown}");
    assert_eq!(unknown.query(), QueryId::GetEffectiveAiBudget);
}
