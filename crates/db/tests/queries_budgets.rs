//! Group budgets, organization budget caps and user overrides (single and bulk) against the
//! fixtures, with the database's typed rejections.

mod queries_support;

use db::enums::AiBudgetPeriod;
use db::queries::*;
use db::{CheckConstraint, ForeignKeyConstraint, UniqueConstraint};
use queries_support::*;
use std::collections::BTreeMap;

#[test]
fn group_budget_crud() {
    let db = fixtures_db();
    let mut q = session(&db);
    let engineering = q.get_group_ai_budget(uuid(ENGINEERING)).unwrap();
    assert_eq!(engineering.spend_limit_micros, 50_000_000);
    assert!(
        q.get_group_ai_budget(uuid(DESIGN))
            .unwrap_err()
            .is_not_found()
    );

    let created = q
        .upsert_group_ai_budget(&UpsertGroupAiBudgetParams {
            group_id: uuid(DESIGN),
            spend_limit_micros: 1,
        })
        .unwrap();
    let updated = q
        .upsert_group_ai_budget(&UpsertGroupAiBudgetParams {
            group_id: uuid(DESIGN),
            spend_limit_micros: 2_000_000,
        })
        .unwrap();
    assert_eq!(updated.spend_limit_micros, 2_000_000);
    assert_eq!(updated.created_at, created.created_at, "created_at kept");
    assert_eq!(q.get_group_ai_budget(uuid(DESIGN)).unwrap(), updated);

    for (limit, check) in [
        (-1, CheckConstraint::GroupAiBudgetsSpendLimitMicrosCheck),
        (
            1_000_000_000_001,
            CheckConstraint::GroupAiBudgetsSpendLimitMicrosMaxCheck,
        ),
    ] {
        let err = q
            .upsert_group_ai_budget(&UpsertGroupAiBudgetParams {
                group_id: uuid(DESIGN),
                spend_limit_micros: limit,
            })
            .unwrap_err();
        assert!(db::is_check_violation(pg(&err), &[check]), "{err}");
    }
    let err = q
        .upsert_group_ai_budget(&UpsertGroupAiBudgetParams {
            group_id: uuid(NOBODY),
            spend_limit_micros: 1,
        })
        .unwrap_err();
    assert!(
        db::is_foreign_key_violation(pg(&err), &[ForeignKeyConstraint::GroupAiBudgetsGroupIdFkey]),
        "{err}"
    );

    assert_eq!(q.delete_group_ai_budget(uuid(DESIGN)).unwrap(), 1);
    assert_eq!(q.delete_group_ai_budget(uuid(DESIGN)).unwrap(), 0);
}

#[test]
fn list_group_budgets_has_optional_columns_from_the_outer_join() {
    let db = fixtures_db();
    let mut q = session(&db);
    let rows: BTreeMap<String, ListGroupAiBudgetsRow> = q
        .list_group_ai_budgets(uuid(ACME))
        .unwrap()
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    assert_eq!(
        rows.keys().map(String::as_str).collect::<Vec<_>>(),
        ["Everyone", "design", "engineering"]
    );
    assert_eq!(rows["Everyone"].group_id, uuid(ACME));
    assert_eq!(rows["Everyone"].spend_limit_micros, Some(5_000_000));
    assert_eq!(rows["engineering"].spend_limit_micros, Some(50_000_000));
    // No budget row: the LEFT JOIN's columns are NULL, and typed as Option.
    let design: &ListGroupAiBudgetsRow = &rows["design"];
    let limit: Option<i64> = design.spend_limit_micros;
    assert_eq!((limit, design.budget_updated_at), (None, None));
    assert_eq!(design.display_name, "Design");
}

#[test]
fn budget_caps_crud_with_nullable_parameters() {
    let db = fixtures_db();
    let mut q = session(&db);
    let acme = q
        .get_organization_ai_budget_caps(uuid(ACME))
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            acme.budget_period,
            acme.subscription_cap_micros,
            acme.subscription_cap_enabled,
            acme.flat_user_cap_micros,
            acme.flat_user_cap_enabled
        ),
        (
            AiBudgetPeriod::Week,
            Some(1_000_000_000),
            true,
            Some(10_000_000),
            true
        )
    );
    assert_eq!(
        q.get_organization_ai_budget_caps(uuid(NOBODY)).unwrap(),
        None
    );

    let beta = q
        .upsert_organization_ai_budget_caps(&UpsertOrganizationAiBudgetCapsParams {
            organization_id: uuid(BETA),
            budget_period: AiBudgetPeriod::Day,
            subscription_cap_micros: None,
            subscription_cap_enabled: false,
            flat_user_cap_micros: Some(4_000_000),
            flat_user_cap_enabled: true,
        })
        .unwrap();
    assert_eq!(
        (
            beta.budget_period,
            beta.subscription_cap_micros,
            beta.flat_user_cap_micros
        ),
        (AiBudgetPeriod::Day, None, Some(4_000_000))
    );
    assert_eq!(
        q.get_organization_ai_budget_caps(uuid(BETA)).unwrap(),
        Some(beta)
    );

    // Enabling a cap without a value is refused.
    let err = q
        .upsert_organization_ai_budget_caps(&UpsertOrganizationAiBudgetCapsParams {
            organization_id: uuid(BETA),
            budget_period: AiBudgetPeriod::Month,
            subscription_cap_micros: None,
            subscription_cap_enabled: true,
            flat_user_cap_micros: None,
            flat_user_cap_enabled: false,
        })
        .unwrap_err();
    assert!(
        db::is_check_violation(
            pg(&err),
            &[CheckConstraint::OrganizationAiBudgetCapsSubscriptionCapEnabledCheck]
        ),
        "{err}"
    );

    // Deleting acme's record deletes the overrides attributed to acme's groups.
    assert!(
        q.get_user_ai_budget_override(uuid(ALICE))
            .unwrap()
            .is_some()
    );
    assert_eq!(q.delete_organization_ai_budget_caps(uuid(ACME)).unwrap(), 1);
    assert_eq!(q.delete_organization_ai_budget_caps(uuid(ACME)).unwrap(), 0);
    assert_eq!(q.get_user_ai_budget_override(uuid(ALICE)).unwrap(), None);
    assert_eq!(q.get_user_ai_budget_override(uuid(BOB)).unwrap(), None);
    assert!(
        q.get_user_ai_budget_override(uuid(CAROL))
            .unwrap()
            .is_some()
    );
}

#[test]
fn override_crud_and_membership_rule() {
    let db = fixtures_db();
    let mut q = session(&db);
    let bob = q.get_user_ai_budget_override(uuid(BOB)).unwrap().unwrap();
    assert_eq!(
        (bob.group_id, bob.spend_limit_micros, bob.enabled),
        (uuid(DESIGN), 90_000_000, true)
    );
    let carol = q.get_user_ai_budget_override(uuid(CAROL)).unwrap().unwrap();
    assert_eq!((carol.spend_limit_micros, carol.enabled), (0, false));
    assert_eq!(q.get_user_ai_budget_override(uuid(DAVE)).unwrap(), None);

    let acme: Vec<_> = q
        .list_user_ai_budget_overrides_by_organization(uuid(ACME))
        .unwrap()
        .into_iter()
        .map(|o| o.user_id)
        .collect();
    assert_eq!(acme, [uuid(ALICE), uuid(BOB)]);

    // Dave is a member of acme (its Everyone group has the organization's id).
    let dave = q
        .upsert_user_ai_budget_override(&UpsertUserAiBudgetOverrideParams {
            user_id: uuid(DAVE),
            group_id: uuid(ACME),
            spend_limit_micros: 1_000_000,
            enabled: true,
        })
        .unwrap();
    assert_eq!((dave.group_id, dave.enabled), (uuid(ACME), true));
    let err = q
        .upsert_user_ai_budget_override(&UpsertUserAiBudgetOverrideParams {
            user_id: uuid(DAVE),
            group_id: uuid(RESEARCH),
            spend_limit_micros: 1_000_000,
            enabled: true,
        })
        .unwrap_err();
    assert!(
        db::is_check_violation(
            pg(&err),
            &[CheckConstraint::UserAiBudgetOverridesMustBeGroupMember]
        ),
        "{err}"
    );

    assert_eq!(
        q.set_user_ai_budget_override_enabled(&SetUserAiBudgetOverrideEnabledParams {
            enabled: false,
            user_id: uuid(DAVE),
        })
        .unwrap(),
        1
    );
    assert!(
        !q.get_user_ai_budget_override(uuid(DAVE))
            .unwrap()
            .unwrap()
            .enabled
    );
    assert_eq!(
        q.set_user_ai_budget_override_enabled(&SetUserAiBudgetOverrideEnabledParams {
            enabled: true,
            user_id: uuid(NOBODY),
        })
        .unwrap(),
        0
    );
    assert_eq!(q.delete_user_ai_budget_override(uuid(DAVE)).unwrap(), 1);
    assert_eq!(q.delete_user_ai_budget_override(uuid(DAVE)).unwrap(), 0);
}

fn batch(rows: &[(&str, &str, i64, bool)]) -> UpsertUserAiBudgetOverridesParams {
    UpsertUserAiBudgetOverridesParams {
        user_ids: rows.iter().map(|r| uuid(r.0)).collect(),
        group_ids: rows.iter().map(|r| uuid(r.1)).collect(),
        spend_limit_micros: rows.iter().map(|r| r.2).collect(),
        enabled: rows.iter().map(|r| r.3).collect(),
    }
}

#[test]
fn bulk_upsert_returns_table_rows_and_rejects_whole_batches() {
    let db = fixtures_db();
    let mut q = session(&db);
    let before = q.get_user_ai_budget_override(uuid(CAROL)).unwrap().unwrap();
    let rows: Vec<db::models::UserAiBudgetOverrides> = q
        .upsert_user_ai_budget_overrides(&batch(&[
            (DAVE, ACME, 7_000_000, true),
            (CAROL, RESEARCH, 3_000_000, true),
        ]))
        .unwrap();
    let mut got: Vec<_> = rows
        .iter()
        .map(|r| (r.user_id, r.group_id, r.spend_limit_micros, r.enabled))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (uuid(CAROL), uuid(RESEARCH), 3_000_000, true),
            (uuid(DAVE), uuid(ACME), 7_000_000, true),
        ]
    );
    let carol = rows.iter().find(|r| r.user_id == uuid(CAROL)).unwrap();
    assert_eq!(
        carol.created_at, before.created_at,
        "created_at kept on update"
    );

    assert!(
        q.upsert_user_ai_budget_overrides(&batch(&[]))
            .unwrap()
            .is_empty()
    );

    // A duplicate user: typed, with both positions; nothing written.
    let err = q
        .upsert_user_ai_budget_overrides(&batch(&[
            (ALICE, ENGINEERING, 1, true),
            (ALICE, ENGINEERING, 2, true),
        ]))
        .unwrap_err();
    assert!(
        db::is_unique_violation(
            pg(&err),
            &[UniqueConstraint::UserAiBudgetOverridesBatchDuplicateUser]
        ),
        "{err}"
    );
    assert_eq!(
        pg(&err).as_db_error().unwrap().detail(),
        Some("positions {1,2} (1-based)")
    );

    // All or nothing: the valid first override is not written when the second fails.
    let err = q
        .upsert_user_ai_budget_overrides(&batch(&[
            (ALICE, ENGINEERING, 1, true),
            (BOB, RESEARCH, 1, true),
        ]))
        .unwrap_err();
    assert!(
        db::is_check_violation(
            pg(&err),
            &[CheckConstraint::UserAiBudgetOverridesMustBeGroupMember]
        ),
        "{err}"
    );
    assert_eq!(
        pg(&err).as_db_error().unwrap().detail(),
        Some("position 2 (1-based)")
    );
    assert_eq!(
        q.get_user_ai_budget_override(uuid(ALICE))
            .unwrap()
            .unwrap()
            .spend_limit_micros,
        60_000_000
    );

    let too_many: Vec<(&str, &str, i64, bool)> = vec![(ALICE, ENGINEERING, 1, true); 201];
    let err = q
        .upsert_user_ai_budget_overrides(&batch(&too_many))
        .unwrap_err();
    assert!(
        db::is_check_violation(pg(&err), &[CheckConstraint::UserAiBudgetOverridesBatchSize]),
        "{err}"
    );
}
