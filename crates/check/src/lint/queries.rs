//! The queries of an earlier release, for `drop-or-rename-in-use`.
//!
//! During a rolling deploy the previous release's code still runs while a new migration is
//! applied: dropping or renaming a table or column that its queries use breaks it. The
//! queries are the application's SQL files (`crates/db/queries/*.sql` here), read either from
//! a folder or from a git revision (`git show REF:path`), normally the newest release tag.
//!
//! A reference is found by tokens: a query uses table `t` when its tokens name `t`, and
//! column `t.c` when they name both `t` and `c` (or `t` and `*`). That over-approximates
//! (a column of the same name in another table counts); silence a false alarm with a reason.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use super::tokens::{self, Tok};

/// The query files of an earlier release.
#[derive(Debug, Clone, Default)]
pub struct ReleaseQueries {
    /// Where they come from, for messages (`v1.4.0:crates/db/queries`).
    pub label: String,
    /// (display path, SQL) of each file.
    pub files: Vec<(String, String)>,
}

impl ReleaseQueries {
    /// Every `*.sql` file directly in `dir` (sorted).
    pub fn from_dir(dir: &Path) -> std::io::Result<Self> {
        let mut files = Vec::new();
        let mut entries: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        entries.sort();
        for p in entries {
            files.push((p.display().to_string(), std::fs::read_to_string(&p)?));
        }
        Ok(ReleaseQueries {
            label: dir.display().to_string(),
            files,
        })
    }

    /// Every `*.sql` file directly in `path` (relative to the repository root) at git
    /// revision `reference` of the repository at `repo`.
    pub fn from_git(repo: &Path, reference: &str, path: &str) -> Result<Self, String> {
        let path = path.trim_end_matches('/');
        let listing = git(
            repo,
            &["ls-tree", "--name-only", &format!("{reference}:{path}")],
        )?;
        let mut files = Vec::new();
        let mut names: Vec<&str> = listing.lines().filter(|n| n.ends_with(".sql")).collect();
        names.sort();
        for name in names {
            let spec = format!("{reference}:{path}/{name}");
            files.push((spec.clone(), git(repo, &["show", &spec])?));
        }
        Ok(ReleaseQueries {
            label: format!("{reference}:{path}"),
            files,
        })
    }

    /// The newest tag reachable from HEAD in the repository at `repo`, if any.
    pub fn newest_tag(repo: &Path) -> Option<String> {
        git(repo, &["describe", "--tags", "--abbrev=0"])
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }
}

fn git(repo: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| format!("git {} wrote non-UTF-8", args.join(" ")))
}

/// One query statement's identifiers.
#[derive(Debug, Clone)]
pub struct QueryRef {
    /// `file:line`, plus the sqlc name when annotated (`-- name: GetUser :one`).
    pub place: String,
    /// Identifiers it names (normalised).
    pub idents: BTreeSet<String>,
    /// Whether it has a `*` (a whole-row select).
    pub star: bool,
}

/// Index the statements of `queries`.
pub fn index(queries: &ReleaseQueries) -> Vec<QueryRef> {
    let mut out = Vec::new();
    for (file, sql) in &queries.files {
        let sql = migrate::checksum::normalise(sql);
        for st in migrate::split::statements(&sql) {
            let start = st.text.as_ptr() as usize - sql.as_ptr() as usize;
            let line = sql[..start].matches('\n').count() + 1;
            // The sqlc annotation sits in the comments just above.
            let name = sql[..start]
                .lines()
                .rev()
                .take_while(|l| l.trim().starts_with("--") || l.trim().is_empty())
                .find_map(|l| {
                    l.trim()
                        .strip_prefix("--")
                        .and_then(|c| c.trim().strip_prefix("name:"))
                        .and_then(|n| n.split_whitespace().next())
                        .map(str::to_string)
                });
            let toks = tokens::tokenize(st.text).unwrap_or_default();
            let mut idents = BTreeSet::new();
            let mut star = false;
            for (i, t) in toks.iter().enumerate() {
                match t {
                    Tok::Word { text, .. } => {
                        idents.insert(text.clone());
                    }
                    // `SELECT *`, `, *`, `t.*`; not a multiplication.
                    Tok::Punct('*') => {
                        star |= i == 0
                            || matches!(toks[i - 1], Tok::Punct(',') | Tok::Punct('.'))
                            || toks[i - 1].is("select")
                            || toks[i - 1].is("returning")
                    }
                    _ => {}
                }
            }
            out.push(QueryRef {
                place: match name {
                    Some(n) => format!("{file}:{line} ({n})"),
                    None => format!("{file}:{line}"),
                },
                idents,
                star,
            });
        }
    }
    out
}
