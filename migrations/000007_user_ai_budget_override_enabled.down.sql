-- Before this migration every override was in effect: keeping a disabled one
-- would silently switch it back on (a 0 limit would block its user), so
-- disabled overrides are deleted with the column.
DELETE FROM user_ai_budget_overrides WHERE NOT enabled;

ALTER TABLE user_ai_budget_overrides DROP COLUMN enabled;
