//! Personal skills (issue 3, rule 10): the size and format CHECKs, the unique name per user,
//! the 100-skill limit and the deleted-owner rule (the 21 `user_skills` cases of
//! `.scratch/cases/01_constraints.sql`), and the race of `.scratch/cases/05_skills_race.sh`:
//! 8 sessions inserting past the limit at once leave exactly 100 skills.

use std::sync::Barrier;

use schema_proof::sqlstate::{CHECK_VIOLATION, FOREIGN_KEY_VIOLATION, UNIQUE_VIOLATION};
use schema_proof::{Client, Failures, Refusal, Schema, TestDb, describe, error_is, fill};

const IDS: &[(&str, &str)] = &[
    ("U1", "e2000000-0000-4000-8000-000000000001"),
    ("U2", "e2000000-0000-4000-8000-000000000002"),
    // U3 is soft-deleted.
    ("U3", "e2000000-0000-4000-8000-000000000003"),
    ("NO_USER", "e2000000-0000-4000-8000-00000000dead"),
    ("S1", "e4000000-0000-4000-8000-000000000001"),
    ("S2", "e4000000-0000-4000-8000-000000000002"),
    ("NEW_SKILL", "e4000000-0000-4000-8000-000000000009"),
];

fn q(sql: &str) -> String {
    fill(sql, IDS)
}

const SETUP: &str = "
INSERT INTO users (id, email, username) VALUES
    ('{U1}', 'u1@case.test', 'case-u1'),
    ('{U2}', 'u2@case.test', 'case-u2'),
    ('{U3}', 'u3@case.test', 'case-u3');
UPDATE users SET deleted = true WHERE id = '{U3}';
";

fn setup(schema: Schema) -> TestDb {
    TestDb::with_setup(schema, &q(SETUP))
}

/// A refused insert of one skill for `user` with this `name`, `description` and `content`
/// (SQL expressions).
fn refused_insert(
    label: &'static str,
    user: &str,
    name: &str,
    description: &str,
    content: &str,
    sqlstate: &'static str,
    constraint: &'static str,
) -> Refusal {
    let sql = q(&format!(
        "INSERT INTO user_skills (id, user_id, name, description, content)
         VALUES ('{{NEW_SKILL}}', '{{{user}}}', {name}, {description}, {content})"
    ));
    Refusal::new(label, sql, sqlstate, constraint)
}

#[test]
fn sizes_uniqueness_and_owner() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        db.expect_ok(
            "user_skills: name of exactly 256 bytes, description 4096 bytes, content 65536 bytes",
            &q(
                "INSERT INTO user_skills (id, user_id, name, description, content)
                VALUES ('{S1}', '{U1}', repeat('a', 256), repeat('d', 4096), repeat('c', 65536))",
            ),
        );
        db.expect_ok(
            "user_skills: description defaults to the empty string",
            &q("INSERT INTO user_skills (id, user_id, name, content) VALUES ('{S2}', '{U1}', 'my-skill-2', 'x')"),
        );
        db.assert_holds(
            "user_skills: the default description is ''",
            &q("SELECT description = '' FROM user_skills WHERE id = '{S2}'"),
        );
        db.assert_refusals(&[
            Refusal::new(
                "user_skills_pkey",
                q("INSERT INTO user_skills (id, user_id, name, content) VALUES ('{S1}', '{U1}', 'other', 'x')"),
                UNIQUE_VIOLATION,
                "user_skills_pkey",
            ),
            refused_insert(
                "user_skills_user_id_name_key",
                "U1",
                "'my-skill-2'",
                "''",
                "'x'",
                UNIQUE_VIOLATION,
                "user_skills_user_id_name_key",
            ),
            refused_insert(
                "user_skills_user_id_fkey",
                "NO_USER",
                "'x'",
                "''",
                "'x'",
                FOREIGN_KEY_VIOLATION,
                "user_skills_user_id_fkey",
            ),
            refused_insert(
                "user_skill_user_deleted (a soft-deleted owner)",
                "U3",
                "'late'",
                "''",
                "'x'",
                CHECK_VIOLATION,
                "user_skill_user_deleted",
            ),
            refused_insert(
                "user_skills_name_size (257 bytes, a valid slug otherwise)",
                "U1",
                "repeat('a', 257)",
                "''",
                "'x'",
                CHECK_VIOLATION,
                "user_skills_name_size",
            ),
            refused_insert(
                "user_skills_description_size (2049 two-byte characters = 4098 bytes)",
                "U1",
                "'desc'",
                "repeat('é', 2049)",
                "'x'",
                CHECK_VIOLATION,
                "user_skills_description_size",
            ),
            refused_insert(
                "user_skills_content_size (65537 bytes)",
                "U1",
                "'big'",
                "''",
                "repeat('c', 65537)",
                CHECK_VIOLATION,
                "user_skills_content_size",
            ),
        ]);
    }
}

#[test]
fn name_format_is_a_lowercase_slug() {
    // (label, name): every one refused by user_skills_name_format.
    const REFUSED: &[(&str, &str)] = &[
        ("user_skills_name_format (uppercase)", "My-Skill"),
        ("user_skills_name_format (empty)", ""),
        ("user_skills_name_format (double hyphen)", "a--b"),
        ("user_skills_name_format (leading hyphen)", "-ab"),
        ("user_skills_name_format (underscore)", "a_b"),
        ("user_skills_name_format (non-ASCII letter)", "café"),
    ];
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        let cases: Vec<Refusal> = REFUSED
            .iter()
            .map(|&(label, name)| {
                refused_insert(
                    label,
                    "U1",
                    &format!("'{name}'"),
                    "''",
                    "'x'",
                    CHECK_VIOLATION,
                    "user_skills_name_format",
                )
            })
            .collect();
        db.assert_refusals(&cases);
        // The accepted shapes, for contrast: the format is not simply refusing everything.
        db.expect_ok(
            "user_skills_name_format: digits, letters and single inner hyphens are accepted",
            &q("INSERT INTO user_skills (id, user_id, name, content) VALUES ('{S1}', '{U1}', 'a1-b2-3c', 'x'), ('{S2}', '{U1}', '7', 'x')"),
        );
    }
}

#[test]
fn per_user_limit_of_100() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        // U1 has 2 skills.
        db.exec(&q(
            "INSERT INTO user_skills (id, user_id, name, content) VALUES ('{S1}', '{U1}', 'one', 'x'), ('{S2}', '{U1}', 'my-skill-2', 'x')",
        ));
        db.expect_ok(
            "user_skills: 100 skills for one user in one statement",
            &q("INSERT INTO user_skills (id, user_id, name, content)
                SELECT ('e5000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, '{U2}', 'skill-' || i, 'x'
                FROM generate_series(1, 100) AS i"),
        );
        db.assert_refusals(&[
            refused_insert(
                "user_skills_per_user_limit (101st insert)",
                "U2",
                "'one-too-many'",
                "''",
                "'x'",
                CHECK_VIOLATION,
                "user_skills_per_user_limit",
            ),
            Refusal::new(
                "user_skills_per_user_limit (moving a skill to a user who has 100)",
                q("UPDATE user_skills SET user_id = '{U2}' WHERE id = '{S2}'"),
                CHECK_VIOLATION,
                "user_skills_per_user_limit",
            ),
            Refusal::new(
                "user_skills_per_user_limit (one multi-row statement crossing 100: U1 has 2, adds 101)",
                q("INSERT INTO user_skills (id, user_id, name, content)
                   SELECT ('e6000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, '{U1}', 'bulk-' || i, 'x'
                   FROM generate_series(1, 101) AS i"),
                CHECK_VIOLATION,
                "user_skills_per_user_limit",
            ),
        ]);
        db.expect_ok(
            "user_skills: editing a skill of a user at the limit is allowed",
            "UPDATE user_skills SET content = 'y', updated_at = now() WHERE id = 'e5000000-0000-4000-8000-000000000001'",
        );
        db.assert_holds(
            "user_skills: still exactly 100",
            &q("SELECT count(*) = 100 FROM user_skills WHERE user_id = '{U2}'"),
        );
        db.assert_holds(
            "user_skills: U1 still has its 2 (the crossing statement wrote nothing)",
            &q("SELECT count(*) = 2 FROM user_skills WHERE user_id = '{U1}'"),
        );
    }
}

const WORKERS: usize = 8;
const INSERTS_PER_WORKER: usize = 15;
/// Rounds per template, each with a new user: one round without the lock overshoots only
/// about half the time on two cores (see [`control_without_the_lock_the_race_overshoots`]),
/// so several rounds make a broken lock all but certain to show.
const ROUNDS: usize = 4;

/// A user who will race: `race-user-<round>`, created (committed) with no skills.
fn race_user(db: &mut TestDb, round: usize) -> String {
    let id = format!("a2000000-0000-4000-8000-{round:012}");
    db.exec(&format!(
        "INSERT INTO users (id, email, username) VALUES ('{id}', 'race{round}@case.test', 'race-user-{round}')"
    ));
    id
}

/// One worker of the race: waits at `start`, then makes 15 autocommitted inserts for
/// `user`; returns each insert's error (`None` for success).
fn race_worker(
    mut client: Client,
    user: &str,
    worker: usize,
    start: &Barrier,
) -> Vec<Option<postgres::Error>> {
    let insert = client
        .prepare(
            "INSERT INTO user_skills (id, user_id, name, content)
             VALUES (gen_random_uuid(), $1::text::uuid, $2, 'x')",
        )
        .unwrap_or_else(|e| panic!("worker {worker}: prepare: {}", describe(&e)));
    start.wait();
    (1..=INSERTS_PER_WORKER)
        .map(|i| {
            client
                .execute(&insert, &[&user, &format!("w{worker}-s{i}")])
                .err()
        })
        .collect()
}

/// 8 connections, released together by a barrier, each inserting 15 skills for `user`
/// (120 autocommitted attempts): every attempt's outcome.
fn race(db: &TestDb, user: &str) -> Vec<Option<postgres::Error>> {
    let clients: Vec<Client> = (0..WORKERS).map(|_| db.connect()).collect();
    let start = Barrier::new(WORKERS);
    std::thread::scope(|scope| {
        let handles: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(worker, client)| {
                let start = &start;
                scope.spawn(move || race_worker(client, user, worker + 1, start))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("race worker panicked"))
            .collect()
    })
}

fn skill_count(db: &mut TestDb, user: &str) -> i64 {
    db.int(&format!(
        "SELECT count(*) FROM user_skills WHERE user_id = '{user}'"
    ))
}

#[test]
fn eight_sessions_racing_past_the_limit_leave_exactly_100() {
    for schema in Schema::BOTH {
        let mut db = setup(schema);
        let mut failures = Failures::new(format!("skills race ({schema})"));
        let mut checks = 0;
        for round in 1..=ROUNDS {
            let user = race_user(&mut db, round);
            let outcomes = race(&db, &user);
            let inserted = outcomes.iter().filter(|o| o.is_none()).count();
            let refusals: Vec<&postgres::Error> = outcomes.iter().flatten().collect();
            for err in &refusals {
                failures.check(
                    format!("round {round}: every refusal is user_skills_per_user_limit"),
                    error_is(err, CHECK_VIOLATION, "user_skills_per_user_limit").map(drop),
                );
            }
            let rows = skill_count(&mut db, &user);
            failures.expect(
                format!("round {round}: exactly 100 rows remain"),
                rows == 100,
                format!("{rows} rows"),
            );
            failures.expect(
                format!("round {round}: 100 inserts succeeded"),
                inserted == 100,
                format!("{inserted} succeeded"),
            );
            failures.expect(
                format!("round {round}: 20 inserts were refused"),
                refusals.len() == WORKERS * INSERTS_PER_WORKER - 100,
                format!("{} refused", refusals.len()),
            );
            checks += refusals.len() + 3;
        }
        failures.assert_none(checks);
    }
}

/// The control experiment: with the owner-row lock removed from the trigger, the same race
/// leaves more than 100 skills (in most rounds; the psql control run got 107). It proves the
/// race above really races and that the lock is what keeps the count exact. Ignored because
/// it is probabilistic by nature: `cargo test -p schema-proof --test skills -- --ignored`.
#[test]
#[ignore = "probabilistic control experiment; run with --ignored"]
fn control_without_the_lock_the_race_overshoots() {
    let mut db = setup(Schema::Bare);
    let definition: String = db
        .query_one(
            "SELECT pg_get_functiondef('enforce_user_skills_per_user_limit'::regproc)",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(definition.contains("FOR NO KEY UPDATE"), "{definition}");
    db.exec(&definition.replace("FOR NO KEY UPDATE", ""));
    let counts: Vec<i64> = (1..=10)
        .map(|round| {
            let user = race_user(&mut db, round);
            race(&db, &user);
            skill_count(&mut db, &user)
        })
        .collect();
    assert!(
        counts.iter().any(|&n| n > 100),
        "no round overshot without the lock: {counts:?}"
    );
}
