DROP FUNCTION effective_ai_budget(uuid, timestamp with time zone);

DROP TYPE ai_budget_source;
