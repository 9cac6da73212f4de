//! Error classification against the project's schema, with the generated constraint enums:
//! real constraints and trigger-raised names alike, and every trigger-raised name is really
//! raised by a failing write.

mod common;

use common::*;
use db::{CheckConstraint, Constraint, ForeignKeyConstraint, TriggerConstraint, UniqueConstraint};
use std::collections::BTreeSet;

const ORG: &str = "00000000-0000-0000-0000-0000000000a1";
const NOCAP_ORG: &str = "00000000-0000-0000-0000-0000000000a2";
const ALICE: &str = "00000000-0000-0000-0000-0000000000b1";
const BOB: &str = "00000000-0000-0000-0000-0000000000b2";
const CAROL: &str = "00000000-0000-0000-0000-0000000000b3";
const DEVS: &str = "00000000-0000-0000-0000-0000000000c1";
const NOBODY: &str = "00000000-0000-0000-0000-0000000000ff";

fn setup(client: &mut postgres::Client) {
    client
        .batch_execute(&format!(
            "INSERT INTO organizations (id, name, is_default) VALUES ('{ORG}', 'acme', true), ('{NOCAP_ORG}', 'nocap', false);
             INSERT INTO users (id, email, username) VALUES
                 ('{ALICE}', 'alice@example.com', 'alice'), ('{BOB}', 'bob@example.com', 'bob'),
                 ('{CAROL}', 'carol@example.com', 'carol');
             INSERT INTO organization_members (organization_id, user_id) VALUES ('{ORG}', '{ALICE}'), ('{NOCAP_ORG}', '{BOB}');
             INSERT INTO groups (id, organization_id, name) VALUES ('{DEVS}', '{ORG}', 'devs');
             INSERT INTO group_members (user_id, group_id, organization_id) VALUES ('{ALICE}', '{DEVS}', '{ORG}');
             INSERT INTO organization_ai_budget_caps (organization_id) VALUES ('{ORG}');
             UPDATE users SET deleted = true WHERE id = '{CAROL}';"
        ))
        .unwrap();
}

fn upsert(users: &str, groups: &str, limits: &str, enabled: &str) -> String {
    format!(
        "SELECT * FROM upsert_user_ai_budget_overrides({users}::uuid[], {groups}::uuid[], {limits}::bigint[], {enabled}::boolean[])"
    )
}

fn one(user: &str, group: &str, limit: i64) -> String {
    upsert(
        &format!("ARRAY['{user}']"),
        &format!("ARRAY['{group}']"),
        &format!("ARRAY[{limit}]"),
        "ARRAY[true]",
    )
}

/// A failing write per trigger-raised name: (name, SQL). Names also checked by PostgreSQL
/// itself are raised here through their function, before the table sees the row.
fn trigger_writes() -> Vec<(&'static str, String)> {
    vec![
        ("users_system_user_protected", "UPDATE users SET username = 'renamed' WHERE is_system".to_owned()),
        (
            "user_ai_budget_overrides_must_be_group_member",
            format!("INSERT INTO user_ai_budget_overrides (user_id, group_id, spend_limit_micros) VALUES ('{BOB}', '{ORG}', 5)"),
        ),
        (
            "user_ai_budget_overrides_must_have_budget_cap",
            format!("INSERT INTO user_ai_budget_overrides (user_id, group_id, spend_limit_micros) VALUES ('{BOB}', '{NOCAP_ORG}', 5)"),
        ),
        (
            "user_skill_user_deleted",
            format!("INSERT INTO user_skills (id, user_id, name, content) VALUES (gen_random_uuid(), '{CAROL}', 'x', 'c')"),
        ),
        (
            "user_skills_per_user_limit",
            format!(
                "INSERT INTO user_skills (id, user_id, name, content)
                     SELECT gen_random_uuid(), '{ALICE}', 's' || i, 'c' FROM generate_series(1, 100) AS i;
                 INSERT INTO user_skills (id, user_id, name, content) VALUES (gen_random_uuid(), '{ALICE}', 'one-more', 'c')"
            ),
        ),
        ("user_ai_budget_overrides_batch_shape", upsert(&format!("ARRAY['{ALICE}']"), "ARRAY[]", "ARRAY[1]", "ARRAY[true]")),
        (
            "user_ai_budget_overrides_batch_size",
            upsert(
                &format!("array_fill('{ALICE}'::uuid, ARRAY[201])"),
                &format!("array_fill('{ORG}'::uuid, ARRAY[201])"),
                "array_fill(1::bigint, ARRAY[201])",
                "array_fill(true, ARRAY[201])",
            ),
        ),
        (
            "user_ai_budget_overrides_batch_duplicate_user",
            upsert(&format!("ARRAY['{ALICE}', '{ALICE}']"), &format!("ARRAY['{ORG}', '{ORG}']"), "ARRAY[1, 1]", "ARRAY[true, true]"),
        ),
        ("user_ai_budget_overrides_spend_limit_micros_check", one(ALICE, ORG, -1)),
        ("user_ai_budget_overrides_spend_limit_micros_max_check", one(ALICE, ORG, 2_000_000_000_000)),
        ("user_ai_budget_overrides_user_id_fkey", one(NOBODY, ORG, 1)),
        ("user_ai_budget_overrides_group_id_fkey", one(ALICE, NOBODY, 1)),
    ]
}

/// The trigger-raised name the error carries, as whichever generated enum knows it.
fn classify(err: &postgres::Error) -> Option<String> {
    [
        db::constraint_of::<CheckConstraint>(err)
            .filter(|c| c.is_trigger_raised())
            .map(|c| format!("check {c}")),
        db::constraint_of::<UniqueConstraint>(err)
            .filter(|c| c.is_trigger_raised())
            .map(|c| format!("unique {c}")),
        db::constraint_of::<ForeignKeyConstraint>(err)
            .filter(|c| c.is_trigger_raised())
            .map(|c| format!("fk {c}")),
        db::constraint_of::<TriggerConstraint>(err).map(|c| format!("trigger {c}")),
    ]
    .into_iter()
    .flatten()
    .next()
}

fn trigger_raised_names() -> BTreeSet<&'static str> {
    fn of<C: Constraint>() -> impl Iterator<Item = &'static str> {
        C::ALL
            .iter()
            .filter(|c| c.is_trigger_raised())
            .map(|c| c.as_str())
    }
    of::<CheckConstraint>()
        .chain(of::<UniqueConstraint>())
        .chain(of::<ForeignKeyConstraint>())
        .chain(of::<TriggerConstraint>())
        .collect()
}

#[test]
fn every_trigger_raised_name_is_raised_by_a_failing_write() {
    let writes = trigger_writes();
    let covered: BTreeSet<&str> = writes.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        trigger_raised_names(),
        covered,
        "every generated trigger-raised name needs a failing write here"
    );

    let db = migrated_db();
    let mut client = db.connect().unwrap();
    setup(&mut client);
    for (name, sql) in &writes {
        let err = failing(&mut client, sql);
        assert_eq!(db::constraint_name(&err), Some(*name), "{sql}: {err:?}");
        let classified = classify(&err).unwrap_or_else(|| panic!("{sql}: not classified: {err:?}"));
        assert!(
            classified.ends_with(&format!(" {name}")),
            "{classified} for {name}"
        );
    }
}

#[test]
fn real_constraints_are_classified_by_kind_and_name() {
    let db = migrated_db();
    let mut client = db.connect().unwrap();
    setup(&mut client);

    let check = failing(
        &mut client,
        &format!(
            "INSERT INTO group_ai_budgets (group_id, spend_limit_micros) VALUES ('{DEVS}', -1)"
        ),
    );
    assert!(db::is_check_violation(
        &check,
        &[CheckConstraint::GroupAiBudgetsSpendLimitMicrosCheck]
    ));
    assert!(db::is_check_violation(&check, &[]));
    assert!(!db::is_check_violation(
        &check,
        &[CheckConstraint::GroupsEveryoneGroupCheck]
    ));
    assert!(!db::is_unique_violation(&check, &[]));
    assert_eq!(
        db::constraint_of::<CheckConstraint>(&check),
        Some(CheckConstraint::GroupAiBudgetsSpendLimitMicrosCheck)
    );
    assert_eq!(db::constraint_of::<UniqueConstraint>(&check), None);
    assert_eq!(
        CheckConstraint::GroupAiBudgetsSpendLimitMicrosCheck.table(),
        Some("group_ai_budgets")
    );

    // A unique index (not a constraint) on lower(email).
    let unique = failing(
        &mut client,
        "INSERT INTO users (id, email, username) VALUES (gen_random_uuid(), 'ALICE@example.com', 'alice2')",
    );
    assert!(db::is_unique_violation(
        &unique,
        &[UniqueConstraint::UsersEmailKey]
    ));
    assert!(!db::is_unique_violation(
        &unique,
        &[UniqueConstraint::UsersPkey]
    ));
    assert_eq!(
        db::constraint_of::<UniqueConstraint>(&unique),
        Some(UniqueConstraint::UsersEmailKey)
    );

    let fk = failing(
        &mut client,
        &format!(
            "INSERT INTO api_keys (id, user_id, hashed_secret, expires_at) VALUES ('k', '{NOBODY}', '\\x00', now())"
        ),
    );
    assert!(db::is_foreign_key_violation(
        &fk,
        &[ForeignKeyConstraint::ApiKeysUserIdFkey]
    ));
    assert!(!db::is_check_violation(&fk, &[]));
    assert_eq!(
        db::constraint_of::<ForeignKeyConstraint>(&fk),
        Some(ForeignKeyConstraint::ApiKeysUserIdFkey)
    );
    assert!(!db::is_exclusion_violation(&fk, &[]));

    // Trigger-raised names classify through the same functions.
    let protected = failing(&mut client, "DELETE FROM users WHERE is_system");
    assert!(db::is_check_violation(
        &protected,
        &[CheckConstraint::UsersSystemUserProtected]
    ));
    let shape = failing(
        &mut client,
        &upsert(
            &format!("ARRAY['{ALICE}']"),
            "ARRAY[]",
            "ARRAY[1]",
            "ARRAY[true]",
        ),
    );
    assert!(db::is_trigger_violation(
        &shape,
        &[TriggerConstraint::UserAiBudgetOverridesBatchShape]
    ));
    assert!(!db::is_check_violation(&shape, &[]));

    // Not a constraint violation at all.
    let syntax = failing(&mut client, "SELEC 1");
    assert!(
        !db::is_check_violation(&syntax, &[])
            && db::constraint_of::<CheckConstraint>(&syntax).is_none()
    );
}

#[test]
fn generated_enums_and_structs_talk_to_the_database() {
    use db::enums::{ApiKeyScope, UserStatus};
    use db::models::{GroupMembersExpanded, Users};
    let db = migrated_db();
    let mut client = db.connect().unwrap();
    setup(&mut client);

    let system = client
        .query_one("SELECT * FROM users WHERE is_system", &[])
        .unwrap();
    let system = Users::from_row(&system).unwrap();
    assert_eq!(system.username, "prebuilds");
    assert_eq!(system.status, UserStatus::Active);
    assert!(system.is_system);

    let members: Vec<GroupMembersExpanded> = client
        .query(
            "SELECT * FROM group_members_expanded ORDER BY group_id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| GroupMembersExpanded::from_row(r).unwrap())
        .collect();
    assert!(
        members
            .iter()
            .any(|m| m.user_username.as_deref() == Some("alice"))
    );

    let row = client
        .query_one("SELECT $1::user_status", &[&UserStatus::Suspended])
        .unwrap();
    assert_eq!(row.get::<_, UserStatus>(0), UserStatus::Suspended);
    let row = client
        .query_one("SELECT ARRAY['dormant', 'active']::user_status[]", &[])
        .unwrap();
    assert_eq!(
        row.get::<_, Vec<UserStatus>>(0),
        [UserStatus::Dormant, UserStatus::Active]
    );
    let labels: Vec<String> = client
        .query_one("SELECT enum_range(NULL::api_key_scope)::text[]", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        ApiKeyScope::ALL
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
        labels,
        "catalog order"
    );
    assert_eq!(
        "oidc".parse::<db::enums::LoginType>().unwrap().to_string(),
        "oidc"
    );
    assert!("nope".parse::<UserStatus>().is_err());
    assert_eq!(
        CheckConstraint::try_from("users_system_user_protected"),
        Ok(CheckConstraint::UsersSystemUserProtected)
    );
    assert!("users_pkey".parse::<CheckConstraint>().is_err());
}
