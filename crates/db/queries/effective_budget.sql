-- The AI budget of a user at a moment, resolved by `effective_ai_budget()` (see
-- migrations/DECISIONS.md): limit and source (NULL: unlimited), the attributed group and
-- its organization, the UTC period, spend in it, remaining (NULL: unlimited), whether the
-- organization's subscription cap is exhausted, and whether the user is blocked.
-- Unknown user: no row (`QueryError::NotFound`). The function's columns are nullable as
-- far as PostgreSQL knows; those it always sets are forced NOT NULL with `!`.
-- name: GetEffectiveAIBudget :one
SELECT
    limit_micros,
    source,
    attributed_group_id,
    organization_id,
    period_start AS "period_start!",
    period_end AS "period_end!",
    spent_micros AS "spent_micros!",
    remaining_micros,
    subscription_cap_exceeded AS "subscription_cap_exceeded!",
    exceeded AS "exceeded!"
FROM effective_ai_budget(@user_id, @at);
