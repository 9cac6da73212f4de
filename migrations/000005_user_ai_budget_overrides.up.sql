-- User AI budget overrides: a per-user limit that replaces group budgets, with
-- the spend attributed to a group the user belongs to.

CREATE TABLE user_ai_budget_overrides (
    user_id uuid NOT NULL,
    group_id uuid NOT NULL,
    spend_limit_micros bigint NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT user_ai_budget_overrides_pkey PRIMARY KEY (user_id),
    CONSTRAINT user_ai_budget_overrides_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT user_ai_budget_overrides_group_id_fkey FOREIGN KEY (group_id) REFERENCES groups (id) ON DELETE CASCADE,
    CONSTRAINT user_ai_budget_overrides_spend_limit_micros_check CHECK (spend_limit_micros >= 0)
);

COMMENT ON TABLE user_ai_budget_overrides IS 'Per-user AI spend limit that wins over group budgets. The user must be a member of group_id (Everyone group included): checked on write by a trigger (user_ai_budget_overrides_must_be_group_member), and the override is deleted when that membership goes.';

COMMENT ON COLUMN user_ai_budget_overrides.group_id IS 'The group the user''s spend is attributed to while the override applies.';

COMMENT ON COLUMN user_ai_budget_overrides.spend_limit_micros IS 'Limit per budget period, in micros. 0 blocks the user, even when a group would grant more.';

CREATE INDEX user_ai_budget_overrides_group_id_idx ON user_ai_budget_overrides (group_id);

-- A CHECK cannot read other tables without breaking dump and restore, so the
-- membership invariant is a trigger on this table plus deletion triggers on
-- the two membership tables.
CREATE FUNCTION enforce_user_ai_budget_override_membership() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1
        FROM group_members_expanded
        WHERE group_members_expanded.user_id = NEW.user_id
            AND group_members_expanded.group_id = NEW.group_id
    ) THEN
        RAISE EXCEPTION 'user % is not a member of group %', NEW.user_id, NEW.group_id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'user_ai_budget_overrides_must_be_group_member',
                  SCHEMA = TG_TABLE_SCHEMA,
                  TABLE = TG_TABLE_NAME,
                  HINT = 'Attribute the override to a group the user belongs to, such as the Everyone group of one of their organizations.';
    END IF;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION enforce_user_ai_budget_override_membership() IS 'The overridden user must be a live member of the attributed group (group_members_expanded: Everyone group included, deleted users excluded).';

CREATE TRIGGER trigger_enforce_user_ai_budget_override_membership
    BEFORE INSERT OR UPDATE ON user_ai_budget_overrides
    FOR EACH ROW
    EXECUTE FUNCTION enforce_user_ai_budget_override_membership();

CREATE FUNCTION delete_user_ai_budget_overrides_on_group_member_delete() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    DELETE FROM user_ai_budget_overrides
    WHERE user_ai_budget_overrides.user_id = OLD.user_id
        AND user_ai_budget_overrides.group_id = OLD.group_id;
    RETURN OLD;
END;
$$;

COMMENT ON FUNCTION delete_user_ai_budget_overrides_on_group_member_delete() IS 'Leaving a regular group deletes the override attributed to it.';

CREATE TRIGGER trigger_delete_user_ai_budget_overrides_on_group_member_delete
    BEFORE DELETE ON group_members
    FOR EACH ROW
    EXECUTE FUNCTION delete_user_ai_budget_overrides_on_group_member_delete();

CREATE FUNCTION delete_user_ai_budget_overrides_on_org_member_delete() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- The Everyone group has the organization's id. Overrides attributed to
    -- the organization's other groups go with the group memberships, which
    -- cascade from this row.
    DELETE FROM user_ai_budget_overrides
    WHERE user_ai_budget_overrides.user_id = OLD.user_id
        AND user_ai_budget_overrides.group_id = OLD.organization_id;
    RETURN OLD;
END;
$$;

COMMENT ON FUNCTION delete_user_ai_budget_overrides_on_org_member_delete() IS 'Leaving an organization deletes the override attributed to its Everyone group.';

CREATE TRIGGER trigger_delete_user_ai_budget_overrides_on_org_member_delete
    BEFORE DELETE ON organization_members
    FOR EACH ROW
    EXECUTE FUNCTION delete_user_ai_budget_overrides_on_org_member_delete();
