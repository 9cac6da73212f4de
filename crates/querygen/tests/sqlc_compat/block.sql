/*
 * sqlc accepts block-comment annotations too, mixed with `--` ones in one file.
 * This header and the line comment below come before the first query.
 */
-- (part of the corpus of sqlc_compat.rs)

/* name: GetDate :one */
SELECT '2024-05-06'::date AS today;
/* name: GetBookTitle :one */
SELECT title FROM books WHERE id = @id;
/* name: CountBooks :one */ SELECT count(*)::int AS "n!" FROM books;
/* name: TouchAuthor :execresult */
UPDATE authors SET bio = bio WHERE id = sqlc.arg(id)
/* name: BooksByIdsBlock :many */
SELECT id, title FROM books WHERE id IN (sqlc.slice(ids)) ORDER BY id;
-- A line-comment doc for a line annotation between block ones.
-- name: AuthorNames :many
SELECT name FROM authors ORDER BY id;
/* name: EmployeeNames :many */
SELECT name FROM employees ORDER BY id;
