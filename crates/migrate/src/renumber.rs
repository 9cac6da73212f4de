//! `migrate renumber`: after merging the main branch, move this branch's new migrations (and
//! their fixtures) past the highest version on the main branch, in one step.
//!
//! "The main branch" is a git revision (`--onto REF`; by default `origin/main` when it exists,
//! else `main`). Its migrations are the paired-layout files in the same folder at that revision
//! (`git ls-tree REF:<folder>`). This branch's migrations are the `(version, name)` pairs of the
//! working folder that the revision does not have; they keep their order and get the versions
//! right after the revision's highest, with the same number of digits. Migrations of the main
//! branch never move.
//!
//! Nothing is renamed when any migration to move is recorded as applied (same version and
//! name) in the given database's history table: revert it there first
//! (`cargo xtask migrate down --to N`), or its history row would point at a file that no
//! longer exists. Renames go through temporary names, so moving `4 → 5` and `5 → 6` in one run
//! cannot collide; a destination that already exists stops everything before the first rename.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::discover::FIXTURES_DIR;
use crate::error::{Error, Problem, Result};
use crate::history;
use crate::set::refinery_name;

/// One migration that moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// Its version now.
    pub from: i64,
    /// Its version after the move.
    pub to: i64,
    /// Its name.
    pub name: String,
    /// Every file that is renamed (up, down, fixture), old path → new path.
    pub renames: Vec<(PathBuf, PathBuf)>,
}

/// What `renumber` does.
#[derive(Debug, Clone)]
pub struct RenumberPlan {
    /// The migrations folder.
    pub dir: PathBuf,
    /// The main branch's revision, as given.
    pub onto: String,
    /// The highest version there (0 when it has none).
    pub main_highest: i64,
    /// This branch's migrations (version, name), in order, whether they move or not.
    pub branch: Vec<(i64, String)>,
    /// The moves, in order; empty when this branch's migrations already follow the main
    /// branch's.
    pub moves: Vec<Move>,
}

/// A migration file name: `NNNNNN_name.up.sql`, `.down.sql`, or a fixture `NNNNNN_name.sql`.
fn parse(file: &str, fixture: bool) -> Option<(i64, String, usize, &'static str)> {
    let (stem, suffix) = if fixture {
        (file.strip_suffix(".sql")?, ".sql")
    } else if let Some(s) = file.strip_suffix(".up.sql") {
        (s, ".up.sql")
    } else {
        (file.strip_suffix(".down.sql")?, ".down.sql")
    };
    let digits = stem.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let name = stem[digits..].strip_prefix('_')?;
    if name.trim().is_empty() {
        return None;
    }
    Some((
        stem[..digits].parse().ok()?,
        name.to_string(),
        digits,
        suffix,
    ))
}

fn invalid(dir: &Path, message: String) -> Error {
    Error::Invalid {
        dir: dir.to_path_buf(),
        problems: vec![Problem {
            path: dir.to_path_buf(),
            line: None,
            message,
        }],
    }
}

fn git(cwd: &Path, args: &[&str]) -> std::result::Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(cwd)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| format!("`git {}` wrote non-UTF-8", args.join(" ")))
}

/// The default main-branch revision of the repository holding `dir`: `origin/main` when it
/// exists, else `main`.
pub fn default_onto(dir: &Path) -> Result<String> {
    for candidate in ["origin/main", "main"] {
        let spec = format!("{candidate}^{{commit}}");
        if git(dir, &["rev-parse", "--verify", "--quiet", &spec]).is_ok() {
            return Ok(candidate.to_string());
        }
    }
    Err(invalid(
        dir,
        "no main branch found (neither origin/main nor main): pass --onto REF".into(),
    ))
}

/// The migrations (version, name) of the folder `dir` at git revision `onto`.
pub fn main_migrations(dir: &Path, onto: &str) -> Result<Vec<(i64, String)>> {
    let root = git(dir, &["rev-parse", "--show-toplevel"]).map_err(|e| invalid(dir, e))?;
    let root = PathBuf::from(root.trim());
    let abs = dir.canonicalize().map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let root = root.canonicalize().unwrap_or(root);
    let rel = abs.strip_prefix(&root).map_err(|_| {
        invalid(
            dir,
            format!("the folder is not inside the repository {}", root.display()),
        )
    })?;
    let rel = rel.to_string_lossy().replace('\\', "/");
    let spec = if rel.is_empty() {
        format!("{onto}:")
    } else {
        format!("{onto}:{rel}")
    };
    let listing = match git(&root, &["ls-tree", "--name-only", &spec]) {
        Ok(l) => l,
        // The folder does not exist on the main branch yet: it has no migrations.
        Err(e) if e.contains("Not a valid object name") || e.contains("not a tree object") => {
            if git(
                &root,
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("{onto}^{{commit}}"),
                ],
            )
            .is_err()
            {
                return Err(invalid(dir, format!("unknown revision `{onto}`: {e}")));
            }
            String::new()
        }
        Err(e) => return Err(invalid(dir, e)),
    };
    let mut out: BTreeSet<(i64, String)> = BTreeSet::new();
    for file in listing.lines() {
        if let Some((v, name, _, _)) = parse(file, false) {
            out.insert((v, name));
        }
    }
    Ok(out.into_iter().collect())
}

/// Plan the renumbering of the folder `dir` past `main` (the main branch's migrations).
pub fn plan(dir: &Path, onto: &str, main: &[(i64, String)]) -> Result<RenumberPlan> {
    #[derive(Default)]
    struct Local {
        digits: usize,
        files: Vec<(PathBuf, &'static str, bool)>,
    }
    let mut local: BTreeMap<(i64, String), Local> = BTreeMap::new();
    let read = |d: &Path| -> Result<Vec<String>> {
        let mut names = Vec::new();
        let entries = match std::fs::read_dir(d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && d != dir => return Ok(names),
            Err(source) => {
                return Err(Error::Io {
                    path: d.to_path_buf(),
                    source,
                });
            }
        };
        for e in entries {
            let e = e.map_err(|source| Error::Io {
                path: d.to_path_buf(),
                source,
            })?;
            if e.file_type().map(|t| t.is_file()).unwrap_or(false) {
                names.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        Ok(names)
    };
    for file in read(dir)? {
        if let Some((v, name, digits, suffix)) = parse(&file, false) {
            let l = local.entry((v, name)).or_default();
            l.digits = digits;
            l.files.push((dir.join(&file), suffix, false));
        }
    }
    let fixtures = dir.join(FIXTURES_DIR);
    for file in read(&fixtures)? {
        if let Some((v, name, digits, suffix)) = parse(&file, true) {
            let l = local.entry((v, name)).or_default();
            if l.digits == 0 {
                l.digits = digits;
            }
            l.files.push((fixtures.join(&file), suffix, true));
        }
    }
    let main_set: BTreeSet<&(i64, String)> = main.iter().collect();
    let main_highest = main.iter().map(|(v, _)| *v).max().unwrap_or(0);
    let branch: Vec<(&(i64, String), &Local)> = local
        .iter()
        .filter(|(key, _)| !main_set.contains(key))
        .collect();
    let mut moves = Vec::new();
    for (i, ((version, name), l)) in branch.iter().enumerate() {
        let to = main_highest + 1 + i as i64;
        if *version == to {
            continue;
        }
        let renames = l
            .files
            .iter()
            .map(|(path, suffix, fixture)| {
                let file = format!("{to:0width$}_{name}{suffix}", width = l.digits.max(1));
                let base = if *fixture { &fixtures } else { dir };
                (path.clone(), base.join(file))
            })
            .collect();
        moves.push(Move {
            from: *version,
            to,
            name: name.clone(),
            renames,
        });
    }
    Ok(RenumberPlan {
        dir: dir.to_path_buf(),
        onto: onto.to_string(),
        main_highest,
        branch: branch.iter().map(|(k, _)| (*k).clone()).collect(),
        moves,
    })
}

impl RenumberPlan {
    /// The migrations to move that `client`'s database has applied (same version and name).
    pub fn applied(&self, client: &mut postgres::Client) -> Result<Vec<&Move>> {
        if !history::exists(client)? {
            return Ok(Vec::new());
        }
        let rows = history::read(client)?;
        Ok(self
            .moves
            .iter()
            .filter(|m| {
                rows.iter()
                    .any(|r| r.version == m.from && r.name == refinery_name(&m.name))
            })
            .collect())
    }

    /// Rename the files (through temporary names). Checks first that no destination exists
    /// (other than a file that moves away in this plan).
    pub fn execute(&self) -> Result<()> {
        let sources: BTreeSet<&PathBuf> = self
            .moves
            .iter()
            .flat_map(|m| m.renames.iter().map(|(a, _)| a))
            .collect();
        let mut problems = Vec::new();
        for (_, to) in self.moves.iter().flat_map(|m| &m.renames) {
            if to.exists() && !sources.contains(to) {
                problems.push(Problem {
                    path: to.clone(),
                    line: None,
                    message: "already exists; nothing was renamed".into(),
                });
            }
        }
        if !problems.is_empty() {
            return Err(Error::Invalid {
                dir: self.dir.clone(),
                problems,
            });
        }
        let tmp = |p: &Path| {
            let mut s = p.as_os_str().to_owned();
            s.push(".renumber-tmp");
            PathBuf::from(s)
        };
        let rename = |a: &Path, b: &Path| {
            std::fs::rename(a, b).map_err(|source| Error::Io {
                path: a.to_path_buf(),
                source,
            })
        };
        for (from, _) in self.moves.iter().flat_map(|m| &m.renames) {
            rename(from, &tmp(from))?;
        }
        for (from, to) in self.moves.iter().flat_map(|m| &m.renames) {
            rename(&tmp(from), to)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert_eq!(
            super::parse("000012_user skills.up.sql", false),
            Some((12, "user skills".into(), 6, ".up.sql"))
        );
        assert_eq!(
            super::parse("000012_x.sql", true),
            Some((12, "x".into(), 6, ".sql"))
        );
        assert_eq!(super::parse("x.up.sql", false), None);
        assert_eq!(super::parse("000012_x.sql", false), None);
    }
}
