//! One test per nullability rule for expression columns (`src/nullability.rs`), each
//! showing the Rust type the generator writes for queries over the fixture schema, and for
//! every trap (a function or operator that is NULL for NOT NULL input, zero rows, outer
//! joins, grouping sets) the real server showing that NULL does happen.

mod common;

use common::*;

/// The Rust field types of each query's row struct, in column order. Every query must
/// return at least two columns (one column is returned bare, without a struct).
fn rust_types(setup: &str, queries: &[&str]) -> Vec<Vec<String>> {
    let db = fixture_db();
    let mut client = db.connect().unwrap();
    if !setup.is_empty() {
        client.batch_execute(setup).unwrap();
    }
    let model = model_of(&mut client);
    let mut text = String::new();
    for (i, sql) in queries.iter().enumerate() {
        text.push_str(&format!("-- name: Q{i} :many\n{sql};\n\n"));
    }
    let code = querygen::generate_str(&text, &mut client, &model).unwrap();
    (0..queries.len())
        .map(|i| {
            let start = code
                .find(&format!("pub struct Q{i}Row {{"))
                .unwrap_or_else(|| panic!("no row struct for query {i}:\n{code}"));
            let body = &code[start..];
            let body = &body[..body.find("\n}").unwrap()];
            body.lines()
                .filter_map(|l| l.trim().strip_prefix("pub "))
                .filter_map(|l| l.split_once(": "))
                .map(|(_, ty)| ty.trim_end_matches(',').to_owned())
                .collect()
        })
        .collect()
}

/// Assert each query's Rust types.
fn check(setup: &str, cases: &[(&str, &[&str])]) {
    let queries: Vec<&str> = cases.iter().map(|(q, _)| *q).collect();
    let got = rust_types(setup, &queries);
    for ((sql, expected), got) in cases.iter().zip(got) {
        assert_eq!(got, *expected, "{sql}");
    }
}

/// The values of one row of boolean columns, as the server computes them.
fn server_says(setup: &str, sql: &str) -> Vec<bool> {
    let db = fixture_db();
    let mut client = db.connect().unwrap();
    if !setup.is_empty() {
        client.batch_execute(setup).unwrap();
    }
    let row = client.query_one(sql, &[]).unwrap();
    (0..row.len()).map(|i| row.get::<_, bool>(i)).collect()
}

#[test]
fn literals_and_array_constructors() {
    check(
        "",
        &[(
            "SELECT 1 AS a, 'x' AS b, true AS c, NULL::int AS d, DATE '2024-01-01' AS e,
                    ARRAY[1, NULL] AS f, ARRAY(SELECT id FROM child WHERE false) AS g",
            &[
                "i32",
                "String",
                "bool",
                "Option<i32>",
                "::time::Date",
                "Vec<i32>",
                "Vec<i32>",
            ],
        )],
    );
    // ARRAY(SELECT ...) over no rows is an empty array, not NULL.
    assert_eq!(
        server_says(
            "",
            "SELECT ARRAY(SELECT id FROM child WHERE false) IS NULL, ARRAY[NULL::int] IS NULL"
        ),
        [false, false]
    );
}

#[test]
fn count_in_every_form() {
    check(
        "",
        &[
            (
                "SELECT count(*) AS a, count(DISTINCT note) AS b,
                        count(*) FILTER (WHERE note IS NULL) AS c, count(*) OVER () AS d,
                        count(*)::bigint AS e, count(note)::int AS f
                 FROM parent",
                &["i64", "i64", "i64", "i64", "i64", "i32"],
            ),
            // Over empty input, without GROUP BY: count is 0, sum/max/avg are NULL.
            (
                "SELECT count(*) AS n, sum(id) AS s, max(id) AS m, avg(id) AS a
                 FROM parent WHERE false",
                &[
                    "i64",
                    "Option<i64>",
                    "Option<i32>",
                    "Option<::rust_decimal::Decimal>",
                ],
            ),
        ],
    );
    assert_eq!(
        server_says(
            "",
            "SELECT count(*) = 0, sum(id) IS NULL, max(id) IS NULL, avg(id) IS NULL
             FROM parent WHERE false"
        ),
        [true, true, true, true]
    );
}

#[test]
fn coalesce_greatest_least() {
    check(
        "",
        &[(
            "SELECT coalesce(note, 'none') AS a, coalesce(note, note) AS b,
                    COALESCE(SUM(id), 0)::bigint AS c, greatest(id, NULL) AS d,
                    least(NULL::int, NULL) AS e, coalesce(NULL, id) AS f
             FROM parent GROUP BY note, id",
            &[
                "String",
                "Option<String>",
                "i64",
                "i32",
                "Option<i32>",
                "i32",
            ],
        )],
    );
    // GREATEST/LEAST ignore NULLs, unlike strict functions.
    assert_eq!(
        server_says("", "SELECT greatest(1, NULL) = 1, least(NULL, 2) = 2"),
        [true, true]
    );
}

#[test]
fn casts() {
    check(
        "",
        &[(
            "SELECT id::text AS a, note::varchar AS b, CAST(id AS bigint) AS c,
                    name::short_text AS d
             FROM parent",
            &["String", "Option<String>", "i64", "String"],
        )],
    );
}

#[test]
fn strict_operators_over_not_null_operands() {
    check(
        "",
        &[(
            "SELECT id + 1 AS a, -id AS b, name || '!' AS c, note || '!' AS d, id > 1 AS e,
                    name LIKE 'o%' AS f, name ~ 'o' AS g, tags @> ARRAY['a'] AS h,
                    id IN (1, 2) AS i, id IN (1, NULL) AS j, id BETWEEN 1 AND 2 AS k,
                    NOT (id > 1) AS l, id > 1 AND name = 'x' AS m, note = 'x' OR id = 1 AS n,
                    id = ANY (ARRAY[1, 2]) AS o, id = ANY (ARRAY[1, NULL]) AS p,
                    (id, name) = (1, 'one') AS q
             FROM parent",
            &[
                "i32",
                "i32",
                "String",
                "Option<String>",
                "bool",
                "bool",
                "bool",
                "bool",
                "bool",
                "Option<bool>",
                "bool",
                "bool",
                "bool",
                "Option<bool>",
                "bool",
                "Option<bool>",
                "bool",
            ],
        )],
    );
    // Why the last ones stay optional: a NULL in the list or array, or an OR whose other
    // operand is false.
    assert_eq!(
        server_says(
            "",
            "SELECT (2 IN (1, NULL)) IS NULL, (2 = ANY (ARRAY[1, NULL])) IS NULL,
                    (NULL = 'x' OR 1 = 2) IS NULL"
        ),
        [true, true, true]
    );
}

#[test]
fn operators_that_may_return_null() {
    // jsonb `->`, `->>`, `#>`, `#>>` are NULL for a missing key or path.
    check(
        "",
        &[(
            "SELECT '{}'::jsonb -> 'k' AS a, '{}'::jsonb ->> 'k' AS b,
                    '{}'::jsonb #> '{k}' AS c, '{}'::jsonb #>> '{k}' AS d
             FROM parent",
            &[
                "Option<::serde_json::Value>",
                "Option<String>",
                "Option<::serde_json::Value>",
                "Option<String>",
            ],
        )],
    );
    assert_eq!(
        server_says(
            "",
            "SELECT ('{}'::jsonb -> 'k') IS NULL, ('{}'::jsonb ->> 'k') IS NULL,
                    ('{}'::jsonb #> '{k}') IS NULL, ('{}'::jsonb #>> '{k}') IS NULL"
        ),
        [true, true, true, true]
    );
}

#[test]
fn a_user_defined_non_strict_operator_proves_nothing() {
    let setup = "CREATE FUNCTION int_plus_maybe(integer, integer) RETURNS integer
                     LANGUAGE sql IMMUTABLE AS 'SELECT NULL::integer';
                 CREATE OPERATOR + (LEFTARG = integer, RIGHTARG = integer, FUNCTION = int_plus_maybe);";
    // The user's `+` for (integer, integer) lives in public and shadows nothing built in
    // for `public.+`; whichever PostgreSQL resolves, the symbol now has a non-strict
    // overload, so `+` proves nothing.
    check(
        setup,
        &[(
            "SELECT id + 1 AS a, id * 2 AS b FROM parent",
            &["Option<i32>", "i32"],
        )],
    );
}

#[test]
fn null_tests_distinct_from_exists() {
    check(
        "",
        &[(
            "SELECT note IS NULL AS a, note IS NOT NULL AS b, note IS DISTINCT FROM 'x' AS c,
                    note IS NOT DISTINCT FROM NULL AS d, (note = 'x') IS TRUE AS e,
                    (note = 'x') IS NOT FALSE AS f, EXISTS (SELECT 1 FROM child WHERE false) AS g,
                    NOT EXISTS (SELECT 1 FROM child) AS h
             FROM parent",
            &[
                "bool", "bool", "bool", "bool", "bool", "bool", "bool", "bool",
            ],
        )],
    );
}

#[test]
fn case_needs_else_and_not_null_branches() {
    check(
        "",
        &[(
            "SELECT CASE WHEN id > 1 THEN 'a' ELSE 'b' END AS a,
                    CASE WHEN id > 1 THEN 'a' END AS b,
                    CASE WHEN id > 1 THEN note ELSE 'b' END AS c,
                    CASE mood WHEN 'ok' THEN 1 WHEN 'sad' THEN 2 ELSE 3 END AS d,
                    CASE WHEN note IS NULL THEN 0 ELSE length(note) END AS e
             FROM parent",
            &[
                "String",
                "Option<String>",
                "Option<String>",
                "i32",
                "Option<i32>",
            ],
        )],
    );
    assert_eq!(
        server_says("", "SELECT (CASE WHEN false THEN 'a' END) IS NULL"),
        [true]
    );
}

#[test]
fn strict_builtin_functions() {
    check(
        "",
        &[(
            "SELECT now() AS a, gen_random_uuid() AS b, upper(name) AS c, length(name) AS d,
                    lower(note) AS e, abs(id) AS f, current_date AS g,
                    date_trunc('day', now()) AS h, concat(note, 'x') AS i,
                    concat_ws(',', note, name) AS j, format('%s', note) AS k,
                    jsonb_build_object('id', id) AS l, trim(name) AS m,
                    replace(name, 'o', '0') AS n, split_part(name, 'o', 2) AS o,
                    position('o' in name) AS p, now() AT TIME ZONE 'UTC' AS q
             FROM parent",
            &[
                "::time::OffsetDateTime",
                "::uuid::Uuid",
                "String",
                "i32",
                "Option<String>",
                "i32",
                "::time::Date",
                "::time::OffsetDateTime",
                "String",
                "String",
                "String",
                "::serde_json::Value",
                "String",
                "String",
                "String",
                "i32",
                "::time::PrimitiveDateTime",
            ],
        )],
    );
    assert_eq!(
        server_says(
            "",
            "SELECT concat(NULL, NULL) = '', concat_ws(',', NULL) = '', format('%s', NULL) = ''"
        ),
        [true, true, true]
    );
}

#[test]
fn strict_functions_known_to_return_null_stay_optional() {
    check(
        "",
        &[(
            "SELECT nullif(name, 'x') AS a, substring(name from 'z+') AS b,
                    array_position(tags, 'z') AS c, array_length(tags, 1) AS d,
                    regexp_match(name, 'z') AS e, current_setting('no.such', true) AS f,
                    to_char(now(), '') AS g, extract(hour from now()) AS h,
                    lower('[1,5)'::int4range) AS i, jsonb_extract_path('{}'::jsonb, 'k') AS j,
                    json_extract_path_text('{}'::json, 'k') AS k,
                    date_part('hour', now()) AS l
             FROM parent",
            &[
                "Option<String>",
                "Option<String>",
                "Option<i32>",
                "Option<i32>",
                "Option<Vec<String>>",
                "Option<String>",
                "Option<String>",
                "Option<::rust_decimal::Decimal>",
                "Option<i32>",
                "Option<::serde_json::Value>",
                "Option<String>",
                "Option<f64>",
            ],
        )],
    );
    assert_eq!(
        server_says(
            "",
            "SELECT nullif('x', 'x') IS NULL, substring('abc' from 'z+') IS NULL,
                    array_position(ARRAY['a'], 'z') IS NULL, array_length('{}'::text[], 1) IS NULL,
                    regexp_match('abc', 'z') IS NULL, current_setting('no.such', true) IS NULL,
                    to_char(now(), '') IS NULL,
                    extract(hour from 'infinity'::timestamptz) IS NULL,
                    lower('empty'::int4range) IS NULL, jsonb_extract_path('{}'::jsonb, 'k') IS NULL,
                    json_extract_path_text('{}'::json, 'k') IS NULL,
                    date_part('hour', 'infinity'::timestamptz) IS NULL"
        ),
        [true; 12]
    );
}

#[test]
fn user_defined_strict_functions_are_not_trusted() {
    let setup = "CREATE FUNCTION maybe(integer) RETURNS integer
                     LANGUAGE sql STRICT IMMUTABLE AS 'SELECT NULL::integer';";
    check(
        setup,
        &[(
            "SELECT maybe(id) AS a, abs(id) AS b FROM parent",
            &["Option<i32>", "i32"],
        )],
    );
    assert_eq!(server_says(setup, "SELECT maybe(1) IS NULL"), [true]);
}

#[test]
fn column_references_inside_expressions() {
    check(
        "",
        &[
            (
                "SELECT p.id + 0 AS a, c.label || '' AS b, c.id + 1 AS c2, p.note || '' AS d
                 FROM parent p LEFT JOIN child c ON c.parent_id = p.id",
                &["i32", "Option<String>", "Option<i32>", "Option<String>"],
            ),
            (
                "SELECT p.id + 0 AS a, c.label || '' AS b
                 FROM parent p RIGHT JOIN child c ON c.parent_id = p.id",
                &["Option<i32>", "String"],
            ),
            (
                // (Not `a`, `b`: that row would be the composite type `pair`'s struct.)
                "SELECT p.id + 0 AS pa, c.label || '' AS cb
                 FROM parent p FULL JOIN child c ON c.parent_id = p.id",
                &["Option<i32>", "Option<String>"],
            ),
            (
                "SELECT p.id + 0 AS a, c.label || '' AS b
                 FROM parent p JOIN child c ON c.parent_id = p.id",
                &["i32", "String"],
            ),
            // A view's columns: PostgreSQL does not track NOT NULL for them.
            (
                "SELECT name || '' AS a, id + 0 AS b FROM parent_view",
                &["Option<String>", "Option<i32>"],
            ),
            // Unqualified, correlated, and through a nested join.
            (
                "SELECT label || '' AS a,
                        (SELECT count(*) FROM parent WHERE parent.id = child.parent_id) AS b
                 FROM (child JOIN parent ON parent.id = child.parent_id)",
                &["String", "i64"],
            ),
        ],
    );
    assert_eq!(
        server_says(
            "",
            "SELECT bool_or(c.label || '' IS NULL)
             FROM parent p LEFT JOIN child c ON c.parent_id = p.id"
        ),
        [true]
    );
}

#[test]
fn ctes_and_subqueries_carry_their_columns() {
    check(
        "",
        &[
            (
                "WITH t AS (SELECT parent_id, count(*) AS n FROM child GROUP BY parent_id)
                 SELECT t.parent_id, t.n, t.n + 1 AS m FROM t",
                &["Option<i32>", "i64", "i64"],
            ),
            (
                "SELECT s.n, s.m FROM (SELECT count(*) AS n, max(id) AS m FROM child) s",
                &["i64", "Option<i32>"],
            ),
            (
                "SELECT * FROM (SELECT count(*) AS n, max(id) AS m FROM child) s",
                &["i64", "Option<i32>"],
            ),
            // A cast keeps the function's name (`count`), as PostgreSQL names it.
            (
                "SELECT s.count, s.id FROM (SELECT count(*)::int, max(id) AS id FROM child) s",
                &["i32", "Option<i32>"],
            ),
            // A schema-qualified table.
            (
                "SELECT public.parent.name || '' AS a, parent.id + 0 AS b FROM public.parent",
                &["String", "i32"],
            ),
            // The CTE on the nullable side of a LEFT JOIN.
            (
                "WITH t AS (SELECT parent_id, count(*) AS n FROM child GROUP BY parent_id)
                 SELECT p.id, t.n FROM parent p LEFT JOIN t ON t.parent_id = p.id",
                &["i32", "Option<i64>"],
            ),
            // Column aliases of the CTE and a MATERIALIZED CTE.
            (
                "WITH t (a, b) AS MATERIALIZED (SELECT id, name FROM parent)
                 SELECT a, b || '' AS c FROM t",
                &["i32", "String"],
            ),
            // Recursive CTEs prove nothing.
            (
                "WITH RECURSIVE r (n, s) AS (SELECT 1, 'a' UNION ALL SELECT n + 1, s FROM r WHERE n < 3)
                 SELECT n, s FROM r",
                &["Option<i32>", "Option<String>"],
            ),
            (
                "SELECT p.id, x.n FROM parent p,
                        LATERAL (SELECT count(*) AS n FROM child c WHERE c.parent_id = p.id) x",
                &["i32", "i64"],
            ),
            (
                "SELECT p.id, x.n FROM parent p
                 LEFT JOIN LATERAL (SELECT count(*) AS n FROM child c WHERE c.parent_id = p.id) x
                   ON true",
                &["i32", "Option<i64>"],
            ),
        ],
    );
}

#[test]
fn scalar_subqueries() {
    check(
        "",
        &[(
            "SELECT (SELECT count(*) FROM child) AS a, (SELECT max(id) FROM child) AS b,
                    (SELECT id FROM child LIMIT 1) AS c,
                    (SELECT count(*) FROM child GROUP BY parent_id LIMIT 1) AS d,
                    (SELECT count(*) FROM child HAVING count(*) > 5) AS e,
                    (SELECT coalesce(sum(id), 0) FROM child WHERE false) AS f,
                    (SELECT count(*) FROM child OFFSET 1) AS g
             FROM parent",
            &[
                "i64",
                "Option<i32>",
                "Option<i32>",
                "Option<i64>",
                "Option<i64>",
                "i64",
                "Option<i64>",
            ],
        )],
    );
    assert_eq!(
        server_says(
            "",
            "SELECT (SELECT count(*) FROM child HAVING count(*) > 5) IS NULL,
                    (SELECT count(*) FROM child GROUP BY parent_id HAVING false) IS NULL,
                    (SELECT count(*) FROM child OFFSET 1) IS NULL,
                    (SELECT count(*) FROM child WHERE false) = 0"
        ),
        [true, true, true, true]
    );
}

#[test]
fn window_functions() {
    check(
        "",
        &[(
            "SELECT row_number() OVER () AS a, rank() OVER (ORDER BY id) AS b,
                    dense_rank() OVER (ORDER BY id) AS c, ntile(2) OVER () AS d,
                    percent_rank() OVER (ORDER BY id) AS e, lag(id) OVER () AS f,
                    sum(id) OVER () AS g, first_value(id) OVER () AS h,
                    count(note) OVER (PARTITION BY mood) AS i
             FROM parent",
            &[
                "i64",
                "i64",
                "i64",
                "i32",
                "f64",
                "Option<i32>",
                "Option<i64>",
                "Option<i32>",
                "i64",
            ],
        )],
    );
    assert_eq!(
        server_says(
            "",
            "SELECT bool_or(l IS NULL) FROM (SELECT lag(id) OVER (ORDER BY id) AS l FROM parent) s"
        ),
        [true]
    );
}

#[test]
fn other_aggregates_stay_optional() {
    check(
        "",
        &[(
            "SELECT sum(id) AS a, max(name) AS b, min(id) AS c, avg(id) AS d,
                    array_agg(id) AS e, string_agg(name, ',') AS f, bool_and(id > 0) AS g,
                    coalesce(array_agg(id), '{}') AS h
             FROM parent GROUP BY mood",
            &[
                "Option<i64>",
                "Option<String>",
                "Option<i32>",
                "Option<::rust_decimal::Decimal>",
                "Option<Vec<i32>>",
                "Option<String>",
                "Option<bool>",
                "Vec<i32>",
            ],
        )],
    );
}

#[test]
fn set_operations_and_values() {
    check(
        "",
        &[
            (
                "SELECT id, name FROM parent UNION ALL SELECT id, label FROM child",
                &["i32", "String"],
            ),
            (
                "SELECT id, note FROM parent UNION SELECT id, label FROM child",
                &["i32", "Option<String>"],
            ),
            (
                "SELECT id, name FROM parent INTERSECT SELECT parent_id, label FROM child",
                &["Option<i32>", "String"],
            ),
            ("VALUES (1, 'a'), (2, NULL)", &["i32", "Option<String>"]),
        ],
    );
}

#[test]
fn grouping_sets_make_grouped_columns_nullable() {
    check(
        "",
        &[(
            "SELECT name, count(*) AS n, coalesce(name, 'all') AS label, name || '' AS s,
                    sum(id) AS total
             FROM parent GROUP BY ROLLUP (name)",
            &[
                "Option<String>",
                "i64",
                "String",
                "Option<String>",
                "Option<i64>",
            ],
        )],
    );
    assert_eq!(
        server_says(
            "",
            "SELECT bool_or(s IS NULL) FROM (SELECT name || '' AS s FROM parent GROUP BY ROLLUP (name)) x"
        ),
        [true]
    );
}

#[test]
fn parameters() {
    check(
        "",
        &[(
            "SELECT @a::int AS a, sqlc.narg(b)::int AS b, @c::text || name AS c,
                    coalesce(sqlc.narg(d)::int, 0) AS d
             FROM parent",
            &["i32", "Option<i32>", "String", "i32"],
        )],
    );
}

#[test]
fn set_returning_functions_in_select_stay_optional() {
    check(
        "",
        &[(
            "SELECT generate_series(1, id) AS g, unnest(tags) AS t FROM parent",
            &["Option<i32>", "Option<String>"],
        )],
    );
    // Two of different lengths: the shorter one is padded with NULLs.
    assert_eq!(
        server_says(
            "",
            "SELECT bool_or(a IS NULL) FROM (SELECT generate_series(1, 2) AS a, generate_series(1, 3) AS b) s"
        ),
        [true]
    );
}

#[test]
fn returning_expressions() {
    check(
        "",
        &[
            (
                "INSERT INTO parent (id, name) VALUES (@id, @name)
                 RETURNING id * 2 AS twice, upper(name) AS up, note || '' AS n",
                &["i32", "String", "Option<String>"],
            ),
            (
                "UPDATE parent SET note = 'x' WHERE id = @id RETURNING id + 0 AS i, length(note) AS l",
                &["i32", "Option<i32>"],
            ),
            (
                "DELETE FROM child c USING parent p WHERE p.id = c.parent_id AND c.id = @id
                 RETURNING c.label || '!' AS l, c.parent_id + 0 AS p, p.name || '' AS n",
                &["String", "Option<i32>", "String"],
            ),
        ],
    );
}

#[test]
fn suffixes_still_win() {
    check(
        "",
        &[(
            r#"SELECT count(*) AS "n?", max(note) AS "note!", id + 1 AS "next?" FROM parent GROUP BY id"#,
            &["Option<i64>", "String", "Option<i32>"],
        )],
    );
}

#[test]
fn stars_keep_the_column_rule() {
    check(
        "",
        &[(
            "SELECT c.*, c.id + 1 AS next FROM parent p RIGHT JOIN child c ON c.parent_id = p.id",
            &["i32", "Option<i32>", "String", "i32", "i32"],
        )],
    );
}

#[test]
fn unparsable_statements_fall_back_with_a_note() {
    // sqlparser 0.63 does not know `FOR NO KEY UPDATE`; PostgreSQL does.
    let sql = "SELECT id + 1 AS next, name FROM parent WHERE id = @id FOR NO KEY UPDATE";
    check("", &[(sql, &["Option<i32>", "String"])]);
    let db = fixture_db();
    let mut client = db.connect().unwrap();
    let defs = querygen::parse(&[querygen::annotate::SourceFile {
        display: "queries.sql".to_owned(),
        text: format!("-- name: Locked :many\n{sql};\n"),
    }])
    .unwrap();
    let inferred = querygen::infer::infer(&mut client, &defs).unwrap();
    assert_eq!(inferred[0].notes.len(), 1);
    assert!(
        inferred[0].notes[0].starts_with("sqlparser could not parse it (sql parser error: "),
        "{:?}",
        inferred[0].notes
    );
    assert!(inferred[0].notes[0].ends_with("so its expression columns are optional."));
}
