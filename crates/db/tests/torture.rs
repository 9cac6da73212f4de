//! The torture schema's generated code (`tests/torture/`, kept current by
//! `crates/generate/tests/torture.rs`) compiles with `-D warnings`, passes clippy, and works
//! against that schema: every label of every enum round-trips through the database (also
//! through a domain over the enum and arrays of both), and a row of every mapped type decodes.

mod common;

#[allow(dead_code)]
mod torture {
    pub mod constraints {
        include!("torture/constraints.rs");
    }
    pub mod enums {
        include!("torture/enums.rs");
    }
    pub mod models {
        include!("torture/models.rs");
    }
}

use common::*;
use pgcluster::TestDatabase;
use postgres::types::{FromSql, ToSql};
use torture::constraints::{CheckConstraint, Constraint, ForeignKeyConstraint, UniqueConstraint};
use torture::enums::*;
use torture::models;

fn torture_db() -> TestDatabase {
    let set =
        migrate::MigrationSet::discover(&root().join("crates/generate/tests/torture/migrations"))
            .unwrap();
    cluster()
        .database_from_template(&format!("db_torture_{}", set.hash()), |c| {
            migrate::Migrator::new(&set).up(c)?;
            Ok(())
        })
        .unwrap()
}

/// Every variant of `E` is a label of `sql_type` in the same order, and each one travels to
/// the server and back unchanged: as a parameter, as a result, through `as_str`/`FromStr`.
fn round_trip<E>(client: &mut postgres::Client, sql_type: &str, all: &[E])
where
    E: ToSql + for<'a> FromSql<'a> + Sync + Copy + PartialEq + std::fmt::Debug + std::fmt::Display,
    E: std::str::FromStr,
    <E as std::str::FromStr>::Err: std::fmt::Debug,
{
    let labels: Vec<String> = client
        .query_one(&format!("SELECT enum_range(NULL::{sql_type})::text[]"), &[])
        .unwrap()
        .get(0);
    let ours: Vec<String> = all.iter().map(|v| v.to_string()).collect();
    assert_eq!(ours, labels, "{sql_type}: labels in catalog order");
    for v in all {
        let row = client
            .query_one(
                &format!("SELECT $1::{sql_type}, $1::{sql_type}::text"),
                &[v],
            )
            .unwrap();
        let back: E = row.get(0);
        let text: String = row.get(1);
        assert_eq!(back, *v, "{sql_type}");
        assert_eq!(text, v.to_string(), "{sql_type}: the exact SQL label");
        assert_eq!(text.parse::<E>().unwrap(), *v);
    }
}

#[test]
fn every_label_of_every_enum_round_trips() {
    let db = torture_db();
    let mut client = db.connect().unwrap();
    round_trip(&mut client, "public.form_type", FormType::ALL);
    round_trip(&mut client, "public.status", Status::ALL);
    round_trip(&mut client, "public.punct", Punct::ALL);
    round_trip(&mut client, "public.option", OptionEnum::ALL);
    round_trip(
        &mut client,
        "public.unknown_enum_label",
        UnknownEnumLabelEnum::ALL,
    );
    round_trip(&mut client, "utils.level", UtilsLevel::ALL);
    round_trip(&mut client, r#""Mixed Case"."Kind""#, MixedCaseKind::ALL);

    assert_eq!(FormType::Unset.as_str(), "", "renamed in gen.toml");
    assert_eq!(FormType::RadioUpper.as_str(), "Radio");
    assert_eq!(Status::Empty.as_str(), "");
    assert_eq!(Status::Error.as_str(), "error");
    assert_eq!(Status::Err.as_str(), "err");
    assert_eq!(Punct::SelfValue.as_str(), "Self");
    assert_eq!(Punct::Hash.as_str(), "#");
    assert_eq!(Punct::CPlusPlus.as_str(), "C++");
    assert_eq!(Punct::BeiJing.as_str(), "北京");
    let err = "nope".parse::<Status>().unwrap_err();
    assert_eq!(err.type_name, "public.status");
    assert_eq!(Status::try_from("error"), Ok(Status::Error));

    // A domain over the enum, and arrays of both, read and write as the enum.
    let row = client
        .query_one(
            "SELECT $1::status_d, $2::status_d[], $2::status[]",
            &[&Status::Error, &vec![Status::Empty, Status::Pending]],
        )
        .unwrap();
    assert_eq!(row.get::<_, Status>(0), Status::Error);
    assert_eq!(
        row.get::<_, Vec<Status>>(1),
        [Status::Empty, Status::Pending]
    );
    assert_eq!(
        row.get::<_, Vec<Status>>(2),
        [Status::Empty, Status::Pending]
    );
}

const EVERY_TYPE_ROW: &str = r##"
INSERT INTO every_type (b, i2, i4, i8, f4, f8, num, t, vc, bp, nm, ch, o, bytes, js, jsb, u, tstz, ts, d, tm,
    ip, net, mac, bits, vbits, pt, bx, pth, lsn, ci, tree, lq, ltq, hs, ints, texts, statuses,
    domain_statuses, st, pos)
VALUES (true, 2, 4, 8, 1.5, 2.25, 12.345, 'text', 'varchar', 'ab', 'a_name', 'x', 42, '\x0102', '{"a": 1}',
    '{"b": [2]}', '00000000-0000-0000-0000-000000000007', '2025-01-02 03:04:05+00', '2025-01-02 03:04:05',
    '2025-01-02', '12:34:56', '10.0.0.1', '10.1.0.0/16', '08:00:2b:01:02:03', B'101', B'11', '(1,2)',
    '((3,4),(1,2))', '[(0,0),(1,1)]', '16/B374D848', 'MiXeD', 'top.science.astronomy', '*.science.*',
    'science & !biology', 'a => 1, b => NULL', '{1,2,3}', '{x,y}', '{ok,error}', '{err,""}', '', 7);
INSERT INTO documents (id, tsv, span, price) VALUES (1, 'a fat cat', '1 day 02:00:00', 12.5);
INSERT INTO "Mixed Case"."Order Items" ("Order ID", order_id, "2fa", "café", "ALL", "#", p)
    VALUES (1, 'one', true, 'crème', 3, 4, 'C#');
INSERT INTO result (id, "Option") VALUES (1, 'some');
INSERT INTO vec (id) VALUES (1);
INSERT INTO "Users" ("Id", "displayName", "type") VALUES (1, 'A', 'human');
INSERT INTO utils.settings (key, level, value) VALUES ('k', 'high', '{"on": true}');
INSERT INTO events (id, at, status) VALUES (1, '2025-06-01', 'error'), (2, '2026-06-01', '');
REFRESH MATERIALIZED VIEW setting_levels;
"##;

fn one<T>(
    client: &mut postgres::Client,
    sql: &str,
    f: fn(&postgres::Row) -> Result<T, postgres::Error>,
) -> T {
    let rows = client.query(sql, &[]).unwrap();
    assert!(!rows.is_empty(), "{sql}: no rows");
    f(&rows[0]).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[test]
fn a_row_of_every_mapped_type_decodes() {
    let db = torture_db();
    let mut client = db.connect().unwrap();
    client.batch_execute(EVERY_TYPE_ROW).unwrap();

    let r = one(
        &mut client,
        "SELECT * FROM every_type",
        models::EveryType::from_row,
    );
    assert!(r.b && r.i2 == 2 && r.i4 == 4 && r.i8 == 8);
    assert_eq!((r.f4, r.f8), (1.5, 2.25));
    assert_eq!(r.num.to_string(), "12.345");
    assert_eq!(
        (r.t.as_str(), r.vc.as_str(), r.bp.as_str()),
        ("text", "varchar", "ab ")
    );
    assert_eq!((r.nm.as_str(), r.ch, r.o), ("a_name", b'x' as i8, 42));
    assert_eq!(r.bytes, [1, 2]);
    assert_eq!(r.js["a"], 1);
    assert_eq!(r.jsb["b"][0], 2);
    assert_eq!(r.u.to_string(), "00000000-0000-0000-0000-000000000007");
    assert_eq!(r.tstz.unix_timestamp(), 1_735_787_045);
    assert_eq!(r.ts.to_string(), "2025-01-02 3:04:05.0");
    assert_eq!(r.d.to_string(), "2025-01-02");
    assert_eq!(r.tm.to_string(), "12:34:56.0");
    assert_eq!(r.ip.to_string(), "10.0.0.1");
    assert_eq!(r.net.to_string(), "10.1.0.0/16");
    assert_eq!(r.mac.to_hex_string(), "08:00:2b:01:02:03");
    assert_eq!(
        (r.bits.iter().collect::<Vec<_>>(), r.vbits.len()),
        (vec![true, false, true], 2)
    );
    assert_eq!((r.pt.x(), r.pt.y()), (1.0, 2.0));
    assert_eq!(r.bx.max().x, 3.0);
    assert_eq!(r.pth.0.len(), 2);
    assert_eq!(r.lsn.to_string(), "16/B374D848");
    assert_eq!(r.ci, "MiXeD");
    assert_eq!(r.tree, "top.science.astronomy");
    assert_eq!(r.lq, "*.science.*");
    assert_eq!(r.ltq, "science & !biology");
    assert_eq!(r.hs.get("a"), Some(&Some("1".to_owned())));
    assert_eq!(r.hs.get("b"), Some(&None));
    assert_eq!(
        (r.ints, r.texts),
        (vec![1, 2, 3], vec!["x".to_owned(), "y".to_owned()])
    );
    assert_eq!(r.statuses, [Status::Ok, Status::Error]);
    assert_eq!(r.domain_statuses, [Status::Err, Status::Empty]);
    assert_eq!((r.st, r.pos, r.maybe_int), (Status::Empty, 7, None));

    // Types mapped to String in gen.toml / --type decode when read as text.
    let d = one(
        &mut client,
        "SELECT id, tsv::text AS tsv, span::text AS span, price::text AS price FROM documents",
        models::Documents::from_row,
    );
    assert_eq!(d.tsv, "'a' 'cat' 'fat'");
    assert_eq!(d.span, "1 day 02:00:00");
    assert!(d.price.contains("12.50"), "{}", d.price);

    let o = one(
        &mut client,
        r#"SELECT * FROM "Mixed Case"."Order Items""#,
        models::MixedCaseOrderItems::from_row,
    );
    assert_eq!((o.order_id, o.order_id_text.as_deref()), (1, Some("one")));
    assert_eq!((o.r#type.as_str(), o.self_, o._2fa), ("x", None, true));
    assert_eq!(
        (o.cafe.as_deref(), o.all, o.hash),
        (Some("crème"), Some(3), Some(4))
    );
    assert_eq!(
        (o.kind, o.form, o.p),
        (MixedCaseKind::BigOne, FormType::Unset, Some(Punct::CHash))
    );

    let r = one(
        &mut client,
        "SELECT * FROM result",
        models::ResultRow::from_row,
    );
    assert_eq!(r.option, Some(OptionEnum::Some));
    one(&mut client, "SELECT * FROM vec", models::VecRow::from_row);
    let u = one(
        &mut client,
        r#"SELECT * FROM "Users""#,
        models::Users::from_row,
    );
    assert_eq!(
        (u.id, u.display_name.as_deref(), u.r#type.as_str()),
        (1, Some("A"), "human")
    );
    let s = one(
        &mut client,
        "SELECT * FROM utils.settings",
        models::UtilsSettings::from_row,
    );
    assert_eq!(s.level, UtilsLevel::High);
    let e = one(
        &mut client,
        "SELECT * FROM events ORDER BY id",
        models::Events::from_row,
    );
    assert_eq!(e.status, Status::Error);
    let c = one(
        &mut client,
        "SELECT * FROM status_counts ORDER BY status",
        models::StatusCounts::from_row,
    );
    assert_eq!((c.n, c.column), (Some(1), Some(1)));
    let l = one(
        &mut client,
        "SELECT * FROM setting_levels",
        models::SettingLevels::from_row,
    );
    assert_eq!(l.level, Some(UtilsLevel::High));
}

/// The constraint of kind `C` that `err` reports, by the torture schema's own trait.
fn constraint_of<C: Constraint>(err: &postgres::Error) -> Option<C> {
    let e = err.as_db_error()?;
    let c = C::from_name(e.constraint()?)?;
    c.sqlstates().contains(&e.code().code()).then_some(c)
}

#[test]
fn a_composite_type_round_trips_as_its_struct() {
    let db = torture_db();
    let mut client = db.connect().unwrap();
    let p = models::Pair {
        a: Some(1),
        b_name: Some("one".to_owned()),
        st: Some(Status::Error),
    };
    let empty = models::Pair {
        a: None,
        b_name: None,
        st: None,
    };
    client
        .execute(
            "INSERT INTO pairs (id, p, ps) VALUES (1, $1, $2)",
            &[&p, &vec![p.clone(), empty.clone()]],
        )
        .unwrap();
    let text: String = client
        .query_one("SELECT p::text FROM pairs", &[])
        .unwrap()
        .get(0);
    assert_eq!(text, "(1,one,error)");
    let row = one(&mut client, "SELECT * FROM pairs", models::Pairs::from_row);
    assert_eq!(row.p, p);
    assert_eq!(row.ps, Some(vec![p, empty]));
}

#[test]
fn constraints_named_like_generated_items_classify() {
    let db = torture_db();
    let mut client = db.connect().unwrap();
    client.batch_execute(EVERY_TYPE_ROW).unwrap();
    let cases: [(&str, &str); 4] = [
        (
            r#"INSERT INTO "Mixed Case"."Order Items" ("Order ID") VALUES (0)"#,
            "error",
        ),
        (
            r#"INSERT INTO "Mixed Case"."Order Items" ("Order ID") VALUES (2000000)"#,
            "Err",
        ),
        (
            r#"INSERT INTO "Mixed Case"."Order Items" ("Order ID", "ALL") VALUES (5, -1)"#,
            "Users Age Check",
        ),
        (
            r##"INSERT INTO "Mixed Case"."Order Items" ("Order ID", "#") VALUES (6, -1)"##,
            "users_age_check",
        ),
    ];
    for (sql, name) in cases {
        let err = failing(&mut client, sql);
        let c = constraint_of::<CheckConstraint>(&err).unwrap_or_else(|| panic!("{sql}: {err}"));
        assert_eq!(c.as_str(), name);
    }
    assert_eq!(CheckConstraint::Error.as_str(), "error");
    assert_eq!(CheckConstraint::Err.as_str(), "Err");
    assert_eq!(CheckConstraint::UsersAgeLimit.as_str(), "Users Age Check");
    assert_eq!("Err".parse::<CheckConstraint>(), Ok(CheckConstraint::Err));

    let err = failing(
        &mut client,
        r#"INSERT INTO "Mixed Case"."Order Items" ("Order ID") VALUES (1)"#,
    );
    assert_eq!(
        constraint_of::<UniqueConstraint>(&err),
        Some(UniqueConstraint::SelfValue)
    );
    let err = failing(
        &mut client,
        r#"INSERT INTO "Users" ("Id", "type") VALUES (99, 'x')"#,
    );
    assert_eq!(
        constraint_of::<ForeignKeyConstraint>(&err),
        Some(ForeignKeyConstraint::Type)
    );
    assert_eq!(ForeignKeyConstraint::Type.tables(), ["Users"]);
}
