//! Fixtures: after the full chain with every fixture, every table has at least one row, so
//! every later migration (and every test built on the chain) meets real data.
//!
//! A table that must stay empty is listed in `fixtures/EXEMPT` of the migrations folder, one
//! per line: the table name (bare for `public`, else `schema.table`), then the reason.
//! Blank lines and lines starting with `#` are ignored. An entry without a reason, or naming a
//! table that does not exist after the chain, is an error; every exemption is shown.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use migrate::{MigrationSet, Migrator};
use pgcluster::Cluster;

use crate::report::{Finding, Location, Part, PartReport};
use crate::reversibility;

/// The exemption file's name, inside the fixtures folder.
pub const EXEMPT_FILE: &str = "EXEMPT";

/// One line of the exemption file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exempt {
    /// Table name as written.
    pub table: String,
    /// Why it may stay empty.
    pub reason: String,
    /// 1-based line.
    pub line: usize,
}

/// Where the exemption file of the migrations folder `dir` lives.
pub fn exempt_path(dir: &Path) -> PathBuf {
    dir.join(migrate::FIXTURES_DIR).join(EXEMPT_FILE)
}

/// Read the exemption file (absent: no exemptions). Malformed lines are returned as errors.
pub fn read_exempt(dir: &Path) -> (Vec<Exempt>, Vec<Finding>) {
    let path = exempt_path(dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), Vec::new()),
        Err(e) => {
            return (
                Vec::new(),
                vec![Finding::new(format!("cannot read: {e}")).at(Location::file(&path))],
            );
        }
    };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (table, reason) = match line.split_once(char::is_whitespace) {
            Some((t, r)) => (t, r.trim()),
            None => (line, ""),
        };
        if reason.is_empty() {
            errors.push(
                Finding::new(format!("exemption of `{table}` gives no reason"))
                    .at(Location::line(&path, i + 1))
                    .rule("exempt-without-reason")
                    .hint("write `table_name why it stays empty` on one line"),
            );
            continue;
        }
        out.push(Exempt {
            table: table.to_string(),
            reason: reason.to_string(),
            line: i + 1,
        });
    }
    (out, errors)
}

const TABLES: &str = "
SELECT CASE WHEN n.nspname = 'public' THEN quote_ident(c.relname)
            ELSE format('%I.%I', n.nspname, c.relname) END AS shown,
       format('%I.%I', n.nspname, c.relname) AS qualified
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
  AND NOT (c.relname = ANY($1) OR (n.nspname || '.' || c.relname) = ANY($1))
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1";

/// Check the tables of a database that holds the full chain with every fixture.
pub fn check_database(
    set: &MigrationSet,
    client: &mut postgres::Client,
    started: Instant,
) -> PartReport {
    check_tables(set, client, &BTreeSet::new(), started)
}

/// The tables (`schema.table`, quoted as needed) that exist once the migrations of `set` before
/// version `since` are applied with their fixtures, on a scratch database of `cluster`.
pub fn tables_before(
    set: &MigrationSet,
    cluster: &Cluster,
    since: i64,
) -> Result<BTreeSet<String>, String> {
    let first = reversibility::first_checked(set, Some(since));
    let Some(last) = first.checked_sub(1).map(|i| &set.migrations[i]) else {
        return Ok(BTreeSet::new());
    };
    let db = reversibility::scratch(cluster)
        .map_err(|e| format!("cannot create a scratch database: {e}"))?;
    let mut client = db
        .connect()
        .map_err(|e| format!("cannot connect to the scratch database: {e}"))?;
    Migrator::new(set)
        .with_fixtures(true)
        .single_transaction(false)
        .up_to(&mut client, last.version)
        .map_err(|e| {
            format!(
                "the chain up to migration {} with fixtures does not apply: {e}",
                last.label()
            )
        })?;
    let rows = client
        .query(TABLES, &[&reversibility::excluded()])
        .map_err(|e| format!("cannot list the tables: {e}"))?;
    Ok(rows.iter().map(|r| r.get::<_, String>(1)).collect())
}

/// [`check_database`], leaving out the tables that exist before version `since` (`--since`:
/// their migrations are applied, not checked).
pub fn check_since(
    set: &MigrationSet,
    cluster: &Cluster,
    client: &mut postgres::Client,
    since: Option<i64>,
    started: Instant,
) -> PartReport {
    let old = match since.map(|v| tables_before(set, cluster, v)) {
        None => BTreeSet::new(),
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            return PartReport::failed(Part::Fixtures, Finding::new(e), started.elapsed());
        }
    };
    check_tables(set, client, &old, started)
}

fn check_tables(
    set: &MigrationSet,
    client: &mut postgres::Client,
    old: &BTreeSet<String>,
    started: Instant,
) -> PartReport {
    let (exempt, mut failures) = read_exempt(&set.dir);
    let exempt_file = exempt_path(&set.dir);
    let rows = match client.query(TABLES, &[&reversibility::excluded()]) {
        Ok(r) => r,
        Err(e) => {
            return PartReport::failed(
                Part::Fixtures,
                Finding::new(format!("cannot list the tables: {e}")),
                started.elapsed(),
            );
        }
    };
    let mut notes = Vec::new();
    let mut used: BTreeMap<usize, bool> = exempt.iter().map(|e| (e.line, false)).collect();
    let mut empty = Vec::new();
    let mut total = 0;
    let mut skipped = 0;
    for row in rows {
        let shown: String = row.get(0);
        let qualified: String = row.get(1);
        if old.contains(&qualified) {
            skipped += 1;
            continue;
        }
        total += 1;
        let has_rows: bool =
            match client.query_one(&format!("SELECT EXISTS (SELECT FROM {qualified})"), &[]) {
                Ok(r) => r.get(0),
                Err(e) => {
                    failures.push(Finding::new(format!("cannot read table {shown}: {e}")));
                    continue;
                }
            };
        let exemption = exempt.iter().find(|e| {
            e.table == shown || e.table == qualified || format!("public.{}", e.table) == qualified
        });
        if let Some(e) = exemption {
            used.insert(e.line, true);
            notes.push(
                Finding::new(format!(
                    "table {shown} is exempt{}: {}",
                    if has_rows {
                        " (it has rows anyway)"
                    } else {
                        ""
                    },
                    e.reason
                ))
                .at(Location::line(&exempt_file, e.line)),
            );
            continue;
        }
        if !has_rows {
            empty.push(shown);
        }
    }
    for table in &empty {
        failures.push(
            Finding::new(format!(
                "table {table} has no rows after the full chain with fixtures"
            ))
            .rule("empty-table")
            .hint(format!(
                "insert rows into {table} in the fixture of the migration that creates it (fixtures/NNNNNN_name.sql), or list it in {} with a reason",
                exempt_file.display()
            )),
        );
    }
    for e in &exempt {
        if used.get(&e.line) == Some(&false) {
            failures.push(
                Finding::new(format!(
                    "exemption of `{}`: no such table after the full chain",
                    e.table
                ))
                .at(Location::line(&exempt_file, e.line))
                .rule("stale-exemption")
                .hint("remove the line, or correct the table name"),
            );
        }
    }
    let mut summary = format!(
        "{total} table(s): {} with rows, {} exempt, {} empty",
        total - empty.len() - notes.len(),
        notes.len(),
        empty.len()
    );
    if skipped > 0 {
        summary.push_str(&format!(
            ", {skipped} table(s) created before --since not checked"
        ));
    }
    PartReport::from_findings(Part::Fixtures, summary, failures, notes, started.elapsed())
}

/// Apply the full chain with fixtures to a scratch database and check its tables.
pub fn run(set: &MigrationSet, cluster: &Cluster) -> PartReport {
    run_since(set, cluster, None)
}

/// [`run`], leaving out the tables that exist before version `since`.
pub fn run_since(set: &MigrationSet, cluster: &Cluster, since: Option<i64>) -> PartReport {
    let started = Instant::now();
    let fail = |message: String| {
        PartReport::failed(Part::Fixtures, Finding::new(message), started.elapsed())
    };
    let db = match reversibility::scratch(cluster) {
        Ok(db) => db,
        Err(e) => return fail(format!("cannot create a scratch database: {e}")),
    };
    let mut client = match db.connect() {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot connect to the scratch database: {e}")),
    };
    let chain = Migrator::new(set)
        .with_fixtures(true)
        .single_transaction(false);
    if let Err(e) = chain.up(&mut client) {
        return fail(format!(
            "the chain with fixtures does not apply to an empty database: {e}"
        ));
    }
    check_since(set, cluster, &mut client, since, started)
}
