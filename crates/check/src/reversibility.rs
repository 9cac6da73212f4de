//! Reversibility: every down restores the schema its up started from, exactly.
//!
//! The walk runs in one scratch database per walker, on one connection, with no cluster
//! restart: for each migration N (in version order), with 1..N-1 and their fixtures applied,
//!
//! 1. apply N (without its fixture), then its down, through the migration engine (so
//!    `-- no-transaction` scripts, the history table and error locations behave as in real use);
//! 2. bring the catalog [`Snapshot`] up to date and compare it with the one before N (only
//!    the objects the up and the down changed are read and compared);
//! 3. re-apply N with its fixture, and bring the snapshot up to date: the "before" of N+1.
//!
//! Downs therefore run against real rows (the fixtures of 1..N-1), and every up runs twice, so
//! an up that cannot run again after its down is caught too. Each difference is reported and
//! the walk goes on from the state after that migration, rebuilt in a fresh database (the
//! chain replayed with fixtures), so one run lists every migration that does not revert, in
//! chain order ([`WalkOptions::fail_fast`] stops at the first instead; an up that does not
//! apply always stops the walk). A difference is shown as a unified diff of two normalised `pg_dump --schema-only` outputs (the
//! state before N is rebuilt in a second scratch database for that), or of the two catalog
//! snapshots when pg_dump shows nothing (a difference pg_dump does not print).
//!
//! # Speed
//!
//! A catalog snapshot is one prepared query (see [`crate::snapshot`]), several times cheaper
//! than a pg_dump process, but it costs as much as the schema is large. The walk reads one
//! whole snapshot per walker and then keeps it up to date with [`Tracker`], which after the
//! down and after the re-apply reads only the objects the commands of that step created,
//! altered or dropped, as a change log written by event triggers in the scratch database
//! reports them (see [`crate::ddl_log`] and [`crate::incremental`]; a script naming a system
//! catalog gets a scan of every catalog instead): a migration costs what it touches, not what
//! the schema holds, so the walk grows about linearly with the chain. The ups and downs skip
//! the lease and the history reads ([`Migrator::apply_next`], [`Migrator::revert_next`]: the
//! database is the walker's alone). Sets of 40 or more migrations are split into segments, one per core
//! (at most 4), each walked in its own database on its own thread: the walker of segment
//! `a..b` starts from `0..a` applied with fixtures (one transaction per migration, as the walk
//! commits them), then walks as above. Segment bounds give every walker the same work, replay
//! included (see `bounds`). The first walker (in chain order) that stops
//! stops the report there; the findings of all walkers before it are listed in chain order.
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

use migrate::{Migration, MigrationSet, Migrator};
use pgcluster::{Cluster, TestDatabase};

use crate::incremental::Tracker;
use crate::report::{Finding, Location, Part, PartReport};
use crate::snapshot::Snapshot;
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

/// How to walk.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Databases walking in parallel; 0: [`default_segments`].
    pub segments: usize,
    /// Stop at the first migration that does not revert (the behaviour before the full
    /// report); otherwise the state after it is rebuilt and the walk goes on.
    pub fail_fast: bool,
    /// Walk only migrations with this version or above; the ones before are applied with
    /// their fixtures, not checked.
    pub since: Option<i64>,
}

/// Walk `set` on scratch databases of `cluster` ([`default_segments`] of them), reporting every
/// migration that does not revert.
pub fn run(set: &MigrationSet, cluster: &Cluster) -> Walked {
    walk_set(set, cluster, &WalkOptions::default())
}

/// [`run`] with `segments` walkers.
pub fn run_with(set: &MigrationSet, cluster: &Cluster, segments: usize) -> Walked {
    walk_set(
        set,
        cluster,
        &WalkOptions {
            segments,
            ..WalkOptions::default()
        },
    )
}

/// Index of the first migration of `set` with version `since` or above (`None`: 0).
pub fn first_checked(set: &MigrationSet, since: Option<i64>) -> usize {
    match since {
        None => 0,
        Some(v) => set
            .migrations
            .iter()
            .position(|m| m.version >= v)
            .unwrap_or(set.migrations.len()),
    }
}

/// A walker vacuums its database's catalogs after this many steps ([`Tracker::vacuum`]): each
/// step creates and drops objects, and the dead catalog rows would make every later step
/// slower (a thousand-step walk took half again as long without).
const VACUUM_EVERY: usize = 50;

/// What applying a migration with its fixture (a walker's replay of the chain before its
/// segment) costs, relative to walking it (three engine calls and two refreshes).
const REPLAY_COST: f64 = 0.25;

/// Where `segments` walkers split `n` migrations. Walking a migration costs about the same
/// whatever the schema, and the walker of `a..b` first replays `0..a`, so it costs about
/// `REPLAY_COST·a + (b - a)`; the cuts make that equal for every walker:
/// `a(j+1) = a(j)·(1 - REPLAY_COST) + C`.
fn bounds(n: usize, segments: usize) -> Vec<(usize, usize)> {
    let segments = segments.clamp(1, n.max(1));
    let keep = 1.0 - REPLAY_COST;
    let total: f64 = (0..segments).map(|k| keep.powi(k as i32)).sum();
    let each = n as f64 / total;
    let mut cuts = vec![0usize];
    let mut at = 0.0;
    for _ in 0..segments {
        at = at * keep + each;
        cuts.push(at.round() as usize);
    }
    cuts[segments] = n;
    cuts.dedup();
    cuts.windows(2).map(|w| (w[0], w[1])).collect()
}

/// One walker's result.
#[derive(Debug, Default)]
struct Segment {
    notes: Vec<Finding>,
    failures: Vec<Finding>,
    /// The migrations that do not revert (labels), in chain order.
    irreversible: Vec<String>,
    /// Set when the walk stopped early (the summary): nothing after it counts.
    stopped: Option<String>,
    database: Option<TestDatabase>,
}

/// Walk `set`: the walker of migrations `a..b` first applies `0..a` with their fixtures in one
/// go, then walks as described in the module documentation. Without `fail_fast`, a migration
/// that does not revert is reported and the walk goes on from the state after it (rebuilt in a
/// fresh database); a walker that cannot go on (an up that does not apply) stops, and the
/// walkers after it are discarded.
pub fn walk_set(set: &MigrationSet, cluster: &Cluster, options: &WalkOptions) -> Walked {
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
    let n = set.migrations.len();
    let first = first_checked(set, options.since);
    let segments = if options.segments == 0 {
        default_segments(n - first)
    } else {
        options.segments
    };
    let parts: Vec<(usize, usize)> = if first == n {
        vec![(n, n)]
    } else {
        bounds(n - first, segments)
            .into_iter()
            .map(|(a, b)| (a + first, b + first))
            .collect()
    };
    let fail_fast = options.fail_fast;
    let results: Vec<Segment> = if parts.len() <= 1 {
        vec![walk(set, cluster, first, n, fail_fast)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .iter()
                .map(|&(a, b)| scope.spawn(move || walk(set, cluster, a, b, fail_fast)))
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
    let mut irreversible = Vec::new();
    let mut stopped = None;
    let mut database = None;
    for seg in results {
        notes.extend(seg.notes);
        failures.extend(seg.failures);
        irreversible.extend(seg.irreversible);
        database = seg.database;
        if seg.stopped.is_some() {
            stopped = seg.stopped;
            database = None;
            break;
        }
    }
    let walked = n - first;
    let summary = match stopped {
        Some(s) => s,
        None => {
            let accepted = notes.len();
            let mut s = format!("{walked} migration(s): each up, down, compare, up again");
            if parts.len() > 1 {
                s.push_str(&format!(" ({} databases in parallel)", parts.len()));
            }
            if first > 0 {
                s.push_str(&format!(
                    ", {first} migration(s) before --since applied, not checked"
                ));
            }
            if accepted > 0 {
                s.push_str(&format!(", {accepted} declared difference(s) accepted"));
            }
            if !irreversible.is_empty() {
                s.push_str(&format!(
                    "; {} do(es) not revert: {}",
                    irreversible.len(),
                    irreversible.join(", ")
                ));
            }
            s
        }
    };
    Walked {
        report: PartReport::from_findings(
            Part::Reversibility,
            summary,
            failures,
            notes,
            started.elapsed(),
        ),
        database,
    }
}

/// A walker's database, the connection the migrations run on, and the snapshot of the state
/// the next migration starts from, kept up to date incrementally on a connection of its own:
/// the tracker's session settings (plans, see [`Tracker::with_ddl_log`]) stay out of the
/// migrations' session, and the migrations' settings (`search_path`, timeouts, roles) out of
/// the snapshots.
struct State {
    db: TestDatabase,
    client: postgres::Client,
    watch: postgres::Client,
    tracker: Tracker,
}

/// A fresh scratch database holding migrations `0..upto` of `set` with their fixtures (one
/// transaction per migration, as the walk commits them), snapshotted.
fn fresh(set: &MigrationSet, cluster: &Cluster, upto: usize) -> Result<State, String> {
    let db = scratch(cluster).map_err(|e| format!("cannot create a scratch database: {e}"))?;
    let client = db
        .connect()
        .map_err(|e| format!("cannot connect to the scratch database: {e}"))?;
    continue_in(set, db, client, upto, None)
}

/// Bring `db` (holding migrations `0..from`, or nothing) to `0..upto` with fixtures, and
/// snapshot it.
fn continue_in(
    set: &MigrationSet,
    db: TestDatabase,
    mut client: postgres::Client,
    upto: usize,
    from: Option<usize>,
) -> Result<State, String> {
    if upto > 0 && from != Some(upto) {
        let last = &set.migrations[upto - 1];
        let chain = Migrator::new(set)
            .with_fixtures(true)
            .single_transaction(false);
        chain.up_to(&mut client, last.version).map_err(|e| {
            format!(
                "the chain up to migration {} with fixtures does not apply: {e}",
                last.label()
            )
        })?;
    }
    let mut watch = db
        .connect()
        .map_err(|e| format!("cannot connect to the scratch database: {e}"))?;
    let tracker = Tracker::with_ddl_log(&mut watch, &excluded())
        .map_err(|e| format!("cannot read the catalog: {e}"))?;
    Ok(State {
        db,
        client,
        watch,
        tracker,
    })
}

/// How one migration's step went wrong.
struct StepFailure {
    finding: Finding,
    /// Whether the walk can go on after it (from the chain rebuilt up to this migration).
    recoverable: bool,
    /// A database holding the chain before this migration with fixtures, when the diff
    /// rebuilt one (the walk goes on there instead of replaying the chain once more).
    rebuilt: Option<TestDatabase>,
}

impl StepFailure {
    fn new(finding: Finding, recoverable: bool) -> Box<Self> {
        Box::new(StepFailure {
            finding,
            recoverable,
            rebuilt: None,
        })
    }
}

/// Up, down, compare, up again with the fixture, snapshot: migration `i` on `st`.
fn step(
    set: &MigrationSet,
    cluster: &Cluster,
    st: &mut State,
    i: usize,
    seg: &mut Segment,
) -> Result<(), Box<StepFailure>> {
    let m = &set.migrations[i];
    // The scratch database is this walker's alone, and `m` is always the next migration:
    // the ups and the down skip the lease and the history reads (`apply_next`,
    // `revert_next`).
    let plain = Migrator::new(set);
    let with_fixtures = Migrator::new(set).with_fixtures(true);
    let scan = writes_catalogs(m);
    let Some(down) = &m.down else {
        let f = Finding::new(format!("migration {} has no down script", m.label()))
            .at(Location::file(&m.up.path));
        return Err(StepFailure::new(f, true));
    };
    let (declared, malformed) = directives(down);
    seg.failures.extend(malformed);
    if let Err(e) = plain.apply_next(&mut st.client, m) {
        let f = Finding::new(format!(
            "migration {} does not apply on top of the migrations before it (with their fixtures): {e}",
            m.label()
        ))
        .at(Location::file(&m.up.path));
        return Err(StepFailure::new(f, false));
    }
    if let Err(e) = plain.revert_next(&mut st.client, m) {
        let f = Finding::new(format!("the down of migration {} fails: {e}", m.label()))
            .at(Location::file(&down.path));
        return Err(StepFailure::new(f, true));
    }
    let catalog = |e: postgres::Error| {
        StepFailure::new(Finding::new(format!("cannot read the catalog: {e}")), false)
    };
    // Only what the up and the down changed is read and compared.
    let changes = refresh(&mut st.tracker, &mut st.watch, scan).map_err(catalog)?;
    let (before, after) = changes.sides(st.tracker.snapshot());
    let cmp = compare(&before, &after, &declared, &down.path);
    seg.notes.extend(cmp.accepted);
    seg.failures.extend(cmp.stale);
    if !cmp.equal {
        let previous = i.checked_sub(1).map(|p| &set.migrations[p]);
        // pg_dump must not show the change log; the walk goes on in another database.
        let _ = st.tracker.uninstall(&mut st.watch);
        let after = st.tracker.snapshot().clone();
        let before = changes.revert(&after);
        let (diff, rebuilt) = render(set, cluster, &st.db, previous, m, &before, &after);
        let f = Finding::new(format!(
            "the down of migration {} does not restore the schema: after {} then {}, the schema differs from before",
            m.label(),
            file_name(&m.up.path),
            file_name(&down.path)
        ))
        .at(Location::file(&down.path))
        .hint("make the down undo every object the up creates or changes (indexes, constraints, function bodies, comments, defaults)")
        .detail(diff);
        return Err(Box::new(StepFailure {
            finding: f,
            recoverable: true,
            rebuilt,
        }));
    }
    if let Err(e) = with_fixtures.apply_next(&mut st.client, m) {
        let f = Finding::new(format!(
            "migration {} (or its fixture) fails when applied again after its down: {e}",
            m.label()
        ))
        .at(Location::file(&m.up.path))
        .hint("an up must run again after its down; a value the down cannot remove needs IF NOT EXISTS");
        return Err(StepFailure::new(f, true));
    }
    refresh(&mut st.tracker, &mut st.watch, scan).map_err(catalog)?;
    Ok(())
}

/// Bring the tracker up to date, scanning every catalog when `scan` (see [`writes_catalogs`]).
fn refresh(
    tracker: &mut Tracker,
    client: &mut postgres::Client,
    scan: bool,
) -> Result<crate::incremental::Changes, postgres::Error> {
    if scan {
        tracker.refresh_scanning(client)
    } else {
        tracker.refresh(client)
    }
}

/// Whether a script of `m` (up, down, fixture) names a system catalog (`pg_class`, ...): it
/// may write to it directly, which no event trigger reports, so its refreshes scan every
/// catalog instead of reading the change log.
fn writes_catalogs(m: &Migration) -> bool {
    [Some(&m.up), m.down.as_ref(), m.fixture.as_ref()]
        .into_iter()
        .flatten()
        .any(|s| crate::incremental::names_a_catalog(&s.sql))
}

/// Walk migrations `a..b` of `set` on a new scratch database.
fn walk(set: &MigrationSet, cluster: &Cluster, a: usize, b: usize, fail_fast: bool) -> Segment {
    let mut seg = Segment::default();
    let stop = |mut seg: Segment, finding: Finding, summary: String| {
        seg.failures.push(finding);
        seg.stopped = Some(summary);
        seg
    };
    let mut st = match fresh(set, cluster, a) {
        Ok(st) => st,
        Err(m) => {
            let summary = match a.checked_sub(1) {
                Some(p) if m.starts_with("the chain") => {
                    format!("stopped before {}", set.migrations[p].label())
                }
                _ => m.clone(),
            };
            return stop(seg, Finding::new(m), summary);
        }
    };
    for i in a..b {
        if (i - a) % VACUUM_EVERY == VACUUM_EVERY - 1 {
            // Only speed depends on it: a failure here changes no finding.
            let _ = st.tracker.vacuum(&mut st.watch);
        }
        let m = &set.migrations[i];
        let at = format!("stopped at migration {}", m.label());
        let failure = match step(set, cluster, &mut st, i, &mut seg) {
            Ok(()) => continue,
            Err(f) => f,
        };
        if fail_fast || !failure.recoverable {
            return stop(seg, failure.finding, at);
        }
        seg.failures.push(failure.finding);
        seg.irreversible.push(m.label());
        // Go on from the state after `m` with its fixture: in the database the diff rebuilt
        // (holding 0..i), else in a fresh one.
        let rebuilt = failure.rebuilt.and_then(|db| {
            let client = db.connect().ok()?;
            continue_in(set, db, client, i + 1, None).ok()
        });
        st = match rebuilt {
            Some(st) => st,
            None => match fresh(set, cluster, i + 1) {
                Ok(st) => st,
                Err(e) => {
                    return stop(
                        seg,
                        Finding::new(format!(
                            "the walk cannot go on after migration {}: {e}",
                            m.label()
                        )),
                        at,
                    );
                }
            },
        };
    }
    let State {
        db,
        client,
        mut watch,
        mut tracker,
    } = st;
    // The database goes on to the fixtures check without the change log.
    if let Err(e) = tracker.uninstall(&mut watch) {
        seg.failures.push(Finding::new(format!(
            "cannot remove the walk's change log from its database: {e}"
        )));
    }
    drop((client, watch));
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
) -> (String, Option<TestDatabase>) {
    let before_label = match previous {
        Some(p) => format!(
            "schema before {} (after {} and its fixture)",
            m.label(),
            p.label()
        ),
        None => format!("schema before {} (empty database)", m.label()),
    };
    let after_label = format!("schema after {} up, then down", m.label());
    let mut kept = None;
    let dumped = (|| -> Result<String, String> {
        let exclude = excluded();
        let rebuilt = &*kept.insert(scratch(cluster).map_err(|e| e.to_string())?);
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
    let text = match dumped {
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
    };
    (text, kept)
}

#[cfg(test)]
mod tests {
    #[test]
    fn segments_split_the_work_evenly() {
        assert_eq!(super::bounds(300, 1), [(0, 300)]);
        // 300 / 1.75 = 171: the second walker replays 171 migrations (a quarter of the cost
        // of walking them) and walks 129.
        assert_eq!(super::bounds(300, 2), [(0, 171), (171, 300)]);
        assert_eq!(super::bounds(3, 8), [(0, 1), (1, 2), (2, 3)]);
        assert_eq!(super::bounds(0, 2), Vec::<(usize, usize)>::new());
    }
}
