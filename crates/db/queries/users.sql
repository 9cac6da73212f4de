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
