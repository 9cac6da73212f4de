-- Overrides can be switched off without being deleted. Existing overrides stay
-- in effect (default true); the constant default adds the column without a
-- table rewrite.

ALTER TABLE user_ai_budget_overrides ADD COLUMN enabled boolean NOT NULL DEFAULT true;

COMMENT ON COLUMN user_ai_budget_overrides.enabled IS 'A disabled override is kept (and still requires membership and a cap record) but ignored by effective_ai_budget(): resolution falls through to group budgets, the flat per-user cap, then unlimited.';
