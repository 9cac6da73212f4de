//! `diff`: a live database's schema against what the migrations produce.
//!
//! 1. Its history table must exist, every applied migration must be in the folder with an
//!    unchanged checksum, and no folder migration may be missing below its newest applied one
//!    (otherwise the comparison would be meaningless: that is reported instead).
//! 2. A scratch database on an embedded cluster is migrated to the same versions (no fixtures).
//! 3. Both are compared by catalog [`Snapshot`](crate::snapshot::Snapshot) and by normalised `pg_dump --schema-only`; any
//!    difference in either is drift. The drift is shown as a unified diff of the two dumps
//!    (`-` what the migrations produce, `+` what the live database has), or of the catalog
//!    snapshots when pg_dump shows nothing.
//!
//! The live database is only read. Use the same PostgreSQL major version on both sides: the
//! server's deparsers (and pg_dump) print some definitions differently across versions.

use migrate::{ChecksumState, MigrationSet, Migrator, State};
use pgcluster::Cluster;

use crate::reversibility;
use crate::snapshot;
use crate::textdiff;

/// Why `diff` could not compare.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// Connecting or reading failed.
    #[error("{context}: {source}")]
    Db {
        /// What was being done.
        context: String,
        /// The driver error.
        #[source]
        source: postgres::Error,
    },
    /// The migration engine refused.
    #[error(transparent)]
    Migrate(#[from] migrate::Error),
    /// The embedded cluster failed.
    #[error(transparent)]
    Cluster(#[from] pgcluster::Error),
    /// pg_dump failed.
    #[error(transparent)]
    Dump(#[from] schema::dump::DumpError),
    /// The live database's history does not match the folder.
    #[error("{0}")]
    History(String),
}

/// What `diff` found.
#[derive(Debug, Clone)]
pub struct DiffOutcome {
    /// The live database, password hidden.
    pub target: String,
    /// Versions applied to the live database.
    pub applied: Vec<i64>,
    /// Folder migrations newer than the newest applied one (not compared).
    pub pending: Vec<String>,
    /// Whether the schemas differ.
    pub differs: bool,
    /// The difference as a unified diff (empty when equal).
    pub diff: String,
}

/// Compare the live database at `url` with what `set` produces on a scratch database of
/// `cluster`.
pub fn diff(url: &str, set: &MigrationSet, cluster: &Cluster) -> Result<DiffOutcome, DiffError> {
    let target = schema::dump::redact_url(url);
    let mut live = pgconnect::connect(url).map_err(|source| DiffError::Db {
        context: format!("cannot connect to {target}"),
        source,
    })?;
    let has_history: bool = live
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL",
            &[&migrate::HISTORY_TABLE],
        )
        .map_err(|source| DiffError::Db {
            context: "cannot look up the history table".into(),
            source,
        })?
        .get(0);
    if !has_history {
        return Err(DiffError::History(format!(
            "{target} has no {} table: it was not migrated from {}; nothing to compare against",
            migrate::HISTORY_TABLE,
            set.dir.display()
        )));
    }
    let status = Migrator::new(set).status(&mut live)?;
    let mut problems = Vec::new();
    for row in &status {
        if row.state == State::MissingFile {
            problems.push(format!(
                "migration {} ({}) is applied to the live database but not in {}",
                row.version,
                row.name,
                set.dir.display()
            ));
        }
        if row.checksum == ChecksumState::Changed {
            problems.push(format!(
                "migration {} ({}) was changed after it was applied to the live database",
                row.version, row.name
            ));
        }
    }
    let applied: Vec<i64> = status
        .iter()
        .filter(|r| r.state == State::Applied)
        .map(|r| r.version)
        .collect();
    let newest = applied.iter().copied().max();
    let mut pending = Vec::new();
    for row in status.iter().filter(|r| r.state == State::Pending) {
        match newest {
            Some(n) if row.version < n => problems.push(format!(
                "migration {} ({}) is not applied to the live database, but the newer {n} is",
                row.version, row.name
            )),
            _ => pending.push(format!("{} {}", row.version, row.name)),
        }
    }
    if !problems.is_empty() {
        return Err(DiffError::History(format!(
            "the history of {target} does not match {}:\n  - {}",
            set.dir.display(),
            problems.join("\n  - ")
        )));
    }
    let reference = reversibility::scratch(cluster)?;
    let mut client = reference.connect()?;
    if let Some(n) = newest {
        Migrator::new(set).up_to(&mut client, n)?;
    }
    let exclude = reversibility::excluded();
    let snap = |c: &mut postgres::Client, what: &str| {
        snapshot::take(c, &exclude).map_err(|source| DiffError::Db {
            context: format!("cannot read the catalog of {what}"),
            source,
        })
    };
    let expected = snap(&mut client, "the reference database")?;
    let actual = snap(&mut live, &target)?;
    let expected_dump = schema::dump::dump(reference.url(), cluster.bindir(), &exclude)?;
    let actual_dump = schema::dump::dump(url, cluster.bindir(), &exclude)?;
    let label_a = format!(
        "what {} produce{}",
        set.dir.display(),
        newest.map(|n| format!(" up to {n}")).unwrap_or_default()
    );
    let label_b = format!("live {target}");
    let mut diff = textdiff::unified(&expected_dump, &actual_dump, &label_a, &label_b);
    if diff.is_empty() && expected != actual {
        diff = format!(
            "(pg_dump shows no difference; catalog snapshot diff follows)\n{}",
            textdiff::unified(&expected.render(), &actual.render(), &label_a, &label_b)
        );
    }
    Ok(DiffOutcome {
        target,
        applied,
        pending,
        differs: !diff.is_empty(),
        diff,
    })
}
