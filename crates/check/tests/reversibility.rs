//! The `reversibility` part: a down that forgets something is caught and shown as a diff.

mod common;

use check::{Part, Status};
use common::*;

#[test]
fn our_migrations_revert_exactly_with_three_declared_enum_values() {
    let report = check(&our_migrations(), &[Part::Reversibility]);
    assert!(report.passed(), "{report}");
    let part = report.part(Part::Reversibility).unwrap();
    let accepted: Vec<&str> = part.notes.iter().map(|n| n.message.as_str()).collect();
    assert_eq!(accepted.len(), 3, "{report}");
    assert!(
        accepted
            .iter()
            .any(|m| m.contains("public.resource_type.user_skill ")),
        "{report}"
    );
    assert!(part.notes.iter().all(|n| {
        n.location
            .as_ref()
            .unwrap()
            .path
            .ends_with("000012_user_skills.down.sql")
    }));
}

#[test]
fn a_down_that_forgets_an_index_fails_with_a_diff() {
    let dir = base_with(&[
        (
            "000003_users_email.up.sql",
            "CREATE INDEX users_email_idx ON users (email);\nCOMMENT ON TABLE users IS 'people';\n",
        ),
        (
            "000003_users_email.down.sql",
            "COMMENT ON TABLE users IS NULL;\n",
        ),
        (
            "fixtures/000003_users_email.sql",
            "-- No new table: an index only.\n",
        ),
        ("000004_more.up.sql", "CREATE TABLE more (id int);\n"),
        ("000004_more.down.sql", "DROP TABLE more;\n"),
        ("fixtures/000004_more.sql", "INSERT INTO more VALUES (1);\n"),
    ]);
    let report = check(dir.path(), &[Part::Reversibility]);
    assert!(!report.passed());
    let f = failures(&report, Part::Reversibility);
    assert_eq!(f.len(), 1, "{report}");
    assert!(f[0].message.contains("3_users_email"), "{report}");
    assert!(
        f[0].location
            .as_ref()
            .unwrap()
            .path
            .ends_with("000003_users_email.down.sql"),
        "{report}"
    );
    let diff = f[0].detail.as_deref().unwrap();
    assert!(
        diff.lines()
            .any(|l| l.starts_with('+')
                && l.contains("CREATE INDEX users_email_idx ON public.users")),
        "{diff}"
    );
    // The full report names it and walks on (migration 4 reverts).
    let summary = &report.part(Part::Reversibility).unwrap().summary;
    assert!(
        summary.contains("4 migration(s)")
            && summary.contains("1 do(es) not revert: 3_users_email"),
        "{report}"
    );
    // --fail-fast: the walk stopped at the first difference.
    let report = check::run(
        &check::Options::new(dir.path())
            .only(&[Part::Reversibility])
            .cluster(cluster())
            .fail_fast(true),
    );
    assert_eq!(failures(&report, Part::Reversibility).len(), 1, "{report}");
    assert!(
        report
            .part(Part::Reversibility)
            .unwrap()
            .summary
            .contains("stopped at migration 3_users_email")
    );
}

#[test]
fn a_down_that_forgets_to_restore_a_function_body_fails() {
    let dir = base_with(&[
        (
            "000003_f.up.sql",
            "CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS $$ SELECT 41 $$;\n",
        ),
        ("000003_f.down.sql", "DROP FUNCTION answer();\n"),
        ("fixtures/000003_f.sql", "-- A function only.\n"),
        (
            "000004_f2.up.sql",
            "CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql AS $$ SELECT 42 $$;\n",
        ),
        (
            "000004_f2.down.sql",
            "-- forgot to restore SELECT 41\nSELECT 1;\n",
        ),
        ("fixtures/000004_f2.sql", "-- A function body only.\n"),
    ]);
    let report = check(dir.path(), &[Part::Reversibility]);
    let f = failures(&report, Part::Reversibility);
    assert_eq!(f.len(), 1, "{report}");
    assert!(f[0].message.contains("4_f2"), "{report}");
    let diff = f[0].detail.as_deref().unwrap();
    assert!(
        diff.contains("-") && diff.contains("SELECT 41") && diff.contains("SELECT 42"),
        "{diff}"
    );
}

#[test]
fn the_catalog_snapshot_sees_what_it_must() {
    // Each pair: an up, and a down that forgets one detail.
    let cases: &[(&str, &str, &str)] = &[
        (
            "ALTER TABLE users ADD CONSTRAINT users_email_check CHECK (email <> '')",
            "SELECT 1",
            "constraint",
        ),
        (
            "ALTER TABLE users ALTER COLUMN email SET DEFAULT ''",
            "SELECT 1",
            "default",
        ),
        (
            "COMMENT ON COLUMN users.email IS 'where to write'",
            "SELECT 1",
            "comment",
        ),
        ("CREATE TYPE mood AS ENUM ('ok')", "SELECT 1", "type"),
        (
            "ALTER TABLE users ADD COLUMN x int; ALTER TABLE users DROP COLUMN x; ALTER TABLE users ADD COLUMN x int",
            "ALTER TABLE users DROP COLUMN x",
            "none",
        ),
        (
            "CREATE TRIGGER t BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()",
            "SELECT 1",
            "trigger",
        ),
        (
            "CREATE VIEW v AS SELECT id FROM users",
            "DROP VIEW v; CREATE VIEW v AS SELECT id, email FROM users",
            "view",
        ),
        (
            "ALTER TABLE users ALTER COLUMN email DROP NOT NULL",
            "SELECT 1",
            "not null",
        ),
    ];
    for (up, down, what) in cases {
        let dir = base_with(&[
            ("000003_x.up.sql", &format!("{up};\n")),
            ("000003_x.down.sql", &format!("{down};\n")),
            ("fixtures/000003_x.sql", "-- nothing\n"),
        ]);
        let report = check(dir.path(), &[Part::Reversibility]);
        if *what == "none" {
            assert!(report.passed(), "{what}: {report}");
        } else {
            assert!(!report.passed(), "{what} not seen: {report}");
        }
    }
}

#[test]
fn enum_values_are_accepted_only_when_declared_exactly() {
    let base = [
        ("000003_mood.up.sql", "CREATE TYPE mood AS ENUM ('ok');\n"),
        ("000003_mood.down.sql", "DROP TYPE mood;\n"),
        ("fixtures/000003_mood.sql", "-- A type only.\n"),
        (
            "000004_meh.up.sql",
            "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh';\n",
        ),
        ("fixtures/000004_meh.sql", "-- A value only.\n"),
    ];
    let run = |down: &str| {
        let dir = base_with(&base);
        write(dir.path(), &[("000004_meh.down.sql", down)]);
        check(dir.path(), &[Part::Reversibility])
    };
    // Declared: passes, and the accepted value is shown.
    let report = run("-- irreversible: enum-value mood.meh\nSELECT 1;\n");
    assert!(report.passed(), "{report}");
    let part = report.part(Part::Reversibility).unwrap();
    assert_eq!(part.notes.len(), 1);
    assert!(
        part.notes[0].message.contains("public.mood.meh"),
        "{report}"
    );
    assert_eq!(part.notes[0].location.as_ref().unwrap().line, Some(1));
    // Qualified: the same.
    assert!(run("-- irreversible: enum-value public.mood.meh\nSELECT 1;\n").passed());
    // Undeclared: the difference fails.
    let report = run("SELECT 1;\n");
    assert!(!report.passed());
    assert!(report.to_string().contains("'meh'"), "{report}");
    // Declared, plus a value that is no difference: the stale directive fails.
    let report = run(
        "-- irreversible: enum-value mood.meh\n-- irreversible: enum-value mood.ok\nSELECT 1;\n",
    );
    let f = failures(&report, Part::Reversibility);
    assert_eq!(f.len(), 1, "{report}");
    assert!(
        f[0].message.contains("mood.ok") && f[0].message.contains("existed before"),
        "{report}"
    );
    // Malformed directive.
    let report =
        run("-- irreversible: enum-value meh\n-- irreversible: enum-value mood.meh\nSELECT 1;\n");
    assert!(
        failures(&report, Part::Reversibility)[0]
            .message
            .contains("malformed"),
        "{report}"
    );
}

#[test]
fn a_down_that_fails_is_reported_with_its_file_and_line() {
    let dir = base_with(&[
        ("000003_x.up.sql", "CREATE TABLE x (id int);\n"),
        (
            "000003_x.down.sql",
            "\nSELECT nope FROM x;\nDROP TABLE x;\n",
        ),
        ("fixtures/000003_x.sql", "INSERT INTO x VALUES (1);\n"),
    ]);
    let report = check(dir.path(), &[Part::Reversibility]);
    let f = failures(&report, Part::Reversibility);
    assert!(f[0].message.contains("000003_x.down.sql:2"), "{report}");
    assert!(matches!(
        report.part(Part::Reversibility).unwrap().status,
        Status::Failed
    ));
}

#[test]
fn a_down_runs_against_the_rows_of_earlier_fixtures() {
    // The down deletes users' rows it must not: a NOT NULL column added back fails on them.
    let dir = base_with(&[
        ("000003_x.up.sql", "ALTER TABLE users DROP COLUMN email;\n"),
        (
            "000003_x.down.sql",
            "ALTER TABLE users ADD COLUMN email text NOT NULL;\n",
        ),
        ("fixtures/000003_x.sql", "-- no new table\n"),
    ]);
    let report = check(dir.path(), &[Part::Reversibility]);
    assert!(!report.passed());
    assert!(
        report.to_string().contains("contains null values"),
        "{report}"
    );
}

/// Migrations 3..=8 on top of BASE, each a table with a row; `bad` forgets to drop its index.
fn six_more(bad: Option<u32>) -> tempfile::TempDir {
    let dir = folder(BASE);
    for v in 3..=8u32 {
        let t = format!("t{v}");
        let down = if Some(v) == bad {
            format!("DROP INDEX {t}_idx;\n-- forgot: nothing; the table stays\n")
        } else {
            format!("DROP TABLE {t};\n")
        };
        write(
            dir.path(),
            &[
                (
                    &format!("{v:06}_{t}.up.sql"),
                    &format!("CREATE TABLE {t} (id int);\nCREATE INDEX {t}_idx ON {t} (id);\n"),
                ),
                (&format!("{v:06}_{t}.down.sql"), &down),
                (
                    &format!("fixtures/{v:06}_{t}.sql"),
                    &format!("INSERT INTO {t} VALUES (1);\n"),
                ),
            ],
        );
    }
    dir
}

#[test]
fn parallel_walkers_report_the_first_difference() {
    use check::reversibility::run_with;
    let set = |d: &tempfile::TempDir| migrate::MigrationSet::discover(d.path()).unwrap();
    // 8 migrations in 2 walkers: 1..=5 and 6..=8.
    let ok = six_more(None);
    let walked = run_with(&set(&ok), cluster(), 2);
    assert!(walked.report.failures.is_empty(), "{:?}", walked.report);
    assert!(
        walked.report.summary.contains("2 databases in parallel"),
        "{}",
        walked.report.summary
    );
    let db = walked.database.expect("the last walker's database");
    let mut c = db.connect().unwrap();
    let rows: i64 = c.query_one("SELECT count(*) FROM t8", &[]).unwrap().get(0);
    assert_eq!(rows, 1);

    for bad in [4, 7] {
        let dir = six_more(Some(bad));
        let walked = run_with(&set(&dir), cluster(), 2);
        assert_eq!(walked.report.failures.len(), 1, "{:?}", walked.report);
        assert!(
            walked.report.failures[0]
                .message
                .contains(&format!("migration {bad}_t{bad} ")),
            "{:?}",
            walked.report
        );
        // The full report walked on to the end: the chain with fixtures is there.
        assert!(walked.database.is_some());
    }
    // Both walkers fail: with --fail-fast, the first one wins.
    let dir = six_more(Some(4));
    write(dir.path(), &[("000008_t8.down.sql", "SELECT 1;\n")]);
    let fast = check::reversibility::WalkOptions {
        segments: 2,
        fail_fast: true,
        since: None,
    };
    let walked = check::reversibility::walk_set(&set(&dir), cluster(), &fast);
    assert_eq!(walked.report.failures.len(), 1);
    assert!(
        walked.report.summary.contains("stopped at migration 4_t4"),
        "{:?}",
        walked.report
    );
    // The full report: both, in chain order, from both walkers.
    let walked = run_with(&set(&dir), cluster(), 2);
    let labels: Vec<&str> = walked
        .report
        .failures
        .iter()
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(labels.len(), 2, "{:?}", walked.report);
    assert!(labels[0].contains("migration 4_t4 ") && labels[1].contains("migration 8_t8 "));
}

#[test]
fn no_transaction_migrations_walk_like_the_others() {
    let dir = base_with(&[
        (
            "000003_idx.up.sql",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\n",
        ),
        (
            "000003_idx.down.sql",
            "-- no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS users_email_idx;\n",
        ),
        ("fixtures/000003_idx.sql", "-- An index only.\n"),
    ]);
    let report = check(
        dir.path(),
        &[Part::Reversibility, Part::Lint, Part::Fixtures],
    );
    assert!(report.passed(), "{report}");
}

/// BASE plus migrations 3..=9, each a table with an index and a row; the downs of 4, 6 and 8
/// do not revert, in three different ways.
fn three_irreversible() -> tempfile::TempDir {
    let dir = folder(BASE);
    for v in 3..=9u32 {
        let t = format!("t{v}");
        let down = match v {
            // Forgets the index, keeps the table.
            4 => format!("DROP INDEX {t}_idx;\n"),
            // Forgets a comment the up added.
            6 => format!("DROP TABLE {t};\n"),
            // The down itself fails.
            8 => format!("DROP TABLE {t}_nope;\n"),
            _ => format!("DROP TABLE {t};\n"),
        };
        let comment = if v == 6 {
            "COMMENT ON TABLE users IS 'six';\n"
        } else {
            ""
        };
        write(
            dir.path(),
            &[
                (
                    &format!("{v:06}_{t}.up.sql"),
                    &format!(
                        "CREATE TABLE {t} (id int);\nCREATE INDEX {t}_idx ON {t} (id);\n{comment}"
                    ),
                ),
                (&format!("{v:06}_{t}.down.sql"), &down),
                (
                    &format!("fixtures/{v:06}_{t}.sql"),
                    &format!("INSERT INTO {t} VALUES ({v});\n"),
                ),
            ],
        );
    }
    dir
}

#[test]
fn one_run_reports_every_irreversible_migration_in_chain_order() {
    let dir = three_irreversible();
    let report = check(dir.path(), &[Part::Reversibility, Part::Fixtures]);
    let f = failures(&report, Part::Reversibility);
    assert_eq!(f.len(), 3, "{report}");
    for (finding, (label, file)) in f.iter().zip([
        ("4_t4", "000004_t4.down.sql"),
        ("6_t6", "000006_t6.down.sql"),
        ("8_t8", "000008_t8.down.sql"),
    ]) {
        assert!(
            finding.message.contains(&format!("migration {label} ")),
            "{report}"
        );
        assert!(
            finding.location.as_ref().unwrap().path.ends_with(file),
            "{report}"
        );
    }
    // Each difference with its own diff.
    let d4 = f[0].detail.as_deref().unwrap();
    assert!(
        d4.contains("CREATE TABLE public.t4") && !d4.contains("t6"),
        "{d4}"
    );
    let d6 = f[1].detail.as_deref().unwrap();
    assert!(d6.contains("'six'"), "{d6}");
    assert!(
        f[2].message.contains("000008_t8.down.sql") && f[2].message.contains("t8_nope"),
        "{report}"
    );
    let summary = &report.part(Part::Reversibility).unwrap().summary;
    assert!(
        summary.contains("3 do(es) not revert: 4_t4, 6_t6, 8_t8"),
        "{summary}"
    );
    // The walk went on to the end, so the fixtures part checked the walked chain.
    assert!(
        matches!(report.part(Part::Fixtures).unwrap().status, Status::Passed),
        "{report}"
    );

    // --fail-fast stops at the first.
    let fast = check::run(
        &check::Options::new(dir.path())
            .only(&[Part::Reversibility])
            .cluster(cluster())
            .fail_fast(true),
    );
    let f = failures(&fast, Part::Reversibility);
    assert_eq!(f.len(), 1, "{fast}");
    assert!(f[0].message.contains("migration 4_t4 "), "{fast}");

    // --since 5: 4 is applied, not checked; 6 and 8 are reported.
    let since = check::run(
        &check::Options::new(dir.path())
            .only(&[Part::Reversibility])
            .cluster(cluster())
            .since(5),
    );
    let f = failures(&since, Part::Reversibility);
    assert_eq!(f.len(), 2, "{since}");
    assert!(f[0].message.contains("migration 6_t6 ") && f[1].message.contains("migration 8_t8 "));
    let summary = &since.part(Part::Reversibility).unwrap().summary;
    assert!(
        summary.contains("5 migration(s)")
            && summary.contains("4 migration(s) before --since applied, not checked"),
        "{summary}"
    );
}

#[test]
fn the_full_report_walks_on_in_parallel_walkers() {
    let dir = three_irreversible();
    let set = migrate::MigrationSet::discover(dir.path()).unwrap();
    for segments in [2, 3] {
        let walked = check::reversibility::run_with(&set, cluster(), segments);
        let labels: Vec<&str> = walked
            .report
            .failures
            .iter()
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(labels.len(), 3, "{segments}: {:?}", walked.report);
        assert!(
            labels[0].contains("4_t4") && labels[1].contains("6_t6") && labels[2].contains("8_t8")
        );
        // The last walker ends at the full chain with fixtures.
        let db = walked.database.expect("the walk reached the end");
        let mut c = db.connect().unwrap();
        let n: i32 = c.query_one("SELECT id FROM t9", &[]).unwrap().get(0);
        assert_eq!(n, 9);
    }
}

#[test]
fn an_up_that_does_not_apply_stops_the_walk() {
    let dir = base_with(&[
        ("000003_x.up.sql", "CREATE TABLE x (id int);\n"),
        ("000003_x.down.sql", "SELECT 1;\n"),
        ("fixtures/000003_x.sql", "INSERT INTO x VALUES (1);\n"),
        (
            "000004_y.up.sql",
            "CREATE TABLE y (id int REFERENCES nope);\n",
        ),
        ("000004_y.down.sql", "DROP TABLE y;\n"),
        ("fixtures/000004_y.sql", "INSERT INTO y VALUES (1);\n"),
        ("000005_z.up.sql", "CREATE TABLE z (id int);\n"),
        ("000005_z.down.sql", "SELECT 1;\n"),
        ("fixtures/000005_z.sql", "INSERT INTO z VALUES (1);\n"),
    ]);
    let report = check(dir.path(), &[Part::Reversibility]);
    let f = failures(&report, Part::Reversibility);
    assert_eq!(f.len(), 2, "{report}");
    assert!(f[0].message.contains("migration 3_x "), "{report}");
    assert!(f[1].message.contains("4_y does not apply"), "{report}");
    assert!(
        report
            .part(Part::Reversibility)
            .unwrap()
            .summary
            .contains("stopped at migration 4_y"),
        "{report}"
    );
}

/// A script writing to a catalog directly leaves no trace in the walk's change log (no event
/// trigger reports it): the walk scans every catalog for such migrations, so a down that does
/// not undo the write is still caught.
#[test]
fn a_direct_catalog_write_that_the_down_forgets_is_caught() {
    let dir = base_with(&[
        (
            "000003_users_rls.up.sql",
            "UPDATE pg_catalog.pg_class SET relrowsecurity = true WHERE oid = 'users'::regclass;\n",
        ),
        ("000003_users_rls.down.sql", "SELECT 1;\n"),
        (
            "fixtures/000003_users_rls.sql",
            "-- No new table: a flag only.\n",
        ),
    ]);
    let report = check(dir.path(), &[Part::Reversibility]);
    assert!(!report.passed(), "{report}");
    let f = failures(&report, Part::Reversibility);
    assert_eq!(f.len(), 1, "{report}");
    assert!(f[0].message.contains("3_users_rls"), "{report}");
    assert!(
        f[0].detail
            .as_deref()
            .unwrap_or("")
            .contains("ROW LEVEL SECURITY")
            || f[0]
                .detail
                .as_deref()
                .unwrap_or("")
                .contains("row level security"),
        "{report}"
    );
}

#[test]
fn a_migration_that_changes_the_sessions_search_path_reverts_exactly() {
    // A session-level `SET search_path` outlives the migration's transaction; names print
    // relative to it, so a snapshot read on the migrations' own session would see every
    // object of the schema printed anew (a false difference).
    let dir = base_with(&[
        (
            "000003_app.up.sql",
            "CREATE SCHEMA app;\nSET search_path = app, public;\nCREATE TABLE app.things (id int PRIMARY KEY);\n",
        ),
        (
            "000003_app.down.sql",
            "DROP TABLE app.things;\nDROP SCHEMA app;\n",
        ),
        (
            "fixtures/000003_app.sql",
            "INSERT INTO app.things VALUES (1);\n",
        ),
        (
            "000004_more.up.sql",
            "CREATE TABLE app.more (id int REFERENCES app.things (id));\nCREATE VIEW app.v AS SELECT id FROM app.more;\n",
        ),
        (
            "000004_more.down.sql",
            "DROP VIEW app.v;\nDROP TABLE app.more;\n",
        ),
        (
            "fixtures/000004_more.sql",
            "INSERT INTO app.more VALUES (1);\n",
        ),
    ]);
    let report = check(dir.path(), &[Part::Reversibility]);
    assert!(report.passed(), "{report}");
}
