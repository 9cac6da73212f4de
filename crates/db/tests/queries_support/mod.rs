//! Shared by the `queries_*` tests: a per-test clone of the migrated database with every
//! fixture (`migrations/fixtures/`), and the fixtures' ids.
#![allow(dead_code)]

use db::queries::{QueryError, Session};
use pgcluster::{Cluster, TestDatabase};
use std::path::{Path, PathBuf};

pub fn cluster() -> &'static Cluster {
    Cluster::shared().expect("embedded PostgreSQL cluster")
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh clone of the template: all migrations, each followed by its fixture.
pub fn fixtures_db() -> TestDatabase {
    let set = migrate::MigrationSet::discover(&root().join("migrations")).unwrap();
    cluster()
        .database_from_template(&format!("db_qfx_{}", set.hash()), |c| {
            migrate::Migrator::new(&set).with_fixtures(true).up(c)?;
            Ok(())
        })
        .unwrap()
}

/// A session on a new connection to `db`.
pub fn session(db: &TestDatabase) -> Session<postgres::Client> {
    Session::new(db.connect().unwrap())
}

pub fn uuid(text: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(text).unwrap()
}

pub fn at(rfc3339: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).unwrap()
}

/// `YYYY-MM-DD`.
pub fn day(iso: &str) -> time::Date {
    let parts: Vec<&str> = iso.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        panic!("not YYYY-MM-DD: {iso}")
    };
    let month = time::Month::try_from(m.parse::<u8>().unwrap()).unwrap();
    time::Date::from_calendar_date(y.parse().unwrap(), month, d.parse().unwrap()).unwrap()
}

/// The server error of a failed query (panics for any other failure).
pub fn pg(err: &QueryError) -> &postgres::Error {
    err.postgres()
        .unwrap_or_else(|| panic!("not a server error: {err}"))
}

// Fixture ids (migrations/fixtures/000001_core_identity.sql and later).
pub const ACME: &str = "0a0a0000-0000-4000-8000-000000000001";
pub const BETA: &str = "0a0a0000-0000-4000-8000-000000000002";
pub const GAMMA: &str = "0a0a0000-0000-4000-8000-000000000003";
pub const ALICE: &str = "0b0b0000-0000-4000-8000-000000000001";
pub const BOB: &str = "0b0b0000-0000-4000-8000-000000000002";
pub const CAROL: &str = "0b0b0000-0000-4000-8000-000000000003";
pub const DAVE_DELETED: &str = "0b0b0000-0000-4000-8000-000000000004";
pub const DAVE: &str = "0b0b0000-0000-4000-8000-000000000005";
pub const PREBUILDS: &str = "c42fdf75-3097-471c-8c33-fb52454d81c0";
pub const ENGINEERING: &str = "0c0c0000-0000-4000-8000-000000000001";
pub const DESIGN: &str = "0c0c0000-0000-4000-8000-000000000002";
pub const RESEARCH: &str = "0c0c0000-0000-4000-8000-000000000003";
pub const OPS: &str = "0c0c0000-0000-4000-8000-000000000004";
/// Unknown everywhere.
pub const NOBODY: &str = "0f0f0000-0000-4000-8000-00000000000f";
