-- Organization AI budget caps: period, subscription cap and flat per-user cap. No record:
-- monthly period, no caps, and no overrides allowed in the organization.

-- name: GetOrganizationAiBudgetCaps :opt
SELECT *
FROM organization_ai_budget_caps
WHERE organization_id = @organization_id;

-- Create or replace the cap record. A cap is NULL when not configured; enabling a cap
-- without a value is refused (`organization_ai_budget_caps_*_enabled_check`).
-- name: UpsertOrganizationAiBudgetCaps :one
INSERT INTO organization_ai_budget_caps (
    organization_id,
    budget_period,
    subscription_cap_micros,
    subscription_cap_enabled,
    flat_user_cap_micros,
    flat_user_cap_enabled
)
VALUES (
    @organization_id,
    @budget_period,
    sqlc.narg(subscription_cap_micros),
    @subscription_cap_enabled,
    sqlc.narg(flat_user_cap_micros),
    @flat_user_cap_enabled
)
ON CONFLICT (organization_id) DO UPDATE
SET budget_period = excluded.budget_period,
    subscription_cap_micros = excluded.subscription_cap_micros,
    subscription_cap_enabled = excluded.subscription_cap_enabled,
    flat_user_cap_micros = excluded.flat_user_cap_micros,
    flat_user_cap_enabled = excluded.flat_user_cap_enabled,
    updated_at = now()
RETURNING *;

-- Deleting the record also deletes the overrides of the organization's groups (trigger).
-- name: DeleteOrganizationAiBudgetCaps :execrows
DELETE FROM organization_ai_budget_caps
WHERE organization_id = @organization_id;
