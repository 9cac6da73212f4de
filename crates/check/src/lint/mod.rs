//! Risky-DDL lint of every up migration: rule name, file, line and a fix hint for each finding.
//!
//! Each statement (split by [`migrate::split`]) is parsed with sqlparser's PostgreSQL dialect;
//! its [`facts`] come from the AST where sqlparser accepts it, and from its tokens where it
//! does not. Statements sqlparser rejects are listed as notes (never skipped): the rules still
//! ran on their tokens. The rules are in [`rules::RULES`], one small module each.
//!
//! # Silencing
//!
//! A comment line directly above a statement (in the comment block that touches it) silences
//! one rule for that statement, and must say why:
//!
//! ```sql
//! -- check:allow index-without-concurrently user_skills holds at most a few hundred rows
//! CREATE INDEX user_skills_name_idx ON user_skills (name);
//! ```
//!
//! An allow without a reason, or naming an unknown rule, is an error (and silences nothing).
//! An allow that silences nothing is shown as a note: old migrations cannot be edited (their
//! checksums are recorded), so it must not fail the check when a rule changes.

pub mod ast;
pub mod facts;
pub mod queries;
pub mod rules;
pub mod tokens;

use std::path::Path;
use std::time::Instant;

use migrate::{Migration, MigrationSet};

use crate::report::{Finding, Location, Part, PartReport};
use facts::{Fact, Name};
use queries::{QueryRef, ReleaseQueries};

/// The silencing directive's prefix (after `--`).
pub const ALLOW: &str = "check:allow";

/// Where the earlier release's queries come from.
#[derive(Debug, Clone)]
pub enum Release {
    /// These queries.
    Queries(ReleaseQueries),
    /// None could be found (why); `drop-or-rename-in-use` cannot run.
    Unavailable(String),
}

/// Options of the lint.
#[derive(Debug, Clone)]
pub struct LintOptions {
    /// Lint only migrations with this version or above (adopting the lint on a project whose
    /// old migrations cannot be edited any more).
    pub since: Option<i64>,
    /// The earlier release's queries.
    pub release: Release,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions {
            since: None,
            release: Release::Unavailable("no earlier release given".into()),
        }
    }
}

/// One `-- check:allow RULE REASON` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    /// The rule named.
    pub rule: String,
    /// The reason (may be empty: an error).
    pub reason: String,
    /// 1-based line.
    pub line: usize,
}

/// One statement of an up migration, analysed.
#[derive(Debug, Clone)]
pub struct Stmt {
    /// 1-based line of its first character.
    pub line: usize,
    /// Its first words (`COMMENT ON FUNCTION`), for messages.
    pub head: String,
    /// What it does.
    pub facts: Vec<Fact>,
    /// Its string literals.
    pub literals: Vec<String>,
    /// Its tokens (comments and whitespace gone).
    pub tokens: Vec<tokens::Tok>,
    /// sqlparser's complaint, when it could not parse the statement.
    pub unparsed: Option<String>,
    /// The tokenizer's complaint, when even that failed (no rule could look at it).
    pub untokenized: Option<String>,
    /// The allow lines above it.
    pub allows: Vec<Allow>,
}

/// An up migration, analysed.
#[derive(Debug, Clone)]
pub struct Mig<'a> {
    /// The migration.
    pub migration: &'a Migration,
    /// Whether its up runs in a transaction (no `-- no-transaction`).
    pub transactional: bool,
    /// Its statements.
    pub stmts: Vec<Stmt>,
}

impl Mig<'_> {
    /// The up file.
    pub fn path(&self) -> &Path {
        &self.migration.up.path
    }
}

/// Analyse a script.
pub fn analyse(sql: &str) -> Vec<Stmt> {
    let sql = migrate::checksum::normalise(sql);
    let lines: Vec<&str> = sql.lines().collect();
    let mut out = Vec::new();
    for st in migrate::split::statements(&sql) {
        let start = st.text.as_ptr() as usize - sql.as_ptr() as usize;
        let line = sql[..start].matches('\n').count() + 1;
        let mut allows = Vec::new();
        // The comment block directly above (lines before `line`, 1-based).
        let mut l = line - 1;
        while l >= 1 {
            let text = lines.get(l - 1).map(|t| t.trim()).unwrap_or("");
            let Some(comment) = text.strip_prefix("--") else {
                break;
            };
            if let Some(rest) = comment.trim().strip_prefix(ALLOW) {
                let rest = rest.trim();
                let (rule, reason) = match rest.split_once(char::is_whitespace) {
                    Some((r, why)) => (r, why.trim()),
                    None => (rest, ""),
                };
                allows.push(Allow {
                    rule: rule.to_string(),
                    reason: reason.to_string(),
                    line: l,
                });
            }
            l -= 1;
        }
        allows.reverse();
        let (toks, untokenized) = match tokens::tokenize(st.text) {
            Ok(t) => (t, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let (facts, unparsed) = match ast::parse(st.text) {
            Ok(statement) => (ast::facts(&statement), None),
            Err(e) => (tokens::facts(&toks), Some(e)),
        };
        out.push(Stmt {
            line,
            head: st
                .text
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            facts,
            literals: tokens::literals(&toks),
            tokens: toks,
            unparsed,
            untokenized,
            allows,
        });
    }
    out
}

/// What a rule sees: every migration, and the statement being checked.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// Every up migration of the set, analysed, in version order.
    pub migs: &'a [Mig<'a>],
    /// Index of the migration being checked.
    pub mi: usize,
    /// Index of the statement being checked.
    pub si: usize,
    /// The earlier release's query statements, when known.
    pub queries: Option<&'a [QueryRef]>,
    /// Where they come from.
    pub release_label: &'a str,
}

impl<'a> Ctx<'a> {
    /// The migration being checked.
    pub fn mig(&self) -> &'a Mig<'a> {
        &self.migs[self.mi]
    }

    /// The statement being checked.
    pub fn stmt(&self) -> &'a Stmt {
        &self.migs[self.mi].stmts[self.si]
    }

    /// Whether `table` is created by an earlier statement of this migration (so it is new and
    /// empty when this statement runs); otherwise it exists from an earlier migration.
    pub fn created_here(&self, table: &Name) -> bool {
        self.mig().stmts[..self.si].iter().any(|s| {
            s.facts
                .iter()
                .any(|f| matches!(f, Fact::CreateTable { table: t } if t.same(table)))
        })
    }

    /// The table and the actions of this statement when it is an `ALTER TABLE` of a table that
    /// exists from an earlier migration (`None` for any other statement, or a table created
    /// earlier in this migration, new and empty): what the rules about rewrites and scans of
    /// existing tables look at.
    pub fn alter_existing_table(&self) -> Option<(Name, Vec<&'a [tokens::Tok]>)> {
        let (table, actions) = tokens::alter_table_actions(&self.stmt().tokens)?;
        (!self.created_here(&table)).then_some((table, actions))
    }

    /// Statements after this one that run in the same transaction in the default
    /// single-transaction mode: the rest of this migration, then the following migrations up
    /// to the first `-- no-transaction` one. Empty when this migration is not transactional.
    pub fn same_transaction_after(&self) -> Vec<(&'a Mig<'a>, &'a Stmt)> {
        let mut out = Vec::new();
        if !self.mig().transactional {
            return out;
        }
        for s in &self.mig().stmts[self.si + 1..] {
            out.push((self.mig(), s));
        }
        for m in &self.migs[self.mi + 1..] {
            if !m.transactional {
                break;
            }
            for s in &m.stmts {
                out.push((m, s));
            }
        }
        out
    }

    /// Whether a later statement of this migration creates a relation named `name` again.
    pub fn recreated_later(&self, name: &Name) -> bool {
        self.mig().stmts[self.si + 1..].iter().any(|s| {
            s.facts.iter().any(|f| match f {
                Fact::CreateTable { table } => table.same(name),
                Fact::CreateView { view } => view.same(name),
                _ => false,
            })
        })
    }

    /// Whether a later statement of this migration adds column `column` to `table` again.
    pub fn column_readded_later(&self, table: &Name, column: &str) -> bool {
        self.mig().stmts[self.si + 1..].iter().any(|s| {
            s.facts.iter().any(|f| {
                matches!(f, Fact::AddColumn { table: t, column: c, .. } if t.same(table) && c == column)
            })
        })
    }
}

/// `file:line`, for messages.
pub fn place(path: &Path, line: usize) -> String {
    format!("{}:{line}", path.display())
}

/// Lint every up migration of `set`.
pub fn run(set: &MigrationSet, options: &LintOptions) -> PartReport {
    let started = Instant::now();
    let migs: Vec<Mig<'_>> = set
        .migrations
        .iter()
        .map(|m| Mig {
            migration: m,
            transactional: !m.up.no_transaction,
            stmts: analyse(&m.up.sql),
        })
        .collect();
    let (query_refs, release_label) = match &options.release {
        Release::Queries(q) => (Some(queries::index(q)), q.label.clone()),
        Release::Unavailable(_) => (None, String::new()),
    };
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    if let Release::Unavailable(why) = &options.release {
        notes.push(
            Finding::new(format!(
                "rule {} not checked: {why}",
                rules::drop_in_use::RULE.name
            ))
            .rule(rules::drop_in_use::RULE.name),
        );
    }
    let mut statements = 0;
    let mut linted = 0;
    let mut silenced = 0;
    let mut unparsed = 0;
    let mut skipped = 0;
    for (mi, mig) in migs.iter().enumerate() {
        if options
            .since
            .is_some_and(|since| mig.migration.version < since)
        {
            skipped += 1;
            continue;
        }
        linted += 1;
        let path = mig.path().to_path_buf();
        let mut rejected = Vec::new();
        for (si, stmt) in mig.stmts.iter().enumerate() {
            statements += 1;
            let loc = Location::line(&path, stmt.line);
            if let Some(e) = &stmt.untokenized {
                notes.push(
                    Finding::new(format!(
                        "statement could not be tokenized ({e}); no rule could check it"
                    ))
                    .at(loc.clone())
                    .rule("unparsed"),
                );
            } else if stmt.unparsed.is_some() {
                unparsed += 1;
                rejected.push(format!("{} ({})", stmt.line, stmt.head));
            }
            // Validate the allows.
            let mut valid = Vec::new();
            for a in &stmt.allows {
                let aloc = Location::line(&path, a.line);
                if rules::find(&a.rule).is_none() {
                    failures.push(
                        Finding::new(format!("`{ALLOW} {}` names no lint rule", a.rule))
                            .at(aloc)
                            .rule("allow")
                            .hint(format!(
                                "the rules are: {}",
                                rules::RULES
                                    .iter()
                                    .map(|r| r.name)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )),
                    );
                } else if a.reason.is_empty() {
                    failures.push(
                        Finding::new(format!(
                            "`{ALLOW} {}` gives no reason; it silences nothing",
                            a.rule
                        ))
                        .at(aloc)
                        .rule("allow")
                        .hint(format!(
                            "write `-- {ALLOW} {} <why it is safe here>`",
                            a.rule
                        )),
                    );
                } else {
                    valid.push(a);
                }
            }
            let ctx = Ctx {
                migs: &migs,
                mi,
                si,
                queries: query_refs.as_deref(),
                release_label: &release_label,
            };
            let mut used = vec![false; valid.len()];
            for rule in rules::RULES {
                for message in (rule.check)(&ctx) {
                    if let Some(k) = valid.iter().position(|a| a.rule == rule.name) {
                        used[k] = true;
                        silenced += 1;
                        continue;
                    }
                    failures.push(
                        Finding::new(message)
                            .at(loc.clone())
                            .rule(rule.name)
                            .hint(format!(
                                "{}\n(or silence it with a reason on the line above: -- {ALLOW} {} <why>)",
                                rule.hint, rule.name
                            )),
                    );
                }
            }
            for (a, used) in valid.iter().zip(used) {
                if !used {
                    notes.push(
                        Finding::new(format!(
                            "`{ALLOW} {}` silences nothing on this statement",
                            a.rule
                        ))
                        .at(Location::line(&path, a.line))
                        .rule("allow"),
                    );
                }
            }
        }
        if !rejected.is_empty() {
            notes.push(
                Finding::new(format!(
                    "{} statement(s) not parsed by sqlparser, checked by their tokens: line {}",
                    rejected.len(),
                    rejected.join(", ")
                ))
                .at(Location::file(&path))
                .rule("unparsed"),
            );
        }
    }
    let mut summary = format!(
        "{statements} statement(s) in {linted} up migration(s), {} rule(s)",
        rules::RULES.len()
    );
    if silenced > 0 {
        summary.push_str(&format!(", {silenced} finding(s) silenced with a reason"));
    }
    if unparsed > 0 {
        summary.push_str(&format!(
            ", {unparsed} statement(s) not parsed by sqlparser (checked by tokens)"
        ));
    }
    if skipped > 0 {
        summary.push_str(&format!(
            ", {skipped} migration(s) before --since not linted"
        ));
    }
    PartReport::from_findings(Part::Lint, summary, failures, notes, started.elapsed())
}
