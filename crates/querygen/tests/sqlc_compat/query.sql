-- The sqlc compatibility corpus, in sqlc's own style: `--` annotations, `$n` and `@name`,
-- sqlc.arg / sqlc.narg / sqlc.slice / sqlc.embed. block.sql has the `/* */` form.
-- sqlc_compat.rs checks each query's Rust signature and column nullability
-- (sqlc_compat/expected.txt) and runs every one against PostgreSQL.

-- name: GetAuthor :one
SELECT * FROM authors
WHERE id = $1 LIMIT 1;

-- name: ListAuthors :many
SELECT * FROM authors
ORDER BY name;

-- name: CreateAuthor :one
INSERT INTO authors (
  name, bio
) VALUES (
  $1, $2
)
RETURNING *;

-- name: DeleteAuthor :exec
DELETE FROM authors
WHERE id = $1;

-- name: UpdateAuthor :exec
UPDATE authors
  set name = sqlc.arg(name),
  bio = sqlc.arg(bio)
WHERE id = sqlc.arg(id);

-- name: UpdateAuthorBio :execrows
UPDATE authors SET bio = @bio WHERE id = @id;

-- name: UpdateAuthorName :execresult
UPDATE authors SET name = @name WHERE id = @id;

-- name: ClearOrKeepBio :exec
UPDATE authors SET bio = COALESCE(sqlc.narg(bio), bio) WHERE id = sqlc.arg(id);

-- name: ListAuthorsByIDs :many
SELECT id, name FROM authors
WHERE id IN (sqlc.slice(ids))
ORDER BY id;

-- name: ListAuthorsNotIn :many
SELECT id FROM authors
WHERE id NOT IN (sqlc.slice(ids))
ORDER BY id;

-- name: BooksByTitles :many
SELECT id FROM books WHERE title IN (sqlc.slice('titles')) AND author_id = @author_id ORDER BY id;

-- name: CountAuthors :one
SELECT count(*) FROM authors;

-- name: SearchAuthors :many
SELECT id, name FROM authors
WHERE name ILIKE '%' || sqlc.arg(query)::text || '%'
ORDER BY id;

-- name: FilterBooksByYear :many
SELECT id, title FROM books
WHERE (sqlc.narg(year)::int IS NULL OR year = sqlc.narg(year))
ORDER BY id;

-- name: BooksByAuthorAndKind :many
SELECT id, title FROM books
WHERE author_id = @author_id AND kind = sqlc.arg(kind)
ORDER BY id;

-- name: PositionalReused :many
SELECT id FROM books WHERE author_id = $1 OR id = $1 ORDER BY id;

-- name: PositionalOutOfOrder :many
SELECT id FROM books WHERE year > $2 AND author_id = $1 ORDER BY id;

-- name: CollidingParams :many
SELECT id FROM books WHERE author_id = sqlc.arg(authorId) OR author_id = @author_id ORDER BY id;

-- name: BookCountsCte :many
WITH counts AS (
  SELECT author_id, count(*) AS n FROM books GROUP BY author_id
)
SELECT a.name, c.n
FROM authors a
JOIN counts c ON c.author_id = a.id
ORDER BY a.name;

-- name: RecursiveManagers :many
WITH RECURSIVE chain AS (
  SELECT id, name, manager_id FROM employees WHERE employees.id = @id
  UNION ALL
  SELECT e.id, e.name, e.manager_id FROM employees e JOIN chain ON e.id = chain.manager_id
)
SELECT id, name FROM chain;

-- name: CreateBook :one
INSERT INTO books (author_id, title, kind)
VALUES (@author_id, @title, @kind)
RETURNING id, title, kind;

-- name: DeleteBook :one
DELETE FROM books WHERE id = $1
RETURNING *;

-- name: UpsertEmployee :one
INSERT INTO employees (id, name) VALUES (@id, @name)
ON CONFLICT (id) DO UPDATE SET name = excluded.name
RETURNING id, name, manager_id;

-- name: RepriceBooks :many
UPDATE books SET price_cents = books.price_cents + @delta::int
FROM authors
WHERE authors.id = books.author_id AND authors.name = @author_name
RETURNING books.id, books.price_cents, authors.name;

-- name: UnnestIds :many
SELECT unnest(@ids::bigint[]) AS id;

-- name: InsertBooksUnnest :execrows
INSERT INTO books (author_id, title)
SELECT * FROM unnest(@author_ids::bigint[], @titles::text[]);

-- name: GenerateSeries :many
SELECT generate_series(1, @n::int) AS n;

-- name: GenerateSeriesFrom :many
SELECT g.n FROM generate_series(1, 3) AS g(n);

-- name: CoalesceBio :many
SELECT id, COALESCE(bio, '') AS bio FROM authors ORDER BY id;

-- name: Comparisons :many
SELECT id, year > 1970 AS recent, price_cents BETWEEN @lo AND @hi AS in_range
FROM books ORDER BY id;

-- name: Casts :one
SELECT @n::int + 1 AS next, @t::text AS t, CAST(@d AS date) AS d;

-- name: WindowFunctions :many
SELECT title,
       rank() OVER (PARTITION BY author_id ORDER BY year) AS rank,
       sum(price_cents) OVER (PARTITION BY author_id) AS author_total
FROM books
ORDER BY id;

-- name: FirstBookLateral :many
SELECT a.name, b.title
FROM authors a, LATERAL (
  SELECT title FROM books WHERE books.author_id = a.id ORDER BY year LIMIT 1
) b
ORDER BY a.id;

-- name: FirstBookLeftLateral :many
SELECT a.name, b.title
FROM authors a
LEFT JOIN LATERAL (
  SELECT title FROM books WHERE books.author_id = a.id ORDER BY year LIMIT 1
) b ON true
ORDER BY a.id;

-- name: JoinUsing :many
SELECT author_id, title, name
FROM books
JOIN (SELECT id AS author_id, name FROM authors) a USING (author_id)
ORDER BY books.id;

-- name: StarAcrossJoin :many
SELECT * FROM authors a
JOIN books b ON b.author_id = a.id
ORDER BY b.id;

-- name: StarSelfJoin :many
SELECT * FROM employees e
LEFT JOIN employees m ON m.id = e.manager_id
ORDER BY e.id;

-- name: RightJoin :many
SELECT a.name, b.title FROM books b RIGHT JOIN authors a ON a.id = b.author_id ORDER BY a.id, b.id;

-- name: FullJoin :many
SELECT e.name, m.name FROM employees e FULL JOIN employees m ON m.manager_id = e.id ORDER BY e.id, m.id;

-- name: FromView :many
SELECT * FROM author_book_counts ORDER BY id;

-- name: BooksOfKind :many
SELECT id, kind FROM books WHERE kind = @kind ORDER BY id;

-- name: BooksOfKinds :many
SELECT id FROM books WHERE kind = ANY(@kinds::book_type[]) ORDER BY id;

-- name: AuthorTags :one
SELECT tags FROM authors WHERE id = @id;

-- name: AuthorsWithTags :many
SELECT id FROM authors WHERE tags @> @tags::text[] ORDER BY id;

-- name: TitlesByAuthor :many
SELECT author_id, array_agg(title ORDER BY title) AS titles
FROM books GROUP BY author_id ORDER BY author_id;

-- name: AuthorJson :one
SELECT jsonb_build_object('id', id, 'name', name) FROM authors WHERE id = @id;

-- name: TwoJsonbArrays :one
SELECT jsonb_build_array(id), jsonb_build_array(name) FROM authors WHERE id = @id;

-- name: BooksJson :one
SELECT jsonb_agg(jsonb_build_object('title', title) ORDER BY id) AS books FROM books;

-- name: AuthorMeta :many
SELECT id, meta, meta->>'born' AS born FROM authors ORDER BY id;

-- name: AuthorsAndBooks :many
SELECT sqlc.embed(authors), sqlc.embed(books)
FROM authors JOIN books ON books.author_id = authors.id
ORDER BY books.id;

-- name: AuthorWithFirstTitle :many
SELECT sqlc.embed(a), b.title
FROM authors a JOIN books b ON b.author_id = a.id
WHERE b.kind = 'FICTION'
ORDER BY b.id;

-- name: HasBooks :one
SELECT EXISTS (SELECT 1 FROM books WHERE author_id = @id);

-- name: UnionTitles :many
SELECT name FROM authors
UNION ALL
SELECT title FROM books
ORDER BY 1;

-- name: LatestBookPerAuthor :many
SELECT DISTINCT ON (author_id) author_id, title
FROM books ORDER BY author_id, year DESC NULLS LAST;

-- name: KindStats :many
SELECT kind, count(*), sum(price_cents), avg(price_cents)::float8 AS avg_price
FROM books GROUP BY kind ORDER BY kind;

-- name: ProlificAuthors :many
SELECT author_id, count(*) AS n FROM books GROUP BY author_id HAVING count(*) >= @min ORDER BY author_id;

-- name: AuthorsWithBookCount :many
SELECT a.id, (SELECT count(*) FROM books b WHERE b.author_id = a.id) AS books
FROM authors a ORDER BY a.id;

-- name: AuthorsOfKind :many
SELECT id FROM authors WHERE id IN (SELECT author_id FROM books WHERE kind = @kind) ORDER BY id;

-- name: BookEra :many
SELECT id, CASE WHEN year < 1970 THEN 'early' ELSE 'late' END AS era FROM books ORDER BY id;

-- name: PagedAuthors :many
SELECT id FROM authors ORDER BY id LIMIT @lim OFFSET @off;

-- name: NullIfBio :many
SELECT id, NULLIF(bio, '') AS bio FROM authors ORDER BY id;

-- name: CreatedDays :many
SELECT created_at, date_trunc('day', created_at) AS day FROM authors ORDER BY id;

-- name: UnnamedColumn :one
SELECT id, 1 + 1 FROM authors WHERE id = @id;

-- name: QuotedAlias :one
SELECT id AS "AuthorID", name AS "authorName" FROM authors WHERE id = @id;

-- name: CopyBooks :execrows
INSERT INTO books (author_id, title, kind)
SELECT @to_author, title, kind FROM books WHERE author_id = @from_author;

-- name: DeleteBooksOfAuthor :execrows
DELETE FROM books USING authors
WHERE authors.id = books.author_id AND authors.name = @name;

-- name: LowerNames :many
SELECT lower(name) FROM authors WHERE id = ANY(@ids::bigint[]) ORDER BY id;

-- name: BooksWithShelfItems :many
SELECT sqlc.embed(b), sqlc.embed(s)
FROM books b LEFT JOIN lib."Shelf Items" s ON s.book_id = b.id
ORDER BY b.id;

-- name: ManagersOfEmployees :many
SELECT sqlc.embed(e), sqlc.embed(m)
FROM employees e LEFT JOIN employees m ON m.id = e.manager_id
ORDER BY e.id;

-- name: CopyShelfItems :copyfrom
INSERT INTO lib."Shelf Items" (id, book_id, kinds, extra)
VALUES (@id, sqlc.narg(book_id), @kinds, sqlc.narg(extra));

-- name: CopyAuthorNames :copyfrom
INSERT INTO authors (name) VALUES (@name);

-- name: SetBookYears :batchexec
UPDATE books SET year = @year WHERE id = @id;

-- name: BookTitleBatch :batchone
SELECT title FROM books WHERE id = @id;

-- name: BooksOfAuthorsBatch :batchmany
SELECT sqlc.embed(books) FROM books WHERE author_id = @author_id ORDER BY id;

-- name: ShelfItemsByQuotedName :many
SELECT sqlc.embed("Shelf Items") FROM lib."Shelf Items" ORDER BY id;
