//! `diff`: a live database against what the migrations produce.

mod common;

use check::diff::{DiffError, diff};
use common::*;
use migrate::{MigrationSet, Migrator};

fn migrated(up_to: Option<i64>) -> (pgcluster::TestDatabase, MigrationSet) {
    let set = MigrationSet::discover(&our_migrations()).unwrap();
    let db = cluster()
        .database_from_template("check_diff_empty", |_| Ok(()))
        .unwrap();
    let mut c = db.connect().unwrap();
    match up_to {
        Some(v) => Migrator::new(&set)
            .with_fixtures(true)
            .up_to(&mut c, v)
            .unwrap(),
        None => Migrator::new(&set).with_fixtures(true).up(&mut c).unwrap(),
    };
    (db, set)
}

#[test]
fn a_clean_database_has_no_drift_and_a_hotfix_is_shown() {
    let (db, set) = migrated(None);
    let outcome = diff(db.url(), &set, cluster()).unwrap();
    assert!(!outcome.differs, "{}", outcome.diff);
    assert_eq!(outcome.applied.len(), 12);
    assert!(outcome.pending.is_empty());

    // The operator's hand-made hotfix: an index and a changed function body.
    let mut c = db.connect().unwrap();
    c.batch_execute(
        "CREATE INDEX users_name_hotfix ON users (name);
         CREATE OR REPLACE FUNCTION protect_system_users() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$;",
    )
    .unwrap();
    let outcome = diff(db.url(), &set, cluster()).unwrap();
    assert!(outcome.differs);
    assert!(
        outcome
            .diff
            .lines()
            .any(|l| l.starts_with('+')
                && l.contains("CREATE INDEX users_name_hotfix ON public.users")),
        "{}",
        outcome.diff
    );
    assert!(
        outcome
            .diff
            .lines()
            .any(|l| l.starts_with('-') && l.contains("cannot be deleted")),
        "{}",
        outcome.diff
    );
}

#[test]
fn a_database_behind_the_folder_is_compared_at_its_own_version() {
    let (db, set) = migrated(Some(10));
    let outcome = diff(db.url(), &set, cluster()).unwrap();
    assert!(!outcome.differs, "{}", outcome.diff);
    assert_eq!(
        outcome.pending,
        ["11 upsert_user_ai_budget_overrides", "12 user_skills"]
    );
}

#[test]
fn a_history_that_does_not_match_the_folder_is_refused() {
    let (db, set) = migrated(Some(3));
    let mut c = db.connect().unwrap();
    c.batch_execute(
        "INSERT INTO refinery_schema_history VALUES (99, 'hotfix', '2024-01-01T00:00:00Z', '1')",
    )
    .unwrap();
    let err = diff(db.url(), &set, cluster()).unwrap_err();
    assert!(matches!(err, DiffError::History(_)), "{err}");
    assert!(
        err.to_string()
            .contains("migration 99 (hotfix) is applied to the live database but not in"),
        "{err}"
    );

    let empty = cluster()
        .database_from_template("check_diff_empty", |_| Ok(()))
        .unwrap();
    let err = diff(empty.url(), &set, cluster()).unwrap_err();
    assert!(
        err.to_string()
            .contains("has no refinery_schema_history table"),
        "{err}"
    );
}
