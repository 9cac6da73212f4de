//! Discovery and validation of a migration folder (walkdir).
//!
//! Every problem is collected with its path before anything runs, so one pass tells the user
//! all that is wrong. Nothing in the folder is skipped silently: a `.sql` file that fits no
//! pattern of the layout is an error, not a warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::error::{Error, Problem, Result};
use crate::set::{Layout, Migration, MigrationSet, Script};

/// Name of the folder, inside a paired-layout migration folder, that holds the fixtures.
pub const FIXTURES_DIR: &str = "fixtures";

pub(crate) fn discover(dir: &Path, layout: Option<Layout>) -> Result<MigrationSet> {
    let meta = std::fs::metadata(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(Error::Invalid {
            dir: dir.to_path_buf(),
            problems: vec![Problem {
                path: dir.to_path_buf(),
                line: None,
                message: "not a folder; --dir must name the migrations folder".into(),
            }],
        });
    }
    let entries = walk(dir)?;
    let layout = match layout {
        Some(l) => l,
        None => detect(dir, &entries)?,
    };
    let mut problems = Vec::new();
    // Every version seen, complete or not, for the gap check.
    let mut seen: Vec<(i64, PathBuf)> = Vec::new();
    let mut migrations = match layout {
        Layout::Paired => paired(dir, &entries, &mut problems, &mut seen),
        Layout::Diesel => diesel(dir, &entries, &mut problems),
        Layout::Refinery => refinery(&entries, &mut problems),
    };
    migrations.sort_by_key(|m| m.version);
    duplicates(&migrations, &mut problems);
    transaction_control(layout, &migrations, &mut problems);
    if layout == Layout::Paired {
        gaps(seen, &mut problems);
    }
    if !problems.is_empty() {
        problems.sort_by(|a, b| {
            a.path
                .cmp(&b.path)
                .then(a.line.cmp(&b.line))
                .then(a.message.cmp(&b.message))
        });
        problems.dedup();
        return Err(Error::Invalid {
            dir: dir.to_path_buf(),
            problems,
        });
    }
    Ok(MigrationSet {
        dir: dir.to_path_buf(),
        layout,
        migrations,
    })
}

/// Every file and folder below `dir`, sorted, with paths relative to `dir`.
struct Entry {
    path: PathBuf,
    rel: PathBuf,
    is_dir: bool,
}

fn walk(dir: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for entry in WalkDir::new(dir).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Io {
            path: e
                .path()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| dir.into()),
            source: e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("filesystem loop")),
        })?;
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let hidden = rel
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        out.push(Entry {
            path: entry.path().to_path_buf(),
            rel: rel.to_path_buf(),
            is_dir: entry.file_type().is_dir(),
        });
    }
    Ok(out)
}

fn detect(dir: &Path, entries: &[Entry]) -> Result<Layout> {
    let mut found = Vec::new();
    let top_files = entries
        .iter()
        .filter(|e| !e.is_dir && e.rel.components().count() == 1);
    let names: Vec<String> = top_files.map(|e| file_name(&e.rel)).collect();
    if names
        .iter()
        .any(|n| n.ends_with(".up.sql") || n.ends_with(".down.sql"))
    {
        found.push(Layout::Paired);
    }
    if entries
        .iter()
        .any(|e| !e.is_dir && e.rel.components().count() == 2 && file_name(&e.rel) == "up.sql")
    {
        found.push(Layout::Diesel);
    }
    if entries.iter().any(|e| {
        !e.is_dir && {
            let n = file_name(&e.rel);
            n.ends_with(".sql") && parse_refinery(&n).is_some()
        }
    }) {
        found.push(Layout::Refinery);
    }
    match found.as_slice() {
        [] => Ok(Layout::Paired),
        [one] => Ok(*one),
        many => Err(Error::Invalid {
            dir: dir.to_path_buf(),
            problems: vec![Problem {
                path: dir.to_path_buf(),
                line: None,
                message: format!(
                    "files of several layouts found ({}); keep one layout per folder or pass --layout",
                    many.iter()
                        .map(|l| l.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }],
        }),
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read(path: &Path, problems: &mut Vec<Problem>) -> Option<String> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(s) => Some(s),
            Err(e) => {
                problems.push(Problem {
                    path: path.to_path_buf(),
                    line: None,
                    message: format!(
                        "not valid UTF-8 (first bad byte at offset {}); save the file as UTF-8",
                        e.utf8_error().valid_up_to()
                    ),
                });
                None
            }
        },
        Err(e) => {
            problems.push(Problem {
                path: path.to_path_buf(),
                line: None,
                message: format!("cannot read: {e}"),
            });
            None
        }
    }
}

fn script(path: &Path, problems: &mut Vec<Problem>) -> Option<Script> {
    let sql = read(path, problems)?;
    let no_transaction = crate::directive::no_transaction(&sql);
    Some(Script {
        path: path.to_path_buf(),
        sql,
        no_transaction,
    })
}

/// `000001_name` → (1, "name"): leading ASCII digits, `_`, a non-empty name.
fn parse_numbered(stem: &str) -> Option<(i64, String)> {
    let digits = stem.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let (num, rest) = stem.split_at(digits);
    let name = rest.strip_prefix('_')?;
    if name.trim().is_empty() {
        return None;
    }
    Some((num.parse().ok()?, name.to_string()))
}

#[derive(Default)]
struct Pair {
    name: String,
    up: Option<PathBuf>,
    down: Option<PathBuf>,
    digits: usize,
}

fn paired(
    dir: &Path,
    entries: &[Entry],
    problems: &mut Vec<Problem>,
    seen: &mut Vec<(i64, PathBuf)>,
) -> Vec<Migration> {
    // Keyed by (version, name): two names with one version are reported as duplicates later.
    let mut pairs: BTreeMap<(i64, String), Pair> = BTreeMap::new();
    let mut fixtures: BTreeMap<(i64, String), PathBuf> = BTreeMap::new();
    let fixtures_dir = Path::new(FIXTURES_DIR);
    for e in entries {
        if e.is_dir {
            continue;
        }
        let name = file_name(&e.rel);
        let depth = e.rel.components().count();
        let in_fixtures = depth == 2 && e.rel.starts_with(fixtures_dir);
        if !name.ends_with(".sql") {
            continue;
        }
        if in_fixtures {
            let stem = name.trim_end_matches(".sql");
            match parse_numbered(stem) {
                Some(key) => {
                    fixtures.insert(key, e.path.clone());
                }
                None => problems.push(Problem {
                    path: e.path.clone(),
                    line: None,
                    message: "fixture name must be NNNNNN_name.sql, the name of its migration"
                        .into(),
                }),
            }
            continue;
        }
        if depth != 1 {
            problems.push(Problem {
                path: e.path.clone(),
                line: None,
                message: format!(
                    "SQL file outside the layout: migrations live directly in {}, fixtures in {}/",
                    dir.display(),
                    FIXTURES_DIR
                ),
            });
            continue;
        }
        let (stem, is_up) = if let Some(s) = name.strip_suffix(".up.sql") {
            (s, true)
        } else if let Some(s) = name.strip_suffix(".down.sql") {
            (s, false)
        } else {
            problems.push(Problem {
                path: e.path.clone(),
                line: None,
                message:
                    "not a migration name: expected NNNNNN_name.up.sql or NNNNNN_name.down.sql"
                        .into(),
            });
            continue;
        };
        let Some((version, mname)) = parse_numbered(stem) else {
            problems.push(Problem {
                path: e.path.clone(),
                line: None,
                message: "unparsable migration name: expected NNNNNN_name.up.sql / .down.sql (digits, underscore, name)"
                    .into(),
            });
            continue;
        };
        let digits = stem.chars().take_while(|c| c.is_ascii_digit()).count();
        let pair = pairs.entry((version, mname.clone())).or_default();
        pair.name = mname;
        pair.digits = digits;
        if is_up {
            pair.up = Some(e.path.clone());
        } else {
            pair.down = Some(e.path.clone());
        }
    }
    let mut out = Vec::new();
    for ((version, _), pair) in &pairs {
        if let Some(path) = pair.up.as_ref().or(pair.down.as_ref()) {
            seen.push((*version, path.clone()));
        }
        let (Some(up), Some(down)) = (&pair.up, &pair.down) else {
            let (have, missing) = match (&pair.up, &pair.down) {
                (Some(up), None) => (up, "down"),
                (None, Some(down)) => (down, "up"),
                _ => continue,
            };
            problems.push(Problem {
                path: have.clone(),
                line: None,
                message: format!(
                    "has no matching {missing} migration: create {}",
                    have.with_file_name(format!(
                        "{:0width$}_{}.{missing}.sql",
                        version,
                        pair.name,
                        width = pair.digits
                    ))
                    .display()
                ),
            });
            continue;
        };
        let (Some(up), Some(down)) = (script(up, problems), script(down, problems)) else {
            continue;
        };
        let fixture = fixtures
            .remove(&(*version, pair.name.clone()))
            .and_then(|p| script(&p, problems));
        out.push(Migration {
            version: *version,
            name: pair.name.clone(),
            up,
            down: Some(down),
            fixture,
        });
    }
    for ((version, name), path) in fixtures {
        problems.push(Problem {
            path,
            line: None,
            message: format!("fixture for a migration that does not exist ({version}_{name})"),
        });
    }
    out
}

fn diesel(dir: &Path, entries: &[Entry], problems: &mut Vec<Problem>) -> Vec<Migration> {
    let mut out = Vec::new();
    for e in entries
        .iter()
        .filter(|e| e.is_dir && e.rel.components().count() == 1)
    {
        let folder = file_name(&e.rel);
        let Some((version, name)) = parse_diesel(&folder) else {
            problems.push(Problem {
                path: e.path.clone(),
                line: None,
                message: "unparsable diesel migration folder: expected VERSION_name (e.g. 2024-01-31-120000_create_users)"
                    .into(),
            });
            continue;
        };
        let up_path = e.path.join("up.sql");
        let down_path = e.path.join("down.sql");
        if !up_path.is_file() {
            problems.push(Problem {
                path: e.path.clone(),
                line: None,
                message: "has no up.sql".into(),
            });
            continue;
        }
        if !down_path.is_file() {
            problems.push(Problem {
                path: e.path.clone(),
                line: None,
                message: "has no down.sql: create it (diesel migrations are reversible)".into(),
            });
            continue;
        }
        let no_tx = match diesel_metadata(&e.path.join("metadata.toml")) {
            Ok(v) => v,
            Err(message) => {
                problems.push(Problem {
                    path: e.path.join("metadata.toml"),
                    line: None,
                    message,
                });
                continue;
            }
        };
        let (Some(mut up), Some(mut down)) =
            (script(&up_path, problems), script(&down_path, problems))
        else {
            continue;
        };
        up.no_transaction |= no_tx;
        down.no_transaction |= no_tx;
        out.push(Migration {
            version,
            name,
            up,
            down: Some(down),
            fixture: None,
        });
    }
    for e in entries.iter().filter(|e| !e.is_dir) {
        let depth = e.rel.components().count();
        let name = file_name(&e.rel);
        let known = depth == 2 && matches!(name.as_str(), "up.sql" | "down.sql" | "metadata.toml");
        if name.ends_with(".sql") && !known {
            problems.push(Problem {
                path: e.path.clone(),
                line: None,
                message: format!(
                    "SQL file outside the diesel layout: each migration is a folder of {} holding up.sql and down.sql",
                    dir.display()
                ),
            });
        }
    }
    out
}

/// `2024-01-31-120000_create users` → (20240131120000, "create users").
pub(crate) fn parse_diesel(folder: &str) -> Option<(i64, String)> {
    let prefix_len = folder
        .char_indices()
        .take_while(|(_, c)| c.is_ascii_digit() || *c == '-' || *c == '_')
        .map(|(i, c)| i + c.len_utf8())
        .last()?;
    let prefix = &folder[..prefix_len];
    // The name starts after the last separator of the version run.
    let cut = prefix.rfind('_')?;
    let (version_part, name) = (&folder[..cut], &folder[cut + 1..]);
    let digits: String = version_part
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    if digits.is_empty() || name.trim().is_empty() {
        return None;
    }
    Some((digits.parse().ok()?, name.to_string()))
}

fn diesel_metadata(path: &Path) -> std::result::Result<bool, String> {
    if !path.exists() {
        return Ok(false);
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let table: toml::Table = text.parse().map_err(|e| format!("invalid TOML: {e}"))?;
    match table.get("run_in_transaction") {
        None => Ok(false),
        Some(toml::Value::Boolean(b)) => Ok(!b),
        Some(other) => Err(format!(
            "run_in_transaction must be true or false, found {other}"
        )),
    }
}

/// `V12__name` → (12, "name").
fn parse_refinery(file: &str) -> Option<(i64, String)> {
    let stem = file.strip_suffix(".sql")?;
    let rest = stem.strip_prefix('V')?;
    let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let (num, rest) = rest.split_at(digits);
    let name = rest.strip_prefix("__")?;
    if name.is_empty() {
        return None;
    }
    Some((num.parse().ok()?, name.to_string()))
}

fn refinery(entries: &[Entry], problems: &mut Vec<Problem>) -> Vec<Migration> {
    let mut out = Vec::new();
    for e in entries.iter().filter(|e| !e.is_dir) {
        let name = file_name(&e.rel);
        if !name.ends_with(".sql") {
            continue;
        }
        let Some((version, mname)) = parse_refinery(&name) else {
            let message = if name.starts_with('U') {
                "unversioned (U) refinery migrations are not supported: rename it V{n}__name.sql"
            } else {
                "unparsable migration name: expected V{n}__name.sql"
            };
            problems.push(Problem {
                path: e.path.clone(),
                line: None,
                message: message.into(),
            });
            continue;
        };
        let Some(up) = script(&e.path, problems) else {
            continue;
        };
        out.push(Migration {
            version,
            name: mname,
            up,
            down: None,
            fixture: None,
        });
    }
    out
}

fn duplicates(sorted: &[Migration], problems: &mut Vec<Problem>) {
    for w in sorted.windows(2) {
        if w[0].version == w[1].version {
            for (a, b) in [(&w[0], &w[1]), (&w[1], &w[0])] {
                problems.push(Problem {
                    path: a.up.path.clone(),
                    line: None,
                    message: format!(
                        "duplicate version {}: also used by {}; renumber one of them (`cargo xtask migrate renumber`)",
                        a.version,
                        b.up.path.display()
                    ),
                });
            }
        }
    }
}

/// Top-level `BEGIN`/`COMMIT`/... in a script that runs in the runner's transaction.
fn transaction_control(layout: Layout, migrations: &[Migration], problems: &mut Vec<Problem>) {
    let make_no_tx = |what: &str| {
        match layout {
        Layout::Diesel => {
            "or set `run_in_transaction = false` in the migration's metadata.toml (it then runs outside a transaction, one statement at a time)".to_string()
        }
        _ => format!(
            "or make {what} run outside a transaction with `-- no-transaction` as its first line (one statement at a time, not atomic)"
        ),
    }
    };
    for m in migrations {
        let mut scripts = vec![(&m.up, "the migration".to_string())];
        if let Some(down) = &m.down {
            scripts.push((down, "the down script".to_string()));
        }
        if let Some(fixture) = &m.fixture
            && !m.up.no_transaction
        {
            scripts.push((fixture, String::new()));
        }
        for (script, what) in scripts {
            if script.no_transaction {
                continue;
            }
            for tc in crate::txcontrol::find(&crate::checksum::normalise(&script.sql)) {
                let fix = if what.is_empty() {
                    "remove it: a fixture runs in its migration's transaction".to_string()
                } else {
                    format!(
                        "remove it (the runner owns the transaction), {}",
                        make_no_tx(&what)
                    )
                };
                problems.push(
                    Problem::new(
                        &script.path,
                        format!(
                            "`{}` at top level: this script runs inside the transaction the runner opens (SQL and history row commit together), which `{}` would end or disturb; {fix}",
                            tc.keywords, tc.keywords
                        ),
                    )
                    .at_line(tc.line),
                );
            }
        }
    }
}

/// Short sequence numbers (under 10 digits) must be contiguous; timestamps need not be.
fn gaps(mut seen: Vec<(i64, PathBuf)>, problems: &mut Vec<Problem>) {
    seen.sort();
    seen.dedup_by_key(|(v, _)| *v);
    for w in seen.windows(2) {
        let ((a, _), (b, path)) = (&w[0], &w[1]);
        if *b < 1_000_000_000 && *b > a + 1 {
            problems.push(Problem {
                path: path.clone(),
                line: None,
                message: format!(
                    "gap in versions: {b} follows {a} (missing {}); versions must be contiguous, renumber it to {}",
                    if *b == a + 2 {
                        (a + 1).to_string()
                    } else {
                        format!("{}..={}", a + 1, b - 1)
                    },
                    a + 1
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names() {
        assert_eq!(parse_numbered("000001_init"), Some((1, "init".into())));
        assert_eq!(
            parse_numbered("000002_add budgets ü"),
            Some((2, "add budgets ü".into()))
        );
        assert_eq!(parse_numbered("init"), None);
        assert_eq!(parse_numbered("0001"), None);
        assert_eq!(parse_numbered("0001_"), None);
    }

    #[test]
    fn diesel_names() {
        assert_eq!(
            parse_diesel("2024-01-31-120000_create_users"),
            Some((20240131120000, "create_users".into()))
        );
        assert_eq!(
            parse_diesel("00000000000000_diesel_initial_setup"),
            Some((0, "diesel_initial_setup".into()))
        );
        assert_eq!(
            parse_diesel("2024_01_31_120000_create users"),
            Some((20240131120000, "create users".into()))
        );
        assert_eq!(parse_diesel("create_users"), None);
    }

    #[test]
    fn refinery_names() {
        assert_eq!(parse_refinery("V3__add_x.sql"), Some((3, "add_x".into())));
        assert_eq!(parse_refinery("V3_add_x.sql"), None);
        assert_eq!(parse_refinery("U3__add_x.sql"), None);
    }
}
