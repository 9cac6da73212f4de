-- effective_ai_budget(): the one place where a user's AI budget is resolved.
-- Upstream repeats the rule in four queries; here every query calls this.

CREATE TYPE ai_budget_source AS ENUM ('user_override', 'group_budget', 'flat_user_cap');

COMMENT ON TYPE ai_budget_source IS 'Where an effective AI budget limit comes from; NULL in effective_ai_budget() means unlimited (or not resolved).';

CREATE FUNCTION effective_ai_budget(p_user_id uuid, p_at timestamp with time zone)
    RETURNS TABLE (
        limit_micros bigint,
        source ai_budget_source,
        attributed_group_id uuid,
        organization_id uuid,
        period_start timestamp with time zone,
        period_end timestamp with time zone,
        spent_micros bigint,
        remaining_micros bigint,
        subscription_cap_exceeded boolean,
        exceeded boolean
    )
    LANGUAGE sql
    STABLE
    AS $$
WITH target AS (
    SELECT users.id, (users.deleted OR users.is_system) AS unresolved
    FROM users
    WHERE users.id = p_user_id
),
-- The user's fallback organization: the default one, else the one joined
-- first, then the lowest id. Deleted organizations never count.
home AS (
    SELECT organization_members.organization_id
    FROM organization_members
    JOIN organizations ON organizations.id = organization_members.organization_id
    WHERE organization_members.user_id = p_user_id
        AND NOT organizations.deleted
    ORDER BY organizations.is_default DESC, organization_members.created_at, organization_members.organization_id
    LIMIT 1
),
resolved AS (
    SELECT candidates.source, candidates.limit_micros, candidates.group_id
    FROM (
        -- a. An enabled override wins unconditionally (even 0, even below a
        --    group budget). A disabled one is ignored.
        (
            SELECT 1 AS rank, 'user_override'::ai_budget_source AS source,
                user_ai_budget_overrides.spend_limit_micros AS limit_micros,
                user_ai_budget_overrides.group_id
            FROM user_ai_budget_overrides
            WHERE user_ai_budget_overrides.user_id = p_user_id
                AND user_ai_budget_overrides.enabled
        )
        UNION ALL
        -- b. The highest budget among the user's groups (Everyone included,
        --    deleted organizations excluded); ties: organization joined
        --    first, then lowest group id.
        (
            SELECT 2, 'group_budget'::ai_budget_source,
                group_ai_budgets.spend_limit_micros,
                group_ai_budgets.group_id
            FROM group_members_expanded
            JOIN group_ai_budgets ON group_ai_budgets.group_id = group_members_expanded.group_id
            JOIN organizations ON organizations.id = group_members_expanded.organization_id
            JOIN organization_members ON organization_members.organization_id = group_members_expanded.organization_id
                AND organization_members.user_id = group_members_expanded.user_id
            WHERE group_members_expanded.user_id = p_user_id
                AND NOT organizations.deleted
            ORDER BY group_ai_budgets.spend_limit_micros DESC, organization_members.created_at, group_ai_budgets.group_id
            LIMIT 1
        )
        UNION ALL
        -- c. The fallback organization's enabled flat per-user cap, spend
        --    attributed to its Everyone group.
        (
            SELECT 3, 'flat_user_cap'::ai_budget_source,
                organization_ai_budget_caps.flat_user_cap_micros,
                home.organization_id
            FROM home
            JOIN organization_ai_budget_caps ON organization_ai_budget_caps.organization_id = home.organization_id
            WHERE organization_ai_budget_caps.flat_user_cap_enabled
        )
        UNION ALL
        -- d. Unlimited, spend attributed to the fallback organization's
        --    Everyone group (none without a membership).
        (
            SELECT 4, NULL::ai_budget_source, NULL::bigint, home.organization_id
            FROM home
        )
    ) AS candidates
    ORDER BY candidates.rank
    LIMIT 1
),
scope AS (
    SELECT
        target.unresolved,
        resolved.source,
        resolved.limit_micros,
        resolved.group_id,
        groups.organization_id,
        COALESCE(organization_ai_budget_caps.budget_period, 'month') AS budget_period,
        COALESCE(organization_ai_budget_caps.subscription_cap_enabled, false) AS subscription_cap_enabled,
        organization_ai_budget_caps.subscription_cap_micros,
        date_trunc(COALESCE(organization_ai_budget_caps.budget_period, 'month')::text, p_at AT TIME ZONE 'UTC') AS utc_start,
        (p_at AT TIME ZONE 'UTC')::date AS utc_day
    FROM target
    LEFT JOIN resolved ON NOT target.unresolved
    LEFT JOIN groups ON groups.id = resolved.group_id
    LEFT JOIN organization_ai_budget_caps ON organization_ai_budget_caps.organization_id = groups.organization_id
),
-- Materialized: each sum is computed once, not once per reference below.
totals AS MATERIALIZED (
    SELECT
        scope.*,
        -- The user's spend in the period across all of their groups of the
        -- organization, so moving to another group does not reset it.
        (
            SELECT COALESCE(sum(user_ai_daily_spend.spend_micros), 0)::bigint
            FROM user_ai_daily_spend
            JOIN groups AS spend_groups ON spend_groups.id = user_ai_daily_spend.group_id
            WHERE user_ai_daily_spend.user_id = p_user_id
                AND user_ai_daily_spend.day >= scope.utc_start::date
                AND user_ai_daily_spend.day <= scope.utc_day
                AND spend_groups.organization_id = scope.organization_id
        ) AS spent,
        -- The organization's total in the period, live non-system users only
        -- (summed per user first, so each spender is looked up once);
        -- computed only when its subscription cap is enabled.
        (
            SELECT COALESCE(sum(per_user.spend_micros), 0)::bigint
            FROM (
                SELECT user_ai_daily_spend.user_id, sum(user_ai_daily_spend.spend_micros) AS spend_micros
                FROM groups AS spend_groups
                JOIN user_ai_daily_spend ON user_ai_daily_spend.group_id = spend_groups.id
                WHERE scope.subscription_cap_enabled
                    AND spend_groups.organization_id = scope.organization_id
                    AND user_ai_daily_spend.day >= scope.utc_start::date
                    AND user_ai_daily_spend.day <= scope.utc_day
                GROUP BY user_ai_daily_spend.user_id
            ) AS per_user
            JOIN users AS spenders ON spenders.id = per_user.user_id
            WHERE NOT spenders.deleted
                AND NOT spenders.is_system
        ) AS organization_spent
    FROM scope
),
verdict AS (
    SELECT
        totals.*,
        totals.subscription_cap_enabled AND totals.organization_spent >= totals.subscription_cap_micros AS cap_exhausted
    FROM totals
)
SELECT
    verdict.limit_micros,
    verdict.source,
    verdict.group_id,
    verdict.organization_id,
    verdict.utc_start AT TIME ZONE 'UTC',
    (verdict.utc_start + CASE verdict.budget_period
        WHEN 'day' THEN interval '1 day'
        WHEN 'week' THEN interval '7 days'
        ELSE interval '1 month'
    END) AT TIME ZONE 'UTC',
    verdict.spent,
    CASE
        WHEN verdict.unresolved THEN 0
        -- LEAST and GREATEST ignore NULLs: NULL (unlimited) only when
        -- neither the user nor the organization has a limit.
        ELSE LEAST(
            CASE WHEN verdict.limit_micros IS NOT NULL
                THEN GREATEST(verdict.limit_micros - verdict.spent, 0)
            END,
            CASE WHEN verdict.subscription_cap_enabled
                THEN GREATEST(verdict.subscription_cap_micros - verdict.organization_spent, 0)
            END
        )
    END,
    verdict.cap_exhausted,
    verdict.unresolved
        OR (verdict.spent >= verdict.limit_micros) IS TRUE
        OR verdict.cap_exhausted
FROM verdict
$$;

COMMENT ON FUNCTION effective_ai_budget(uuid, timestamp with time zone) IS 'The AI budget of a user at a moment: limit (NULL = unlimited), source, attributed group and its organization, the UTC period, spend in it, remaining (NULL = unlimited) and exceeded (spent >= limit, so 0 blocks; or the organization''s enabled subscription cap is exhausted). Precedence: enabled override; highest group budget across all organizations (ties: organization joined first, then lowest group id); the fallback organization''s enabled flat per-user cap; unlimited. The organization whose period and caps apply is that of the attributed group; the fallback organization is the default one, else the one joined first. System and deleted users: no budget, exceeded. Unknown user: no row.';
