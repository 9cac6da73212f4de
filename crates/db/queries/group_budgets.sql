-- Group AI budgets: a per-member spend limit for the members of a group.

-- name: GetGroupAiBudget :one
SELECT *
FROM group_ai_budgets
WHERE group_id = @group_id;

-- Every group of an organization (its Everyone group included) with its budget, if any:
-- the budget columns come from the nullable side of a LEFT JOIN, so they are optional.
-- name: ListGroupAiBudgets :many
SELECT
    groups.id AS group_id,
    groups.name,
    groups.display_name,
    group_ai_budgets.spend_limit_micros,
    group_ai_budgets.updated_at AS budget_updated_at
FROM groups
LEFT JOIN group_ai_budgets ON group_ai_budgets.group_id = groups.id
WHERE groups.organization_id = @organization_id
ORDER BY groups.name;

-- Create or replace a group's budget (`created_at` is kept on update).
-- name: UpsertGroupAiBudget :one
INSERT INTO group_ai_budgets (group_id, spend_limit_micros)
VALUES (@group_id, @spend_limit_micros)
ON CONFLICT (group_id) DO UPDATE
SET spend_limit_micros = excluded.spend_limit_micros,
    updated_at = now()
RETURNING *;

-- name: DeleteGroupAiBudget :execrows
DELETE FROM group_ai_budgets
WHERE group_id = @group_id;
