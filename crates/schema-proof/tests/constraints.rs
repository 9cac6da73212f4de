//! Every named rule of the identity, budget and spend tables violated once and observed by
//! SQLSTATE and constraint name, and the boundary values that must be accepted (issue 3,
//! rules 1 to 7; `user_skills` is in `skills.rs`). Translates `.scratch/cases/01_constraints.sql`:
//! 63 of its 84 cases (the other 21 are the skills cases).
//!
//! Each test runs on a clone of both templates (with and without fixtures) after [`SETUP`];
//! refused statements run in rolled-back transactions, accepted ones are committed, so a
//! test reads top to bottom like the psql script it comes from.

use schema_proof::sqlstate::{CHECK_VIOLATION, FOREIGN_KEY_VIOLATION, UNIQUE_VIOLATION};
use schema_proof::{Refusal, SYSTEM_USER, Schema, TestDb, fill};

/// The case data's ids, as `{NAME}` placeholders for [`q`].
const IDS: &[(&str, &str)] = &[
    // O1 has a cap record, O2 has none.
    ("O1", "e1000000-0000-4000-8000-000000000001"),
    ("O2", "e1000000-0000-4000-8000-000000000002"),
    ("NEW_ORG", "e1000000-0000-4000-8000-000000000009"),
    ("NO_ORG", "e1000000-0000-4000-8000-00000000dead"),
    // U1: member of O1 and G1; U2: member of O2 only; U3: member of O1, soft-deleted.
    ("U1", "e2000000-0000-4000-8000-000000000001"),
    ("U2", "e2000000-0000-4000-8000-000000000002"),
    ("U3", "e2000000-0000-4000-8000-000000000003"),
    ("NEW_USER", "e2000000-0000-4000-8000-000000000009"),
    ("NO_USER", "e2000000-0000-4000-8000-00000000dead"),
    // G1 in O1, G2 in O2. An organization's Everyone group has the organization's id.
    ("G1", "e3000000-0000-4000-8000-000000000001"),
    ("G2", "e3000000-0000-4000-8000-000000000002"),
    ("NEW_GROUP", "e3000000-0000-4000-8000-000000000009"),
    ("NO_GROUP", "e3000000-0000-4000-8000-00000000dead"),
    ("SYS", SYSTEM_USER),
];

/// `sql` with the case data's ids filled in.
fn q(sql: &str) -> String {
    fill(sql, IDS)
}

const SETUP: &str = "
INSERT INTO organizations (id, name) VALUES ('{O1}', 'case-org-1'), ('{O2}', 'case-org-2');
INSERT INTO users (id, email, username) VALUES
    ('{U1}', 'u1@case.test', 'case-u1'),
    ('{U2}', 'u2@case.test', 'case-u2'),
    ('{U3}', 'u3@case.test', 'case-u3');
INSERT INTO groups (id, organization_id, name) VALUES ('{G1}', '{O1}', 'g-one'), ('{G2}', '{O2}', 'g-two');
INSERT INTO organization_members (organization_id, user_id) VALUES ('{O1}', '{U1}'), ('{O2}', '{U2}'), ('{O1}', '{U3}');
INSERT INTO group_members (user_id, group_id, organization_id) VALUES ('{U1}', '{G1}', '{O1}');
INSERT INTO organization_ai_budget_caps (organization_id) VALUES ('{O1}');
UPDATE users SET deleted = true WHERE id = '{U3}';
";

/// The case data on a fresh clone of `schema`.
fn setup(schema: Schema) -> TestDb {
    TestDb::with_setup(schema, &q(SETUP))
}

fn refused(
    label: &'static str,
    sql: &str,
    sqlstate: &'static str,
    constraint: &'static str,
) -> Refusal {
    Refusal::new(label, q(sql), sqlstate, constraint)
}

#[test]
fn organizations() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        db.assert_refusals(&[
            refused(
                "organizations_pkey",
                "INSERT INTO organizations (id, name) VALUES ('{O1}', 'other-name')",
                UNIQUE_VIOLATION,
                "organizations_pkey",
            ),
            refused(
                "organizations_name_key (case-insensitive, live organizations)",
                "INSERT INTO organizations (id, name) VALUES ('{NEW_ORG}', 'CASE-ORG-1')",
                UNIQUE_VIOLATION,
                "organizations_name_key",
            ),
            refused(
                "organizations_default_not_deleted_check (a deleted default)",
                "INSERT INTO organizations (id, name, is_default, deleted) VALUES ('{NEW_ORG}', 'del-default', true, true)",
                CHECK_VIOLATION,
                "organizations_default_not_deleted_check",
            ),
        ]);
        db.expect_ok(
            "organizations_name_key: a deleted organization's name can be reused",
            &q("INSERT INTO organizations (id, name, deleted) VALUES ('e1000000-0000-4000-8000-000000000008', 'Case-Org-1', true)"),
        );

        // Make O1 the only default; a second default is refused, and O1 cannot be deleted.
        db.exec(&q(
            "UPDATE organizations SET is_default = false WHERE is_default;
             UPDATE organizations SET is_default = true WHERE id = '{O1}'",
        ));
        db.assert_refusals(&[
            refused(
                "organizations_single_default_key",
                "INSERT INTO organizations (id, name, is_default) VALUES ('{NEW_ORG}', 'second-default', true)",
                UNIQUE_VIOLATION,
                "organizations_single_default_key",
            ),
            refused(
                "organizations_default_not_deleted_check (soft-deleting the default)",
                "UPDATE organizations SET deleted = true WHERE id = '{O1}'",
                CHECK_VIOLATION,
                "organizations_default_not_deleted_check",
            ),
        ]);
        db.assert_holds(
            "trigger_insert_organization_everyone_group: a new organization has its Everyone group (id = organization id)",
            &q("SELECT count(*) = 1 FROM groups WHERE id = '{O2}' AND organization_id = '{O2}' AND name = 'Everyone'"),
        );
    }
}

#[test]
fn users() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        db.assert_refusals(&[
            refused(
                "users_pkey",
                "INSERT INTO users (id, email, username) VALUES ('{U1}', 'x@case.test', 'x')",
                UNIQUE_VIOLATION,
                "users_pkey",
            ),
            refused(
                "users_username_key (case-insensitive, live users)",
                "INSERT INTO users (id, email, username) VALUES ('{NEW_USER}', 'x@case.test', 'CASE-U1')",
                UNIQUE_VIOLATION,
                "users_username_key",
            ),
            refused(
                "users_email_key (case-insensitive, live users)",
                "INSERT INTO users (id, email, username) VALUES ('{NEW_USER}', 'U1@CASE.TEST', 'x')",
                UNIQUE_VIOLATION,
                "users_email_key",
            ),
        ]);
        db.expect_ok(
            "users_username_key: a soft-deleted user's username and email can be reused",
            &q("INSERT INTO users (id, email, username) VALUES ('e2000000-0000-4000-8000-000000000008', 'u3@case.test', 'case-u3')"),
        );
    }
}

#[test]
fn system_user() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        db.assert_refusals(&[
            refused(
                "users_system_user_protected (soft delete)",
                "UPDATE users SET deleted = true WHERE id = '{SYS}'",
                CHECK_VIOLATION,
                "users_system_user_protected",
            ),
            refused(
                "users_system_user_protected (rename)",
                "UPDATE users SET username = 'not-prebuilds' WHERE id = '{SYS}'",
                CHECK_VIOLATION,
                "users_system_user_protected",
            ),
            refused(
                "users_system_user_protected (hard delete)",
                "DELETE FROM users WHERE id = '{SYS}'",
                CHECK_VIOLATION,
                "users_system_user_protected",
            ),
            refused(
                "users_system_user_protected (demote)",
                "UPDATE users SET is_system = false WHERE id = '{SYS}'",
                CHECK_VIOLATION,
                "users_system_user_protected",
            ),
        ]);
        db.expect_ok(
            "system user: other columns can change",
            &q("UPDATE users SET name = 'Prebuilds', updated_at = now() WHERE id = '{SYS}'"),
        );
        db.assert_holds(
            "system user row: prebuilds, login type none, is_system",
            &q("SELECT is_system AND login_type = 'none' AND username = 'prebuilds' AND name = 'Prebuilds' FROM users WHERE id = '{SYS}'"),
        );
        // Beyond the psql cases: migration 000003 makes the system user a member of the
        // default organization that exists when it runs (only the fixtures have one then),
        // and the view shows it as a system user.
        if schema == Schema::Fixtures {
            db.assert_holds(
                "system user: member of the default organization, user_is_system in group_members_expanded",
                &q("SELECT EXISTS (SELECT 1 FROM group_members_expanded v JOIN organizations o ON o.id = v.organization_id
                                   WHERE v.user_id = '{SYS}' AND v.group_id = o.id AND o.is_default AND v.user_is_system)"),
            );
        }
    }
}

#[test]
fn groups() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        db.assert_refusals(&[
            refused(
                "groups_pkey",
                "INSERT INTO groups (id, organization_id, name) VALUES ('{G1}', '{O1}', 'other')",
                UNIQUE_VIOLATION,
                "groups_pkey",
            ),
            refused(
                "groups_organization_id_name_key",
                "INSERT INTO groups (id, organization_id, name) VALUES ('{NEW_GROUP}', '{O1}', 'g-one')",
                UNIQUE_VIOLATION,
                "groups_organization_id_name_key",
            ),
            refused(
                "groups_organization_id_fkey",
                "INSERT INTO groups (id, organization_id, name) VALUES ('{NEW_GROUP}', '{NO_ORG}', 'g')",
                FOREIGN_KEY_VIOLATION,
                "groups_organization_id_fkey",
            ),
            refused(
                "groups_everyone_group_check (a regular group named Everyone)",
                "INSERT INTO groups (id, organization_id, name) VALUES ('{NEW_GROUP}', '{O1}', 'Everyone')",
                CHECK_VIOLATION,
                "groups_everyone_group_check",
            ),
            refused(
                "groups_everyone_group_check (renaming the Everyone group)",
                "UPDATE groups SET name = 'All' WHERE id = '{O1}'",
                CHECK_VIOLATION,
                "groups_everyone_group_check",
            ),
        ]);
    }
}

#[test]
fn organization_members() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        db.assert_refusals(&[
            refused(
                "organization_members_pkey",
                "INSERT INTO organization_members (organization_id, user_id) VALUES ('{O1}', '{U1}')",
                UNIQUE_VIOLATION,
                "organization_members_pkey",
            ),
            refused(
                "organization_members_organization_id_fkey",
                "INSERT INTO organization_members (organization_id, user_id) VALUES ('{NO_ORG}', '{U1}')",
                FOREIGN_KEY_VIOLATION,
                "organization_members_organization_id_fkey",
            ),
            refused(
                "organization_members_user_id_fkey",
                "INSERT INTO organization_members (organization_id, user_id) VALUES ('{O1}', '{NO_USER}')",
                FOREIGN_KEY_VIOLATION,
                "organization_members_user_id_fkey",
            ),
        ]);
    }
}

#[test]
fn group_members() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        db.assert_refusals(&[
            refused(
                "group_members_pkey",
                "INSERT INTO group_members (user_id, group_id, organization_id) VALUES ('{U1}', '{G1}', '{O1}')",
                UNIQUE_VIOLATION,
                "group_members_pkey",
            ),
            refused(
                "group_members_group_id_organization_id_fkey (group of another organization)",
                "INSERT INTO group_members (user_id, group_id, organization_id) VALUES ('{U1}', '{G2}', '{O1}')",
                FOREIGN_KEY_VIOLATION,
                "group_members_group_id_organization_id_fkey",
            ),
            refused(
                "group_members_organization_id_user_id_fkey (not a member of the organization)",
                "INSERT INTO group_members (user_id, group_id, organization_id) VALUES ('{U2}', '{G1}', '{O1}')",
                FOREIGN_KEY_VIOLATION,
                "group_members_organization_id_user_id_fkey",
            ),
            refused(
                "group_members_everyone_group_check",
                "INSERT INTO group_members (user_id, group_id, organization_id) VALUES ('{U1}', '{O1}', '{O1}')",
                CHECK_VIOLATION,
                "group_members_everyone_group_check",
            ),
        ]);
    }
}

#[test]
fn api_keys() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        db.exec(&q("INSERT INTO api_keys (id, user_id, hashed_secret, expires_at) VALUES ('case-key-1', '{U1}', '\\x00', '2030-01-01Z')"));
        db.assert_refusals(&[
            refused(
                "api_keys_pkey",
                "INSERT INTO api_keys (id, user_id, hashed_secret, expires_at) VALUES ('case-key-1', '{U1}', '\\x00', '2030-01-01Z')",
                UNIQUE_VIOLATION,
                "api_keys_pkey",
            ),
            refused(
                "api_keys_user_id_fkey",
                "INSERT INTO api_keys (id, user_id, hashed_secret, expires_at) VALUES ('case-key-2', '{NO_USER}', '\\x00', '2030-01-01Z')",
                FOREIGN_KEY_VIOLATION,
                "api_keys_user_id_fkey",
            ),
        ]);
    }
}

#[test]
fn group_ai_budgets() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        db.expect_ok(
            "group_ai_budgets: 0 (blocked) is a valid limit",
            &q("INSERT INTO group_ai_budgets (group_id, spend_limit_micros) VALUES ('{G1}', 0)"),
        );
        db.expect_ok(
            "group_ai_budgets: 10^12 (the maximum) is a valid limit",
            &q("INSERT INTO group_ai_budgets (group_id, spend_limit_micros) VALUES ('{G2}', 1000000000000)"),
        );
        db.assert_refusals(&[
            refused(
                "group_ai_budgets_pkey",
                "INSERT INTO group_ai_budgets (group_id, spend_limit_micros) VALUES ('{G1}', 1)",
                UNIQUE_VIOLATION,
                "group_ai_budgets_pkey",
            ),
            refused(
                "group_ai_budgets_group_id_fkey",
                "INSERT INTO group_ai_budgets (group_id, spend_limit_micros) VALUES ('{NO_GROUP}', 1)",
                FOREIGN_KEY_VIOLATION,
                "group_ai_budgets_group_id_fkey",
            ),
            refused(
                "group_ai_budgets_spend_limit_micros_check (negative)",
                "UPDATE group_ai_budgets SET spend_limit_micros = -1 WHERE group_id = '{G1}'",
                CHECK_VIOLATION,
                "group_ai_budgets_spend_limit_micros_check",
            ),
            refused(
                "group_ai_budgets_spend_limit_micros_max_check (10^12 + 1)",
                "UPDATE group_ai_budgets SET spend_limit_micros = 1000000000001 WHERE group_id = '{G1}'",
                CHECK_VIOLATION,
                "group_ai_budgets_spend_limit_micros_max_check",
            ),
        ]);
    }
}

#[test]
fn organization_ai_budget_caps() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        db.assert_refusals(&[
            refused(
                "organization_ai_budget_caps_pkey",
                "INSERT INTO organization_ai_budget_caps (organization_id) VALUES ('{O1}')",
                UNIQUE_VIOLATION,
                "organization_ai_budget_caps_pkey",
            ),
            refused(
                "organization_ai_budget_caps_organization_id_fkey",
                "INSERT INTO organization_ai_budget_caps (organization_id) VALUES ('{NO_ORG}')",
                FOREIGN_KEY_VIOLATION,
                "organization_ai_budget_caps_organization_id_fkey",
            ),
            refused(
                "organization_ai_budget_caps_subscription_cap_micros_check (negative)",
                "UPDATE organization_ai_budget_caps SET subscription_cap_micros = -1 WHERE organization_id = '{O1}'",
                CHECK_VIOLATION,
                "organization_ai_budget_caps_subscription_cap_micros_check",
            ),
            refused(
                "organization_ai_budget_caps_flat_user_cap_micros_check (negative)",
                "UPDATE organization_ai_budget_caps SET flat_user_cap_micros = -1 WHERE organization_id = '{O1}'",
                CHECK_VIOLATION,
                "organization_ai_budget_caps_flat_user_cap_micros_check",
            ),
            refused(
                "organization_ai_budget_caps_subscription_cap_enabled_check (enabled without a value)",
                "UPDATE organization_ai_budget_caps SET subscription_cap_enabled = true WHERE organization_id = '{O1}'",
                CHECK_VIOLATION,
                "organization_ai_budget_caps_subscription_cap_enabled_check",
            ),
            refused(
                "organization_ai_budget_caps_flat_user_cap_enabled_check (enabled without a value)",
                "UPDATE organization_ai_budget_caps SET flat_user_cap_enabled = true WHERE organization_id = '{O1}'",
                CHECK_VIOLATION,
                "organization_ai_budget_caps_flat_user_cap_enabled_check",
            ),
            refused(
                "organization_ai_budget_caps_subscription_cap_micros_max_check (10^12 + 1)",
                "UPDATE organization_ai_budget_caps SET subscription_cap_micros = 1000000000001 WHERE organization_id = '{O1}'",
                CHECK_VIOLATION,
                "organization_ai_budget_caps_subscription_cap_micros_max_check",
            ),
            refused(
                "organization_ai_budget_caps_flat_user_cap_micros_max_check (10^12 + 1)",
                "UPDATE organization_ai_budget_caps SET flat_user_cap_micros = 1000000000001 WHERE organization_id = '{O1}'",
                CHECK_VIOLATION,
                "organization_ai_budget_caps_flat_user_cap_micros_max_check",
            ),
        ]);
        db.expect_ok(
            "organization_ai_budget_caps: both caps at 10^12, enabled",
            &q("UPDATE organization_ai_budget_caps SET subscription_cap_micros = 1000000000000, subscription_cap_enabled = true,
                    flat_user_cap_micros = 1000000000000, flat_user_cap_enabled = true
                WHERE organization_id = '{O1}'"),
        );
    }
}

#[test]
fn user_ai_budget_overrides() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        db.assert_refusals(&[
            refused(
                "user_ai_budget_overrides_must_be_group_member (insert, group of another organization)",
                "INSERT INTO user_ai_budget_overrides (user_id, group_id, spend_limit_micros) VALUES ('{U1}', '{G2}', 1)",
                CHECK_VIOLATION,
                "user_ai_budget_overrides_must_be_group_member",
            ),
            refused(
                "user_ai_budget_overrides_must_be_group_member (soft-deleted user)",
                "INSERT INTO user_ai_budget_overrides (user_id, group_id, spend_limit_micros) VALUES ('{U3}', '{O1}', 1)",
                CHECK_VIOLATION,
                "user_ai_budget_overrides_must_be_group_member",
            ),
            refused(
                "user_ai_budget_overrides_must_have_budget_cap (organization without a cap record)",
                "INSERT INTO user_ai_budget_overrides (user_id, group_id, spend_limit_micros) VALUES ('{U2}', '{O2}', 1)",
                FOREIGN_KEY_VIOLATION,
                "user_ai_budget_overrides_must_have_budget_cap",
            ),
        ]);
        db.expect_ok(
            "user_ai_budget_overrides: member of a regular group, cap record present, limit 0",
            &q("INSERT INTO user_ai_budget_overrides (user_id, group_id, spend_limit_micros) VALUES ('{U1}', '{G1}', 0)"),
        );
        db.expect_ok(
            "user_ai_budget_overrides: re-attributed to the Everyone group (membership via organization_members)",
            &q("UPDATE user_ai_budget_overrides SET group_id = '{O1}' WHERE user_id = '{U1}'"),
        );
        db.assert_holds(
            "user_ai_budget_overrides.enabled defaults to true",
            &q("SELECT enabled FROM user_ai_budget_overrides WHERE user_id = '{U1}'"),
        );
        db.assert_refusals(&[
            refused(
                "user_ai_budget_overrides_must_be_group_member (update to a group the user is not in)",
                "UPDATE user_ai_budget_overrides SET group_id = '{G2}' WHERE user_id = '{U1}'",
                CHECK_VIOLATION,
                "user_ai_budget_overrides_must_be_group_member",
            ),
            refused(
                "user_ai_budget_overrides_pkey",
                "INSERT INTO user_ai_budget_overrides (user_id, group_id, spend_limit_micros) VALUES ('{U1}', '{G1}', 5)",
                UNIQUE_VIOLATION,
                "user_ai_budget_overrides_pkey",
            ),
            refused(
                "user_ai_budget_overrides_spend_limit_micros_check (negative)",
                "UPDATE user_ai_budget_overrides SET spend_limit_micros = -1 WHERE user_id = '{U1}'",
                CHECK_VIOLATION,
                "user_ai_budget_overrides_spend_limit_micros_check",
            ),
            refused(
                "user_ai_budget_overrides_spend_limit_micros_max_check (10^12 + 1)",
                "UPDATE user_ai_budget_overrides SET spend_limit_micros = 1000000000001 WHERE user_id = '{U1}'",
                CHECK_VIOLATION,
                "user_ai_budget_overrides_spend_limit_micros_max_check",
            ),
        ]);
        db.expect_ok(
            "user_ai_budget_overrides: 10^12 (the maximum) is a valid limit",
            &q("UPDATE user_ai_budget_overrides SET spend_limit_micros = 1000000000000 WHERE user_id = '{U1}'"),
        );
        // user_ai_budget_overrides_user_id_fkey and _group_id_fkey cannot surface from a plain
        // write (the BEFORE membership trigger fires first, and an unknown user or group is
        // never a member): bulk_upsert.rs observes both names.
    }
}

#[test]
fn user_ai_daily_spend() {
    const INCREMENT: &str = "INSERT INTO user_ai_daily_spend (user_id, group_id, day, spend_micros)
        VALUES ('{U1}', '{G1}', '2024-03-01', {MICROS})
        ON CONFLICT (user_id, group_id, day)
        DO UPDATE SET spend_micros = user_ai_daily_spend.spend_micros + excluded.spend_micros";
    let increment = |micros: &str| q(&INCREMENT.replace("{MICROS}", micros));
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        db.exec(&q(
            "INSERT INTO user_ai_daily_spend (user_id, group_id, day, spend_micros) VALUES ('{U1}', '{G1}', '2024-03-01', 10)",
        ));
        db.expect_ok(
            "user_ai_daily_spend: the increment-upsert adds to the day's row",
            &increment("5"),
        );
        db.assert_holds(
            "user_ai_daily_spend: 10 + 5 = 15",
            &q("SELECT spend_micros = 15 FROM user_ai_daily_spend WHERE user_id = '{U1}' AND day = '2024-03-01'"),
        );
        db.assert_refusals(&[
            refused(
                "user_ai_daily_spend_pkey (plain insert of an existing key)",
                "INSERT INTO user_ai_daily_spend (user_id, group_id, day, spend_micros) VALUES ('{U1}', '{G1}', '2024-03-01', 1)",
                UNIQUE_VIOLATION,
                "user_ai_daily_spend_pkey",
            ),
            refused(
                "user_ai_daily_spend_user_id_fkey",
                "INSERT INTO user_ai_daily_spend (user_id, group_id, day, spend_micros) VALUES ('{NO_USER}', '{G1}', '2024-03-01', 1)",
                FOREIGN_KEY_VIOLATION,
                "user_ai_daily_spend_user_id_fkey",
            ),
            refused(
                "user_ai_daily_spend_group_id_fkey",
                "INSERT INTO user_ai_daily_spend (user_id, group_id, day, spend_micros) VALUES ('{U1}', '{NO_GROUP}', '2024-03-01', 1)",
                FOREIGN_KEY_VIOLATION,
                "user_ai_daily_spend_group_id_fkey",
            ),
            Refusal::new(
                "user_ai_daily_spend_spend_micros_check (a negative increment below zero)",
                increment("-16"),
                CHECK_VIOLATION,
                "user_ai_daily_spend_spend_micros_check",
            ),
        ]);
    }
}
