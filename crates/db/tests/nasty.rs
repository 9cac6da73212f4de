//! The nasty fixture schema's generated code (`tests/nasty/`, kept current by
//! `crates/generate/tests/generated.rs`) compiles and works against that schema: every mapped type
//! decodes, quoted and mixed-case names, partitions, domains, enums in another schema,
//! trigger-raised names.

mod common;

#[allow(dead_code)]
mod nasty {
    pub mod constraints {
        include!("nasty/constraints.rs");
    }
    pub mod enums {
        include!("nasty/enums.rs");
    }
    pub mod models {
        include!("nasty/models.rs");
    }
}

use common::*;
use nasty::constraints::{
    CheckConstraint, Constraint, ExcludeConstraint, TriggerConstraint, UniqueConstraint,
};
use nasty::enums::{Mood, WeirdSchemaStatusKind};
use nasty::models;

const DATA: &str = r#"
INSERT INTO public."Users" ("Email", "displayName", mood, age, moods) VALUES ('a@example.com', 'A', 'meh', 3, '{happy,sad}');
INSERT INTO public.api_keys (id, user_id, secret, scopes, meta, raw, last_ip, expires_on, daily_at, seen_at, weight, score, price, small, code, initial, nick)
    SELECT '00000000-0000-0000-0000-000000000001', "Id", '\x0102', '{read,write}', '{"k": 1}', '[1]', '10.0.0.1', '2025-01-02',
           '12:34:56', '2025-01-02 03:04:05', 1.5, 2.5, 12.34, 7, 'ab', 'x', 'nick'
      FROM public."Users";
INSERT INTO public.rooms (room_no) VALUES (1);
INSERT INTO audit.events (id, at, payload) VALUES (1, '2024-06-01', '{}'), (2, '2025-06-01', '{}');
INSERT INTO "Weird Schema"."Order Items" ("Order ID", "Line", qty, unit_price) VALUES (1, 1, 2, 3.5);
INSERT INTO "Weird Schema".archived_items ("Order ID", "Line", qty, unit_price, status) VALUES (2, 1, 1, 1, 'DONE');
INSERT INTO public.budgets (owner_id, limit_micros) SELECT "Id", 100 FROM public."Users";
INSERT INTO public.budget_overrides (budget_id, extra_micros, reason) SELECT id, 1, 'why' FROM public.budgets;
REFRESH MATERIALIZED VIEW public.budget_totals;
"#;

fn all<T>(
    client: &mut postgres::Client,
    sql: &str,
    f: fn(&postgres::Row) -> Result<T, postgres::Error>,
) -> Vec<T> {
    let rows = client.query(sql, &[]).unwrap();
    assert!(!rows.is_empty(), "{sql}: no rows");
    rows.iter()
        .map(|r| f(r).unwrap_or_else(|e| panic!("{sql}: {e}")))
        .collect()
}

#[test]
fn every_row_struct_reads_its_relation() {
    let db = nasty_db();
    let mut client = db.connect().unwrap();
    client.batch_execute(DATA).unwrap();

    let users = all(
        &mut client,
        r#"SELECT * FROM public."Users""#,
        models::Users::from_row,
    );
    assert_eq!(users[0].mood, Some(Mood::Meh));
    assert_eq!(users[0].moods, Some(vec![Mood::Happy, Mood::Sad]));
    assert_eq!(users[0].r#type, "human");
    assert_eq!(users[0].age, Some(3), "domain over integer reads as i32");
    let keys = all(
        &mut client,
        "SELECT * FROM public.api_keys",
        models::ApiKeys::from_row,
    );
    let k = &keys[0];
    assert_eq!(k.secret, [1, 2]);
    assert_eq!(k.scopes, ["read", "write"]);
    assert_eq!(k.last_ip, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(k.price.map(|p| p.to_string()), Some("12.34".to_owned()));
    assert_eq!(k.code.as_deref(), Some("ab"));
    assert_eq!(k.initial.as_deref(), Some("x"));
    assert_eq!(k.meta, Some(serde_json::json!({"k": 1})));
    all(
        &mut client,
        "SELECT * FROM public.rooms",
        models::Rooms::from_row,
    );
    let events = all(
        &mut client,
        "SELECT * FROM audit.events ORDER BY id",
        models::AuditEvents::from_row,
    );
    assert_eq!(
        events.len(),
        2,
        "the parent struct reads rows of every partition"
    );
    let items = all(
        &mut client,
        r#"SELECT * FROM "Weird Schema"."Order Items" ORDER BY "Order ID""#,
        models::WeirdSchemaOrderItems::from_row,
    );
    assert_eq!(items[0].status, WeirdSchemaStatusKind::InProgress);
    assert_eq!(items[1].status, WeirdSchemaStatusKind::Done);
    all(
        &mut client,
        r#"SELECT * FROM "Weird Schema".archived_items"#,
        models::WeirdSchemaArchivedItems::from_row,
    );
    all(
        &mut client,
        "SELECT * FROM public.budgets",
        models::Budgets::from_row,
    );
    all(
        &mut client,
        "SELECT * FROM public.budget_overrides",
        models::BudgetOverrides::from_row,
    );
    all(
        &mut client,
        "SELECT * FROM public.budget_totals",
        models::BudgetTotals::from_row,
    );
    let moods = all(
        &mut client,
        "SELECT * FROM public.user_moods",
        models::UserMoods::from_row,
    );
    assert_eq!(moods[0].display_name.as_deref(), Some("A"));
    assert_eq!(models::Users::COLUMNS[0], "Id");
    assert_eq!(models::WeirdSchemaOrderItems::SQL_SCHEMA, "Weird Schema");
}

#[test]
fn enums_keep_catalog_order_and_round_trip() {
    let db = nasty_db();
    let mut client = db.connect().unwrap();
    assert_eq!(Mood::ALL, [Mood::Sad, Mood::Meh, Mood::Ok, Mood::Happy]);
    assert!(Mood::Meh < Mood::Ok, "Ord follows PostgreSQL's sort order");
    let row = client
        .query_one(
            r#"SELECT $1::"Weird Schema"."Status Kind""#,
            &[&WeirdSchemaStatusKind::OnHold],
        )
        .unwrap();
    assert_eq!(
        row.get::<_, WeirdSchemaStatusKind>(0),
        WeirdSchemaStatusKind::OnHold
    );
    assert_eq!(WeirdSchemaStatusKind::OnHold.as_str(), "on hold");
    let row = client
        .query_one("SELECT $1::public.mood[]", &[&vec![Mood::Ok, Mood::Meh]])
        .unwrap();
    assert_eq!(row.get::<_, Vec<Mood>>(0), [Mood::Ok, Mood::Meh]);
}

#[test]
fn nasty_constraints_classify() {
    let db = nasty_db();
    let mut client = db.connect().unwrap();
    client.batch_execute(DATA).unwrap();
    let of = |e: &postgres::Error| {
        e.as_db_error()
            .and_then(|d| d.constraint())
            .map(str::to_owned)
    };

    // A partition's own primary key name, an inherited CHECK, a domain CHECK.
    let e = failing(
        &mut client,
        "INSERT INTO audit.events (id, at, payload) VALUES (1, '2024-06-01', '{}')",
    );
    assert_eq!(
        Constraint::from_name(&of(&e).unwrap()),
        Some(UniqueConstraint::Events2024Pkey)
    );
    let e = failing(
        &mut client,
        "INSERT INTO audit.events (id, at, payload) VALUES (9, '2025-06-01', '[]')",
    );
    let c = CheckConstraint::from_name(&of(&e).unwrap()).unwrap();
    assert_eq!(c, CheckConstraint::EventsPayloadIsObject);
    assert_eq!(c.table(), Some("audit.events"));
    assert_eq!(
        c.tables(),
        ["audit.events", "audit.events_2024", "audit.events_2025"]
    );
    let e = failing(&mut client, "SELECT 0::public.positive_int");
    assert_eq!(
        CheckConstraint::from_name(&of(&e).unwrap()),
        Some(CheckConstraint::PositiveIntCheck)
    );
    assert_eq!(CheckConstraint::PositiveIntCheck.table(), None);
    assert_eq!(
        CheckConstraint::UsersTypeIsKnown.as_str(),
        "users type is known"
    );
    assert_eq!(
        CheckConstraint::NonNegative.tables(),
        ["budget_overrides", "budgets"]
    );
    assert!(!CheckConstraint::ApiKeysWeightCheck.definition().is_empty());

    let e = failing(&mut client, "INSERT INTO public.rooms (room_no) VALUES (1)");
    assert_eq!(e.code().map(|c| c.code()), Some("23P01"));
    assert_eq!(
        ExcludeConstraint::from_name(&of(&e).unwrap()),
        Some(ExcludeConstraint::RoomsOneBooking)
    );

    let e = failing(
        &mut client,
        r#"UPDATE "Weird Schema"."Order Items" SET "Order ID" = 5"#,
    );
    let t = TriggerConstraint::from_name(&of(&e).unwrap()).unwrap();
    assert_eq!(t, TriggerConstraint::OrderItemsOrderIdIsImmutable);
    assert!(t.sqlstates().contains(&e.code().unwrap().code()));
    assert!(t.is_trigger_raised());
    assert_eq!(t.table(), Some("Weird Schema.Order Items"));
}
