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
    let report = lint3("ALTER TABLE users DROP COLUMN email;\n");
    assert!(report.passed());
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
            "constraint-without-not-valid"
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
