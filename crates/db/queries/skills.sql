-- Personal skills: at most 100 per user (`user_skills_per_user_limit`), none for
-- soft-deleted users (`user_skill_user_deleted`), names unique per user.

-- name: CreateUserSkill :one
INSERT INTO user_skills (id, user_id, name, description, content)
VALUES (@id, @user_id, @name, @description, @content)
RETURNING *;

-- name: GetUserSkill :opt
SELECT *
FROM user_skills
WHERE user_id = @user_id
    AND name = @name;

-- name: ListUserSkills :many
SELECT *
FROM user_skills
WHERE user_id = @user_id
ORDER BY name;

-- `count(*)` is never NULL, but PostgreSQL does not say so: the `!` suffix forces it.
-- name: CountUserSkills :one
SELECT count(*) AS "count!"
FROM user_skills
WHERE user_id = @user_id;

-- name: UpdateUserSkill :one
UPDATE user_skills
SET description = @description, content = @content, updated_at = now()
WHERE user_id = @user_id
    AND name = @name
RETURNING *;

-- name: DeleteUserSkill :execrows
DELETE FROM user_skills
WHERE user_id = @user_id
    AND name = @name;

-- Many skills in one COPY (an import); the per-user limit and the name rules apply to
-- every row, and one bad row fails the whole import.
-- name: CopyUserSkills :copyfrom
INSERT INTO user_skills (id, user_id, name, description, content)
VALUES (@id, @user_id, @name, @description, @content);

-- DeleteUserSkill for many (user, name) pairs.
-- name: DeleteUserSkills :batchexec
DELETE FROM user_skills
WHERE user_id = @user_id
    AND name = @name;

-- ListUserSkills for many users: one list per user, in order.
-- name: ListUserSkillsOfUsers :batchmany
SELECT *
FROM user_skills
WHERE user_id = @user_id
ORDER BY name;
