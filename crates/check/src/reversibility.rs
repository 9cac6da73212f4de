//! Reversibility: every down restores the schema its up started from, exactly.
//!
//! The walk runs in ONE scratch database, with reused connections: for each migration N (in
//! version order), with 1..N-1 and their fixtures applied,
//!
//! 1. apply N (without its fixture), then its down, through the migration engine (so
//!    `-- no-transaction` scripts, the history table and error locations behave as in real use);
//! 2. take a catalog [`Snapshot`] and compare it with the one taken before N;
//! 3. re-apply N with its fixture, and snapshot again: the "before" of N+1.
//!
//! Downs therefore run against real rows (the fixtures of 1..N-1), and every up runs twice, so
//! an up that cannot run again after its down is caught too. The first difference stops the
//! walk; it is shown as a unified diff of two normalised `pg_dump --schema-only` outputs (the
//! state before N is rebuilt in a second scratch database for that), or of the two catalog
//! snapshots when pg_dump shows nothing (a difference pg_dump does not print).
//!
//! # Accepted differences
//!
//! PostgreSQL cannot drop a value from an enum type. A down file declares each such value on
//! its own comment line:
//!
//! ```sql
//! -- irreversible: enum-value resource_type.user_skill
//! ```
//!
//! (`schema.type.value` works too). Exactly the declared values may remain after the down;
//! each one is shown in the output. A declared value that does not remain (the down removed it,
//! or it existed before the up) is an error: the directive is stale.

use std::path::Path;
use std::time::Instant;

use migrate::{DownTarget, Migration, MigrationSet, Migrator};
use pgcluster::{Cluster, TestDatabase};

use crate::report::{Finding, Location, Part, PartReport};
use crate::snapshot::{self, Snapshot};
use crate::textdiff;

/// One `-- irreversible: enum-value type.value` line of a down file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Irreversible {
    /// 1-based line in the down file.
    pub line: usize,
    /// The type as written (`resource_type` or `public.resource_type`).
    pub ty: String,
    /// The enum value.
    pub value: String,
}

/// The directive's prefix (after `--`).
pub const DIRECTIVE: &str = "irreversible:";

/// The `-- irreversible:` directives of a down script, and the malformed ones as errors.
pub fn directives(down: &migrate::Script) -> (Vec<Irreversible>, Vec<Finding>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in down.sql.lines().enumerate() {
        let Some(comment) = line.trim().strip_prefix("--") else {
            continue;
        };
        let comment = comment.trim();
        let Some(rest) = comment
            .get(..DIRECTIVE.len())
            .filter(|p| p.eq_ignore_ascii_case(DIRECTIVE))
            .map(|_| comment[DIRECTIVE.len()..].trim())
        else {
            continue;
        };
        let loc = Location::line(&down.path, i + 1);
        let mut words = rest.split_whitespace();
        let kind = words.next().unwrap_or("");
        let target = words.next().unwrap_or("");
        let extra = words.next();
        if kind != "enum-value" {
            errors.push(
                Finding::new(format!(
                    "unknown irreversible kind `{kind}`: only `enum-value TYPE.VALUE` is supported"
                ))
                .at(loc)
                .rule("irreversible-directive")
                .hint("write `-- irreversible: enum-value TYPE.VALUE`, one per line"),
            );
            continue;
        }
        let parsed = target
            .split_once('.')
            .filter(|(t, v)| !t.is_empty() && !v.is_empty());
        match (parsed, extra) {
            (Some((ty, value)), None) => found.push(Irreversible {
                line: i + 1,
                ty: ty.to_string(),
                value: value.trim_matches('\'').to_string(),
            }),
            _ => errors.push(
                Finding::new(format!(
                    "malformed directive `-- {comment}`: expected `-- irreversible: enum-value TYPE.VALUE`"
                ))
                .at(loc)
                .rule("irreversible-directive"),
            ),
        }
    }
    (found, errors)
}

/// The outcome of comparing the schema before an up with the schema after its down.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Accepted, declared differences (shown as notes).
    pub accepted: Vec<Finding>,
    /// Declared differences that did not happen (errors).
    pub stale: Vec<Finding>,
    /// Whether the schemas are equal once the accepted differences are taken out.
    pub equal: bool,
}

/// Compare `before` with `after`, accepting exactly the `declared` enum values.
pub fn compare(
    before: &Snapshot,
    after: &Snapshot,
    declared: &[Irreversible],
    down_path: &Path,
) -> Comparison {
    let mut after = after.clone();
    let mut out = Comparison::default();
    for d in declared {
        // `a.b.c`: type `a.b`, value `c` when `a.b` is a qualified enum type.
        let (ty, value) = match d.value.split_once('.') {
            Some((t, v)) if after.enums.contains_key(&format!("{}.{t}", d.ty)) => {
                (format!("{}.{t}", d.ty), v.to_string())
            }
            _ => (d.ty.clone(), d.value.clone()),
        };
        let loc = Location::line(down_path, d.line);
        let candidates: Vec<String> = after
            .enum_types_named(&ty)
            .into_iter()
            .map(str::to_string)
            .collect();
        let hit = candidates.iter().find(|t| {
            after.enums[*t].contains(&value)
                && before
                    .enums
                    .get(*t)
                    .is_some_and(|labels| !labels.contains(&value))
        });
        match hit {
            Some(t) => {
                if let Some(labels) = after.enums.get_mut(t) {
                    labels.retain(|l| *l != value);
                }
                out.accepted.push(
                    Finding::new(format!(
                        "accepted: enum value {t}.{value} stays after the down (declared irreversible)"
                    ))
                    .at(loc)
                    .rule("irreversible"),
                );
            }
            None => {
                let why = if candidates.is_empty() {
                    format!("there is no enum type `{ty}` after the down")
                } else if candidates
                    .iter()
                    .any(|t| before.enums.get(t).is_some_and(|l| l.contains(&value)))
                {
                    "the value existed before the up".to_string()
                } else {
                    "the value does not remain after the down".to_string()
                };
                out.stale.push(
                    Finding::new(format!(
                        "declared irreversible enum value {ty}.{value} is not a difference: {why}"
                    ))
                    .at(loc)
                    .rule("irreversible-directive")
                    .hint("remove the directive, or fix the type or value it names"),
                );
            }
        }
    }
    out.equal = *before == after;
    out
}

/// A scratch database on `cluster` (a clone of an empty template), dropped on Drop.
pub fn scratch(cluster: &Cluster) -> Result<TestDatabase, pgcluster::Error> {
    cluster.database_from_template("check_empty", |_| Ok(()))
}

/// The history table, left out of every snapshot and dump.
pub fn excluded() -> Vec<String> {
    vec![migrate::HISTORY_TABLE.to_string()]
}

/// What the walk leaves behind: the database at the full chain with fixtures, when it got
/// there (for the fixtures check).
#[derive(Debug)]
pub struct Walked {
    /// The part's report.
    pub report: PartReport,
    /// The database, migrated with every fixture, if the walk completed.
    pub database: Option<TestDatabase>,
}

/// Walk `set` on a scratch database of `cluster`.
pub fn run(set: &MigrationSet, cluster: &Cluster) -> Walked {
    let started = Instant::now();
    let fail = |finding: Finding| Walked {
        report: PartReport::failed(Part::Reversibility, finding, started.elapsed()),
        database: None,
    };
    if !set.layout.has_downs() {
        return Walked {
            report: PartReport::not_available(
                Part::Reversibility,
                format!("the {} layout has no down migrations", set.layout),
            ),
            database: None,
        };
    }
    let db = match scratch(cluster) {
        Ok(db) => db,
        Err(e) => {
            return fail(Finding::new(format!(
                "cannot create a scratch database: {e}"
            )));
        }
    };
    let mut client = match db.connect() {
        Ok(c) => c,
        Err(e) => {
            return fail(Finding::new(format!(
                "cannot connect to the scratch database: {e}"
            )));
        }
    };
    let exclude = excluded();
    let plain = Migrator::new(set);
    let with_fixtures = Migrator::new(set).with_fixtures(true);
    let mut before = match snapshot::take(&mut client, &exclude) {
        Ok(s) => s,
        Err(e) => return fail(Finding::new(format!("cannot read the catalog: {e}"))),
    };
    let mut notes = Vec::new();
    let mut failures = Vec::new();
    for (i, m) in set.migrations.iter().enumerate() {
        let Some(down) = &m.down else {
            return fail(
                Finding::new(format!("migration {} has no down script", m.label()))
                    .at(Location::file(&m.up.path)),
            );
        };
        let (declared, malformed) = directives(down);
        failures.extend(malformed);
        if let Err(e) = plain.up_to(&mut client, m.version) {
            return fail(
                Finding::new(format!(
                    "migration {} does not apply on top of the migrations before it (with their fixtures): {e}",
                    m.label()
                ))
                .at(Location::file(&m.up.path)),
            );
        }
        if let Err(e) = plain.down(&mut client, DownTarget::Newest) {
            return fail(
                Finding::new(format!("the down of migration {} fails: {e}", m.label()))
                    .at(Location::file(&down.path)),
            );
        }
        let after = match snapshot::take(&mut client, &exclude) {
            Ok(s) => s,
            Err(e) => return fail(Finding::new(format!("cannot read the catalog: {e}"))),
        };
        let cmp = compare(&before, &after, &declared, &down.path);
        notes.extend(cmp.accepted);
        failures.extend(cmp.stale);
        if !cmp.equal {
            let previous = i.checked_sub(1).map(|p| &set.migrations[p]);
            let diff = render(set, cluster, &db, previous, m, &before, &after);
            failures.push(
                Finding::new(format!(
                    "the down of migration {} does not restore the schema: after {} then {}, the schema differs from before",
                    m.label(),
                    file_name(&m.up.path),
                    file_name(&down.path)
                ))
                .at(Location::file(&down.path))
                .hint("make the down undo every object the up creates or changes (indexes, constraints, function bodies, comments, defaults)")
                .detail(diff),
            );
            return Walked {
                report: PartReport::from_findings(
                    Part::Reversibility,
                    format!("stopped at migration {}", m.label()),
                    failures,
                    notes,
                    started.elapsed(),
                ),
                database: None,
            };
        }
        if let Err(e) = with_fixtures.up_to(&mut client, m.version) {
            return fail(
                Finding::new(format!(
                    "migration {} (or its fixture) fails when applied again after its down: {e}",
                    m.label()
                ))
                .at(Location::file(&m.up.path))
                .hint("an up must run again after its down; a value the down cannot remove needs IF NOT EXISTS"),
            );
        }
        before = match snapshot::take(&mut client, &exclude) {
            Ok(s) => s,
            Err(e) => return fail(Finding::new(format!("cannot read the catalog: {e}"))),
        };
    }
    drop(client);
    let n = set.migrations.len();
    let accepted = notes.len();
    let summary = format!(
        "{n} migration(s): each up, down, compare, up again{}",
        if accepted > 0 {
            format!(" ({accepted} declared difference(s) accepted)")
        } else {
            String::new()
        }
    );
    let ok = failures.is_empty();
    Walked {
        report: PartReport::from_findings(
            Part::Reversibility,
            summary,
            failures,
            notes,
            started.elapsed(),
        ),
        database: ok.then_some(db),
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// The difference, as a diff of two normalised pg_dumps (the state before `m` rebuilt in a
/// second scratch database), else of the two catalog snapshots.
fn render(
    set: &MigrationSet,
    cluster: &Cluster,
    walked: &TestDatabase,
    previous: Option<&Migration>,
    m: &Migration,
    before: &Snapshot,
    after: &Snapshot,
) -> String {
    let before_label = match previous {
        Some(p) => format!(
            "schema before {} (after {} and its fixture)",
            m.label(),
            p.label()
        ),
        None => format!("schema before {} (empty database)", m.label()),
    };
    let after_label = format!("schema after {} up, then down", m.label());
    let dumped = (|| -> Result<String, String> {
        let exclude = excluded();
        let rebuilt = scratch(cluster).map_err(|e| e.to_string())?;
        if let Some(p) = previous {
            let mut c = rebuilt.connect().map_err(|e| e.to_string())?;
            Migrator::new(set)
                .with_fixtures(true)
                .up_to(&mut c, p.version)
                .map_err(|e| e.to_string())?;
        }
        let a = schema::dump::dump(rebuilt.url(), cluster.bindir(), &exclude)
            .map_err(|e| e.to_string())?;
        let b = schema::dump::dump(walked.url(), cluster.bindir(), &exclude)
            .map_err(|e| e.to_string())?;
        Ok(textdiff::unified(&a, &b, &before_label, &after_label))
    })();
    match dumped {
        Ok(diff) if !diff.is_empty() => diff,
        other => {
            let why = match other {
                Err(e) => {
                    format!("(pg_dump diff unavailable: {e}; catalog snapshot diff follows)\n")
                }
                Ok(_) => {
                    "(pg_dump shows no difference; catalog snapshot diff follows)\n".to_string()
                }
            };
            why + &textdiff::unified(
                &before.render(),
                &after.render(),
                &before_label,
                &after_label,
            )
        }
    }
}
