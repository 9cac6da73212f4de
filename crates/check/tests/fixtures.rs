//! The `fixtures` part: every table has rows after the chain with fixtures, unless exempt.

mod common;

use check::Part;
use common::*;

const EMPTY_TABLE: &[(&str, &str)] = &[
    ("000003_audit.up.sql", "CREATE TABLE audit (id int);\n"),
    ("000003_audit.down.sql", "DROP TABLE audit;\n"),
    ("fixtures/000003_audit.sql", "-- forgot the rows\n"),
];

#[test]
fn our_migrations_leave_no_table_empty() {
    let report = check(&our_migrations(), &[Part::Fixtures]);
    assert!(report.passed(), "{report}");
}

#[test]
fn an_empty_table_fails_naming_it() {
    let dir = base_with(EMPTY_TABLE);
    let report = check(dir.path(), &[Part::Fixtures]);
    let f = failures(&report, Part::Fixtures);
    assert_eq!(f.len(), 1, "{report}");
    assert_eq!(f[0].rule.as_deref(), Some("empty-table"));
    assert!(f[0].message.contains("table audit has no rows"), "{report}");
}

#[test]
fn an_exempt_table_passes_and_is_shown() {
    let dir = base_with(EMPTY_TABLE);
    write(
        dir.path(),
        &[(
            "fixtures/EXEMPT",
            "# tables that stay empty\naudit filled by the application only\n",
        )],
    );
    let report = check(dir.path(), &[Part::Fixtures]);
    assert!(report.passed(), "{report}");
    let notes = &report.part(Part::Fixtures).unwrap().notes;
    assert!(
        notes[0]
            .message
            .contains("audit is exempt: filled by the application only")
    );
    assert_eq!(notes[0].location.as_ref().unwrap().line, Some(2));
}

#[test]
fn exemptions_need_a_reason_and_an_existing_table() {
    let dir = base_with(EMPTY_TABLE);
    write(
        dir.path(),
        &[("fixtures/EXEMPT", "audit\nno_such_table because\n")],
    );
    let report = check(dir.path(), &[Part::Fixtures]);
    let rules: Vec<_> = failures(&report, Part::Fixtures)
        .into_iter()
        .map(|f| f.rule.unwrap())
        .collect();
    assert_eq!(
        rules,
        ["exempt-without-reason", "empty-table", "stale-exemption"],
        "{report}"
    );
}

#[test]
fn the_walk_and_the_fixtures_check_share_one_database() {
    let dir = base_with(EMPTY_TABLE);
    let report = check(dir.path(), &[Part::Reversibility, Part::Fixtures]);
    assert!(
        report
            .part(Part::Reversibility)
            .unwrap()
            .failures
            .is_empty(),
        "{report}"
    );
    assert_eq!(failures(&report, Part::Fixtures).len(), 1, "{report}");
}

#[test]
fn since_leaves_out_the_tables_and_fixture_files_before_it() {
    // Migration 3 creates an empty table and has no fixture file; 4 is fine.
    let dir = base_with(&[
        ("000003_old.up.sql", "CREATE TABLE old (id int);\n"),
        ("000003_old.down.sql", "DROP TABLE old;\n"),
        ("000004_new.up.sql", "CREATE TABLE new (id int);\n"),
        ("000004_new.down.sql", "DROP TABLE new;\n"),
        ("fixtures/000004_new.sql", "INSERT INTO new VALUES (1);\n"),
    ]);
    let parts = [Part::Set, Part::Fixtures];
    let all = check(dir.path(), &parts);
    assert!(!all.passed(), "{all}");
    assert!(all.to_string().contains("table old has no rows"), "{all}");
    let since = check::run(
        &check::Options::new(dir.path())
            .only(&parts)
            .cluster(cluster())
            .since(4),
    );
    assert!(since.passed(), "{since}");
    assert!(
        since
            .part(Part::Fixtures)
            .unwrap()
            .summary
            .contains("3 table(s) created before --since not checked"),
        "{since}"
    );
}
