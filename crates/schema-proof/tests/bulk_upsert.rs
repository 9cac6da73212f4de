//! The bulk override upsert `upsert_user_ai_budget_overrides(user_ids, group_ids, limits,
//! enabled)` (issue 3, rule 9): 200 overrides in one call, 201 refused, each rejection typed
//! by a named constraint with the offending 1-based position in DETAIL, the validation order,
//! all or nothing, the empty batch. Translates the 23 cases of
//! `.scratch/cases/04_bulk_upsert.sql`.
//!
//! Batches are passed as typed array parameters, as an application calls it; the malformed
//! ones that a typed parameter cannot express (a two-dimensional array) are SQL text.

use postgres::GenericClient;
use postgres::types::ToSql;
use schema_proof::sqlstate::{
    CHECK_VIOLATION, FOREIGN_KEY_VIOLATION, INVALID_PARAMETER_VALUE, UNIQUE_VIOLATION,
};
use schema_proof::{Failures, Refusal, Schema, TestDb, describe};
use uuid::Uuid;

/// Has a cap record.
const O1: Uuid = Uuid::from_u128(0xb100_0000_0000_4000_8000_0000_0000_0001);
/// Has no cap record.
const O2: Uuid = Uuid::from_u128(0xb100_0000_0000_4000_8000_0000_0000_0002);
/// A regular group of O1.
const G1: Uuid = Uuid::from_u128(0xb300_0000_0000_4000_8000_0000_0000_0001);
const NO_USER: Uuid = Uuid::from_u128(0xb200_0000_0000_4000_8000_0000_0000_dead);
const NO_GROUP: Uuid = Uuid::from_u128(0xb300_0000_0000_4000_8000_0000_0000_dead);

/// Bulk user `n` (1 to 205): `b2000000-0000-4000-8000-<n, 12 digits>`.
fn b(n: u32) -> Uuid {
    Uuid::parse_str(&format!("b2000000-0000-4000-8000-{n:012}")).unwrap()
}

/// B1..B205 are members of O1 and G1; B1 is also a member of O2; B205 is soft-deleted.
/// B1 has an override (G1, 5 units, created 2024-01-01).
const SETUP: &str = "
INSERT INTO organizations (id, name) VALUES
    ('b1000000-0000-4000-8000-000000000001', 'bulk-org-1'),
    ('b1000000-0000-4000-8000-000000000002', 'bulk-org-2');
INSERT INTO organization_ai_budget_caps (organization_id) VALUES ('b1000000-0000-4000-8000-000000000001');
INSERT INTO groups (id, organization_id, name) VALUES
    ('b3000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-000000000001', 'bulk-g1');
INSERT INTO users (id, email, username)
SELECT ('b2000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'b' || i || '@case.test', 'bulk-u' || i
FROM generate_series(1, 205) AS i;
INSERT INTO organization_members (organization_id, user_id)
SELECT 'b1000000-0000-4000-8000-000000000001', ('b2000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid
FROM generate_series(1, 205) AS i;
INSERT INTO organization_members (organization_id, user_id) VALUES
    ('b1000000-0000-4000-8000-000000000002', 'b2000000-0000-4000-8000-000000000001');
INSERT INTO group_members (user_id, group_id, organization_id)
SELECT ('b2000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'b3000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-000000000001'
FROM generate_series(1, 205) AS i;
UPDATE users SET deleted = true WHERE id = 'b2000000-0000-4000-8000-000000000205';
INSERT INTO user_ai_budget_overrides (user_id, group_id, spend_limit_micros, created_at, updated_at) VALUES
    ('b2000000-0000-4000-8000-000000000001', 'b3000000-0000-4000-8000-000000000001', 5000000, '2024-01-01Z', '2024-01-01Z');
";

const CALL: &str = "SELECT * FROM upsert_user_ai_budget_overrides($1, $2, $3, $4)";

/// One call of the function. `None` limits and a `None` enabled array are SQL NULLs.
#[derive(Debug, Clone)]
struct Batch {
    users: Vec<Uuid>,
    groups: Vec<Uuid>,
    limits: Vec<Option<i64>>,
    enabled: Option<Vec<bool>>,
}

impl Batch {
    /// A well-formed batch of `(user, group, limit)`, every override enabled.
    fn of(rows: &[(Uuid, Uuid, i64)]) -> Batch {
        Batch {
            users: rows.iter().map(|r| r.0).collect(),
            groups: rows.iter().map(|r| r.1).collect(),
            limits: rows.iter().map(|r| Some(r.2)).collect(),
            enabled: Some(vec![true; rows.len()]),
        }
    }

    fn call(&self, client: &mut impl GenericClient) -> Result<Vec<postgres::Row>, postgres::Error> {
        let params: [&(dyn ToSql + Sync); 4] =
            [&self.users, &self.groups, &self.limits, &self.enabled];
        client.query(CALL, &params)
    }
}

/// The 200-override batch: B1..B200; B2 attributed to O1's Everyone group, the others to
/// G1; limit i * 1000 micros; odd positions disabled.
fn batch_of_200() -> Batch {
    Batch {
        users: (1..=200).map(b).collect(),
        groups: (1..=200).map(|i| if i == 2 { O1 } else { G1 }).collect(),
        limits: (1..=200).map(|i| Some(i64::from(i) * 1000)).collect(),
        enabled: Some((1..=200).map(|i| i % 2 == 0).collect()),
    }
}

/// [`SETUP`] plus the accepted batch of 200 (committed).
fn with_200(schema: Schema) -> TestDb {
    let mut db = TestDb::with_setup(schema, SETUP);
    let rows = batch_of_200()
        .call(&mut *db)
        .unwrap_or_else(|e| panic!("({schema}) the batch of 200: {}", describe(&e)));
    assert_eq!(rows.len(), 200);
    db
}

/// A digest of every override row, to prove that nothing changed.
fn digest(db: &mut TestDb) -> String {
    db.query_one(
        "SELECT md5(string_agg(o::text, ',' ORDER BY o.user_id)) FROM user_ai_budget_overrides o",
        &[],
    )
    .unwrap()
    .get(0)
}

#[test]
fn a_batch_of_200_is_accepted() {
    for schema in Schema::BOTH {
        let mut db = TestDb::with_setup(schema, SETUP);
        // One transaction, so that `now()` is the call's.
        let mut tx = db.transaction().unwrap();
        let rows = batch_of_200()
            .call(&mut tx)
            .unwrap_or_else(|e| panic!("({schema}) the batch of 200: {}", describe(&e)));
        assert_eq!(
            rows.len(),
            200,
            "({schema}) a batch of exactly 200 is accepted and returns 200 rows"
        );
        let stored: i64 = tx
            .query_one(
                "SELECT count(*) FROM user_ai_budget_overrides o JOIN users u ON u.id = o.user_id
                 WHERE u.username LIKE 'bulk-u%'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(stored, 200, "({schema}) 200 overrides stored");
        let updated_in_place: bool = tx
            .query_one(
                "SELECT group_id = $2 AND spend_limit_micros = 1000 AND NOT enabled
                    AND created_at = '2024-01-01Z' AND updated_at = now()
                 FROM user_ai_budget_overrides WHERE user_id = $1",
                &[&b(1), &G1],
            )
            .unwrap()
            .get(0);
        assert!(
            updated_in_place,
            "({schema}) an existing override (B1) is updated in place: created_at kept, updated_at now"
        );
        let everyone: bool = tx
            .query_one(
                "SELECT group_id = $2 AND spend_limit_micros = 2000 AND enabled
                 FROM user_ai_budget_overrides WHERE user_id = $1",
                &[&b(2), &O1],
            )
            .unwrap()
            .get(0);
        assert!(
            everyone,
            "({schema}) B2 is attributed to the Everyone group"
        );
        tx.commit().unwrap();
    }
}

/// How a rejected call is made.
enum Call {
    /// With typed array parameters.
    Typed(Batch),
    /// As SQL text, for what a typed parameter cannot express.
    Sql(&'static str),
}

/// A rejected call and what it must be rejected with.
struct Rejection {
    call: Call,
    expect: Refusal,
}

/// `batch` must be rejected with `sqlstate` and `constraint`.
fn rejected(
    label: &'static str,
    batch: Batch,
    sqlstate: &'static str,
    constraint: &'static str,
) -> Rejection {
    let shown = if batch.users.len() <= 4 {
        format!("{batch:?}")
    } else {
        format!("{} overrides", batch.users.len())
    };
    Rejection {
        expect: Refusal::new(label, format!("{CALL} with {shown}"), sqlstate, constraint),
        call: Call::Typed(batch),
    }
}

/// Runs every rejection autocommitted (so a partial write would stay) and checks each.
#[track_caller]
fn assert_rejected(db: &mut TestDb, context: &str, cases: Vec<Rejection>) {
    let mut failures = Failures::new(format!("{context} ({})", db.schema()));
    for case in &cases {
        let result = match &case.call {
            Call::Typed(batch) => batch.call(&mut **db).map(drop),
            Call::Sql(sql) => db.batch_execute(sql),
        };
        failures.check(case.expect.label, case.expect.judge(result));
    }
    failures.assert_none(cases.len());
}

#[test]
fn more_than_200_is_refused() {
    for schema in Schema::BOTH {
        let mut db = with_200(schema);
        let before = digest(&mut db);
        let of_201 = Batch::of(&(1..=201).map(|i| (b(i), G1, 1)).collect::<Vec<_>>());
        let duplicates = Batch {
            users: vec![b(3); 201],
            ..of_201.clone()
        };
        assert_rejected(
            &mut db,
            "batch size",
            vec![
                rejected(
                    "user_ai_budget_overrides_batch_size (201 overrides)",
                    of_201,
                    CHECK_VIOLATION,
                    "user_ai_budget_overrides_batch_size",
                ),
                rejected(
                    "user_ai_budget_overrides_batch_size (201 overrides with duplicates: size is checked first)",
                    duplicates,
                    CHECK_VIOLATION,
                    "user_ai_budget_overrides_batch_size",
                ),
            ],
        );
        assert_eq!(digest(&mut db), before, "({schema}) nothing changed");
    }
}

/// A batch whose user array is two-dimensional.
const TWO_DIMENSIONAL: &str = "SELECT count(*) FROM upsert_user_ai_budget_overrides(
    ARRAY[['b2000000-0000-4000-8000-000000000003'], ['b2000000-0000-4000-8000-000000000004']]::uuid[],
    ARRAY['b3000000-0000-4000-8000-000000000001', 'b3000000-0000-4000-8000-000000000001']::uuid[],
    ARRAY[1, 2]::bigint[],
    ARRAY[true, true])";

#[test]
fn each_rejection_is_typed_with_its_position() {
    for schema in Schema::BOTH {
        let mut db = with_200(schema);
        let before = digest(&mut db);
        let cases = vec![
            with_detail(
                rejected(
                    "user_ai_budget_overrides_batch_duplicate_user (a user twice in the batch)",
                    Batch::of(&[(b(3), G1, 1), (b(4), G1, 2), (b(3), G1, 3)]),
                    UNIQUE_VIOLATION,
                    "user_ai_budget_overrides_batch_duplicate_user",
                ),
                "positions {1,3} (1-based)",
            ),
            rejected(
                "user_ai_budget_overrides_batch_shape (lengths differ)",
                Batch {
                    groups: vec![G1],
                    ..Batch::of(&[(b(3), G1, 1), (b(4), G1, 2)])
                },
                INVALID_PARAMETER_VALUE,
                "user_ai_budget_overrides_batch_shape",
            ),
            rejected(
                "user_ai_budget_overrides_batch_shape (NULL element)",
                Batch {
                    limits: vec![None],
                    ..Batch::of(&[(b(3), G1, 1)])
                },
                INVALID_PARAMETER_VALUE,
                "user_ai_budget_overrides_batch_shape",
            ),
            rejected(
                "user_ai_budget_overrides_batch_shape (NULL array)",
                Batch {
                    enabled: None,
                    ..Batch::of(&[(b(3), G1, 1)])
                },
                INVALID_PARAMETER_VALUE,
                "user_ai_budget_overrides_batch_shape",
            ),
            Rejection {
                call: Call::Sql(TWO_DIMENSIONAL),
                expect: Refusal::new(
                    "user_ai_budget_overrides_batch_shape (two-dimensional array)",
                    TWO_DIMENSIONAL,
                    INVALID_PARAMETER_VALUE,
                    "user_ai_budget_overrides_batch_shape",
                ),
            },
            with_detail(
                rejected(
                    "user_ai_budget_overrides_spend_limit_micros_check (negative, position 2)",
                    Batch::of(&[(b(3), G1, 1), (b(4), G1, -1)]),
                    CHECK_VIOLATION,
                    "user_ai_budget_overrides_spend_limit_micros_check",
                ),
                "position 2 (1-based)",
            ),
            with_detail(
                rejected(
                    "user_ai_budget_overrides_spend_limit_micros_max_check (10^12 + 1)",
                    Batch::of(&[(b(3), G1, schema_proof::MAX_LIMIT_MICROS + 1)]),
                    CHECK_VIOLATION,
                    "user_ai_budget_overrides_spend_limit_micros_max_check",
                ),
                "position 1 (1-based)",
            ),
            with_detail(
                rejected(
                    "user_ai_budget_overrides_user_id_fkey (unknown user at position 2)",
                    Batch::of(&[(b(3), G1, 1), (NO_USER, G1, 2)]),
                    FOREIGN_KEY_VIOLATION,
                    "user_ai_budget_overrides_user_id_fkey",
                ),
                "position 2 (1-based)",
            ),
            with_detail(
                rejected(
                    "user_ai_budget_overrides_group_id_fkey (unknown group)",
                    Batch::of(&[(b(3), NO_GROUP, 1)]),
                    FOREIGN_KEY_VIOLATION,
                    "user_ai_budget_overrides_group_id_fkey",
                ),
                "position 1 (1-based)",
            ),
            with_detail(
                rejected(
                    "validation order: an unknown user (position 2) is reported before a non-member (position 1)",
                    Batch::of(&[(b(3), O2, 1), (NO_USER, G1, 2)]),
                    FOREIGN_KEY_VIOLATION,
                    "user_ai_budget_overrides_user_id_fkey",
                ),
                "position 2 (1-based)",
            ),
            with_detail(
                rejected(
                    "user_ai_budget_overrides_must_be_group_member (B4 is not in O2)",
                    Batch::of(&[(b(3), G1, 1), (b(4), O2, 2)]),
                    CHECK_VIOLATION,
                    "user_ai_budget_overrides_must_be_group_member",
                ),
                "position 2 (1-based)",
            ),
            with_detail(
                rejected(
                    "user_ai_budget_overrides_must_be_group_member (soft-deleted user)",
                    Batch::of(&[(b(205), G1, 1)]),
                    CHECK_VIOLATION,
                    "user_ai_budget_overrides_must_be_group_member",
                ),
                "position 1 (1-based)",
            ),
            with_detail(
                rejected(
                    "user_ai_budget_overrides_must_have_budget_cap (B1 is a member of O2, which has no cap record)",
                    Batch::of(&[(b(3), G1, 1), (b(1), O2, 2)]),
                    FOREIGN_KEY_VIOLATION,
                    "user_ai_budget_overrides_must_have_budget_cap",
                ),
                "group b1000000-0000-4000-8000-000000000002 at position 2 (1-based)",
            ),
        ];
        assert_rejected(&mut db, "typed rejections", cases);
        assert_eq!(
            digest(&mut db),
            before,
            "({schema}) no rejected batch changed any override"
        );
    }
}

fn with_detail(mut rejection: Rejection, detail: &'static str) -> Rejection {
    rejection.expect = rejection.expect.with_detail(detail);
    rejection
}

#[test]
fn all_or_nothing() {
    for schema in Schema::BOTH {
        let mut db = with_200(schema);
        let before = digest(&mut db);
        // Two new overrides (B201, B202) and an update (B3), then a non-member: nothing is
        // written.
        assert_rejected(
            &mut db,
            "all or nothing",
            vec![with_detail(
                rejected(
                    "all or nothing: valid, valid, non-member",
                    Batch::of(&[
                        (b(201), G1, 1),
                        (b(202), G1, 2),
                        (b(3), G1, 3),
                        (b(203), O2, 4),
                    ]),
                    CHECK_VIOLATION,
                    "user_ai_budget_overrides_must_be_group_member",
                ),
                "position 4 (1-based)",
            )],
        );
        assert_eq!(
            digest(&mut db),
            before,
            "({schema}) all or nothing: the rejected batch changed no override"
        );
        let written: i64 = db
            .query_one(
                "SELECT count(*) FROM user_ai_budget_overrides WHERE user_id = ANY($1)",
                &[&vec![b(201), b(202)]],
            )
            .unwrap()
            .get(0);
        assert_eq!(
            written, 0,
            "({schema}) all or nothing: the valid rows of the rejected batch were not written"
        );
    }
}

#[test]
fn an_empty_batch_writes_nothing() {
    for schema in Schema::BOTH {
        let mut db = TestDb::with_setup(schema, SETUP);
        let before = digest(&mut db);
        let rows = Batch::of(&[])
            .call(&mut *db)
            .unwrap_or_else(|e| panic!("({schema}) empty batch: {}", describe(&e)));
        assert!(rows.is_empty(), "({schema}) an empty batch returns no rows");
        assert_eq!(digest(&mut db), before, "({schema}) and writes nothing");
    }
}
