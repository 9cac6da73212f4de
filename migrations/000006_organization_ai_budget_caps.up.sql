-- Budget caps per organization (after GitLab's budget caps for AI usage): an
-- organization-wide subscription cap, a flat per-user cap and the budget
-- period. A user override requires its organization's cap record.

CREATE TYPE ai_budget_period AS ENUM ('day', 'week', 'month');

COMMENT ON TYPE ai_budget_period IS 'Budget period, in UTC calendar terms: day, ISO week (from Monday 00:00 UTC) or month.';

CREATE TABLE organization_ai_budget_caps (
    organization_id uuid NOT NULL,
    budget_period ai_budget_period NOT NULL DEFAULT 'month',
    subscription_cap_micros bigint,
    subscription_cap_enabled boolean NOT NULL DEFAULT false,
    flat_user_cap_micros bigint,
    flat_user_cap_enabled boolean NOT NULL DEFAULT false,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT organization_ai_budget_caps_pkey PRIMARY KEY (organization_id),
    CONSTRAINT organization_ai_budget_caps_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT organization_ai_budget_caps_subscription_cap_micros_check CHECK (subscription_cap_micros >= 0),
    CONSTRAINT organization_ai_budget_caps_flat_user_cap_micros_check CHECK (flat_user_cap_micros >= 0),
    CONSTRAINT organization_ai_budget_caps_subscription_cap_enabled_check CHECK (NOT subscription_cap_enabled OR subscription_cap_micros IS NOT NULL),
    CONSTRAINT organization_ai_budget_caps_flat_user_cap_enabled_check CHECK (NOT flat_user_cap_enabled OR flat_user_cap_micros IS NOT NULL)
);

COMMENT ON TABLE organization_ai_budget_caps IS 'The cap record of an organization (upstream: the subscription budget cap). No row: monthly period, no caps, and no user overrides allowed in the organization. Deleting it deletes the overrides attributed to the organization''s groups.';

COMMENT ON COLUMN organization_ai_budget_caps.budget_period IS 'Period over which spend is summed and limits apply, for every user whose spend is attributed to this organization.';

COMMENT ON COLUMN organization_ai_budget_caps.subscription_cap_micros IS 'Organization-wide limit on the total spend of its live, non-system users per period, in micros. NULL: not configured.';

COMMENT ON COLUMN organization_ai_budget_caps.subscription_cap_enabled IS 'When true (a value is then required), every user attributed to the organization is exceeded once the total reaches the cap.';

COMMENT ON COLUMN organization_ai_budget_caps.flat_user_cap_micros IS 'Per-user limit per period for users with neither an enabled override nor a group budget, in micros. NULL: not configured.';

COMMENT ON COLUMN organization_ai_budget_caps.flat_user_cap_enabled IS 'When true (a value is then required), the flat per-user cap applies.';

-- Behaviour-preserving backfill: organizations that already have overrides get
-- a record with both caps disabled and the monthly period, which is exactly
-- how an organization without a record behaves.
INSERT INTO organization_ai_budget_caps (organization_id)
SELECT DISTINCT groups.organization_id
FROM user_ai_budget_overrides
JOIN groups ON groups.id = user_ai_budget_overrides.group_id;

CREATE FUNCTION require_user_ai_budget_override_budget_cap() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1
        FROM groups
        JOIN organization_ai_budget_caps ON organization_ai_budget_caps.organization_id = groups.organization_id
        WHERE groups.id = NEW.group_id
    ) THEN
        RAISE EXCEPTION 'subscription budget cap not found for the organization of group %', NEW.group_id
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = 'user_ai_budget_overrides_must_have_budget_cap',
                  SCHEMA = TG_TABLE_SCHEMA,
                  TABLE = TG_TABLE_NAME,
                  HINT = 'Create the organization''s budget cap record (organization_ai_budget_caps) first.';
    END IF;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION require_user_ai_budget_override_budget_cap() IS 'A user override can only exist for an organization whose cap record exists (upstream: "Subscription budget cap not found").';

-- Triggers of one event fire in name order: membership (trigger_enforce_...)
-- is checked before the cap record (trigger_require_...).
CREATE TRIGGER trigger_require_user_ai_budget_override_budget_cap
    BEFORE INSERT OR UPDATE ON user_ai_budget_overrides
    FOR EACH ROW
    EXECUTE FUNCTION require_user_ai_budget_override_budget_cap();

CREATE FUNCTION delete_user_ai_budget_overrides_on_budget_cap_delete() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    DELETE FROM user_ai_budget_overrides
    USING groups
    WHERE groups.id = user_ai_budget_overrides.group_id
        AND groups.organization_id = OLD.organization_id;
    RETURN OLD;
END;
$$;

COMMENT ON FUNCTION delete_user_ai_budget_overrides_on_budget_cap_delete() IS 'Deleting an organization''s cap record deletes the overrides attributed to its groups, so no override outlives the record it requires.';

CREATE TRIGGER trigger_delete_user_ai_budget_overrides_on_budget_cap_delete
    BEFORE DELETE ON organization_ai_budget_caps
    FOR EACH ROW
    EXECUTE FUNCTION delete_user_ai_budget_overrides_on_budget_cap_delete();
