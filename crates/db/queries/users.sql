-- Users. System users (`is_system`, e.g. the prebuilds owner) act for the product: every
-- query that lists or finds users hides them unless `include_system` is true.

-- A user by id, soft-deleted ones included (check `deleted`).
-- name: GetUser :one
SELECT *
FROM users
WHERE id = @id
    AND (@include_system OR NOT is_system);

-- A live (not deleted) user by username, case-insensitively.
-- name: GetUserByUsername :opt
SELECT *
FROM users
WHERE lower(username) = lower(@username)
    AND NOT deleted
    AND (@include_system OR NOT is_system);

-- Live users, by username.
-- name: ListUsers :many
SELECT *
FROM users
WHERE NOT deleted
    AND (@include_system OR NOT is_system)
ORDER BY lower(username), id;

-- name: CreateUser :one
INSERT INTO users (id, email, username, name, status, login_type)
VALUES (@id, @email, @username, @name, @status, @login_type)
RETURNING *;

-- Soft delete: the row and its spend history stay; memberships, keys and skills go
-- (trigger). A system user is refused with `users_system_user_protected`. Returns 0 when
-- the user does not exist or is already deleted.
-- name: SoftDeleteUser :execrows
UPDATE users
SET deleted = true, updated_at = now()
WHERE id = @id
    AND NOT deleted;

-- Live users, each with every organization they belong to: one row per membership, and
-- one row with `organizations: None` for a user in no organization.
-- name: ListUsersWithOrganizations :many
SELECT sqlc.embed(users), sqlc.embed(organizations)
FROM users
LEFT JOIN organization_members ON organization_members.user_id = users.id
LEFT JOIN organizations ON organizations.id = organization_members.organization_id
WHERE NOT users.deleted
    AND (@include_system OR NOT users.is_system)
ORDER BY lower(users.username), users.id, organizations.name;

-- Many users in one COPY (an import from another identity provider); one bad row (a
-- taken username or email) fails the whole import.
-- name: CopyUsers :copyfrom
INSERT INTO users (id, email, username, name, status, login_type)
VALUES (@id, @email, @username, @name, @status, @login_type);
