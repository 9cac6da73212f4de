//! The nullability rules on a live database: NOT NULL table columns, outer joins (left,
//! right, full, reduced to inner, and kept by the generic plan), forced `!`/`?` suffixes,
//! expressions, views, functions, grouping sets, CTEs, set operations, RETURNING; and the
//! parameter and column types the server reports.

mod common;

use common::*;
use querygen::infer::{InferredQuery, Nullability, infer};
use querygen::nullability::Proof;
use std::collections::BTreeMap;

fn inferred() -> BTreeMap<String, InferredQuery> {
    let db = fixture_db();
    let mut client = db.connect().unwrap();
    let defs = querygen::parse(&[fixture_queries()]).unwrap();
    infer(&mut client, &defs)
        .unwrap()
        .into_iter()
        .map(|q| (q.def.name.clone(), q))
        .collect()
}

/// (column, nullable, why) of a query.
fn columns(q: &InferredQuery) -> Vec<(&str, bool, Nullability)> {
    q.columns
        .iter()
        .map(|c| (c.name.as_str(), c.nullable, c.why))
        .collect()
}

use Nullability::*;

/// A query name and its expected (column, nullable, why) list.
type Case = (&'static str, &'static [(&'static str, bool, Nullability)]);

#[test]
fn the_rules() {
    let q = inferred();
    let cases: &[Case] = &[
        (
            "ParentsWithChildren",
            &[
                ("id", false, NotNullColumn),
                ("name", false, NotNullColumn),
                ("child_id", true, OuterJoin),
                ("label", true, OuterJoin),
            ],
        ),
        (
            "ChildrenWithParents",
            &[
                ("parent_name", true, OuterJoin),
                ("label", false, NotNullColumn),
            ],
        ),
        (
            "FullJoin",
            &[
                ("parent_id", true, OuterJoin),
                ("child_id", true, OuterJoin),
            ],
        ),
        (
            "LeftJoinReducedToInner",
            &[
                ("id", false, NotNullColumn),
                ("label", false, NotNullColumn),
            ],
        ),
        (
            "LeftJoinByParentId",
            &[("name", false, NotNullColumn), ("label", true, OuterJoin)],
        ),
        (
            "Forced",
            &[
                ("total", false, ForcedNotNull),
                ("max_name", false, ForcedNotNull),
                ("min_name", true, Expression),
                ("name", true, ForcedNullable),
            ],
        ),
        (
            "Expressions",
            &[
                ("next_id", false, Proven(Proof::Operator)),
                ("upper_name", false, Proven(Proof::Function)),
                ("max_child", true, Expression),
                ("note", true, NullableColumn),
            ],
        ),
        (
            "FromView",
            &[("id", true, NullableColumn), ("name", true, NullableColumn)],
        ),
        ("FromFunction", &[("name", true, Expression)]),
        (
            "Rollup",
            &[("name", true, Unproven), ("n", false, ForcedNotNull)],
        ),
        (
            "MaterializedCte",
            &[
                ("id", false, Proven(Proof::Column)),
                ("name", false, Proven(Proof::Column)),
            ],
        ),
        (
            "InlinedCte",
            &[("id", false, NotNullColumn), ("name", false, NotNullColumn)],
        ),
        ("UnionIds", &[("id", false, Proven(Proof::EveryBranch))]),
        (
            "InsertParent",
            &[
                ("id", false, NotNullColumn),
                ("code", false, NotNullColumn),
                ("note", true, NullableColumn),
            ],
        ),
        ("WeirdColumn", &[("Weird Col", false, NotNullColumn)]),
    ];
    for (name, expected) in cases {
        assert_eq!(columns(&q[*name]), *expected, "{name}");
    }
    let outer = &q["ParentsWithChildren"].columns[2];
    let origin = outer.origin.as_ref().unwrap();
    assert_eq!(
        (
            origin.relation.to_string(),
            origin.column.as_str(),
            origin.not_null
        ),
        ("public.child".to_owned(), "id", true)
    );
}

#[test]
fn types_come_from_the_server() {
    let q = inferred();
    let params = |name: &str| -> Vec<(String, String, bool, u32)> {
        q[name]
            .params
            .iter()
            .map(|p| (p.name.clone(), p.ty.sql.clone(), p.nullable, p.wire_oid))
            .collect()
    };
    assert_eq!(
        params("InsertParent"),
        [
            ("id".into(), "integer".into(), false, 0),
            ("name".into(), "text".into(), false, 0),
            ("note".into(), "text".into(), true, 0),
            ("mood".into(), "mood".into(), false, 0),
            ("tags".into(), "text[]".into(), false, 0),
            // A domain parameter is sent as its built-in base type (text, oid 25).
            ("code".into(), "short_text".into(), false, 25),
        ]
    );
    assert_eq!(
        params("ParentsByMoods"),
        [("moods".into(), "mood[]".into(), false, 0)]
    );
    // An array of a domain is sent as an array of the base type (text[], oid 1009).
    assert_eq!(
        params("ParentsByCodes"),
        [("codes".into(), "short_text[]".into(), false, 1009)]
    );
    assert_eq!(
        params("ParentsByName"),
        [("p1".into(), "text".into(), false, 0)]
    );
    // The server reports a domain column as its base type.
    let code = &q["InsertParent"].columns[1];
    assert_eq!(code.ty.sql, "text");
    let tags = &q["GetParent"].columns[4];
    assert_eq!(
        (tags.name.as_str(), tags.ty.sql.as_str()),
        ("tags", "text[]")
    );
}

#[test]
fn inference_leaves_no_prepared_statement_or_transaction_behind() {
    let db = fixture_db();
    let mut client = db.connect().unwrap();
    let defs = querygen::parse(&[fixture_queries()]).unwrap();
    infer(&mut client, &defs).unwrap();
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM pg_prepared_statements WHERE name = 'queries_infer_generic_plan'),
                    current_setting('plan_cache_mode')",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 0);
    assert_eq!(row.get::<_, String>(1), "auto");
    assert!(!client.is_closed());
    client.batch_execute("BEGIN; ROLLBACK").unwrap();
}
