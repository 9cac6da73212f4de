-- Bulk override upsert (GitLab's upsertUserBudgetCapOverrides): up to 200
-- overrides in one statement, all or nothing. The whole batch is validated
-- first so that the first problem is reported with its position; each
-- rejection carries a constraint name the generated enums know. The row
-- triggers and constraints still guard every written row.

CREATE FUNCTION upsert_user_ai_budget_overrides(
    p_user_ids uuid[],
    p_group_ids uuid[],
    p_spend_limit_micros bigint[],
    p_enabled boolean[]
)
    RETURNS SETOF user_ai_budget_overrides
    LANGUAGE plpgsql
    AS $$
DECLARE
    batch_size integer := cardinality(p_user_ids);
    bad record;
BEGIN
    IF p_user_ids IS NULL OR p_group_ids IS NULL OR p_spend_limit_micros IS NULL OR p_enabled IS NULL
        OR array_ndims(p_user_ids) > 1 OR array_ndims(p_group_ids) > 1
        OR array_ndims(p_spend_limit_micros) > 1 OR array_ndims(p_enabled) > 1
        OR cardinality(p_group_ids) <> batch_size
        OR cardinality(p_spend_limit_micros) <> batch_size
        OR cardinality(p_enabled) <> batch_size
        OR array_position(p_user_ids, NULL) IS NOT NULL
        OR array_position(p_group_ids, NULL) IS NOT NULL
        OR array_position(p_spend_limit_micros, NULL) IS NOT NULL
        OR array_position(p_enabled, NULL) IS NOT NULL
    THEN
        RAISE EXCEPTION 'user ids, group ids, limits and enabled flags must be one-dimensional arrays of the same length without NULL elements'
            USING ERRCODE = 'invalid_parameter_value',
                  CONSTRAINT = 'user_ai_budget_overrides_batch_shape',
                  TABLE = 'user_ai_budget_overrides';
    END IF;

    IF batch_size > 200 THEN
        RAISE EXCEPTION 'a batch holds at most 200 overrides, got %', batch_size
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'user_ai_budget_overrides_batch_size',
                  TABLE = 'user_ai_budget_overrides';
    END IF;

    SELECT batch.user_id, array_agg(batch.position ORDER BY batch.position) AS positions INTO bad
    FROM unnest(p_user_ids) WITH ORDINALITY AS batch(user_id, position)
    GROUP BY batch.user_id
    HAVING count(*) > 1
    ORDER BY min(batch.position)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'user % appears more than once in the batch', bad.user_id
            USING ERRCODE = 'unique_violation',
                  CONSTRAINT = 'user_ai_budget_overrides_batch_duplicate_user',
                  TABLE = 'user_ai_budget_overrides',
                  DETAIL = format('positions %s (1-based)', bad.positions);
    END IF;

    SELECT batch.spend_limit_micros, batch.position INTO bad
    FROM unnest(p_spend_limit_micros) WITH ORDINALITY AS batch(spend_limit_micros, position)
    WHERE batch.spend_limit_micros < 0
    ORDER BY batch.position
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'spend limit % is negative', bad.spend_limit_micros
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'user_ai_budget_overrides_spend_limit_micros_check',
                  TABLE = 'user_ai_budget_overrides',
                  DETAIL = format('position %s (1-based)', bad.position);
    END IF;

    SELECT batch.spend_limit_micros, batch.position INTO bad
    FROM unnest(p_spend_limit_micros) WITH ORDINALITY AS batch(spend_limit_micros, position)
    WHERE batch.spend_limit_micros > 1000000000000
    ORDER BY batch.position
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'spend limit % is above the maximum of 1000000000000 micros', bad.spend_limit_micros
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'user_ai_budget_overrides_spend_limit_micros_max_check',
                  TABLE = 'user_ai_budget_overrides',
                  DETAIL = format('position %s (1-based)', bad.position);
    END IF;

    SELECT batch.user_id, batch.position INTO bad
    FROM unnest(p_user_ids) WITH ORDINALITY AS batch(user_id, position)
    WHERE NOT EXISTS (SELECT 1 FROM users WHERE users.id = batch.user_id)
    ORDER BY batch.position
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'user % does not exist', bad.user_id
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = 'user_ai_budget_overrides_user_id_fkey',
                  TABLE = 'user_ai_budget_overrides',
                  DETAIL = format('position %s (1-based)', bad.position);
    END IF;

    SELECT batch.group_id, batch.position INTO bad
    FROM unnest(p_group_ids) WITH ORDINALITY AS batch(group_id, position)
    WHERE NOT EXISTS (SELECT 1 FROM groups WHERE groups.id = batch.group_id)
    ORDER BY batch.position
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'group % does not exist', bad.group_id
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = 'user_ai_budget_overrides_group_id_fkey',
                  TABLE = 'user_ai_budget_overrides',
                  DETAIL = format('position %s (1-based)', bad.position);
    END IF;

    SELECT batch.user_id, batch.group_id, batch.position INTO bad
    FROM unnest(p_user_ids, p_group_ids) WITH ORDINALITY AS batch(user_id, group_id, position)
    WHERE NOT EXISTS (
        SELECT 1
        FROM group_members_expanded
        WHERE group_members_expanded.user_id = batch.user_id
            AND group_members_expanded.group_id = batch.group_id
    )
    ORDER BY batch.position
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'user % is not a member of group %', bad.user_id, bad.group_id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'user_ai_budget_overrides_must_be_group_member',
                  TABLE = 'user_ai_budget_overrides',
                  DETAIL = format('position %s (1-based)', bad.position);
    END IF;

    SELECT batch.group_id, groups.organization_id, batch.position INTO bad
    FROM unnest(p_group_ids) WITH ORDINALITY AS batch(group_id, position)
    JOIN groups ON groups.id = batch.group_id
    WHERE NOT EXISTS (
        SELECT 1
        FROM organization_ai_budget_caps
        WHERE organization_ai_budget_caps.organization_id = groups.organization_id
    )
    ORDER BY batch.position
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'subscription budget cap not found for organization %', bad.organization_id
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = 'user_ai_budget_overrides_must_have_budget_cap',
                  TABLE = 'user_ai_budget_overrides',
                  DETAIL = format('group %s at position %s (1-based)', bad.group_id, bad.position);
    END IF;

    RETURN QUERY
    INSERT INTO user_ai_budget_overrides AS overrides (user_id, group_id, spend_limit_micros, enabled)
    SELECT batch.user_id, batch.group_id, batch.spend_limit_micros, batch.enabled
    FROM unnest(p_user_ids, p_group_ids, p_spend_limit_micros, p_enabled) AS batch(user_id, group_id, spend_limit_micros, enabled)
    ON CONFLICT (user_id) DO UPDATE
    SET group_id = excluded.group_id,
        spend_limit_micros = excluded.spend_limit_micros,
        enabled = excluded.enabled,
        updated_at = now()
    RETURNING overrides.*;
END;
$$;

COMMENT ON FUNCTION upsert_user_ai_budget_overrides(uuid[], uuid[], bigint[], boolean[]) IS 'Creates or replaces up to 200 user overrides (element i of each array is one override), all or nothing. Checks, in order, each reporting the first offending position: batch_shape, batch_size, batch_duplicate_user, the two limit checks, user_id_fkey, group_id_fkey, must_be_group_member, must_have_budget_cap. Returns the written rows.';
