//! Discovery and validation of a migration folder (walkdir).
//!
//! Every problem is collected with its path before anything runs, so one pass tells the user
//! all that is wrong. A folder is read the way its layout's own tool reads it: a file that
//! diesel or refinery ignores (a one-off `.sql` script beside diesel's migration folders, a
//! refinery file whose name does not match `V{n}__name.sql`) is a *warning* naming it and why it
//! is ignored, and the run goes on ([`DiscoverOptions::strict`] makes warnings errors). In the
//! paired layout a stray `.sql` file is an error: it is most likely a misnamed migration.
//! Nothing is skipped silently, except hidden files (`.gitkeep`) and documentation (`*.md`,
//! `*.txt`, `README*`, `LICENSE*`), which every tool ignores.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::error::{Error, Problem, Result};
use crate::set::{Layout, Migration, MigrationSet, Script};

/// Name of the folder, inside a paired-layout migration folder, that holds the fixtures.
pub const FIXTURES_DIR: &str = "fixtures";

/// How to discover a folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiscoverOptions {
    /// The layout; `None`: detect it.
    pub layout: Option<Layout>,
    /// Files the layout's own tool ignores are errors instead of warnings (for CI).
    pub strict: bool,
}

pub(crate) fn discover(dir: &Path, options: DiscoverOptions) -> Result<MigrationSet> {
    let layout = options.layout;
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
    let mut warnings = Vec::new();
    // Every version seen, complete or not, for the gap check.
    let mut seen: Vec<(i64, PathBuf)> = Vec::new();
    let mut migrations = match layout {
        Layout::Paired => paired(dir, &entries, &mut problems, &mut warnings, &mut seen),
        Layout::Diesel => diesel(dir, &entries, &mut problems, &mut warnings),
        Layout::Refinery => refinery(&entries, &mut problems, &mut warnings),
    };
    warnings.sort_by(|a: &Problem, b: &Problem| a.path.cmp(&b.path));
    if options.strict {
        problems.extend(warnings.drain(..).map(|mut w| {
            w.message.push_str(" (an error with --strict)");
            w
        }));
    }
    migrations.sort_by_key(|m| m.version);
    duplicates(&migrations, &mut problems);
    transaction_control(layout, &mut migrations, &mut problems);
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
        warnings,
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
        shareable_checksum: None,
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
    warnings: &mut Vec<Problem>,
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
            if !is_documentation(&name) {
                warnings.push(Problem::new(
                    &e.path,
                    "ignored: not a .sql file (migrations are NNNNNN_name.up.sql / .down.sql)",
                ));
            }
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
            version_text: version.to_string(),
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

fn diesel(
    dir: &Path,
    entries: &[Entry],
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Vec<Migration> {
    let mut out = Vec::new();
    for e in entries
        .iter()
        .filter(|e| e.is_dir && e.rel.components().count() == 1)
    {
        let folder = file_name(&e.rel);
        let (version, version_text, name) = match parse_diesel(&folder) {
            Ok(parsed) => parsed,
            Err(why) => {
                problems.push(Problem::new(
                    &e.path,
                    format!(
                        "unparsable diesel migration folder: {why}; expected VERSION_name (e.g. 2024-01-31-120000_create_users)"
                    ),
                ));
                continue;
            }
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
            version_text,
            name,
            up,
            down: Some(down),
            fixture: None,
        });
    }
    // diesel reads only the folders of `dir`, and in each only up.sql, down.sql, metadata.toml.
    for e in entries.iter().filter(|e| !e.is_dir) {
        let depth = e.rel.components().count();
        let name = file_name(&e.rel);
        let known = depth == 2 && matches!(name.as_str(), "up.sql" | "down.sql" | "metadata.toml");
        if known || is_documentation(&name) {
            continue;
        }
        let why = if depth == 1 {
            format!(
                "ignored, as diesel ignores it: diesel runs only the migration folders of {} (VERSION_name/ holding up.sql and down.sql), not files beside them",
                dir.display()
            )
        } else {
            "ignored, as diesel ignores it: diesel reads only up.sql, down.sql and metadata.toml of a migration folder".to_string()
        };
        warnings.push(Problem::new(&e.path, why));
    }
    out
}

/// Width of the history table's version for a diesel migration: the folder's version digits,
/// right-padded with zeros to this many digits. Comparing the padded numbers is comparing
/// diesel's version strings (string order, as diesel sorts them): `20260527120000` (14 digits,
/// older diesel_cli) sorts after `202605051800070000` (18 digits, current diesel_cli), as in
/// diesel. 18 digits fit an `int8`.
pub const DIESEL_VERSION_DIGITS: usize = 18;

/// The history version of a diesel version string (digits only, at most
/// [`DIESEL_VERSION_DIGITS`] of them).
pub(crate) fn diesel_history_version(digits: &str) -> Option<i64> {
    if digits.is_empty()
        || digits.len() > DIESEL_VERSION_DIGITS
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    format!("{digits:0<DIESEL_VERSION_DIGITS$}").parse().ok()
}

/// A diesel folder name, read as diesel reads it: the version is the name up to the first
/// `_` with every `-` removed (diesel compares versions as strings), the name is the rest.
/// `2024-01-31-120000_create users` → (202401311200000000, "20240131120000", "create users").
pub(crate) fn parse_diesel(folder: &str) -> std::result::Result<(i64, String, String), String> {
    let Some((version_part, name)) = folder.split_once('_') else {
        return Err("no `_` between version and name".into());
    };
    let digits = version_part.replace('-', "");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("version `{version_part}` is not digits and dashes"));
    }
    if digits.len() > DIESEL_VERSION_DIGITS {
        return Err(format!(
            "version `{digits}` has {} digits, at most {DIESEL_VERSION_DIGITS} are supported",
            digits.len()
        ));
    }
    if name.trim().is_empty() {
        return Err("empty name after the version".into());
    }
    let version = diesel_history_version(&digits).ok_or("unreadable version")?;
    Ok((version, digits, name.to_string()))
}

/// Files every tool ignores and nobody mistakes for a migration.
fn is_documentation(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".md")
        || lower.ends_with(".txt")
        || lower.starts_with("readme")
        || lower.starts_with("license")
}

fn diesel_metadata(path: &Path) -> std::result::Result<bool, String> {
    if !path.exists() {
        return Ok(false);
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let table: toml::Table = text.parse().map_err(|e| format!("invalid TOML: {e}"))?;
    match table.get("run_in_transaction") {
        // diesel's `TomlMetadata` has `#[serde(default)] run_in_transaction: bool`: a
        // metadata.toml without the key means false (only a missing file means true).
        None => Ok(true),
        Some(toml::Value::Boolean(b)) => Ok(!b),
        Some(other) => Err(format!(
            "run_in_transaction must be true or false, found {other}"
        )),
    }
}

/// `V12__name.sql` → (12, "name"), by refinery's own pattern `^[UV](\d+(\.\d+)?)__(\w+)\.sql$`.
fn parse_refinery(file: &str) -> Option<(i64, String)> {
    let stem = file.strip_suffix(".sql")?;
    let rest = stem.strip_prefix('V')?;
    let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let (num, rest) = rest.split_at(digits);
    let name = rest.strip_prefix("__")?;
    if !is_refinery_word(name) {
        return None;
    }
    Some((num.parse().ok()?, name.to_string()))
}

/// refinery's `\w+`: one or more letters, digits, marks or `_`.
fn is_refinery_word(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Whether refinery itself would take `file` for a migration (versioned or not).
fn refinery_would_read(file: &str) -> bool {
    let Some(stem) = file.strip_suffix(".sql") else {
        return false;
    };
    let Some(rest) = stem.strip_prefix(['U', 'V', '|']) else {
        return false;
    };
    let version_len = rest.find("__").unwrap_or(0);
    let version = &rest[..version_len];
    let numeric = !version.is_empty()
        && version.split('.').count() <= 2
        && version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    numeric && is_refinery_word(&rest[version_len + 2..])
}

fn refinery(
    entries: &[Entry],
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Vec<Migration> {
    let mut out = Vec::new();
    for e in entries.iter().filter(|e| !e.is_dir) {
        let name = file_name(&e.rel);
        if name.ends_with(".rs") && name.starts_with(['V', 'U']) {
            problems.push(Problem::new(
                &e.path,
                "Rust migrations are not supported: write it as V{n}__name.sql",
            ));
            continue;
        }
        if !name.ends_with(".sql") {
            if !is_documentation(&name) {
                warnings.push(Problem::new(
                    &e.path,
                    "ignored, as refinery ignores it: not a .sql migration (V{n}__name.sql)",
                ));
            }
            continue;
        }
        let Some((version, mname)) = parse_refinery(&name) else {
            if refinery_would_read(&name) {
                let message = if name.starts_with('U') {
                    "unversioned (U) refinery migrations are not supported: rename it V{n}__name.sql"
                } else {
                    "unsupported migration name: expected V{n}__name.sql with an integer version"
                };
                problems.push(Problem::new(&e.path, message));
            } else {
                warnings.push(Problem::new(
                    &e.path,
                    "ignored, as refinery ignores it: the name does not match refinery's V{n}__name.sql (name: letters, digits and _ only)",
                ));
            }
            continue;
        };
        let Some(up) = script(&e.path, problems) else {
            continue;
        };
        out.push(Migration {
            version,
            version_text: version.to_string(),
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
/// Also marks the up scripts that may share a message with other migrations
/// ([`Script::shareable_checksum`]).
fn transaction_control(layout: Layout, migrations: &mut [Migration], problems: &mut Vec<Problem>) {
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
    for m in migrations.iter_mut() {
        let mut up_shareable = false;
        let mut scripts = vec![(&m.up, "the migration".to_string(), true)];
        if let Some(down) = &m.down {
            scripts.push((down, "the down script".to_string(), false));
        }
        if let Some(fixture) = &m.fixture
            && !m.up.no_transaction
        {
            scripts.push((fixture, String::new(), false));
        }
        for (script, what, is_up) in scripts {
            if script.no_transaction {
                continue;
            }
            // Only an up's tokenizing matters when it names no transaction control (it decides
            // whether the up may share a message); a down or fixture without such a word has
            // nothing to find.
            let found = if is_up || crate::txcontrol::may_contain(&script.sql) {
                crate::txcontrol::find_tokenized(&crate::checksum::normalise(&script.sql))
            } else {
                Some(Vec::new())
            };
            if is_up {
                up_shareable = found.as_ref().is_some_and(|found| found.is_empty());
            }
            for tc in found.unwrap_or_default() {
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
        if up_shareable {
            m.up.shareable_checksum = Some(m.checksum());
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
            Ok((
                202401311200000000,
                "20240131120000".into(),
                "create_users".into()
            ))
        );
        assert_eq!(
            parse_diesel("2026-05-05-180007-0000_add x"),
            Ok((
                202605051800070000,
                "202605051800070000".into(),
                "add x".into()
            ))
        );
        assert_eq!(
            parse_diesel("00000000000000_diesel_initial_setup"),
            Ok((0, "00000000000000".into(), "diesel_initial_setup".into()))
        );
        // diesel's version stops at the first `_`.
        assert_eq!(
            parse_diesel("2024_01_31_120000_create users"),
            Ok((
                202400000000000000,
                "2024".into(),
                "01_31_120000_create users".into()
            ))
        );
        assert!(parse_diesel("create_users").is_err());
        assert!(parse_diesel("20240131120000").is_err());
        assert!(parse_diesel("2024013112000000001_x").is_err());
    }

    #[test]
    fn diesel_order_is_string_order() {
        let mut versions = vec![
            "20260527120000",
            "202605051800070000",
            "20251101000000",
            "202512010000000000",
            "00000000000000",
            "2026052712000001",
        ];
        let mut by_history = versions.clone();
        versions.sort();
        by_history.sort_by_key(|v| diesel_history_version(v).unwrap());
        assert_eq!(versions, by_history);
    }

    #[test]
    fn refinery_names() {
        assert_eq!(parse_refinery("V3__add_x.sql"), Some((3, "add_x".into())));
        assert_eq!(parse_refinery("V3_add_x.sql"), None);
        assert_eq!(parse_refinery("U3__add_x.sql"), None);
        assert_eq!(parse_refinery("V3__add-x.sql"), None);
        assert!(refinery_would_read("U3__add_x.sql"));
        assert!(refinery_would_read("V3.1__add_x.sql"));
        assert!(!refinery_would_read("V3__add-x.sql"));
        assert!(!refinery_would_read("seed.sql"));
    }
}
