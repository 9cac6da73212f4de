-- Per-user AI budget overrides (at most one per user). The database requires the user to
-- be a member of the group (`user_ai_budget_overrides_must_be_group_member`) and the
-- group's organization to have a cap record (`user_ai_budget_overrides_must_have_budget_cap`).

-- name: GetUserAiBudgetOverride :opt
SELECT *
FROM user_ai_budget_overrides
WHERE user_id = @user_id;

-- Overrides attributed to the groups of an organization.
-- name: ListUserAiBudgetOverridesByOrganization :many
SELECT user_ai_budget_overrides.*
FROM user_ai_budget_overrides
JOIN groups ON groups.id = user_ai_budget_overrides.group_id
WHERE groups.organization_id = @organization_id
ORDER BY user_ai_budget_overrides.user_id;

-- Create or replace a user's override (`created_at` is kept on update).
-- name: UpsertUserAiBudgetOverride :one
INSERT INTO user_ai_budget_overrides (user_id, group_id, spend_limit_micros, enabled)
VALUES (@user_id, @group_id, @spend_limit_micros, @enabled)
ON CONFLICT (user_id) DO UPDATE
SET group_id = excluded.group_id,
    spend_limit_micros = excluded.spend_limit_micros,
    enabled = excluded.enabled,
    updated_at = now()
RETURNING *;

-- Switch an override on or off without deleting it.
-- name: SetUserAiBudgetOverrideEnabled :execrows
UPDATE user_ai_budget_overrides
SET enabled = @enabled, updated_at = now()
WHERE user_id = @user_id;

-- name: DeleteUserAiBudgetOverride :execrows
DELETE FROM user_ai_budget_overrides
WHERE user_id = @user_id;

-- Bulk upsert of up to 200 overrides, all or nothing: the arrays are parallel (position i
-- of each is one override). The first problem is reported with its 1-based position in the
-- error's DETAIL and a constraint name (`user_ai_budget_overrides_batch_*`, the table's
-- checks and foreign keys, membership, cap record).
-- A function's result columns may be NULL as far as PostgreSQL knows, so each is forced
-- NOT NULL with the `!` suffix; the row is then exactly `UserAiBudgetOverrides`.
-- name: UpsertUserAiBudgetOverrides :many
SELECT
    user_id AS "user_id!",
    group_id AS "group_id!",
    spend_limit_micros AS "spend_limit_micros!",
    created_at AS "created_at!",
    updated_at AS "updated_at!",
    enabled AS "enabled!"
FROM upsert_user_ai_budget_overrides(@user_ids, @group_ids, @spend_limit_micros, @enabled);
