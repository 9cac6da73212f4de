//! The `lint` part: each rule fires on a purpose-built migration (through sqlparser's AST, and
//! through tokens where sqlparser rejects the statement), and is silenced only with a reason.

mod common;

use check::lint::queries::ReleaseQueries;
use check::lint::{self, LintOptions, Release};
use check::{Part, Report};
use common::*;

fn lint_with(files: &[(&str, &str)], options: LintOptions) -> Report {
    let dir = base_with(files);
    let mut opts = check::Options::new(dir.path()).only(&[Part::Lint]);
    opts.lint = options;
    check::run(&opts)
}

/// Lint BASE + a migration 3 whose up is `up`.
fn lint3(up: &str) -> Report {
    lint_with(
        &[
            ("000003_x.up.sql", up),
            ("000003_x.down.sql", "SELECT 1;\n"),
            ("fixtures/000003_x.sql", "-- none\n"),
        ],
        LintOptions::default(),
    )
}

/// (rule, line) of every lint failure.
fn hits(report: &Report) -> Vec<(String, usize)> {
    failures(report, Part::Lint)
        .into_iter()
        .map(|f| (f.rule.unwrap(), f.location.unwrap().line.unwrap()))
        .collect()
}

fn one(rule: &str, line: usize) -> Vec<(String, usize)> {
    vec![(rule.to_string(), line)]
}

#[test]
fn our_migrations_pass_and_unparsed_statements_are_listed() {
    let report = check(&our_migrations(), &[Part::Lint]);
    assert!(report.passed(), "{report}");
    let notes = &report.part(Part::Lint).unwrap().notes;
    assert!(
        notes.iter().any(|n| n.rule.as_deref() == Some("unparsed")
            && n.location
                .as_ref()
                .unwrap()
                .path
                .ends_with("000001_core_identity.up.sql")
            && n.message.contains("line 100 (COMMENT ON CONSTRAINT)")),
        "{report}"
    );
}

#[test]
fn index_without_concurrently() {
    let rule = "index-without-concurrently";
    assert_eq!(
        hits(&lint3(
            "-- an index\n\nCREATE INDEX users_email_idx ON users (email);\n"
        )),
        one(rule, 3)
    );
    // Through tokens: sqlparser rejects TABLESPACE here; the statement is listed as unparsed.
    let report =
        lint3("CREATE INDEX users_email_idx ON users USING btree (email) TABLESPACE pg_default;\n");
    assert_eq!(hits(&report), one(rule, 1));
    assert!(
        report
            .part(Part::Lint)
            .unwrap()
            .notes
            .iter()
            .any(|n| n.rule.as_deref() == Some("unparsed"))
    );
    // Not on a table created by the same migration, nor CONCURRENTLY.
    assert!(lint3("CREATE TABLE t (a int);\nCREATE INDEX t_a_idx ON t (a);\n").passed());
    assert!(lint3("-- no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\n").passed());
}

#[test]
fn not_null_without_default() {
    let rule = "not-null-without-default";
    assert_eq!(
        hits(&lint3("ALTER TABLE users ADD COLUMN n int NOT NULL;\n")),
        one(rule, 1)
    );
    // Through tokens.
    assert_eq!(
        hits(&lint3(
            "ALTER TABLE users ADD COLUMN n int NOT NULL, ALTER COLUMN email SET STATISTICS 100;\n"
        )),
        one(rule, 1)
    );
    assert!(lint3("ALTER TABLE users ADD COLUMN n int NOT NULL DEFAULT 0;\n").passed());
    assert!(lint3("ALTER TABLE users ADD COLUMN n int;\n").passed());
    assert!(lint3("CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN n int NOT NULL;\n").passed());
}

#[test]
fn volatile_default() {
    let rule = "volatile-default";
    assert_eq!(
        hits(&lint3(
            "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();\n"
        )),
        one(rule, 1)
    );
    assert_eq!(
        hits(&lint3("ALTER TABLE users ADD COLUMN seq bigserial;\n")),
        one(rule, 1)
    );
    assert_eq!(
        hits(&lint3(
            "ALTER TABLE users ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;\n"
        )),
        one(rule, 1)
    );
    // Through tokens.
    assert_eq!(
        hits(&lint3(
            "ALTER TABLE users ADD COLUMN r float8 DEFAULT random(), ALTER COLUMN email SET STATISTICS 100;\n"
        )),
        one(rule, 1)
    );
    assert!(
        lint3("ALTER TABLE users ADD COLUMN at timestamptz NOT NULL DEFAULT now();\n").passed()
    );
}

#[test]
fn constraint_without_not_valid() {
    let rule = "constraint-without-not-valid";
    assert_eq!(
        hits(&lint3(
            "ALTER TABLE users ADD CONSTRAINT users_id_check CHECK (id > 0);\n"
        )),
        one(rule, 1)
    );
    assert_eq!(
        hits(&lint3(
            "ALTER TABLE users ADD COLUMN org_id bigint;\nALTER TABLE users ADD CONSTRAINT users_org_fkey FOREIGN KEY (org_id) REFERENCES orgs (id);\n"
        )),
        one(rule, 2)
    );
    assert_eq!(
        hits(&lint3(
            "ALTER TABLE users ADD COLUMN org_id bigint REFERENCES orgs (id);\n"
        )),
        one(rule, 1)
    );
    assert!(lint3("ALTER TABLE users ADD CONSTRAINT users_id_check CHECK (id > 0) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT users_id_check;\n").passed());
}

#[test]
fn enum_value_used_in_transaction() {
    let rule = "enum-value-used-in-transaction";
    let setup = "CREATE TYPE mood AS ENUM ('ok');\nCREATE TABLE feelings (m mood);\n";
    let files = |up3: &str, up4: &str| {
        lint_with(
            &[
                ("000003_x.up.sql", &format!("{setup}{up3}")),
                ("000003_x.down.sql", "SELECT 1;\n"),
                ("fixtures/000003_x.sql", "-- none\n"),
                ("000004_y.up.sql", up4),
                ("000004_y.down.sql", "SELECT 1;\n"),
                ("fixtures/000004_y.sql", "-- none\n"),
            ],
            LintOptions::default(),
        )
    };
    // Used later in the same migration.
    let report = files(
        "ALTER TYPE mood ADD VALUE 'meh';\nINSERT INTO feelings VALUES ('meh');\n",
        "SELECT 1;\n",
    );
    assert_eq!(hits(&report), one(rule, 3), "{report}");
    assert!(
        failures(&report, Part::Lint)[0]
            .message
            .contains("000003_x.up.sql:4"),
        "{report}"
    );
    // Used by the next migration, which runs in the same transaction by default.
    let report = files(
        "ALTER TYPE mood ADD VALUE 'meh';\n",
        "UPDATE feelings SET m = 'meh';\n",
    );
    assert_eq!(hits(&report), one(rule, 3), "{report}");
    // The next migration runs outside the transaction: fine.
    assert!(
        files(
            "ALTER TYPE mood ADD VALUE 'meh';\n",
            "-- no-transaction\nUPDATE feelings SET m = 'meh';\n"
        )
        .passed()
    );
    // Not used at all: fine.
    assert!(files("ALTER TYPE mood ADD VALUE 'meh';\n", "SELECT 1;\n").passed());
}

#[test]
fn drop_or_rename_in_use() {
    let rule = "drop-or-rename-in-use";
    let queries = folder(&[(
        "users.sql",
        "-- name: GetUser :one\nSELECT id, email FROM users WHERE id = @id;\n\n-- name: ListOrgs :many\nSELECT * FROM orgs;\n",
    )]);
    let release = Release::Queries(ReleaseQueries::from_dir(queries.path()).unwrap());
    let run = |up: &str| {
        lint_with(
            &[
                ("000003_x.up.sql", up),
                ("000003_x.down.sql", "SELECT 1;\n"),
                ("fixtures/000003_x.sql", "-- none\n"),
            ],
            LintOptions {
                since: None,
                release: release.clone(),
            },
        )
    };
    let report = run("ALTER TABLE users DROP COLUMN email;\n");
    assert_eq!(hits(&report), one(rule, 1), "{report}");
    assert!(
        failures(&report, Part::Lint)[0]
            .message
            .contains("users.sql:2 (GetUser)"),
        "{report}"
    );
    assert_eq!(
        hits(&run("ALTER TABLE users RENAME COLUMN email TO mail;\n")),
        one(rule, 1)
    );
    assert_eq!(
        hits(&run("ALTER TABLE users RENAME TO people;\n")),
        one(rule, 1)
    );
    // SELECT * uses every column of orgs.
    assert_eq!(
        hits(&run("ALTER TABLE orgs DROP COLUMN name;\n")),
        one(rule, 1)
    );
    assert_eq!(hits(&run("DROP TABLE orgs;\n")), one(rule, 1));
    // Not used by the release, or dropped and created again: fine.
    assert!(
        run("ALTER TABLE users ADD COLUMN x int;\nALTER TABLE users DROP COLUMN x;\n").passed()
    );
    assert!(run("CREATE VIEW v AS SELECT 1;\nDROP VIEW v;\n").passed());
    assert!(run("DROP TABLE users;\nCREATE TABLE users (id bigint, email text);\n").passed());
    // Without a release the rule says it did not run.
    // (the drop is then reported by drop-or-rename instead).
    let report = lint3("ALTER TABLE users DROP COLUMN email;\n");
    assert_eq!(hits(&report), one("drop-or-rename", 1), "{report}");
    assert!(
        report.part(Part::Lint).unwrap().notes[0]
            .message
            .contains("not checked"),
        "{report}"
    );
}

#[test]
fn silencing_needs_a_known_rule_and_a_reason() {
    let index = "CREATE INDEX users_email_idx ON users (email);\n";
    // With a reason: silenced and counted.
    let report = lint3(&format!(
        "-- Lookup by email.\n-- check:allow index-without-concurrently users holds 10 rows in every deployment\n{index}"
    ));
    assert!(report.passed(), "{report}");
    assert!(
        report
            .part(Part::Lint)
            .unwrap()
            .summary
            .contains("1 finding(s) silenced"),
        "{report}"
    );
    // Without a reason: an error, and the finding stays.
    let report = lint3(&format!(
        "-- check:allow index-without-concurrently\n{index}"
    ));
    assert_eq!(
        hits(&report),
        vec![
            ("allow".to_string(), 1),
            ("index-without-concurrently".to_string(), 2)
        ],
        "{report}"
    );
    assert!(
        failures(&report, Part::Lint)[0]
            .message
            .contains("gives no reason")
    );
    // An unknown rule: an error.
    let report = lint3(&format!(
        "-- check:allow index-concurrently tiny table\n{index}"
    ));
    assert_eq!(hits(&report)[0], ("allow".to_string(), 1), "{report}");
    // Separated by a blank line: not directly above, silences nothing.
    let report = lint3(&format!(
        "-- check:allow index-without-concurrently tiny\n\n{index}"
    ));
    assert_eq!(
        hits(&report),
        one("index-without-concurrently", 3),
        "{report}"
    );
    // Silencing another rule than the one firing: the finding stays, the allow is a note.
    let report = lint3(&format!("-- check:allow volatile-default tiny\n{index}"));
    assert_eq!(
        hits(&report),
        one("index-without-concurrently", 2),
        "{report}"
    );
    assert!(
        report
            .part(Part::Lint)
            .unwrap()
            .notes
            .iter()
            .any(|n| n.message.contains("silences nothing"))
    );
}

#[test]
fn every_rule_is_silenceable_and_listed() {
    let names: Vec<&str> = lint::rules::RULES.iter().map(|r| r.name).collect();
    assert_eq!(
        names,
        [
            "enum-value-used-in-transaction",
            "index-without-concurrently",
            "not-null-without-default",
            "volatile-default",
            "drop-or-rename-in-use",
            "constraint-without-not-valid",
            "changing-column-type",
            "unique-without-index",
            "set-not-null-without-check",
            "drop-or-rename"
        ]
    );
    let report = lint3(
        "-- check:allow not-null-without-default backfilled by the previous release\n-- check:allow volatile-default table is empty in every deployment\nALTER TABLE users ADD COLUMN n bigserial NOT NULL;\n",
    );
    assert!(report.passed(), "{report}");
}

#[test]
fn lint_since_skips_older_migrations() {
    let dir = base_with(&[
        (
            "000003_x.up.sql",
            "CREATE INDEX users_email_idx ON users (email);\n",
        ),
        ("000003_x.down.sql", "SELECT 1;\n"),
        ("fixtures/000003_x.sql", "-- none\n"),
    ]);
    let mut opts = check::Options::new(dir.path()).only(&[Part::Lint]);
    opts.lint.since = Some(4);
    let report = check::run(&opts);
    assert!(report.passed(), "{report}");
    assert!(
        report
            .part(Part::Lint)
            .unwrap()
            .summary
            .contains("3 migration(s) before --since")
    );
}

/// The allow line for `rule`, above `sql`.
fn allowed(rule: &str, sql: &str) -> String {
    format!("-- check:allow {rule} reviewed: the table is tiny\n{sql}")
}

#[test]
fn transaction_nesting_is_refused_by_set_with_file_and_line() {
    // Migration discovery refuses top-level transaction control in a transactional
    // migration, so `set` reports it (and no lint rule is needed for it).
    let report = lint3("BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n");
    let f = failures(&report, Part::Set);
    assert!(
        f.iter().any(|f| f
            .location
            .as_ref()
            .is_some_and(|l| l.path.ends_with("000003_x.up.sql") && l.line == Some(3))
            && f.message.contains("COMMIT")),
        "{report}"
    );
    // A -- no-transaction migration may control its own transactions.
    assert!(lint3("-- no-transaction\nBEGIN;\nSELECT 1;\nCOMMIT;\n").passed());
}

#[test]
fn changing_column_type() {
    let rule = "changing-column-type";
    assert_eq!(
        hits(&lint3("ALTER TABLE users ALTER COLUMN id TYPE int;\n")),
        one(rule, 1)
    );
    assert_eq!(
        hits(&lint3(
            "ALTER TABLE users ALTER COLUMN email SET DATA TYPE varchar(10), ALTER id TYPE numeric(20, 0);\n"
        )),
        one(rule, 1)
    );
    // The binary-compatible targets, and a table created here.
    assert!(hits(&lint3("ALTER TABLE users ALTER COLUMN email TYPE text;\nALTER TABLE users ALTER COLUMN email TYPE varchar(200);\nALTER TABLE orgs ALTER name TYPE character varying;\n")).is_empty());
    assert!(
        hits(&lint3(
            "CREATE TABLE t (id int);\nALTER TABLE t ALTER COLUMN id TYPE bigint;\n"
        ))
        .is_empty()
    );
    assert!(
        lint3(&allowed(
            rule,
            "ALTER TABLE users ALTER COLUMN id TYPE int;\n"
        ))
        .passed()
    );
}

#[test]
fn unique_without_index() {
    let rule = "unique-without-index";
    assert_eq!(
        hits(&lint3(
            "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);\n"
        )),
        one(rule, 1)
    );
    assert_eq!(
        hits(&lint3(
            "ALTER TABLE orgs DROP CONSTRAINT orgs_pkey, ADD PRIMARY KEY (id, name);\n"
        )),
        one(rule, 1)
    );
    assert!(
        hits(&lint3(
            "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;\n"
        ))
        .is_empty()
    );
    assert!(
        hits(&lint3(
            "CREATE TABLE t (id int);\nALTER TABLE t ADD CONSTRAINT t_key UNIQUE (id);\n"
        ))
        .is_empty()
    );
    assert!(lint3(&allowed(rule, "ALTER TABLE users ADD UNIQUE (email);\n")).passed());
}

#[test]
fn set_not_null_without_check() {
    let rule = "set-not-null-without-check";
    let set = "ALTER TABLE orgs ALTER COLUMN name SET NOT NULL;\n";
    assert_eq!(hits(&lint3(set)), one(rule, 1));
    // A NOT VALID check that is never validated does not count.
    let not_valid =
        "ALTER TABLE orgs ADD CONSTRAINT orgs_name_nn CHECK (name IS NOT NULL) NOT VALID;\n";
    assert_eq!(hits(&lint3(&format!("{not_valid}{set}"))), one(rule, 2));
    // Validated (here, or by an earlier migration): fine.
    let validated = format!("{not_valid}ALTER TABLE orgs VALIDATE CONSTRAINT orgs_name_nn;\n{set}");
    assert!(
        hits(&lint3(&validated)).is_empty(),
        "{:?}",
        hits(&lint3(&validated))
    );
    let report = lint_with(
        &[
            (
                "000003_x.up.sql",
                &format!("{not_valid}ALTER TABLE orgs VALIDATE CONSTRAINT orgs_name_nn;\n"),
            ),
            ("000003_x.down.sql", "SELECT 1;\n"),
            ("fixtures/000003_x.sql", "-- none\n"),
            ("000004_y.up.sql", set),
            ("000004_y.down.sql", "SELECT 1;\n"),
            ("fixtures/000004_y.sql", "-- none\n"),
        ],
        LintOptions::default(),
    );
    assert!(report.passed(), "{report}");
    assert!(lint3(&allowed(rule, set)).passed());
}

#[test]
fn drop_or_rename_of_an_existing_table_or_column() {
    let rule = "drop-or-rename";
    assert_eq!(hits(&lint3("DROP TABLE orgs;\n")), one(rule, 1));
    assert_eq!(
        hits(&lint3("ALTER TABLE users DROP COLUMN email;\n")),
        one(rule, 1)
    );
    assert_eq!(
        hits(&lint3("ALTER TABLE users RENAME COLUMN email TO mail;\n")),
        one(rule, 1)
    );
    assert_eq!(
        hits(&lint3("ALTER TABLE users RENAME TO people;\n")),
        one(rule, 1)
    );
    // Created by the same migration: nothing can use it yet.
    assert!(
        hits(&lint3(
            "CREATE TABLE t (id int);\nALTER TABLE t RENAME COLUMN id TO t_id;\nDROP TABLE t;\n"
        ))
        .is_empty()
    );
    // In use by the release's queries: reported once, by drop-or-rename-in-use.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[("q.sql", "-- name: Users :many\nSELECT email FROM users;\n")],
    );
    let report = lint_with(
        &[
            ("000003_x.up.sql", "ALTER TABLE users DROP COLUMN email;\n"),
            ("000003_x.down.sql", "SELECT 1;\n"),
            ("fixtures/000003_x.sql", "-- none\n"),
        ],
        LintOptions {
            since: None,
            release: Release::Queries(ReleaseQueries::from_dir(dir.path()).unwrap()),
        },
    );
    assert_eq!(hits(&report), one("drop-or-rename-in-use", 1));
    assert!(lint3(&allowed(rule, "DROP TABLE orgs;\n")).passed());
}
