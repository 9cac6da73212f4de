//! `effective_ai_budget(user, at)` (issue 3, rule 8) on a table of cases: the precedence
//! (override, highest group budget with its tie-breaks, flat cap, unlimited fallback), spend
//! in the period across group changes, UTC period boundaries, the subscription cap, system
//! and deleted users, and zero budgets. Translates the 38 cases of
//! `.scratch/cases/03_effective_budget.sql`: 36 expected rows, the unknown user, and the
//! invariant `exceeded <=> remaining = 0`, checked on every row.
//!
//! Every table runs on a clone of each template holding [`WORLD`] (organizations, cap
//! records, groups with budgets, users). Each case adds its own [`Fact`]s (memberships,
//! overrides, spend, soft deletes) in a transaction, calls the function and rolls back, once
//! per session time zone in [`ZONES`]: none of them is UTC, and periods must not move.

use postgres::Transaction;
use schema_proof::{Failures, SYSTEM_USER_ID, Schema, TestDb, describe};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// Session time zones every case runs under: west of UTC, and east of it by a non-whole hour.
const ZONES: &[&str] = &["America/New_York", "Asia/Kathmandu"];

/// `n` currency units in micros.
const fn units(n: i64) -> i64 {
    n * 1_000_000
}

const fn org(n: u128) -> Uuid {
    Uuid::from_u128(0xf100_0000_0000_4000_8000_0000_0000_0000 | n)
}
const fn user(n: u128) -> Uuid {
    Uuid::from_u128(0xf200_0000_0000_4000_8000_0000_0000_0000 | n)
}
const fn group(n: u128) -> Uuid {
    Uuid::from_u128(0xf300_0000_0000_4000_8000_0000_0000_0000 | n)
}

// Organizations. An organization's Everyone group has the organization's id.
/// The default organization; no cap record.
const OD: Uuid = org(0x01);
/// Cap record: month, no caps.
const OA: Uuid = org(0x02);
/// Cap record: week.
const OB: Uuid = org(0x03);
/// No cap record.
const OC: Uuid = org(0x04);
/// Cap record: month; Everyone group budget 15.
const OE: Uuid = org(0x05);
/// Cap record: flat per-user cap 12, enabled.
const OF: Uuid = org(0x06);
/// Cap record: day.
const ODY: Uuid = org(0x07);
/// Cap record: subscription cap 100, enabled (month).
const OS: Uuid = org(0x08);
/// Cap record: subscription cap 100, enabled (month).
const OS2: Uuid = org(0x09);
/// Soft-deleted organization.
const OX: Uuid = org(0x0a);
/// Two organizations a user joins at the same instant.
const OT1: Uuid = org(0x0b);
const OT2: Uuid = org(0x0c);

// Groups, with their organization and budget in units.
const G_A1: Uuid = group(0x01); // OA 30
const G_A5: Uuid = group(0x05); // OA 5
const G_A20: Uuid = group(0x20); // OA 20
const G_A50: Uuid = group(0x50); // OA 50
const G_AT: Uuid = group(0xa1); // OA 25
const G_BT: Uuid = group(0xb1); // OB 25
const G_A35A: Uuid = group(0xc1); // OA 35
const G_A35B: Uuid = group(0xc2); // OA 35
const G_CN: Uuid = group(0xd1); // OC, no budget
const G_B1: Uuid = group(0xe1); // OB 40
const G_DY: Uuid = group(0xe2); // ODY 40
const G_S1: Uuid = group(0xe3); // OS 1000
const G_S2: Uuid = group(0xe4); // OS2 1000
const G_Z: Uuid = group(0xe5); // OA 0
const G_X: Uuid = group(0xe6); // OX 500
const G_T10: Uuid = group(0xe7); // OA 10

/// The organizations, cap records, groups, budgets and users `f2...01` to `f2...31` every case
/// shares. The fixtures' default organization is un-defaulted so that OD is the default.
const WORLD: &str = "
UPDATE organizations SET is_default = false WHERE is_default;

INSERT INTO organizations (id, name, is_default, deleted) VALUES
    ('f1000000-0000-4000-8000-000000000001', 'eb-default', true, false),
    ('f1000000-0000-4000-8000-000000000002', 'eb-a', false, false),
    ('f1000000-0000-4000-8000-000000000003', 'eb-b', false, false),
    ('f1000000-0000-4000-8000-000000000004', 'eb-c', false, false),
    ('f1000000-0000-4000-8000-000000000005', 'eb-everyone', false, false),
    ('f1000000-0000-4000-8000-000000000006', 'eb-flat', false, false),
    ('f1000000-0000-4000-8000-000000000007', 'eb-daily', false, false),
    ('f1000000-0000-4000-8000-000000000008', 'eb-sub', false, false),
    ('f1000000-0000-4000-8000-000000000009', 'eb-sub2', false, false),
    ('f1000000-0000-4000-8000-00000000000a', 'eb-deleted', false, true),
    ('f1000000-0000-4000-8000-00000000000b', 'eb-tie1', false, false),
    ('f1000000-0000-4000-8000-00000000000c', 'eb-tie2', false, false);

INSERT INTO organization_ai_budget_caps (organization_id, budget_period, subscription_cap_micros, subscription_cap_enabled, flat_user_cap_micros, flat_user_cap_enabled) VALUES
    ('f1000000-0000-4000-8000-000000000002', 'month', NULL, false, NULL, false),
    ('f1000000-0000-4000-8000-000000000003', 'week', NULL, false, NULL, false),
    ('f1000000-0000-4000-8000-000000000005', 'month', NULL, false, NULL, false),
    ('f1000000-0000-4000-8000-000000000006', 'month', NULL, false, 12000000, true),
    ('f1000000-0000-4000-8000-000000000007', 'day', NULL, false, NULL, false),
    ('f1000000-0000-4000-8000-000000000008', 'month', 100000000, true, NULL, false),
    ('f1000000-0000-4000-8000-000000000009', 'month', 100000000, true, NULL, false);

INSERT INTO groups (id, organization_id, name) VALUES
    ('f3000000-0000-4000-8000-000000000001', 'f1000000-0000-4000-8000-000000000002', 'a1'),
    ('f3000000-0000-4000-8000-000000000005', 'f1000000-0000-4000-8000-000000000002', 'a5'),
    ('f3000000-0000-4000-8000-000000000020', 'f1000000-0000-4000-8000-000000000002', 'a20'),
    ('f3000000-0000-4000-8000-000000000050', 'f1000000-0000-4000-8000-000000000002', 'a50'),
    ('f3000000-0000-4000-8000-0000000000a1', 'f1000000-0000-4000-8000-000000000002', 'a-tie'),
    ('f3000000-0000-4000-8000-0000000000b1', 'f1000000-0000-4000-8000-000000000003', 'b-tie'),
    ('f3000000-0000-4000-8000-0000000000c1', 'f1000000-0000-4000-8000-000000000002', 'a35a'),
    ('f3000000-0000-4000-8000-0000000000c2', 'f1000000-0000-4000-8000-000000000002', 'a35b'),
    ('f3000000-0000-4000-8000-0000000000d1', 'f1000000-0000-4000-8000-000000000004', 'c-none'),
    ('f3000000-0000-4000-8000-0000000000e1', 'f1000000-0000-4000-8000-000000000003', 'b1'),
    ('f3000000-0000-4000-8000-0000000000e2', 'f1000000-0000-4000-8000-000000000007', 'dy'),
    ('f3000000-0000-4000-8000-0000000000e3', 'f1000000-0000-4000-8000-000000000008', 's1'),
    ('f3000000-0000-4000-8000-0000000000e4', 'f1000000-0000-4000-8000-000000000009', 's2'),
    ('f3000000-0000-4000-8000-0000000000e5', 'f1000000-0000-4000-8000-000000000002', 'zero'),
    ('f3000000-0000-4000-8000-0000000000e6', 'f1000000-0000-4000-8000-00000000000a', 'x'),
    ('f3000000-0000-4000-8000-0000000000e7', 'f1000000-0000-4000-8000-000000000002', 't10');

INSERT INTO group_ai_budgets (group_id, spend_limit_micros) VALUES
    ('f3000000-0000-4000-8000-000000000001', 30000000),
    ('f3000000-0000-4000-8000-000000000005', 5000000),
    ('f3000000-0000-4000-8000-000000000020', 20000000),
    ('f3000000-0000-4000-8000-000000000050', 50000000),
    ('f3000000-0000-4000-8000-0000000000a1', 25000000),
    ('f3000000-0000-4000-8000-0000000000b1', 25000000),
    ('f3000000-0000-4000-8000-0000000000c1', 35000000),
    ('f3000000-0000-4000-8000-0000000000c2', 35000000),
    ('f1000000-0000-4000-8000-000000000005', 15000000),
    ('f3000000-0000-4000-8000-0000000000e1', 40000000),
    ('f3000000-0000-4000-8000-0000000000e2', 40000000),
    ('f3000000-0000-4000-8000-0000000000e3', 1000000000),
    ('f3000000-0000-4000-8000-0000000000e4', 1000000000),
    ('f3000000-0000-4000-8000-0000000000e5', 0),
    ('f3000000-0000-4000-8000-0000000000e6', 500000000),
    ('f3000000-0000-4000-8000-0000000000e7', 10000000);

INSERT INTO users (id, email, username)
SELECT ('f2000000-0000-4000-8000-0000000000' || lpad(n::text, 2, '0'))::uuid, 'eb' || n || '@case.test', 'eb-u' || n
FROM generate_series(1, 31) AS n;
";

/// One fact of a case's world, applied in order in the case's transaction.
#[derive(Debug, Clone, Copy)]
enum Fact {
    /// The user joins the organization at this instant.
    Joins(Uuid, Uuid, OffsetDateTime),
    /// The user joins a regular group (of an organization they are a member of).
    InGroup(Uuid, Uuid),
    /// An override: user, attributed group, limit in micros, enabled.
    Override(Uuid, Uuid, i64, bool),
    /// The user spent this many micros on the group's account on this UTC day.
    Spent(Uuid, Uuid, Date, i64),
    /// The user is soft-deleted.
    SoftDeleted(Uuid),
}
use Fact::{InGroup, Joins, Override, SoftDeleted, Spent};

/// When most users joined their organizations.
const JAN_2024: OffsetDateTime = datetime!(2024-01-01 0:00 UTC);
/// The moment most cases ask about: mid-May, a Wednesday.
const MID_MAY: OffsetDateTime = datetime!(2024-05-15 12:00 UTC);

/// Where a limit comes from (`ai_budget_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    UserOverride,
    GroupBudget,
    FlatUserCap,
}
use Source::{FlatUserCap, GroupBudget, UserOverride};

impl Source {
    fn parse(text: &str) -> Source {
        match text {
            "user_override" => UserOverride,
            "group_budget" => GroupBudget,
            "flat_user_cap" => FlatUserCap,
            other => panic!("unknown ai_budget_source {other:?}"),
        }
    }
}

/// A row of `effective_ai_budget`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Budget {
    limit: Option<i64>,
    source: Option<Source>,
    group: Option<Uuid>,
    org: Option<Uuid>,
    period: (OffsetDateTime, OffsetDateTime),
    spent: i64,
    remaining: Option<i64>,
    cap_exceeded: bool,
    exceeded: bool,
}

// Periods, in UTC.
const MAY: (OffsetDateTime, OffsetDateTime) = (
    datetime!(2024-05-01 0:00 UTC),
    datetime!(2024-06-01 0:00 UTC),
);
const APRIL: (OffsetDateTime, OffsetDateTime) = (
    datetime!(2024-04-01 0:00 UTC),
    datetime!(2024-05-01 0:00 UTC),
);
const WEEK_OF_MAY_13: (OffsetDateTime, OffsetDateTime) = (
    datetime!(2024-05-13 0:00 UTC),
    datetime!(2024-05-20 0:00 UTC),
);
const WEEK_OF_MAY_6: (OffsetDateTime, OffsetDateTime) = (
    datetime!(2024-05-06 0:00 UTC),
    datetime!(2024-05-13 0:00 UTC),
);

/// A limited budget that is neither spent nor capped: `limit` remains.
const fn fresh(limit: i64, source: Source, group: Uuid, org: Uuid) -> Budget {
    Budget {
        limit: Some(limit),
        source: Some(source),
        group: Some(group),
        org: Some(org),
        period: MAY,
        spent: 0,
        remaining: Some(limit),
        cap_exceeded: false,
        exceeded: false,
    }
}

/// Unlimited, attributed to the Everyone group of `org` (monthly, nothing spent).
const fn unlimited(org: Uuid) -> Budget {
    Budget {
        limit: None,
        source: None,
        group: Some(org),
        org: Some(org),
        period: MAY,
        spent: 0,
        remaining: None,
        cap_exceeded: false,
        exceeded: false,
    }
}

/// No attribution and no tracked spend (no live membership).
const UNATTRIBUTED: Budget = Budget {
    limit: None,
    source: None,
    group: None,
    org: None,
    period: MAY,
    spent: 0,
    remaining: None,
    cap_exceeded: false,
    exceeded: false,
};

/// Never resolved (system or deleted user): no budget, exceeded.
const UNRESOLVED: Budget = Budget {
    limit: None,
    source: None,
    group: None,
    org: None,
    period: MAY,
    spent: 0,
    remaining: Some(0),
    cap_exceeded: false,
    exceeded: true,
};

/// One row of a case table.
#[derive(Debug)]
struct Case<'a> {
    label: &'static str,
    facts: &'a [Fact],
    user: Uuid,
    at: OffsetDateTime,
    expect: Budget,
}

const SELECT: &str = "SELECT limit_micros, source::text, attributed_group_id, organization_id,
        period_start, period_end, spent_micros, remaining_micros, subscription_cap_exceeded, exceeded
    FROM effective_ai_budget($1, $2)";

fn apply(tx: &mut Transaction<'_>, fact: Fact) -> Result<(), postgres::Error> {
    let rows = match fact {
        Joins(user, org, at) => tx.execute(
            "INSERT INTO organization_members (user_id, organization_id, created_at) VALUES ($1, $2, $3)",
            &[&user, &org, &at],
        )?,
        InGroup(user, group) => tx.execute(
            "INSERT INTO group_members (user_id, group_id, organization_id)
             SELECT $1, id, organization_id FROM groups WHERE id = $2",
            &[&user, &group],
        )?,
        Override(user, group, limit, enabled) => tx.execute(
            "INSERT INTO user_ai_budget_overrides (user_id, group_id, spend_limit_micros, enabled)
             VALUES ($1, $2, $3, $4)",
            &[&user, &group, &limit, &enabled],
        )?,
        Spent(user, group, day, micros) => tx.execute(
            "INSERT INTO user_ai_daily_spend (user_id, group_id, day, spend_micros) VALUES ($1, $2, $3, $4)",
            &[&user, &group, &day, &micros],
        )?,
        SoftDeleted(user) => tx.execute(
            "UPDATE users SET deleted = true WHERE id = $1",
            &[&user],
        )?,
    };
    assert_eq!(rows, 1, "fact {fact:?} touched {rows} rows");
    Ok(())
}

/// The function's rows for `user` at `at`, after `facts`, under session time zone `zone`;
/// everything rolled back.
fn evaluate(
    db: &mut TestDb,
    facts: &[Fact],
    user: Uuid,
    at: OffsetDateTime,
    zone: &str,
) -> Result<Vec<Budget>, String> {
    let mut tx = db.transaction().map_err(|e| describe(&e))?;
    let result = (|| {
        tx.batch_execute(&format!("SET LOCAL TIME ZONE '{zone}'"))?;
        for &fact in facts {
            apply(&mut tx, fact)?;
        }
        let rows = tx.query(SELECT, &[&user, &at])?;
        Ok(rows
            .iter()
            .map(|r| Budget {
                limit: r.get(0),
                source: r.get::<_, Option<&str>>(1).map(Source::parse),
                group: r.get(2),
                org: r.get(3),
                period: (r.get(4), r.get(5)),
                spent: r.get(6),
                remaining: r.get(7),
                cap_exceeded: r.get(8),
                exceeded: r.get(9),
            })
            .collect())
    })()
    .map_err(|e: postgres::Error| describe(&e));
    tx.rollback().map_err(|e| describe(&e))?;
    result
}

/// Runs `cases` on both templates under every zone of [`ZONES`], checking each expected row
/// and the invariant `exceeded <=> remaining = 0`; reports every failing case by label.
#[track_caller]
fn run(table: &str, cases: &[Case<'_>]) {
    for schema in Schema::BOTH {
        let mut db = TestDb::with_setup(schema, WORLD);
        let mut failures = Failures::new(format!("effective_ai_budget: {table} ({schema})"));
        let mut checks = 0;
        for zone in ZONES {
            for case in cases {
                checks += 2;
                let label = format!("{} [TimeZone {zone}]", case.label);
                let rows = match evaluate(&mut db, case.facts, case.user, case.at, zone) {
                    Ok(rows) => rows,
                    Err(why) => {
                        failures.check(label, Err(why));
                        continue;
                    }
                };
                let [got] = rows.as_slice() else {
                    failures.check(label, Err(format!("expected one row, got {rows:?}")));
                    continue;
                };
                failures.expect(
                    label.clone(),
                    *got == case.expect,
                    format!("expected {:?}\n got      {got:?}", case.expect),
                );
                failures.expect(
                    format!("{label}: exceeded <=> remaining = 0"),
                    got.exceeded == (got.remaining == Some(0)),
                    format!("{got:?}"),
                );
            }
        }
        failures.assert_none(checks);
    }
}

#[test]
fn precedence() {
    run(
        "precedence",
        &[
            Case {
                label: "override (40, attributed to OA's Everyone group)",
                facts: &[
                    Joins(user(0x01), OA, JAN_2024),
                    Override(user(0x01), OA, units(40), true),
                ],
                user: user(0x01),
                at: MID_MAY,
                expect: fresh(units(40), UserOverride, OA, OA),
            },
            Case {
                label: "single group budget (30)",
                facts: &[Joins(user(0x02), OA, JAN_2024), InGroup(user(0x02), G_A1)],
                user: user(0x02),
                at: MID_MAY,
                expect: fresh(units(30), GroupBudget, G_A1, OA),
            },
            Case {
                label: "highest group wins (5/20/50 -> 50)",
                facts: &[
                    Joins(user(0x03), OA, JAN_2024),
                    InGroup(user(0x03), G_A5),
                    InGroup(user(0x03), G_A20),
                    InGroup(user(0x03), G_A50),
                ],
                user: user(0x03),
                at: MID_MAY,
                expect: fresh(units(50), GroupBudget, G_A50, OA),
            },
            Case {
                label: "tie (25/25) broken by earliest organization membership: OB joined first, though its group id is higher",
                facts: &[
                    Joins(user(0x04), OA, JAN_2024),
                    Joins(user(0x04), OB, datetime!(2023-12-01 0:00 UTC)),
                    InGroup(user(0x04), G_AT),
                    InGroup(user(0x04), G_BT),
                ],
                user: user(0x04),
                at: MID_MAY,
                expect: Budget {
                    period: WEEK_OF_MAY_13,
                    ..fresh(units(25), GroupBudget, G_BT, OB)
                },
            },
            Case {
                label: "tie (35/35) in one organization broken by the lowest group id",
                facts: &[
                    Joins(user(0x05), OA, JAN_2024),
                    InGroup(user(0x05), G_A35A),
                    InGroup(user(0x05), G_A35B),
                ],
                user: user(0x05),
                at: MID_MAY,
                expect: fresh(units(35), GroupBudget, G_A35A, OA),
            },
            Case {
                label: "groups but none budgeted: unlimited, attributed to OC's Everyone group",
                facts: &[Joins(user(0x06), OC, JAN_2024), InGroup(user(0x06), G_CN)],
                user: user(0x06),
                at: MID_MAY,
                expect: unlimited(OC),
            },
            Case {
                label: "Everyone group budget (15)",
                facts: &[Joins(user(0x07), OE, JAN_2024)],
                user: user(0x07),
                at: MID_MAY,
                expect: fresh(units(15), GroupBudget, OE, OE),
            },
            Case {
                label: "override (3) below the Everyone budget (15) still wins",
                facts: &[
                    Joins(user(0x08), OE, JAN_2024),
                    Override(user(0x08), OE, units(3), true),
                ],
                user: user(0x08),
                at: MID_MAY,
                expect: fresh(units(3), UserOverride, OE, OE),
            },
            Case {
                label: "disabled override (99) falls through to the group budget (30)",
                facts: &[
                    Joins(user(0x09), OA, JAN_2024),
                    InGroup(user(0x09), G_A1),
                    Override(user(0x09), G_A1, units(99), false),
                ],
                user: user(0x09),
                at: MID_MAY,
                expect: fresh(units(30), GroupBudget, G_A1, OA),
            },
            Case {
                label: "override (7) attributed to OB's Everyone group beats a higher group budget (40 in OB); OB's spend counts, another organization's does not",
                facts: &[
                    Joins(user(0x31), OB, JAN_2024),
                    InGroup(user(0x31), G_B1),
                    Override(user(0x31), OB, units(7), true),
                    Spent(user(0x31), OB, date!(2024 - 05 - 14), units(1)),
                    Spent(user(0x31), G_B1, date!(2024 - 05 - 13), units(2)),
                    // Not a member of OA: spend on its account is not this budget's.
                    Spent(user(0x31), G_A1, date!(2024 - 05 - 13), units(5)),
                ],
                user: user(0x31),
                at: MID_MAY,
                expect: Budget {
                    period: WEEK_OF_MAY_13,
                    spent: units(3),
                    remaining: Some(units(4)),
                    ..fresh(units(7), UserOverride, OB, OB)
                },
            },
            Case {
                label: "the group budget of a deleted organization (500) is ignored",
                facts: &[
                    Joins(user(0x25), OA, JAN_2024),
                    Joins(user(0x25), OX, datetime!(2023-01-01 0:00 UTC)),
                    InGroup(user(0x25), G_A1),
                    InGroup(user(0x25), G_X),
                ],
                user: user(0x25),
                at: MID_MAY,
                expect: fresh(units(30), GroupBudget, G_A1, OA),
            },
        ],
    );
}

#[test]
fn flat_user_cap() {
    run(
        "flat per-user cap",
        &[
            Case {
                label: "flat per-user cap (12) of the user's organization",
                facts: &[Joins(user(0x10), OF, JAN_2024)],
                user: user(0x10),
                at: MID_MAY,
                expect: fresh(units(12), FlatUserCap, OF, OF),
            },
            Case {
                label: "the flat cap of an organization that is not the fallback one (the default is) does not apply",
                facts: &[
                    Joins(user(0x29), OD, JAN_2024),
                    Joins(user(0x29), OF, datetime!(2023-01-01 0:00 UTC)),
                ],
                user: user(0x29),
                at: MID_MAY,
                expect: unlimited(OD),
            },
        ],
    );
}

#[test]
fn unlimited_fallback_attribution() {
    run(
        "unlimited fallback",
        &[
            Case {
                label: "prefers the default organization, though joined later",
                facts: &[
                    Joins(user(0x11), OA, datetime!(2023-01-01 0:00 UTC)),
                    Joins(user(0x11), OD, JAN_2024),
                ],
                user: user(0x11),
                at: MID_MAY,
                expect: unlimited(OD),
            },
            Case {
                label: "else the organization joined first (OB, weekly)",
                facts: &[
                    Joins(user(0x12), OB, datetime!(2023-01-01 0:00 UTC)),
                    Joins(user(0x12), OC, datetime!(2023-06-01 0:00 UTC)),
                ],
                user: user(0x12),
                at: MID_MAY,
                expect: Budget {
                    period: WEEK_OF_MAY_13,
                    ..unlimited(OB)
                },
            },
            Case {
                label: "joined at the same instant: the lowest organization id",
                facts: &[
                    Joins(user(0x30), OT2, JAN_2024),
                    Joins(user(0x30), OT1, JAN_2024),
                ],
                user: user(0x30),
                at: MID_MAY,
                expect: unlimited(OT1),
            },
            Case {
                label: "no membership: no attribution, no tracked spend",
                facts: &[],
                user: user(0x13),
                at: MID_MAY,
                expect: UNATTRIBUTED,
            },
            Case {
                label: "member of a deleted organization only: no attribution",
                facts: &[
                    Joins(user(0x26), OX, datetime!(2023-01-01 0:00 UTC)),
                    InGroup(user(0x26), G_X),
                ],
                user: user(0x26),
                at: MID_MAY,
                expect: UNATTRIBUTED,
            },
        ],
    );
}

#[test]
fn spend_counts_across_a_mid_period_group_change() {
    run(
        "spend across a group change",
        &[Case {
            label: "8 spent on a group left since + 4 on the current one = 12; other organizations' spend and April's do not count",
            facts: &[
                Joins(user(0x14), OA, JAN_2024),
                Joins(user(0x14), OB, JAN_2024),
                InGroup(user(0x14), G_A1),
                Spent(user(0x14), G_A20, date!(2024 - 05 - 03), units(8)),
                Spent(user(0x14), G_A1, date!(2024 - 05 - 10), units(4)),
                Spent(user(0x14), G_B1, date!(2024 - 05 - 10), units(50)),
                Spent(user(0x14), G_A1, date!(2024 - 04 - 20), units(100)),
            ],
            user: user(0x14),
            at: MID_MAY,
            expect: Budget {
                spent: units(12),
                remaining: Some(units(18)),
                ..fresh(units(30), GroupBudget, G_A1, OA)
            },
        }],
    );
}

/// User 15 in OA (monthly, budget 30): 10 spent on April 30th, 3 on May 1st.
const MONTHLY: &[Fact] = &[
    Joins(user(0x15), OA, JAN_2024),
    InGroup(user(0x15), G_A1),
    Spent(user(0x15), G_A1, date!(2024 - 04 - 30), units(10)),
    Spent(user(0x15), G_A1, date!(2024 - 05 - 01), units(3)),
];
/// User 16 in OB (weekly, budget 40): 7 spent on Sunday May 12th, 2 on Monday May 13th.
const WEEKLY: &[Fact] = &[
    Joins(user(0x16), OB, JAN_2024),
    InGroup(user(0x16), G_B1),
    Spent(user(0x16), G_B1, date!(2024 - 05 - 12), units(7)),
    Spent(user(0x16), G_B1, date!(2024 - 05 - 13), units(2)),
];
/// User 17 in ODY (daily, budget 40): 5 spent on May 14th, 1 on May 15th.
const DAILY: &[Fact] = &[
    Joins(user(0x17), ODY, JAN_2024),
    InGroup(user(0x17), G_DY),
    Spent(user(0x17), G_DY, date!(2024 - 05 - 14), units(5)),
    Spent(user(0x17), G_DY, date!(2024 - 05 - 15), units(1)),
];

#[test]
fn period_boundaries_are_utc() {
    let month = |spent: i64, period| Budget {
        period,
        spent: units(spent),
        remaining: Some(units(30 - spent)),
        ..fresh(units(30), GroupBudget, G_A1, OA)
    };
    let week = |spent: i64, period| Budget {
        period,
        spent: units(spent),
        remaining: Some(units(40 - spent)),
        ..fresh(units(40), GroupBudget, G_B1, OB)
    };
    let day = |spent: i64, period| Budget {
        period,
        spent: units(spent),
        remaining: Some(units(40 - spent)),
        ..fresh(units(40), GroupBudget, G_DY, ODY)
    };
    run(
        "period boundaries",
        &[
            Case {
                label: "month: the first instant of May (UTC)",
                facts: MONTHLY,
                user: user(0x15),
                at: datetime!(2024-05-01 0:00 UTC),
                expect: month(3, MAY),
            },
            Case {
                label: "month: the last microsecond of April (UTC)",
                facts: MONTHLY,
                user: user(0x15),
                at: datetime!(2024-04-30 23:59:59.999_999 UTC),
                expect: month(10, APRIL),
            },
            Case {
                label: "month: May 1st 01:30 at +02 is still April in UTC",
                facts: MONTHLY,
                user: user(0x15),
                at: datetime!(2024-05-01 1:30 +2),
                expect: month(10, APRIL),
            },
            Case {
                label: "week: a Wednesday, in the ISO week from Monday",
                facts: WEEKLY,
                user: user(0x16),
                at: MID_MAY,
                expect: week(2, WEEK_OF_MAY_13),
            },
            Case {
                label: "week: Monday 00:00 UTC starts a new week",
                facts: WEEKLY,
                user: user(0x16),
                at: datetime!(2024-05-13 0:00 UTC),
                expect: week(2, WEEK_OF_MAY_13),
            },
            Case {
                label: "week: Monday 00:30 at +02 is still Sunday in UTC",
                facts: WEEKLY,
                user: user(0x16),
                at: datetime!(2024-05-13 0:30 +2),
                expect: week(7, WEEK_OF_MAY_6),
            },
            Case {
                label: "day: the UTC day",
                facts: DAILY,
                user: user(0x17),
                at: MID_MAY,
                expect: day(
                    1,
                    (
                        datetime!(2024-05-15 0:00 UTC),
                        datetime!(2024-05-16 0:00 UTC),
                    ),
                ),
            },
            Case {
                label: "day: 01:00 at +03 is the previous UTC day",
                facts: DAILY,
                user: user(0x17),
                at: datetime!(2024-05-15 1:00 +3),
                expect: day(
                    5,
                    (
                        datetime!(2024-05-14 0:00 UTC),
                        datetime!(2024-05-15 0:00 UTC),
                    ),
                ),
            },
        ],
    );
}

/// OS (subscription cap 100): 18 (budget 1000 via G_S1) spent 30 and 19 (unlimited) 70 in
/// May, 100 in all; 19's 1000 in April, the deleted user 20's 500 and the system user's
/// 500 do not count.
const SUBSCRIPTION_EXHAUSTED: &[Fact] = &[
    Joins(user(0x18), OS, JAN_2024),
    Joins(user(0x19), OS, JAN_2024),
    Joins(user(0x20), OS, JAN_2024),
    InGroup(user(0x18), G_S1),
    InGroup(user(0x20), G_S1),
    Spent(user(0x18), G_S1, date!(2024 - 05 - 02), units(30)),
    Spent(user(0x19), OS, date!(2024 - 05 - 02), units(70)),
    Spent(user(0x19), OS, date!(2024 - 04 - 02), units(1000)),
    Spent(user(0x20), G_S1, date!(2024 - 05 - 02), units(500)),
    Spent(SYSTEM_USER_ID, OS, date!(2024 - 05 - 02), units(500)),
    SoftDeleted(user(0x20)),
];

#[test]
fn subscription_cap() {
    run(
        "subscription cap",
        &[
            Case {
                label: "exhausted: a budgeted member far below their own limit is exceeded",
                facts: SUBSCRIPTION_EXHAUSTED,
                user: user(0x18),
                at: MID_MAY,
                expect: Budget {
                    spent: units(30),
                    remaining: Some(0),
                    cap_exceeded: true,
                    exceeded: true,
                    ..fresh(units(1000), GroupBudget, G_S1, OS)
                },
            },
            Case {
                label: "exhausted: an unlimited member is exceeded",
                facts: SUBSCRIPTION_EXHAUSTED,
                user: user(0x19),
                at: MID_MAY,
                expect: Budget {
                    spent: units(70),
                    remaining: Some(0),
                    cap_exceeded: true,
                    exceeded: true,
                    ..unlimited(OS)
                },
            },
            Case {
                label: "not exhausted (60 live + 50 from a deleted user): remaining is the smaller of the user's (940) and the organization's (40)",
                facts: &[
                    Joins(user(0x21), OS2, JAN_2024),
                    InGroup(user(0x21), G_S2),
                    Spent(user(0x21), G_S2, date!(2024 - 05 - 02), units(60)),
                    Spent(user(0x22), G_S2, date!(2024 - 05 - 02), units(50)),
                    SoftDeleted(user(0x22)),
                ],
                user: user(0x21),
                at: MID_MAY,
                expect: Budget {
                    spent: units(60),
                    remaining: Some(units(40)),
                    ..fresh(units(1000), GroupBudget, G_S2, OS2)
                },
            },
        ],
    );
}

#[test]
fn system_and_deleted_users_are_never_resolved() {
    run(
        "never resolved",
        &[
            Case {
                label: "system user: no budget, exceeded",
                facts: &[Spent(SYSTEM_USER_ID, OS, date!(2024 - 05 - 02), units(500))],
                user: SYSTEM_USER_ID,
                at: MID_MAY,
                expect: UNRESOLVED,
            },
            Case {
                label: "deleted user (who had a group budget and spend): no budget, exceeded",
                facts: &[
                    Joins(user(0x20), OS, JAN_2024),
                    InGroup(user(0x20), G_S1),
                    Spent(user(0x20), G_S1, date!(2024 - 05 - 02), units(500)),
                    SoftDeleted(user(0x20)),
                ],
                user: user(0x20),
                at: MID_MAY,
                expect: UNRESOLVED,
            },
        ],
    );
}

#[test]
fn unknown_user_has_no_row() {
    for schema in Schema::BOTH {
        let mut db = TestDb::with_setup(schema, WORLD);
        let unknown = Uuid::from_u128(0xf200_0000_0000_4000_8000_0000_dead_beef);
        let rows = evaluate(&mut db, &[], unknown, MID_MAY, ZONES[0]).unwrap();
        assert!(rows.is_empty(), "({schema}) unknown user: {rows:?}");
    }
}

#[test]
fn zero_and_exhausted_budgets_block() {
    run(
        "blocking",
        &[
            Case {
                label: "zero group budget = blocked",
                facts: &[Joins(user(0x23), OA, JAN_2024), InGroup(user(0x23), G_Z)],
                user: user(0x23),
                at: MID_MAY,
                expect: Budget {
                    exceeded: true,
                    ..fresh(0, GroupBudget, G_Z, OA)
                },
            },
            Case {
                label: "zero override = blocked, even under an Everyone budget of 15",
                facts: &[
                    Joins(user(0x24), OE, JAN_2024),
                    Override(user(0x24), OE, 0, true),
                ],
                user: user(0x24),
                at: MID_MAY,
                expect: Budget {
                    exceeded: true,
                    ..fresh(0, UserOverride, OE, OE)
                },
            },
            Case {
                label: "spent exactly the limit (10): exceeded",
                facts: &[
                    Joins(user(0x27), OA, JAN_2024),
                    InGroup(user(0x27), G_T10),
                    Spent(user(0x27), G_T10, date!(2024 - 05 - 02), units(10)),
                ],
                user: user(0x27),
                at: MID_MAY,
                expect: Budget {
                    spent: units(10),
                    remaining: Some(0),
                    exceeded: true,
                    ..fresh(units(10), GroupBudget, G_T10, OA)
                },
            },
            Case {
                label: "one micro below the limit: not exceeded",
                facts: &[
                    Joins(user(0x28), OA, JAN_2024),
                    InGroup(user(0x28), G_T10),
                    Spent(user(0x28), G_T10, date!(2024 - 05 - 02), units(10) - 1),
                ],
                user: user(0x28),
                at: MID_MAY,
                expect: Budget {
                    spent: units(10) - 1,
                    remaining: Some(1),
                    ..fresh(units(10), GroupBudget, G_T10, OA)
                },
            },
        ],
    );
}
