//! Cascades (issue 3, rules 1, 5 and 6): leaving a group, leaving an organization (its
//! Everyone group's overrides, its group memberships only), deleting a group, hard-deleting
//! a user, deleting a cap record, deleting an organization. Translates 12 of the 14 cases of
//! `.scratch/cases/02_cascades.sql` (the soft-delete pair is in `soft_delete.rs`).
//!
//! Every test starts from [`SETUP`] on its own clone of each template: two organizations with
//! cap records, three groups, eight users who are members of everything, one override each.

use schema_proof::{Schema, TestDb, fill};

const IDS: &[(&str, &str)] = &[
    ("O1", "c1000000-0000-4000-8000-000000000001"),
    ("O2", "c1000000-0000-4000-8000-000000000002"),
    // G1 (budget 10 units) and G2 in O1, G3 in O2.
    ("G1", "c3000000-0000-4000-8000-000000000001"),
    ("G2", "c3000000-0000-4000-8000-000000000002"),
    ("G3", "c3000000-0000-4000-8000-000000000003"),
    ("U1", "c2000000-0000-4000-8000-000000000001"),
    ("U2", "c2000000-0000-4000-8000-000000000002"),
    ("U3", "c2000000-0000-4000-8000-000000000003"),
    ("U4", "c2000000-0000-4000-8000-000000000004"),
    ("U5", "c2000000-0000-4000-8000-000000000005"),
    ("U6", "c2000000-0000-4000-8000-000000000006"),
    ("U7", "c2000000-0000-4000-8000-000000000007"),
    ("U8", "c2000000-0000-4000-8000-000000000008"),
];

fn q(sql: &str) -> String {
    fill(sql, IDS)
}

/// Overrides: U1 -> G1, U2 -> G2, U3 -> O1's Everyone, U4 -> G1, U5 -> G3, U6 -> G2,
/// U7 -> G3, U8 -> O2's Everyone.
const SETUP: &str = "
INSERT INTO organizations (id, name) VALUES ('{O1}', 'cascade-org-1'), ('{O2}', 'cascade-org-2');
INSERT INTO organization_ai_budget_caps (organization_id) VALUES ('{O1}'), ('{O2}');
INSERT INTO groups (id, organization_id, name) VALUES
    ('{G1}', '{O1}', 'c-one'), ('{G2}', '{O1}', 'c-two'), ('{G3}', '{O2}', 'c-three');
INSERT INTO group_ai_budgets (group_id, spend_limit_micros) VALUES ('{G1}', 10000000);
INSERT INTO users (id, email, username)
SELECT ('c2000000-0000-4000-8000-00000000000' || i)::uuid, 'c' || i || '@case.test', 'cascade-u' || i
FROM generate_series(1, 8) AS i;
INSERT INTO organization_members (organization_id, user_id)
SELECT o.id, u.id FROM users u, organizations o
WHERE u.username LIKE 'cascade-u%' AND o.name LIKE 'cascade-org-%';
INSERT INTO group_members (user_id, group_id, organization_id)
SELECT u.id, g.id, g.organization_id FROM users u, groups g
WHERE u.username LIKE 'cascade-u%' AND g.id IN ('{G1}', '{G2}', '{G3}');
INSERT INTO user_ai_budget_overrides (user_id, group_id, spend_limit_micros) VALUES
    ('{U1}', '{G1}', 1), ('{U2}', '{G2}', 2), ('{U3}', '{O1}', 3), ('{U4}', '{G1}', 4),
    ('{U5}', '{G3}', 5), ('{U6}', '{G2}', 6), ('{U7}', '{G3}', 7), ('{U8}', '{O2}', 8);
";

fn setup(schema: Schema) -> TestDb {
    TestDb::with_setup(schema, &q(SETUP))
}

/// Whether `user` still has an override.
fn has_override(db: &mut TestDb, user: &str) -> bool {
    db.holds(&q(&format!(
        "SELECT EXISTS (SELECT 1 FROM user_ai_budget_overrides WHERE user_id = '{{{user}}}')"
    )))
}

#[test]
fn leaving_a_group_removes_the_override_attributed_to_it_only() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        db.exec(&q(
            "DELETE FROM group_members WHERE user_id = '{U1}' AND group_id = '{G1}'",
        ));
        assert!(
            !has_override(&mut db, "U1"),
            "({schema}) leaving a group removes the override attributed to it: U1 left G1"
        );
        db.exec(&q(
            "DELETE FROM group_members WHERE user_id = '{U2}' AND group_id = '{G1}'",
        ));
        assert!(
            has_override(&mut db, "U2"),
            "({schema}) leaving another group keeps the override: U2 left G1, its override on G2 stays"
        );
    }
}

#[test]
fn leaving_an_organization() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        db.exec(&q(
            "DELETE FROM organization_members WHERE user_id = '{U3}' AND organization_id = '{O1}'",
        ));
        assert!(
            !has_override(&mut db, "U3"),
            "({schema}) leaving an organization removes the override attributed to its Everyone group: U3 left O1"
        );
        db.assert_holds(
            "leaving an organization removes the group memberships in it only: U3 keeps G3 (O2)",
            &q(
                "SELECT array_agg(group_id ORDER BY group_id) = ARRAY['{G3}']::uuid[]
                FROM group_members WHERE user_id = '{U3}'",
            ),
        );
        db.assert_holds(
            "group_members_expanded after leaving O1: O2's Everyone group and G3",
            &q(
                "SELECT array_agg(group_id ORDER BY group_id) = ARRAY['{O2}', '{G3}']::uuid[]
                FROM group_members_expanded WHERE user_id = '{U3}'",
            ),
        );
        db.exec(&q(
            "DELETE FROM organization_members WHERE user_id = '{U4}' AND organization_id = '{O1}'",
        ));
        assert!(
            !has_override(&mut db, "U4"),
            "({schema}) leaving an organization removes the override attributed to one of its regular groups: U4 left O1 (override on G1)"
        );
    }
}

#[test]
fn deleting_a_group() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        db.exec(&q("
            INSERT INTO user_ai_daily_spend (user_id, group_id, day, spend_micros) VALUES
                ('{U6}', '{G2}', '2024-05-01', 5), ('{U6}', '{G3}', '2024-05-01', 5);
            INSERT INTO group_ai_budgets (group_id, spend_limit_micros) VALUES ('{G2}', 1);
            DELETE FROM groups WHERE id = '{G2}';
        "));
        db.assert_holds(
            "group delete cascades to memberships, budget, overrides (U2's and U6's) and spend",
            &q(
                "SELECT NOT EXISTS (SELECT 1 FROM group_members WHERE group_id = '{G2}')
                AND NOT EXISTS (SELECT 1 FROM group_ai_budgets WHERE group_id = '{G2}')
                AND NOT EXISTS (SELECT 1 FROM user_ai_budget_overrides WHERE group_id = '{G2}')
                AND NOT EXISTS (SELECT 1 FROM user_ai_daily_spend WHERE group_id = '{G2}')",
            ),
        );
        db.assert_holds(
            "group delete keeps the spend of other groups: U6's spend on G3 stays",
            &q("SELECT EXISTS (SELECT 1 FROM user_ai_daily_spend WHERE user_id = '{U6}' AND group_id = '{G3}')"),
        );
    }
}

#[test]
fn hard_deleting_a_user() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        db.exec(&q("
            INSERT INTO api_keys (id, user_id, hashed_secret, expires_at) VALUES ('cascade-k5', '{U5}', '\\x00', '2030-01-01Z');
            INSERT INTO user_skills (id, user_id, name, content) VALUES ('c4000000-0000-4000-8000-000000000005', '{U5}', 'five', 'x');
            INSERT INTO user_ai_daily_spend (user_id, group_id, day, spend_micros) VALUES ('{U5}', '{G3}', '2024-05-01', 5);
            DELETE FROM users WHERE id = '{U5}';
        "));
        db.assert_holds(
            "user hard delete cascades to memberships, keys, override, spend and skills",
            &q(
                "SELECT NOT EXISTS (SELECT 1 FROM organization_members WHERE user_id = '{U5}')
                AND NOT EXISTS (SELECT 1 FROM group_members WHERE user_id = '{U5}')
                AND NOT EXISTS (SELECT 1 FROM api_keys WHERE user_id = '{U5}')
                AND NOT EXISTS (SELECT 1 FROM user_ai_budget_overrides WHERE user_id = '{U5}')
                AND NOT EXISTS (SELECT 1 FROM user_ai_daily_spend WHERE user_id = '{U5}')
                AND NOT EXISTS (SELECT 1 FROM user_skills WHERE user_id = '{U5}')",
            ),
        );
    }
}

#[test]
fn deleting_a_cap_record_removes_that_organizations_overrides() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        db.exec(&q(
            "DELETE FROM organization_ai_budget_caps WHERE organization_id = '{O2}'",
        ));
        assert!(
            !has_override(&mut db, "U8"),
            "({schema}) cap record delete removes the organization's overrides: U8's (O2 Everyone) is gone"
        );
        db.assert_holds(
            "no override is left in an organization without a cap record (O2)",
            &q("SELECT NOT EXISTS (SELECT 1 FROM user_ai_budget_overrides o JOIN groups g ON g.id = o.group_id
                                  WHERE g.organization_id = '{O2}')"),
        );
        db.assert_holds(
            "the overrides of the other organization (O1) stay",
            &q("SELECT count(*) = 5 FROM user_ai_budget_overrides o JOIN groups g ON g.id = o.group_id
                WHERE g.organization_id = '{O1}'"),
        );
    }
}

#[test]
fn deleting_an_organization() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        // U8's override moves to G1 (in O1), as in the psql case.
        db.exec(&q("
            UPDATE user_ai_budget_overrides SET group_id = '{G1}' WHERE user_id = '{U8}';
            DELETE FROM organizations WHERE id = '{O1}';
        "));
        db.assert_holds(
            "organization delete cascades to groups, memberships, cap record and overrides",
            &q("SELECT NOT EXISTS (SELECT 1 FROM groups WHERE organization_id = '{O1}')
                AND NOT EXISTS (SELECT 1 FROM organization_members WHERE organization_id = '{O1}')
                AND NOT EXISTS (SELECT 1 FROM group_members WHERE organization_id = '{O1}')
                AND NOT EXISTS (SELECT 1 FROM organization_ai_budget_caps WHERE organization_id = '{O1}')
                AND NOT EXISTS (SELECT 1 FROM user_ai_budget_overrides WHERE user_id = '{U8}')"),
        );
        db.assert_holds(
            "organization delete keeps the other organization's overrides (U5 and U7 on G3)",
            &q("SELECT array_agg(user_id ORDER BY user_id) = ARRAY['{U5}', '{U7}']::uuid[]
                FROM user_ai_budget_overrides WHERE user_id IN (SELECT id FROM users WHERE username LIKE 'cascade-u%')"),
        );
    }
}
