-- group_members_expanded: every membership of a live user, with the implicit
-- Everyone group (id = organization id) coming from organization_members.

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
        groups.organization_id,
        groups.name AS group_name,
        all_members.group_id
    FROM all_members
    JOIN users ON users.id = all_members.user_id
    JOIN groups ON groups.id = all_members.group_id
    WHERE users.deleted = false;

COMMENT ON VIEW group_members_expanded IS 'Memberships of users that are not deleted: regular group memberships plus organization memberships as the Everyone group (group_id = organization_id). Exposes the user''s columns as user_*, except hashed_password.';
