-- The torture schema: every name and type a real project has that a generator can trip on.
-- Generated into crates/db/tests/torture/ by crates/generate/tests/torture.rs (with gen.toml
-- beside this folder and `--type tsvector=String`), compiled and exercised by
-- crates/db/tests/torture.rs.

CREATE EXTENSION IF NOT EXISTS ltree;
CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS hstore;

CREATE SCHEMA utils;
CREATE SCHEMA "Mixed Case";
-- Not in gen.toml's `schemas`: nothing of it is generated.
CREATE SCHEMA ignored;

-- The empty label (renamed in gen.toml) and two labels that differ only in case.
CREATE TYPE form_type AS ENUM ('', 'radio', 'Radio', 'check box', 'drop-down');
-- `error` and `err` next to the generated `Err`/`Error` associated types; the empty label
-- with no configuration.
CREATE TYPE status AS ENUM ('ok', 'error', 'err', 'pending', '');
-- Punctuation, digits, keywords, non-ASCII and names of generated items.
CREATE TYPE punct AS ENUM (
    '#', '+', '-', '?', '...', ' ', 'C++', 'C#', 'A+', 'A-', 'A', '50%', '1st', 'café', '北京',
    '🚀', 'Self', 'type', 'ALL', 'as_str', 'from_label', 'SQL_NAME', 'Error', 'Err', 'Ok',
    'None', 'Some', 'UnknownEnumLabel'
);
-- Enum types named like what enums.rs itself uses.
CREATE TYPE option AS ENUM ('some', 'none');
CREATE TYPE unknown_enum_label AS ENUM ('x');
CREATE TYPE utils.level AS ENUM ('low', 'high');
CREATE TYPE "Mixed Case"."Kind" AS ENUM ('Big One', 'small-one');
CREATE TYPE ignored.hidden AS ENUM ('a');

-- A composite type with an attribute that needs quoting and one of an enum.
CREATE TYPE pair AS (a integer, "B Name" text, st status);

-- Domains over an enum and over a base type.
CREATE DOMAIN status_d AS status;
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
