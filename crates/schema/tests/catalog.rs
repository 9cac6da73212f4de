//! The model against a real server: the constraint set equals the catalog's, for the nasty
//! fixture schema and for the project's migrations; rejected statements never hide one.

mod common;

use common::*;
use schema::model::{ConstraintKind, Origin, Owner, PgTypeKind, RelationKind, UniqueFlavour};
use std::collections::BTreeSet;

fn catalog_names(model: &schema::SchemaModel) -> BTreeSet<String> {
    model
        .constraints
        .iter()
        .filter(|c| c.origin == Origin::Catalog)
        .map(|c| c.name.clone())
        .collect()
}

#[test]
fn nasty_schema_constraints_equal_pg_constraint_and_unique_indexes() {
    let db = fixture_db("nasty.sql");
    let (_, model) = introspect(&db);
    let mut client = db.connect().unwrap();
    let expected: BTreeSet<String> = pg_constraint_names(&mut client).into_iter().collect();
    assert_eq!(catalog_names(&model), expected);
    // And, written out by hand, what the fixture declares:
    let by_hand: BTreeSet<String> = [
        "Order Items_pkey",
        "QtyPositive",
        "Users_Email_key",
        "Users_lower_email_idx",
        "Users_pkey",
        "api_keys_one_active_per_user",
        "api_keys_pkey",
        "api_keys_ticket_key",
        "api_keys_user_fk",
        "api_keys_weight_check",
        "archived_items_pkey",
        "budget_overrides_budget_id_fkey",
        "budgets_owner_id_fkey",
        "budgets_pkey",
        "email_has_at",
        "events_2024_id_at_expr_idx",
        "events_2024_pkey",
        "events_2025_id_at_expr_idx",
        "events_2025_pkey",
        "events_actor_fkey",
        "events_id_at_payload_idx",
        "events_payload_is_object",
        "events_pkey",
        "non_negative",
        "positive_int_check",
        "rooms_booked_by_fkey",
        "rooms_one_booking",
        "short_code_check",
        "users type is known",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    // INHERITS copies CHECKs but not primary keys: archived_items has no pkey.
    let by_hand: BTreeSet<String> = by_hand
        .into_iter()
        .filter(|n| n != "archived_items_pkey")
        .collect();
    assert_eq!(expected, by_hand);
    assert!(
        model.constraints.iter().all(|c| c.origin != Origin::Dump),
        "dump-only constraints: {:#?}",
        model.warnings
    );
}

#[test]
fn nasty_schema_kinds_owners_and_flags() {
    let db = fixture_db("nasty.sql");
    let (_, model) = introspect(&db);
    let find = |name: &str| {
        model
            .constraints
            .iter()
            .filter(|c| c.name == name)
            .collect::<Vec<_>>()
    };
    let weight = find("api_keys_weight_check");
    assert_eq!(weight.len(), 1);
    assert!(!weight[0].validated, "NOT VALID");
    assert_eq!(weight[0].kind, ConstraintKind::Check);
    let email = find("email_has_at");
    assert!(matches!(&email[0].owner, Owner::Domain(d) if d.name == "email"));
    assert!(!email[0].validated);
    assert_eq!(
        find("Users_lower_email_idx")[0].kind,
        ConstraintKind::Unique(UniqueFlavour::Index)
    );
    assert_eq!(
        find("Users_pkey")[0].kind,
        ConstraintKind::Unique(UniqueFlavour::PrimaryKey)
    );
    assert_eq!(find("rooms_one_booking")[0].kind, ConstraintKind::Exclude);
    // Partition clones and inheritance children share their parent's names.
    let payload = find("events_payload_is_object");
    assert_eq!(payload.len(), 3);
    assert_eq!(payload.iter().filter(|c| !c.inherited).count(), 1);
    assert_eq!(find("events_actor_fkey").len(), 3);
    assert_eq!(find("QtyPositive").len(), 2);
    let shared = find("non_negative");
    assert_eq!(shared.len(), 2);
    assert_eq!(
        shared
            .iter()
            .filter_map(|c| c.comment.as_deref())
            .collect::<Vec<_>>(),
        ["Budgets are never negative."]
    );
}

#[test]
fn nasty_schema_pseudo_constraints() {
    let db = fixture_db("nasty.sql");
    let (_, model) = introspect(&db);
    let pseudo: BTreeSet<(String, String, String)> = model
        .constraints
        .iter()
        .filter(|c| c.origin == Origin::Trigger)
        .map(|c| {
            (
                c.name.clone(),
                c.kind.sqlstate().to_owned(),
                c.owner.name().display_name(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String, String)> = [
        ("budgets_spent_within_limit", "23514", "budgets"),
        ("budgets_limit_sane", "23514", "budgets"),
        ("budgets_one_per_owner", "23505", "budgets"),
        ("no_double_dollars", "P0001", "no_dollars"),
        ("api_keys_secret_immutable", "23000", "api_keys"),
        (
            "Order Items: order id is immutable",
            "23000",
            "Weird Schema.Order Items",
        ),
        (
            "budget_overrides_reason_required",
            "23514",
            "budget_overrides",
        ),
    ]
    .into_iter()
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()))
    .collect();
    assert_eq!(pseudo, expected);
    assert!(
        !pseudo.iter().any(|(n, _, _)| n == "not_me"),
        "a RAISE in a comment does not count"
    );
    assert!(
        model.warnings.iter().all(|w| !w.contains("TG_ARGV")),
        "{:#?}",
        model.warnings
    );
}

#[test]
fn nasty_schema_enums_relations_and_types() {
    let db = fixture_db("nasty.sql");
    let (_, model) = introspect(&db);
    let mood = model.enums.iter().find(|e| e.name.name == "mood").unwrap();
    assert_eq!(
        mood.labels,
        ["sad", "meh", "ok", "happy"],
        "catalog (sort) order"
    );
    assert_eq!(mood.comment.as_deref(), Some("How someone feels."));
    let status = model
        .enums
        .iter()
        .find(|e| e.name.schema == "Weird Schema")
        .unwrap();
    assert_eq!(status.labels, ["in-progress", "DONE", "on hold"]);

    let names: Vec<String> = model.relations.iter().map(|r| r.name.to_string()).collect();
    assert_eq!(
        names,
        [
            "Weird Schema.Order Items",
            "Weird Schema.archived_items",
            "audit.events",
            "public.Users",
            "public.api_keys",
            "public.budget_overrides",
            "public.budget_totals",
            "public.budgets",
            "public.rooms",
            "public.user_moods",
        ],
        "partitions are not relations of their own"
    );
    let users = model
        .relations
        .iter()
        .find(|r| r.name.name == "Users")
        .unwrap();
    let cols: Vec<&str> = users.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        cols,
        [
            "Id",
            "Email",
            "displayName",
            "mood",
            "age",
            "type",
            "tags",
            "moods",
            "created_at"
        ]
    );
    assert_eq!(users.columns[0].identity.as_deref(), Some("a"));
    assert!(
        matches!(&users.columns[1].ty.kind, PgTypeKind::Domain { base } if base.name.name == "text")
    );
    assert!(
        matches!(&users.columns[7].ty.kind, PgTypeKind::Array { element } if element.kind == PgTypeKind::Enum)
    );
    assert!(
        users
            .comment
            .as_deref()
            .unwrap()
            .starts_with("People and bots.")
    );
    assert_eq!(
        users.columns[2].comment.as_deref(),
        Some("Shown in the UI; NULL means \"use the email\".")
    );
    assert!(!users.columns[2].not_null && users.columns[1].not_null);
    let totals = model
        .relations
        .iter()
        .find(|r| r.name.name == "budget_totals")
        .unwrap();
    assert_eq!(totals.kind, RelationKind::MaterializedView);
    let events = model
        .relations
        .iter()
        .find(|r| r.name.name == "events")
        .unwrap();
    assert_eq!(events.kind, RelationKind::PartitionedTable);
    let items = model
        .relations
        .iter()
        .find(|r| r.name.name == "Order Items")
        .unwrap();
    assert!(
        items
            .columns
            .iter()
            .find(|c| c.name == "total")
            .unwrap()
            .generated
    );
}

#[test]
fn unparsed_statements_are_reported_and_never_hide_a_constraint() {
    let db = fixture_db("nasty.sql");
    let (dump, model) = introspect(&db);
    assert!(!model.unparsed.is_empty());
    let lines: Vec<&str> = dump.lines().collect();
    for u in &model.unparsed {
        assert!(!u.message.is_empty());
        let first = u.sql.lines().next().unwrap();
        assert!(
            lines[u.line - 1].starts_with(first),
            "line {} points at the statement",
            u.line
        );
    }
    let hidden: BTreeSet<&str> = model
        .unparsed
        .iter()
        .flat_map(|u| u.constraint_names.iter().map(String::as_str))
        .collect();
    // sqlparser rejects these statements; their constraints are in the model all the same.
    for name in [
        "short_code_check",
        "email_has_at",
        "events_id_at_payload_idx",
        "non_negative",
    ] {
        assert!(
            hidden.contains(name),
            "{name} expected in an unparsed statement: {hidden:?}"
        );
    }
    let names = catalog_names(&model);
    for name in &hidden {
        assert!(
            names.contains(*name),
            "{name} hidden by an unparsed statement is missing"
        );
    }
    let kinds: Vec<String> = model
        .unparsed
        .iter()
        .map(|u| {
            u.sql
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    for expected in [
        "CREATE SEQUENCE",
        "ALTER SEQUENCE",
        "COMMENT ON",
        "CREATE MATERIALIZED",
        "ALTER DOMAIN",
        "CREATE DOMAIN",
    ] {
        assert!(
            kinds.iter().any(|k| k.starts_with(expected)),
            "{expected} not reported as unparsed: {kinds:?}"
        );
    }
    assert!(model.warnings.is_empty(), "{:#?}", model.warnings);
}

#[test]
fn migrations_constraints_equal_pg_constraint_and_unique_indexes() {
    let db = migrated_db();
    let (dump, model) = introspect(&db);
    let mut client = db.connect().unwrap();
    let expected: BTreeSet<String> = pg_constraint_names(&mut client).into_iter().collect();
    assert!(!expected.is_empty());
    assert_eq!(catalog_names(&model), expected);
    assert!(
        !dump.contains(HISTORY_TABLE),
        "history table left in the dump"
    );
    assert!(
        !model
            .constraint_names()
            .iter()
            .any(|n| n.starts_with(HISTORY_TABLE))
    );
    assert!(!model.relations.iter().any(|r| r.name.name == HISTORY_TABLE));
    assert!(model.warnings.is_empty(), "{:#?}", model.warnings);
}
