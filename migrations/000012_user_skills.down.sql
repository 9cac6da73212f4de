-- irreversible: enum-value resource_type.user_skill
-- irreversible: enum-value api_key_scope.user_skill_read
-- irreversible: enum-value api_key_scope.user_skill_write
-- PostgreSQL cannot drop a value from an enum type (short of recreating the
-- type and every column using it), so the three values added by the up
-- migration stay; the up migration adds them with IF NOT EXISTS and can run
-- again. Nothing in the schema refers to them once user_skills is gone.

-- Restore the body of 000001 exactly.
CREATE OR REPLACE FUNCTION delete_deleted_user_resources() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- Leaving every organization also removes the group memberships
    -- (composite foreign key from group_members, ON DELETE CASCADE).
    DELETE FROM organization_members WHERE user_id = OLD.id;
    DELETE FROM api_keys WHERE user_id = OLD.id;
    RETURN NEW;
END;
$$;

DROP TABLE user_skills;

DROP FUNCTION enforce_user_skills_per_user_limit();
