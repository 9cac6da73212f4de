//! Soft delete (issue 3, rules 1 and 10): setting `users.deleted` runs the one trigger
//! function `delete_deleted_user_resources()`, which removes the user's organization
//! memberships (and through them the group memberships), API keys, override and skills,
//! and keeps the user row and the spend history. Translates the soft-delete pair of
//! `.scratch/cases/02_cascades.sql` (case 5), plus what follows from it.

use schema_proof::sqlstate::CHECK_VIOLATION;
use schema_proof::{Refusal, Schema, TestDb, fill};

const IDS: &[(&str, &str)] = &[
    ("O1", "c1000000-0000-4000-8000-000000000001"),
    ("O2", "c1000000-0000-4000-8000-000000000002"),
    ("G1", "c3000000-0000-4000-8000-000000000001"),
    ("G3", "c3000000-0000-4000-8000-000000000003"),
    // U7 is soft-deleted by the tests; U8 is a bystander with the same kinds of rows.
    ("U7", "c2000000-0000-4000-8000-000000000007"),
    ("U8", "c2000000-0000-4000-8000-000000000008"),
];

fn q(sql: &str) -> String {
    fill(sql, IDS)
}

/// Two users with a row of every per-user kind: memberships of two organizations and of a
/// regular group in each, an API key, a skill, an override (U7 on G3, U8 on O1's Everyone
/// group) and a day of spend.
const SETUP: &str = "
INSERT INTO organizations (id, name) VALUES ('{O1}', 'soft-org-1'), ('{O2}', 'soft-org-2');
INSERT INTO organization_ai_budget_caps (organization_id) VALUES ('{O1}'), ('{O2}');
INSERT INTO groups (id, organization_id, name) VALUES ('{G1}', '{O1}', 's-one'), ('{G3}', '{O2}', 's-three');
INSERT INTO users (id, email, username) VALUES ('{U7}', 'c7@case.test', 'soft-u7'), ('{U8}', 'c8@case.test', 'soft-u8');
INSERT INTO organization_members (organization_id, user_id)
SELECT o, u FROM unnest(ARRAY['{O1}', '{O2}']::uuid[]) AS o, unnest(ARRAY['{U7}', '{U8}']::uuid[]) AS u;
INSERT INTO group_members (user_id, group_id, organization_id)
SELECT u, g.id, g.organization_id FROM unnest(ARRAY['{U7}', '{U8}']::uuid[]) AS u, groups g WHERE g.id IN ('{G1}', '{G3}');
INSERT INTO user_ai_budget_overrides (user_id, group_id, spend_limit_micros) VALUES ('{U7}', '{G3}', 7), ('{U8}', '{O1}', 8);
INSERT INTO api_keys (id, user_id, hashed_secret, expires_at) VALUES
    ('soft-k7', '{U7}', '\\x00', '2030-01-01Z'), ('soft-k8', '{U8}', '\\x00', '2030-01-01Z');
INSERT INTO user_skills (id, user_id, name, content) VALUES
    ('c4000000-0000-4000-8000-000000000007', '{U7}', 'seven', 'x'),
    ('c4000000-0000-4000-8000-000000000008', '{U8}', 'eight', 'x');
INSERT INTO user_ai_daily_spend (user_id, group_id, day, spend_micros) VALUES
    ('{U7}', '{G3}', '2024-05-01', 5), ('{U8}', '{G3}', '2024-05-01', 5);
";

/// [`SETUP`], then U7 soft-deleted.
fn soft_deleted(schema: Schema) -> TestDb {
    let mut db = TestDb::with_setup(schema, &q(SETUP));
    db.exec(&q("UPDATE users SET deleted = true WHERE id = '{U7}'"));
    db
}

/// How many rows of each per-user kind `user` has, as `table=count` pairs.
fn per_user_rows(db: &mut TestDb, user: &str) -> String {
    let row = db
        .query_one(
            "SELECT (SELECT count(*) FROM organization_members WHERE user_id = $1::text::uuid),
                    (SELECT count(*) FROM group_members WHERE user_id = $1::text::uuid),
                    (SELECT count(*) FROM group_members_expanded WHERE user_id = $1::text::uuid),
                    (SELECT count(*) FROM api_keys WHERE user_id = $1::text::uuid),
                    (SELECT count(*) FROM user_ai_budget_overrides WHERE user_id = $1::text::uuid),
                    (SELECT count(*) FROM user_skills WHERE user_id = $1::text::uuid),
                    (SELECT count(*) FROM user_ai_daily_spend WHERE user_id = $1::text::uuid)",
            &[&user],
        )
        .unwrap();
    let names = [
        "organization_members",
        "group_members",
        "group_members_expanded",
        "api_keys",
        "user_ai_budget_overrides",
        "user_skills",
        "user_ai_daily_spend",
    ];
    names
        .iter()
        .enumerate()
        .map(|(i, name)| format!("{name}={}", row.get::<_, i64>(i)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn soft_delete_removes_memberships_keys_override_and_skills() {
    for schema in Schema::BOTH {
        let mut db = soft_deleted(schema);
        assert_eq!(
            per_user_rows(&mut db, IDS[4].1),
            "organization_members=0 group_members=0 group_members_expanded=0 api_keys=0 \
             user_ai_budget_overrides=0 user_skills=0 user_ai_daily_spend=1",
            "({schema}) soft delete removes memberships, keys, override and skills (U7 soft-deleted)"
        );
    }
}

#[test]
fn soft_delete_keeps_the_user_row_and_the_spend_history() {
    for schema in Schema::BOTH {
        let mut db = soft_deleted(schema);
        db.assert_holds(
            "soft delete keeps the user row and the spend history",
            &q("SELECT EXISTS (SELECT 1 FROM users WHERE id = '{U7}' AND deleted)
                AND EXISTS (SELECT 1 FROM user_ai_daily_spend WHERE user_id = '{U7}' AND spend_micros = 5)"),
        );
    }
}

#[test]
fn soft_delete_leaves_other_users_alone() {
    for schema in Schema::BOTH {
        let mut db = soft_deleted(schema);
        assert_eq!(
            per_user_rows(&mut db, IDS[5].1),
            // 2 organizations, 2 regular groups; the view adds the 2 Everyone groups.
            "organization_members=2 group_members=2 group_members_expanded=4 api_keys=1 \
             user_ai_budget_overrides=1 user_skills=1 user_ai_daily_spend=1",
            "({schema}) the bystander U8 keeps every row"
        );
    }
}

#[test]
fn a_soft_deleted_user_cannot_get_rows_back() {
    for schema in Schema::BOTH {
        let mut db = soft_deleted(schema);
        db.assert_refusals(&[
            Refusal::new(
                "user_skill_user_deleted (a skill for the soft-deleted user)",
                q("INSERT INTO user_skills (id, user_id, name, content) VALUES ('c4000000-0000-4000-8000-000000000077', '{U7}', 'again', 'x')"),
                CHECK_VIOLATION,
                "user_skill_user_deleted",
            ),
            Refusal::new(
                "user_ai_budget_overrides_must_be_group_member (an override for the soft-deleted user)",
                q("INSERT INTO user_ai_budget_overrides (user_id, group_id, spend_limit_micros) VALUES ('{U7}', '{O1}', 1)"),
                CHECK_VIOLATION,
                "user_ai_budget_overrides_must_be_group_member",
            ),
        ]);
    }
}

#[test]
fn one_trigger_function_does_the_cleanup() {
    for schema in Schema::BOTH {
        let mut db = TestDb::new(schema);
        let triggers: Vec<String> = db
            .query(
                "SELECT t.tgname::text FROM pg_trigger t
                 WHERE t.tgrelid = 'users'::regclass AND NOT t.tgisinternal
                   AND t.tgfoid = 'delete_deleted_user_resources'::regproc",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(
            triggers.len(),
            1,
            "({schema}) exactly one trigger on users runs delete_deleted_user_resources(): {triggers:?}"
        );
    }
}
