-- System users: accounts the product itself acts as. The first one, prebuilds,
-- has a fixed id that code relies on; it joins the default organization.

ALTER TABLE users ADD COLUMN is_system boolean NOT NULL DEFAULT false;

COMMENT ON COLUMN users.is_system IS 'A system user acts for the product, cannot log in, and cannot be soft-deleted, hard-deleted, renamed or demoted (users_system_user_protected). Never given an AI budget.';

INSERT INTO users (id, email, username, name, status, login_type, is_system)
VALUES ('c42fdf75-3097-471c-8c33-fb52454d81c0', 'prebuilds@system', 'prebuilds', 'Prebuilds Owner', 'active', 'none', true);

-- Member of the default organization when one exists; an organization made
-- default later gets the membership from the application.
INSERT INTO organization_members (organization_id, user_id, created_at, updated_at)
SELECT organizations.id, 'c42fdf75-3097-471c-8c33-fb52454d81c0', now(), now()
FROM organizations
WHERE organizations.is_default;

CREATE FUNCTION protect_system_users() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'system user % cannot be deleted', OLD.username
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'users_system_user_protected',
                  SCHEMA = TG_TABLE_SCHEMA,
                  TABLE = TG_TABLE_NAME;
    END IF;
    IF NEW.deleted AND NOT OLD.deleted THEN
        RAISE EXCEPTION 'system user % cannot be deleted', OLD.username
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'users_system_user_protected',
                  SCHEMA = TG_TABLE_SCHEMA,
                  TABLE = TG_TABLE_NAME;
    END IF;
    IF NEW.username IS DISTINCT FROM OLD.username OR NEW.id IS DISTINCT FROM OLD.id THEN
        RAISE EXCEPTION 'system user % cannot be renamed', OLD.username
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'users_system_user_protected',
                  SCHEMA = TG_TABLE_SCHEMA,
                  TABLE = TG_TABLE_NAME;
    END IF;
    IF NOT NEW.is_system THEN
        RAISE EXCEPTION 'system user % cannot become a regular user', OLD.username
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'users_system_user_protected',
                  SCHEMA = TG_TABLE_SCHEMA,
                  TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION protect_system_users() IS 'Refuses to soft-delete, hard-delete, rename (username or id) or demote a system user; raises users_system_user_protected.';

CREATE TRIGGER trigger_protect_system_users
    BEFORE UPDATE OR DELETE ON users
    FOR EACH ROW
    WHEN (OLD.is_system)
    EXECUTE FUNCTION protect_system_users();

-- The view gains user_is_system among the user columns: a column can only be
-- appended by CREATE OR REPLACE VIEW, so the view is dropped and recreated.
DROP VIEW group_members_expanded;

CREATE VIEW group_members_expanded AS
    WITH all_members AS (
        SELECT group_members.user_id, group_members.group_id
        FROM group_members
        UNION
        SELECT organization_members.user_id, organization_members.organization_id AS group_id
        FROM organization_members
    )
    SELECT
        users.id AS user_id,
        users.email AS user_email,
        users.username AS user_username,
        users.name AS user_name,
        users.avatar_url AS user_avatar_url,
        users.status AS user_status,
        users.login_type AS user_login_type,
        users.deleted AS user_deleted,
        users.last_seen_at AS user_last_seen_at,
        users.created_at AS user_created_at,
        users.updated_at AS user_updated_at,
        users.is_system AS user_is_system,
        groups.organization_id,
        groups.name AS group_name,
        all_members.group_id
    FROM all_members
    JOIN users ON users.id = all_members.user_id
    JOIN groups ON groups.id = all_members.group_id
    WHERE users.deleted = false;

COMMENT ON VIEW group_members_expanded IS 'Memberships of users that are not deleted: regular group memberships plus organization memberships as the Everyone group (group_id = organization_id). Exposes the user''s columns as user_*, except hashed_password.';
