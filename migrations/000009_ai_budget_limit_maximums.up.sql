-- Limits are at most 1,000,000 currency units (10^12 micros). Upstream checks
-- this only in its API; the database now enforces it too. Each constraint is
-- added NOT VALID and then validated (the lint-clean form; the lock saving
-- needs the VALIDATE in a later transaction, which these small tables do not
-- need). A row above the maximum fails the migration rather than being
-- clamped: upstream's API never accepted one.

ALTER TABLE group_ai_budgets
    ADD CONSTRAINT group_ai_budgets_spend_limit_micros_max_check CHECK (spend_limit_micros <= 1000000000000) NOT VALID;

ALTER TABLE group_ai_budgets VALIDATE CONSTRAINT group_ai_budgets_spend_limit_micros_max_check;

ALTER TABLE user_ai_budget_overrides
    ADD CONSTRAINT user_ai_budget_overrides_spend_limit_micros_max_check CHECK (spend_limit_micros <= 1000000000000) NOT VALID;

ALTER TABLE user_ai_budget_overrides VALIDATE CONSTRAINT user_ai_budget_overrides_spend_limit_micros_max_check;

ALTER TABLE organization_ai_budget_caps
    ADD CONSTRAINT organization_ai_budget_caps_subscription_cap_micros_max_check CHECK (subscription_cap_micros <= 1000000000000) NOT VALID;

ALTER TABLE organization_ai_budget_caps VALIDATE CONSTRAINT organization_ai_budget_caps_subscription_cap_micros_max_check;

ALTER TABLE organization_ai_budget_caps
    ADD CONSTRAINT organization_ai_budget_caps_flat_user_cap_micros_max_check CHECK (flat_user_cap_micros <= 1000000000000) NOT VALID;

ALTER TABLE organization_ai_budget_caps VALIDATE CONSTRAINT organization_ai_budget_caps_flat_user_cap_micros_max_check;

COMMENT ON CONSTRAINT group_ai_budgets_spend_limit_micros_max_check ON group_ai_budgets IS 'At most 1,000,000 currency units.';

COMMENT ON CONSTRAINT user_ai_budget_overrides_spend_limit_micros_max_check ON user_ai_budget_overrides IS 'At most 1,000,000 currency units.';

COMMENT ON CONSTRAINT organization_ai_budget_caps_subscription_cap_micros_max_check ON organization_ai_budget_caps IS 'At most 1,000,000 currency units, like every other limit.';

COMMENT ON CONSTRAINT organization_ai_budget_caps_flat_user_cap_micros_max_check ON organization_ai_budget_caps IS 'At most 1,000,000 currency units.';
