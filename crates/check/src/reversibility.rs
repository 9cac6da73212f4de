//! Reversibility: every down restores the schema its up started from, exactly.
//!
//! The walk runs in one scratch database per walker, on one connection, with no cluster
//! restart: for each migration N (in version order), with 1..N-1 and their fixtures applied,
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
//! # Speed
//!
//! A catalog snapshot is one prepared query (see [`crate::snapshot`]), several times cheaper
//! than a pg_dump process. Sets of 40 or more migrations are split into segments, one per core
//! (at most 4), each walked in its own database on its own thread: the walker of segment
//! `a..b` starts from `0..a` applied with fixtures (one transaction per migration, as the walk
//! commits them), then walks as above. Segment bounds follow `n·sqrt(j/s)`, since a snapshot
//! costs about as much as the schema is large. The first walker (in chain order) that stops
//! decides the report, so the first difference of the chain is the one shown.
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
use crate::snapshot::{Snapshot, Snapshotter};
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

/// The history table and the runners' lease table, left out of every snapshot and dump.
pub fn excluded() -> Vec<String> {
    vec![
        migrate::HISTORY_TABLE.to_string(),
        migrate::LOCK_TABLE.to_string(),
    ]
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

/// How many databases walk in parallel for a set of `n` migrations: one per core (at most 4),
/// and only for sets large enough to be worth the second chain.
pub fn default_segments(n: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    if n < 40 {
        1
    } else {
        cores.clamp(1, 4).min(n / 20)
    }
}

/// Walk `set` on scratch databases of `cluster` ([`default_segments`] of them).
pub fn run(set: &MigrationSet, cluster: &Cluster) -> Walked {
    run_with(set, cluster, default_segments(set.migrations.len()))
}

/// Where `segments` walkers split `n` migrations. A snapshot costs about as much as the schema
/// is large, so migration i costs about i and the first j of s segments end near
/// n·sqrt(j/s), which gives every walker the same work.
fn bounds(n: usize, segments: usize) -> Vec<(usize, usize)> {
    let segments = segments.clamp(1, n.max(1));
    let mut cuts: Vec<usize> = (0..=segments)
        .map(|j| ((n as f64) * (j as f64 / segments as f64).sqrt()).round() as usize)
        .collect();
    cuts[segments] = n;
    cuts.dedup();
    cuts.windows(2).map(|w| (w[0], w[1])).collect()
}

/// One walker's result.
#[derive(Debug, Default)]
struct Segment {
    notes: Vec<Finding>,
    failures: Vec<Finding>,
    /// Set when the walk stopped early (the summary): nothing after it counts.
    stopped: Option<String>,
    database: Option<TestDatabase>,
}

/// Walk `set` with `segments` databases in parallel: the walker of migrations `a..b` first
/// applies `0..a` with their fixtures in one go, then walks as described in the module
/// documentation. The first walker that stops decides the report; later ones are discarded.
pub fn run_with(set: &MigrationSet, cluster: &Cluster, segments: usize) -> Walked {
    let started = Instant::now();
    if !set.layout.has_downs() {
        return Walked {
            report: PartReport::not_available(
                Part::Reversibility,
                format!("the {} layout has no down migrations", set.layout),
            ),
            database: None,
        };
    }
    let parts = bounds(set.migrations.len(), segments);
    let results: Vec<Segment> = if parts.len() <= 1 {
        vec![walk(set, cluster, 0, set.migrations.len())]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .iter()
                .map(|&(a, b)| scope.spawn(move || walk(set, cluster, a, b)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| Segment {
                        failures: vec![Finding::new("a reversibility walker panicked")],
                        stopped: Some("a walker panicked".into()),
                        ..Segment::default()
                    })
                })
                .collect()
        })
    };
    let mut notes = Vec::new();
    let mut failures = Vec::new();
    let mut stopped = None;
    let mut database = None;
    for seg in results {
        notes.extend(seg.notes);
        failures.extend(seg.failures);
        database = seg.database;
        if seg.stopped.is_some() {
            stopped = seg.stopped;
            database = None;
            break;
        }
    }
    let summary = match stopped {
        Some(s) => s,
        None => {
            let n = set.migrations.len();
            let accepted = notes.len();
            let mut s = format!("{n} migration(s): each up, down, compare, up again");
            if parts.len() > 1 {
                s.push_str(&format!(" ({} databases in parallel)", parts.len()));
            }
            if accepted > 0 {
                s.push_str(&format!(", {accepted} declared difference(s) accepted"));
            }
            s
        }
    };
    let ok = failures.is_empty();
    Walked {
        report: PartReport::from_findings(
            Part::Reversibility,
            summary,
            failures,
            notes,
            started.elapsed(),
        ),
        database: if ok { database } else { None },
    }
}

/// Walk migrations `a..b` of `set` on a new scratch database.
fn walk(set: &MigrationSet, cluster: &Cluster, a: usize, b: usize) -> Segment {
    let mut seg = Segment::default();
    let stop = |mut seg: Segment, finding: Finding, summary: String| {
        seg.failures.push(finding);
        seg.stopped = Some(summary);
        seg
    };
    let db = match scratch(cluster) {
        Ok(db) => db,
        Err(e) => {
            let m = format!("cannot create a scratch database: {e}");
            return stop(seg, Finding::new(m.clone()), m);
        }
    };
    let mut client = match db.connect() {
        Ok(c) => c,
        Err(e) => {
            let m = format!("cannot connect to the scratch database: {e}");
            return stop(seg, Finding::new(m.clone()), m);
        }
    };
    let plain = Migrator::new(set);
    let with_fixtures = Migrator::new(set).with_fixtures(true);
    if a > 0 {
        // One transaction per migration, as the walk itself commits each one.
        let last = &set.migrations[a - 1];
        let chain = Migrator::new(set)
            .with_fixtures(true)
            .single_transaction(false);
        if let Err(e) = chain.up_to(&mut client, last.version) {
            let m = format!(
                "the chain up to migration {} with fixtures does not apply: {e}",
                last.label()
            );
            return stop(
                seg,
                Finding::new(m),
                format!("stopped before {}", last.label()),
            );
        }
    }
    let snapshots = match Snapshotter::new(&mut client, &excluded()) {
        Ok(s) => s,
        Err(e) => {
            let m = format!("cannot prepare the catalog query: {e}");
            return stop(seg, Finding::new(m.clone()), m);
        }
    };
    let mut before = match snapshots.take(&mut client) {
        Ok(s) => s,
        Err(e) => {
            let m = format!("cannot read the catalog: {e}");
            return stop(seg, Finding::new(m.clone()), m);
        }
    };
    for i in a..b {
        let m = &set.migrations[i];
        let at = format!("stopped at migration {}", m.label());
        let Some(down) = &m.down else {
            let f = Finding::new(format!("migration {} has no down script", m.label()))
                .at(Location::file(&m.up.path));
            return stop(seg, f, at);
        };
        let (declared, malformed) = directives(down);
        seg.failures.extend(malformed);
        if let Err(e) = plain.up_to(&mut client, m.version) {
            let f = Finding::new(format!(
                "migration {} does not apply on top of the migrations before it (with their fixtures): {e}",
                m.label()
            ))
            .at(Location::file(&m.up.path));
            return stop(seg, f, at);
        }
        if let Err(e) = plain.down(&mut client, DownTarget::Newest) {
            let f = Finding::new(format!("the down of migration {} fails: {e}", m.label()))
                .at(Location::file(&down.path));
            return stop(seg, f, at);
        }
        let after = match snapshots.take(&mut client) {
            Ok(s) => s,
            Err(e) => {
                return stop(
                    seg,
                    Finding::new(format!("cannot read the catalog: {e}")),
                    at,
                );
            }
        };
        let cmp = compare(&before, &after, &declared, &down.path);
        seg.notes.extend(cmp.accepted);
        seg.failures.extend(cmp.stale);
        if !cmp.equal {
            let previous = i.checked_sub(1).map(|p| &set.migrations[p]);
            let diff = render(set, cluster, &db, previous, m, &before, &after);
            let f = Finding::new(format!(
                "the down of migration {} does not restore the schema: after {} then {}, the schema differs from before",
                m.label(),
                file_name(&m.up.path),
                file_name(&down.path)
            ))
            .at(Location::file(&down.path))
            .hint("make the down undo every object the up creates or changes (indexes, constraints, function bodies, comments, defaults)")
            .detail(diff);
            return stop(seg, f, at);
        }
        if let Err(e) = with_fixtures.up_to(&mut client, m.version) {
            let f = Finding::new(format!(
                "migration {} (or its fixture) fails when applied again after its down: {e}",
                m.label()
            ))
            .at(Location::file(&m.up.path))
            .hint("an up must run again after its down; a value the down cannot remove needs IF NOT EXISTS");
            return stop(seg, f, at);
        }
        before = match snapshots.take(&mut client) {
            Ok(s) => s,
            Err(e) => {
                return stop(
                    seg,
                    Finding::new(format!("cannot read the catalog: {e}")),
                    at,
                );
            }
        };
    }
    drop(client);
    seg.database = Some(db);
    seg
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
                .single_transaction(false)
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

#[cfg(test)]
mod tests {
    #[test]
    fn segments_split_the_work_evenly() {
        assert_eq!(super::bounds(300, 1), [(0, 300)]);
        assert_eq!(super::bounds(300, 2), [(0, 212), (212, 300)]);
        assert_eq!(super::bounds(3, 8), [(0, 2), (2, 3)]);
        assert_eq!(super::bounds(0, 2), Vec::<(usize, usize)>::new());
    }
}
