-- Schema of the sqlc compatibility corpus (sqlc_compat.rs): the shapes sqlc's own examples
-- use (authors and books, a self-referencing table, an enum with a punctuation-only label,
-- arrays, jsonb, a view), with a few rows.

CREATE TYPE book_type AS ENUM ('FICTION', 'NONFICTION', '#');

CREATE TABLE authors (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    bio text,
    tags text[] NOT NULL DEFAULT '{}',
    meta jsonb,
    created_at timestamptz NOT NULL DEFAULT '2024-01-01 00:00:00+00'
);

CREATE TABLE books (
    id bigserial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES authors (id),
    title text NOT NULL,
    kind book_type NOT NULL DEFAULT 'FICTION',
    year integer,
    price_cents integer NOT NULL DEFAULT 0
);

CREATE TABLE employees (
    id integer PRIMARY KEY,
    name text NOT NULL,
    manager_id integer REFERENCES employees (id)
);

CREATE VIEW author_book_counts AS
    SELECT a.id, a.name, count(b.id) AS books
    FROM authors a LEFT JOIN books b ON b.author_id = a.id
    GROUP BY a.id, a.name;

INSERT INTO authors (name, bio, tags, meta) VALUES
    ('Ursula', 'Earthsea', '{fantasy,sf}', '{"born": 1929}'),
    ('Stanislaw', NULL, '{sf}', NULL),
    ('Nobody', NULL, '{}', NULL);

INSERT INTO books (author_id, title, kind, year, price_cents) VALUES
    (1, 'A Wizard of Earthsea', 'FICTION', 1968, 950),
    (1, 'The Dispossessed', 'FICTION', 1974, 1200),
    (2, 'Solaris', 'FICTION', NULL, 825),
    (2, 'Summa Technologiae', '#', 1964, 2000);

INSERT INTO employees (id, name, manager_id) VALUES
    (1, 'boss', NULL),
    (2, 'worker', 1);

-- A schema-qualified table with a quoted name, an enum array and a jsonb column: for
-- sqlc.embed, :copyfrom and :batch*.
CREATE SCHEMA lib;

CREATE TABLE lib."Shelf Items" (
    id integer PRIMARY KEY,
    book_id bigint REFERENCES books (id),
    kinds book_type[] NOT NULL DEFAULT '{}',
    extra jsonb
);

INSERT INTO lib."Shelf Items" (id, book_id, kinds) VALUES (1, 1, '{FICTION,#}');
