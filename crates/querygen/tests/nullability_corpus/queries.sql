-- The nullability corpus: realistic report queries over schema.sql (CTEs, aggregates,
-- window functions, outer joins, RETURNING). The expected nullability of every column is
-- in expected.txt; nullability_corpus.rs checks it and prints how many columns are
-- `Option` with and without the expression proofs.

-- name: OrgSpendThisMonth :one
SELECT COALESCE(SUM(e.total_cost_micros), 0)::bigint AS spent_micros,
       COUNT(*)::bigint AS requests,
       COUNT(DISTINCT e.user_id)::bigint AS active_users
FROM usage_events e
JOIN users u ON u.id = e.user_id
WHERE u.organization_id = @organization_id
  AND e.occurred_at >= date_trunc('month', now());

-- name: SpendByModel :many
SELECT m.id AS model_id, m.provider,
       COUNT(e.id)::bigint AS requests,
       COALESCE(SUM(e.total_cost_micros), 0)::bigint AS cost_micros,
       SUM(e.input_tokens) AS input_tokens
FROM models m
LEFT JOIN usage_events e ON e.model_id = m.id AND e.occurred_at >= @since
GROUP BY m.id, m.provider
ORDER BY cost_micros DESC;

-- name: TopUsers :many
SELECT u.id, u.email, u.display_name,
       SUM(e.total_cost_micros) AS cost_micros,
       RANK() OVER (ORDER BY SUM(e.total_cost_micros) DESC) AS cost_rank,
       COUNT(*) OVER () AS total_users
FROM users u
JOIN usage_events e ON e.user_id = u.id
WHERE u.organization_id = @organization_id
GROUP BY u.id, u.email, u.display_name
ORDER BY cost_rank
LIMIT 20;

-- name: DailySpend :many
SELECT date_trunc('day', e.occurred_at) AS day,
       SUM(e.total_cost_micros)::bigint AS cost_micros,
       COUNT(*) FILTER (WHERE e.status <> 'ok')::bigint AS failures
FROM usage_events e
WHERE e.user_id = @user_id
GROUP BY 1
ORDER BY 1;

-- name: DailySpendRunningTotal :many
WITH daily AS (
    SELECT e.occurred_at::date AS day, SUM(e.total_cost_micros) AS cost
    FROM usage_events e
    GROUP BY 1
)
SELECT day, cost,
       SUM(cost) OVER (ORDER BY day) AS running_total,
       ROW_NUMBER() OVER (ORDER BY day) AS day_number,
       LAG(cost) OVER (ORDER BY day) AS previous_cost
FROM daily
ORDER BY day;

-- name: TeamBudgets :many
SELECT t.id AS team_id, t.name, b.limit_micros, b.alert_percent,
       COALESCE(b.alert_percent, 80) AS effective_alert_percent
FROM teams t
LEFT JOIN budgets b ON b.team_id = t.id
WHERE t.organization_id = @organization_id
ORDER BY t.name;

-- name: TeamBudgetUsage :many
WITH spend AS (
    SELECT team_id, SUM(total_cost_micros) AS spent
    FROM usage_events
    WHERE occurred_at >= date_trunc('month', now())
    GROUP BY team_id
)
SELECT t.id, t.name,
       COALESCE(s.spent, 0) AS spent_micros,
       b.limit_micros,
       b.limit_micros - COALESCE(s.spent, 0) AS remaining_micros,
       CASE WHEN b.limit_micros IS NULL THEN false
            ELSE COALESCE(s.spent, 0) >= b.limit_micros END AS over_budget
FROM teams t
LEFT JOIN spend s ON s.team_id = t.id
LEFT JOIN budgets b ON b.team_id = t.id
ORDER BY t.id;

-- name: UserCountsPerOrg :many
SELECT o.id, o.name,
       COUNT(u.id) AS users,
       COUNT(u.id) FILTER (WHERE u.deleted) AS deleted_users,
       MAX(u.last_seen_at) AS last_activity
FROM organizations o
LEFT JOIN users u ON u.organization_id = o.id
GROUP BY o.id, o.name;

-- name: OrgOverview :one
SELECT o.name,
       (SELECT COUNT(*) FROM users u WHERE u.organization_id = o.id) AS user_count,
       (SELECT COUNT(*) FROM teams t WHERE t.organization_id = o.id) AS team_count,
       (SELECT MAX(i.period_start) FROM invoices i WHERE i.organization_id = o.id) AS last_invoice,
       EXISTS (SELECT 1 FROM invoices i WHERE i.organization_id = o.id AND i.paid_at IS NULL) AS has_unpaid
FROM organizations o
WHERE o.id = @id;

-- name: ModelShare :many
SELECT e.model_id,
       SUM(e.total_cost_micros) AS cost,
       ROUND(100.0 * SUM(e.total_cost_micros) / SUM(SUM(e.total_cost_micros)) OVER (), 2) AS percent
FROM usage_events e
GROUP BY e.model_id;

-- name: UserLabels :many
SELECT u.id,
       COALESCE(u.display_name, u.email) AS label,
       lower(u.email) AS email_lower,
       u.email || ' (' || u.id::text || ')' AS email_with_id,
       upper(u.display_name) AS display_upper,
       length(u.email) AS email_length
FROM users u
WHERE NOT u.deleted;

-- name: StaleApiKeys :many
SELECT k.id, k.label, u.email,
       COALESCE(k.last_used_at, k.created_at) AS last_activity,
       (now() - COALESCE(k.last_used_at, k.created_at))::text AS idle_for,
       k.revoked_at IS NOT NULL AS revoked
FROM api_keys k
JOIN users u ON u.id = k.user_id
WHERE COALESCE(k.last_used_at, k.created_at) < now() - make_interval(days => @days::int);

-- name: KeyUsage :many
SELECT k.id AS key_id, k.label,
       COUNT(e.id) AS uses,
       SUM(e.total_cost_micros) AS cost,
       MAX(e.occurred_at) AS last_use
FROM api_keys k
LEFT JOIN usage_events e ON e.api_key_id = k.id
WHERE k.user_id = @user_id
GROUP BY k.id, k.label;

-- name: ManagerChain :many
WITH RECURSIVE chain AS (
    SELECT id, manager_id, email, 0 AS depth FROM users WHERE id = @user_id
    UNION ALL
    SELECT u.id, u.manager_id, u.email, c.depth + 1
    FROM users u JOIN chain c ON u.id = c.manager_id
)
SELECT id, email, depth FROM chain ORDER BY depth;

-- name: TeamTree :many
SELECT t.id, t.name, p.name AS parent_name, COALESCE(p.name, '(root)') AS parent_label
FROM teams t
LEFT JOIN teams p ON p.id = t.parent_team_id
ORDER BY t.id;

-- name: LatencyPercentiles :one
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95,
       AVG(latency_ms) AS mean,
       COUNT(latency_ms) AS measured,
       COUNT(*) - COUNT(latency_ms) AS unmeasured
FROM usage_events
WHERE occurred_at >= @since;

-- name: StatusBreakdown :many
SELECT status, COUNT(*) AS n, COUNT(*) * 100 / SUM(COUNT(*)) OVER () AS percent_of_total
FROM usage_events
GROUP BY status
ORDER BY n DESC;

-- name: SpendRollup :many
SELECT o.name AS org, t.name AS team, SUM(e.total_cost_micros) AS cost, COUNT(*) AS n,
       GROUPING(o.name, t.name) AS level
FROM usage_events e
JOIN teams t ON t.id = e.team_id
JOIN organizations o ON o.id = t.organization_id
GROUP BY ROLLUP (o.name, t.name);

-- name: TokenTotals :one
SELECT COALESCE(SUM(input_tokens), 0)::bigint AS input_tokens,
       COALESCE(SUM(output_tokens), 0)::bigint AS output_tokens,
       COALESCE(SUM(input_tokens + output_tokens), 0)::bigint AS total_tokens
FROM usage_events
WHERE user_id = @user_id;

-- name: PriceList :many
SELECT id, provider, input_price_micros, output_price_micros,
       input_price_micros + output_price_micros AS combined_price,
       context_window,
       retired_on IS NOT NULL AS retired,
       GREATEST(input_price_micros, output_price_micros) AS max_price
FROM models
ORDER BY provider, id;

-- name: CostEstimate :one
SELECT m.id,
       (@input_tokens::bigint * m.input_price_micros + @output_tokens::bigint * m.output_price_micros) / 1000000 AS estimate_micros
FROM models m
WHERE m.id = @model_id;

-- name: CohortRetention :many
WITH cohorts AS (
    SELECT id, date_trunc('month', created_at) AS cohort FROM users
),
activity AS (
    SELECT DISTINCT user_id, date_trunc('month', occurred_at) AS month FROM usage_events
)
SELECT c.cohort, a.month, COUNT(DISTINCT a.user_id) AS active
FROM cohorts c
JOIN activity a ON a.user_id = c.id
GROUP BY c.cohort, a.month
ORDER BY 1, 2;

-- name: UsersWithoutActivity :many
SELECT u.id, u.email
FROM users u
WHERE NOT EXISTS (SELECT 1 FROM usage_events e WHERE e.user_id = u.id)
ORDER BY u.id;

-- name: TeamMembersWithSpend :many
SELECT tm.team_id, tm.user_id, tm.role, u.email,
       x.cost, COALESCE(x.cost, 0) AS cost_or_zero
FROM team_members tm
JOIN users u ON u.id = tm.user_id
LEFT JOIN LATERAL (
    SELECT SUM(e.total_cost_micros) AS cost FROM usage_events e WHERE e.user_id = tm.user_id
) x ON true
WHERE tm.team_id = @team_id;

-- name: LastEventPerUser :many
SELECT DISTINCT ON (e.user_id) e.user_id, e.model_id, e.occurred_at, e.latency_ms
FROM usage_events e
ORDER BY e.user_id, e.occurred_at DESC;

-- name: EventsWithMetadata :many
SELECT e.id, e.metadata ->> 'client' AS client, e.metadata -> 'tags' AS tags,
       e.metadata ? 'client' AS has_client, jsonb_typeof(e.metadata) AS metadata_kind
FROM usage_events e
WHERE e.user_id = @user_id
ORDER BY e.id DESC
LIMIT 100;

-- name: InvoiceStatus :many
SELECT i.id, i.period_start, i.amount_micros,
       CASE WHEN i.paid_at IS NOT NULL THEN 'paid'
            WHEN i.period_start < now() - interval '30 days' THEN 'overdue'
            ELSE 'open' END AS status,
       CASE WHEN i.paid_at IS NOT NULL THEN i.paid_at END AS paid_on
FROM invoices i
WHERE i.organization_id = @organization_id
ORDER BY i.period_start DESC;

-- name: MonthlyInvoiceTotals :many
SELECT date_trunc('year', period_start::timestamptz) AS year,
       SUM(amount_micros) AS billed,
       SUM(amount_micros) FILTER (WHERE paid_at IS NOT NULL) AS paid,
       COUNT(*) AS invoices
FROM invoices
GROUP BY 1
ORDER BY 1;

-- name: AllActivity :many
SELECT 'event' AS kind, e.id, e.occurred_at AS at FROM usage_events e WHERE e.user_id = @user_id
UNION ALL
SELECT 'key', k.id, k.created_at FROM api_keys k WHERE k.user_id = @user_id
UNION ALL
SELECT 'key_used', k.id, k.last_used_at FROM api_keys k WHERE k.user_id = @user_id
ORDER BY at DESC NULLS LAST;

-- name: OrgEmails :many
SELECT email FROM users WHERE organization_id = @organization_id
UNION
SELECT display_name FROM users WHERE organization_id = @organization_id;

-- name: ActiveUserNames :many
SELECT id, email, COALESCE(display_name, email) AS name FROM active_users ORDER BY id;

-- name: BudgetAlerts :many
SELECT t.id, t.name, b.limit_micros, s.spent,
       s.spent * 100 / NULLIF(b.limit_micros, 0) AS percent_used
FROM budgets b
JOIN teams t ON t.id = b.team_id
JOIN (SELECT team_id, SUM(total_cost_micros) AS spent FROM usage_events GROUP BY team_id) s
  ON s.team_id = b.team_id
WHERE b.limit_micros IS NOT NULL;

-- name: ModelsByProvider :many
SELECT provider, array_agg(id ORDER BY id) AS model_ids, string_agg(id, ', ') AS names,
       COUNT(*) AS models, MIN(input_price_micros) AS cheapest_input
FROM models
GROUP BY provider;

-- name: WeeklyActiveUsers :many
SELECT date_trunc('week', occurred_at) AS week, COUNT(DISTINCT user_id) AS users,
       dense_rank() OVER (ORDER BY date_trunc('week', occurred_at)) AS week_number
FROM usage_events
GROUP BY 1;

-- name: UserSpendQuartile :many
SELECT user_id, SUM(total_cost_micros) AS cost,
       ntile(4) OVER (ORDER BY SUM(total_cost_micros)) AS quartile,
       percent_rank() OVER (ORDER BY SUM(total_cost_micros)) AS pct
FROM usage_events
GROUP BY user_id;

-- name: RecordUsage :one
INSERT INTO usage_events (id, user_id, team_id, api_key_id, model_id, input_tokens, output_tokens,
                          total_cost_micros, latency_ms, occurred_at)
VALUES (@id, @user_id, sqlc.narg(team_id), sqlc.narg(api_key_id), @model_id, @input_tokens,
        @output_tokens, @total_cost_micros, sqlc.narg(latency_ms), now())
RETURNING id, total_cost_micros, input_tokens + output_tokens AS tokens, latency_ms, team_id;

-- name: RevokeKey :one
UPDATE api_keys SET revoked_at = now()
WHERE id = @id
RETURNING id, revoked_at, revoked_at IS NOT NULL AS revoked, COALESCE(label, 'unnamed') AS label;

-- name: DeleteOldEvents :many
DELETE FROM usage_events
WHERE occurred_at < @before
RETURNING id, user_id, total_cost_micros / 1000 AS cost_millis;

-- name: UpsertBudget :one
INSERT INTO budgets (team_id, limit_micros, alert_percent)
VALUES (@team_id, sqlc.narg(limit_micros), @alert_percent)
ON CONFLICT (team_id) DO UPDATE
SET limit_micros = excluded.limit_micros, alert_percent = excluded.alert_percent, updated_at = now()
RETURNING team_id, limit_micros, alert_percent, updated_at, limit_micros IS NULL AS unlimited;

-- name: SpendComparison :many
WITH this_month AS (
    SELECT user_id, SUM(total_cost_micros) AS cost FROM usage_events
    WHERE occurred_at >= date_trunc('month', now()) GROUP BY user_id
),
last_month AS (
    SELECT user_id, SUM(total_cost_micros) AS cost FROM usage_events
    WHERE occurred_at >= date_trunc('month', now()) - interval '1 month'
      AND occurred_at < date_trunc('month', now())
    GROUP BY user_id
)
SELECT COALESCE(t.user_id, l.user_id) AS user_id,
       COALESCE(t.cost, 0) AS this_month,
       COALESCE(l.cost, 0) AS last_month,
       COALESCE(t.cost, 0) - COALESCE(l.cost, 0) AS delta
FROM this_month t
FULL JOIN last_month l ON l.user_id = t.user_id;

-- name: OrgTierCounts :many
SELECT tier, COUNT(*) AS orgs, COUNT(monthly_cap_micros) AS capped,
       BOOL_OR(archived_at IS NOT NULL) AS any_archived
FROM organizations
GROUP BY tier
ORDER BY tier;

-- name: LongestRequests :many
SELECT e.id, u.email, e.latency_ms, m.provider,
       e.latency_ms::numeric / 1000 AS seconds,
       row_number() OVER (PARTITION BY m.provider ORDER BY e.latency_ms DESC NULLS LAST) AS rank_in_provider
FROM usage_events e
JOIN users u ON u.id = e.user_id
JOIN models m ON m.id = e.model_id
WHERE e.latency_ms IS NOT NULL
ORDER BY e.latency_ms DESC
LIMIT @max_rows;

-- name: TeamSizes :many
SELECT t.id, t.name, COUNT(tm.user_id) AS members,
       COUNT(tm.user_id) FILTER (WHERE tm.role = 'admin') AS admins,
       MIN(tm.joined_at) AS first_joined
FROM teams t
LEFT JOIN team_members tm ON tm.team_id = t.id
GROUP BY t.id, t.name
HAVING COUNT(tm.user_id) >= @min_members;

-- name: UsageSearch :many
SELECT e.id, e.model_id, e.status,
       e.model_id ILIKE '%' || @pattern || '%' AS model_matches,
       position(@pattern IN e.model_id) AS match_at
FROM usage_events e
WHERE e.user_id = ANY(@user_ids)
ORDER BY e.id;
