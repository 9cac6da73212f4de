//! `cargo xtask check` as a library: the CI gate for migrations.
//!
//! [`run`] checks a migration folder in five parts, each of which also runs alone
//! ([`Options::only`]):
//!
//! | part | module | what |
//! | --- | --- | --- |
//! | `set` | [`set`] | names, contiguous versions, no duplicates, every up with its down, every migration with a fixture file |
//! | `lint` | [`lint`] | risky DDL in up migrations (rule, file, line, hint), silenced per statement with a reason |
//! | `reversibility` | [`reversibility`] | each down restores the schema exactly (a walk in one scratch database) |
//! | `fixtures` | [`fixtures`] | every table has rows after the full chain with fixtures, unless exempt |
//! | `drift` | [`drift`] | `generated/` is current (the caller wires in the generator) |
//!
//! Also: [`diff::diff`] compares a live database with what the folder produces, and
//! [`snapshot`] is the fast catalog snapshot both use. Everything is reported in a [`Report`]
//! (printable with `Display`); nothing is printed here.

pub mod bench;
pub mod ddl_log;
pub mod diff;
pub mod drift;
pub mod fixtures;
pub mod incremental;
pub mod lint;
pub mod report;
pub mod reversibility;
pub mod set;
pub mod snapshot;
pub mod textdiff;

use std::path::PathBuf;

use migrate::Layout;
use pgcluster::Cluster;

pub use drift::{DriftCheck, DriftOutcome};
pub use lint::{LintOptions, Release};
pub use report::{Finding, Location, Part, PartReport, Report, Status};

/// What to check, and with what.
pub struct Options<'a> {
    /// The migrations folder.
    pub dir: PathBuf,
    /// Its layout (`None`: detected).
    pub layout: Option<Layout>,
    /// The parts to run; empty: all of them.
    pub only: Vec<Part>,
    /// Lint options.
    pub lint: LintOptions,
    /// The cluster for scratch databases; `None`: a throwaway one is started when a part
    /// needs it.
    pub cluster: Option<&'a Cluster>,
    /// The drift check; `None`: the drift part is reported as not available.
    pub drift: Option<DriftCheck<'a>>,
    /// Check only migrations with this version or above (`--since`): the ones before are
    /// applied with their fixtures but not checked, by any part. (`lint.since`, the older
    /// `--lint-since`, applies to the lint when this is `None`.)
    pub since: Option<i64>,
    /// Stop the reversibility walk at the first migration that does not revert.
    pub fail_fast: bool,
}

impl std::fmt::Debug for Options<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("dir", &self.dir)
            .field("layout", &self.layout)
            .field("only", &self.only)
            .field("lint", &self.lint)
            .field("drift", &self.drift.is_some())
            .field("since", &self.since)
            .field("fail_fast", &self.fail_fast)
            .finish_non_exhaustive()
    }
}

impl<'a> Options<'a> {
    /// Every part on `dir`, defaults elsewhere.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Options {
            dir: dir.into(),
            layout: None,
            only: Vec::new(),
            lint: LintOptions::default(),
            cluster: None,
            drift: None,
            since: None,
            fail_fast: false,
        }
    }

    /// Run only `parts`.
    pub fn only(mut self, parts: &[Part]) -> Self {
        self.only = parts.to_vec();
        self
    }

    /// Use `cluster` for scratch databases.
    pub fn cluster(mut self, cluster: &'a Cluster) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// Check only migrations with `version` or above.
    pub fn since(mut self, version: i64) -> Self {
        self.since = Some(version);
        self
    }

    /// Stop the walk at the first migration that does not revert.
    pub fn fail_fast(mut self, yes: bool) -> Self {
        self.fail_fast = yes;
        self
    }

    fn wants(&self, part: Part) -> bool {
        self.only.is_empty() || self.only.contains(&part)
    }
}

/// Run the checks.
pub fn run(options: &Options<'_>) -> Report {
    let mut report = Report {
        dir: options.dir.clone(),
        parts: Vec::new(),
        explicit: !options.only.is_empty(),
    };
    let (set_report, set) = set::run(&options.dir, options.layout, options.since);
    // A folder that does not even discover is shown whatever was asked for.
    if options.wants(Part::Set) || set.is_none() {
        report.parts.push(set_report);
    }
    let Some(set) = set else {
        for part in Part::ALL.into_iter().skip(1) {
            if options.wants(part) && part != Part::Drift {
                report.parts.push(PartReport::not_run(
                    part,
                    "the migration folder is invalid (see set)",
                ));
            }
        }
        if options.wants(Part::Drift) {
            report.parts.push(drift::run(options.drift, &options.dir));
        }
        return report;
    };
    if options.wants(Part::Lint) {
        let mut lint = options.lint.clone();
        lint.since = options.since.or(lint.since);
        report.parts.push(lint::run(&set, &lint));
    }
    let needs_db = options.wants(Part::Reversibility) || options.wants(Part::Fixtures);
    let mut owned = None;
    let cluster = match (options.cluster, needs_db) {
        (Some(c), _) => Some(Ok(c)),
        (None, true) => match Cluster::temporary() {
            Ok(c) => Some(Ok(&*owned.insert(c))),
            Err(e) => Some(Err(e.to_string())),
        },
        (None, false) => None,
    };
    let mut chain_db = None;
    if options.wants(Part::Reversibility) {
        match &cluster {
            Some(Ok(c)) => {
                let walked = reversibility::walk_set(
                    &set,
                    c,
                    &reversibility::WalkOptions {
                        segments: 0,
                        fail_fast: options.fail_fast,
                        since: options.since,
                    },
                );
                chain_db = walked.database;
                report.parts.push(walked.report);
            }
            _ => report.parts.push(no_cluster(Part::Reversibility, &cluster)),
        }
    }
    if options.wants(Part::Fixtures) && set.layout != Layout::Paired {
        report.parts.push(PartReport::not_available(
            Part::Fixtures,
            format!("the {} layout has no fixture files", set.layout),
        ));
    } else if options.wants(Part::Fixtures) {
        match (&cluster, chain_db) {
            (Some(Ok(c)), Some(db)) => {
                let started = std::time::Instant::now();
                let r = match db.connect() {
                    Ok(mut client) => {
                        fixtures::check_since(&set, c, &mut client, options.since, started)
                    }
                    Err(e) => PartReport::failed(
                        Part::Fixtures,
                        Finding::new(format!("cannot connect to the scratch database: {e}")),
                        started.elapsed(),
                    ),
                };
                report.parts.push(r);
            }
            (Some(Ok(c)), None) => report
                .parts
                .push(fixtures::run_since(&set, c, options.since)),
            _ => report.parts.push(no_cluster(Part::Fixtures, &cluster)),
        }
    }
    if options.wants(Part::Drift) {
        report.parts.push(drift::run(options.drift, &options.dir));
    }
    report
}

fn no_cluster(part: Part, cluster: &Option<Result<&Cluster, String>>) -> PartReport {
    let why = match cluster {
        Some(Err(e)) => e.clone(),
        _ => "no PostgreSQL cluster".to_string(),
    };
    PartReport::failed(
        part,
        Finding::new(format!("cannot start an embedded PostgreSQL: {why}")),
        std::time::Duration::ZERO,
    )
}
