DROP TABLE organization_ai_budget_caps;

DROP FUNCTION delete_user_ai_budget_overrides_on_budget_cap_delete();

DROP TRIGGER trigger_require_user_ai_budget_override_budget_cap ON user_ai_budget_overrides;

DROP FUNCTION require_user_ai_budget_override_budget_cap();

DROP TYPE ai_budget_period;
