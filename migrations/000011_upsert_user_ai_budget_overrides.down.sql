DROP FUNCTION upsert_user_ai_budget_overrides(uuid[], uuid[], bigint[], boolean[]);
