//! Every pseudo-constraint the model extracts from the nasty schema is really raised, with
//! its SQLSTATE and name, by a failing write.

mod common;

use common::*;
use schema::model::Origin;
use std::collections::BTreeSet;

const SETUP: &str = r#"
INSERT INTO public."Users" ("Email") VALUES ('a@example.com');
INSERT INTO public.budgets (owner_id, limit_micros) SELECT "Id", 100 FROM public."Users";
INSERT INTO public.api_keys (id, user_id, secret, scopes, code)
    SELECT '00000000-0000-0000-0000-000000000001', "Id", '\x01', '{}', 'ab' FROM public."Users";
INSERT INTO "Weird Schema"."Order Items" ("Order ID", "Line", qty, unit_price) VALUES (1, 1, 1, 1);
"#;

/// (name, SQLSTATE, a write that must fail with exactly that).
const FAILING_WRITES: &[(&str, &str, &str)] = &[
    (
        "budgets_spent_within_limit",
        "23514",
        "UPDATE public.budgets SET spent_micros = 101",
    ),
    (
        "budgets_limit_sane",
        "23514",
        "UPDATE public.budgets SET limit_micros = 2000000000000",
    ),
    (
        "budgets_one_per_owner",
        "23505",
        "INSERT INTO public.budgets (owner_id, limit_micros) SELECT \"Id\", 1 FROM public.\"Users\"",
    ),
    (
        "no_double_dollars",
        "P0001",
        "SELECT public.no_dollars('a$$b')",
    ),
    (
        "api_keys_secret_immutable",
        "23000",
        "UPDATE public.api_keys SET secret = '\\x02'",
    ),
    (
        "Order Items: order id is immutable",
        "23000",
        "UPDATE \"Weird Schema\".\"Order Items\" SET \"Order ID\" = 2",
    ),
    (
        "budget_overrides_reason_required",
        "23514",
        "INSERT INTO public.budget_overrides (budget_id, extra_micros) SELECT id, 1 FROM public.budgets",
    ),
];

#[test]
fn every_pseudo_constraint_is_raised_by_a_failing_write() {
    let db = fixture_db("nasty.sql");
    let (_, model) = introspect(&db);
    let extracted: BTreeSet<(&str, &str)> = model
        .constraints
        .iter()
        .filter(|c| c.origin == Origin::Trigger)
        .map(|c| (c.name.as_str(), c.kind.sqlstate()))
        .collect();
    let covered: BTreeSet<(&str, &str)> = FAILING_WRITES.iter().map(|(n, s, _)| (*n, *s)).collect();
    assert_eq!(
        extracted, covered,
        "every extracted pseudo-constraint needs a failing write here"
    );

    let mut client = db.connect().unwrap();
    client.batch_execute(SETUP).unwrap();
    for (name, sqlstate, sql) in FAILING_WRITES {
        let mut tx = client.transaction().unwrap();
        let err = tx.batch_execute(sql).expect_err(sql);
        let db_err = err.as_db_error().unwrap_or_else(|| panic!("{sql}: {err}"));
        assert_eq!(db_err.code().code(), *sqlstate, "{sql}: {db_err}");
        assert_eq!(db_err.constraint(), Some(*name), "{sql}: {db_err}");
        tx.rollback().unwrap();
    }
}
