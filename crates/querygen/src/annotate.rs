//! `annotate`: annotated SQL files → query definitions ([`QueryDef`]).
//!
//! A query starts at a line `-- name: GetGroupAiBudget :one` (or `/* name: ... :one */`, as
//! sqlc accepts both) and runs to the next annotation (or the end of the file). Its SQL is one
//! statement; a trailing `;` is dropped. Parameters are `@name`, `sqlc.arg(name)` or
//! `sqlc.narg(name)` (nullable), rewritten to `$1`, `$2`, ... in order of first appearance,
//! or plain positional `$1` (named `p1`, ...); one query uses one style.
//! `expr [NOT] IN (sqlc.slice(name))` becomes `expr = ANY($n)` (`expr <> ALL($n)`) with one
//! array parameter, and `sqlc.embed(t)` becomes `t.*` (recorded in [`QueryDef::embeds`]:
//! `infer` finds its columns, `emit` makes them one field of the table's model struct).
//! A `:copyfrom` query must be `INSERT INTO t (a, b) VALUES (@a, @b)`, which becomes
//! [`QueryDef::copy`]. `--` comment lines directly above the `-- name:` line, or between it and the
//! SQL, become the query's doc comment.
//!
//! Strings, quoted identifiers, dollar-quoted bodies and comments are lexed, so `'@x'`,
//! `"a;b"`, `$$ ... ; ... $$` and `-- @x` are never taken for parameters or statement ends.
//! `@` is a parameter only when it is followed by a letter or `_` and does not follow an
//! operator character (`a <@ b`, `x @> y` and `@@` stay operators).
//!
//! Every problem is reported with `file:line`: SQL outside any query (an unannotated
//! statement), a second statement in one query, unknown or missing commands, duplicate
//! names, names that do not make Rust identifiers, unterminated strings or comments.

use codegen::naming::{snake, upper_camel};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// What a query returns, sqlc's commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Command {
    /// `:one`: exactly one row; no row is a typed not-found error.
    One,
    /// `:opt`: zero or one row.
    Opt,
    /// `:many`: every row.
    Many,
    /// `:exec`: nothing.
    Exec,
    /// `:execrows`: the number of rows affected.
    ExecRows,
    /// `:execresult`: sqlc's "result" form; for PostgreSQL, as for `:execrows`, the number
    /// of rows affected (sqlc's Go `sql.Result` / pgconn `CommandTag` carry no more).
    ExecResult,
    /// `:batchexec`: run once per item of a slice of parameters, nothing returned.
    BatchExec,
    /// `:batchone`: run once per item, exactly one row per item.
    BatchOne,
    /// `:batchmany`: run once per item, every row of each item.
    BatchMany,
    /// `:copyfrom`: an `INSERT INTO t (cols) VALUES ($1, ...)` sent as one
    /// `COPY t (cols) FROM STDIN (FORMAT binary)` for a slice of parameters.
    CopyFrom,
}

impl Command {
    /// Every command, in documentation order.
    pub const ALL: [Command; 10] = [
        Command::One,
        Command::Opt,
        Command::Many,
        Command::Exec,
        Command::ExecRows,
        Command::ExecResult,
        Command::BatchExec,
        Command::BatchOne,
        Command::BatchMany,
        Command::CopyFrom,
    ];

    /// `:one`, `:opt`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Command::One => ":one",
            Command::Opt => ":opt",
            Command::Many => ":many",
            Command::Exec => ":exec",
            Command::ExecRows => ":execrows",
            Command::ExecResult => ":execresult",
            Command::BatchExec => ":batchexec",
            Command::BatchOne => ":batchone",
            Command::BatchMany => ":batchmany",
            Command::CopyFrom => ":copyfrom",
        }
    }

    /// Parse `:one` and friends.
    pub fn parse(text: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// Why a command sqlc knows is not supported here, with the PostgreSQL way, if `text` is
    /// one (`:execlastid`).
    pub fn unsupported(text: &str) -> Option<&'static str> {
        Some(match text {
            ":execlastid" => {
                "is MySQL-only in sqlc (LAST_INSERT_ID); PostgreSQL has no last insert id: write `INSERT ... RETURNING id` with :one"
            }
            _ => return None,
        })
    }

    /// Whether the query's rows are decoded (`:one`, `:opt`, `:many`, `:batchone`,
    /// `:batchmany`).
    pub fn returns_rows(self) -> bool {
        matches!(
            self,
            Command::One | Command::Opt | Command::Many | Command::BatchOne | Command::BatchMany
        )
    }

    /// Whether the method takes a slice of parameters (`:batch*`, `:copyfrom`).
    pub fn takes_slice(self) -> bool {
        matches!(
            self,
            Command::BatchExec | Command::BatchOne | Command::BatchMany | Command::CopyFrom
        )
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parameter, in `$n` order (the first is `$1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The name as written (`@group_id` → `group_id`; `$2` → `p2`).
    pub name: String,
    /// `sqlc.narg(name)`: the Rust argument is an `Option`.
    pub nullable: bool,
    /// `sqlc.slice(name)`: an array of the compared expression's type (`= ANY($n)`).
    pub slice: bool,
}

/// One annotated query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryDef {
    /// The name as written in the annotation (`GetGroupAiBudget`).
    pub name: String,
    pub command: Command,
    /// The statement with parameters rewritten to `$n`, without the trailing `;`.
    pub sql: String,
    /// The statement as written (`@name` and all), for docs.
    pub written_sql: String,
    pub params: Vec<Param>,
    /// Doc comment lines (without `--`).
    pub doc: Vec<String>,
    /// The file as shown in messages and generated docs (relative, `/`-separated).
    pub file: String,
    /// 1-based line of the `-- name:` annotation.
    pub line: usize,
    /// 1-based line where the SQL starts; rewriting keeps line breaks, so line `k` of
    /// [`QueryDef::sql`] is line `sql_line + k` of the file.
    pub sql_line: usize,
    /// The `sqlc.embed(...)` calls, in order.
    pub embeds: Vec<Embed>,
    /// For `:copyfrom`: the `COPY` statement the `INSERT` becomes.
    pub copy: Option<CopyInto>,
}

/// One `sqlc.embed(name)`: written as `name.*` in [`QueryDef::sql`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embed {
    /// The table (or its alias) as written, unquoted.
    pub name: String,
    /// 1-based file line.
    pub line: usize,
    /// Byte range of `name.*` in [`QueryDef::sql`].
    pub start: usize,
    pub end: usize,
}

/// The `COPY ... FROM STDIN (FORMAT binary)` of a `:copyfrom` query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyInto {
    /// `COPY t (a, b) FROM STDIN (FORMAT binary)`, names as written in the `INSERT`.
    pub sql: String,
    /// For each copied column, in order, the 0-based index of its parameter.
    pub order: Vec<usize>,
}

impl QueryDef {
    /// `file:line` of the annotation.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// The file line of a 1-based character position in [`QueryDef::sql`] (as PostgreSQL
    /// reports error positions).
    pub fn line_of_position(&self, position: usize) -> usize {
        let before = self
            .sql
            .chars()
            .take(position.saturating_sub(1))
            .filter(|&c| c == '\n')
            .count();
        self.sql_line + before
    }
}

/// A problem in an annotated SQL file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// An annotated SQL file: the name shown in messages and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub display: String,
    pub text: String,
}

/// Methods the generated `Session` and `Metered` types define themselves; a query whose
/// method name is one of these would be shadowed.
pub const RESERVED_METHODS: &[&str] = &[
    "new",
    "with_cache",
    "with_metrics",
    "client",
    "into_client",
    "statement_cache",
    "transaction",
    "commit",
    "rollback",
    "inner",
    "inner_mut",
    "into_inner",
    "metrics",
    "reset_metrics",
    "run_one",
    "run_opt",
    "run_many",
    "run_execute",
    "record_call",
];

/// The `*.sql` files directly in `dir`, sorted by name; `display` is the path relative to
/// `root` (when `dir` is under it), with `/` separators.
pub fn read_dir(dir: &Path, root: Option<&Path>) -> std::io::Result<Vec<SourceFile>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) == Some("sql") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path)?;
        files.push(SourceFile {
            display: display_path(&path, root),
            text,
        });
    }
    Ok(files)
}

/// `path` relative to `root` when under it, else as given; `/`-separated.
pub fn display_path(path: &Path, root: Option<&Path>) -> String {
    let shown = root
        .and_then(|r| {
            let r = r.canonicalize().ok()?;
            let p = path.canonicalize().ok()?;
            p.strip_prefix(&r).ok().map(Path::to_path_buf)
        })
        .unwrap_or_else(|| path.to_path_buf());
    shown
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Parse several files; names must be unique across all of them. Every problem is reported.
pub fn parse_files(files: &[SourceFile]) -> Result<Vec<QueryDef>, Vec<Diagnostic>> {
    let mut queries = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        match parse_file(&file.display, &file.text) {
            Ok(q) => queries.extend(q),
            Err(d) => problems.extend(d),
        }
    }
    // Duplicates: the same name, or two names that make the same Rust name.
    let mut seen: BTreeMap<String, &QueryDef> = BTreeMap::new();
    for q in &queries {
        let Ok(rust) = upper_camel("query name", &q.name) else {
            continue; // reported by parse_file
        };
        if let Some(first) = seen.get(&rust) {
            let message = if first.name == q.name {
                format!(
                    "duplicate query name `{}` (first defined at {})",
                    q.name,
                    first.location()
                )
            } else {
                format!(
                    "query names `{}` ({}) and `{}` both make the Rust name `{rust}`; rename one",
                    first.name,
                    first.location(),
                    q.name
                )
            };
            problems.push(Diagnostic {
                file: q.file.clone(),
                line: q.line,
                message,
            });
        } else {
            seen.insert(rust, q);
        }
    }
    if problems.is_empty() {
        Ok(queries)
    } else {
        Err(problems)
    }
}

/// Parse one file's text. `file` is only used in messages.
pub fn parse_file(file: &str, text: &str) -> Result<Vec<QueryDef>, Vec<Diagnostic>> {
    let text = text.replace("\r\n", "\n");
    let diag = |line: usize, message: String| Diagnostic {
        file: file.to_owned(),
        line,
        message,
    };
    let tokens = lex(&text).map_err(|(line, message)| vec![diag(line, message)])?;
    let annotations: Vec<usize> = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| is_annotation(&text, t))
        .map(|(i, _)| i)
        .collect();

    let mut problems = Vec::new();
    let first = annotations.first().copied().unwrap_or(tokens.len());
    if let Some(t) = tokens[..first].iter().find(|t| t.kind.is_significant()) {
        problems.push(diag(
            t.line,
            "SQL outside any query: every statement needs a `-- name: Name :command` line above it"
                .to_owned(),
        ));
    }

    let mut queries = Vec::new();
    for (k, &a) in annotations.iter().enumerate() {
        let end = annotations.get(k + 1).copied().unwrap_or(tokens.len());
        match parse_query(&text, &tokens, a, end) {
            Ok(mut q) => {
                q.file = file.to_owned();
                queries.push(q);
            }
            Err(errs) => problems.extend(errs.into_iter().map(|(line, m)| diag(line, m))),
        }
    }
    if problems.is_empty() {
        Ok(queries)
    } else {
        Err(problems)
    }
}

/// The query of the annotation at token `a`, whose body runs to token `end`.
fn parse_query(
    text: &str,
    tokens: &[Token],
    a: usize,
    end: usize,
) -> Result<QueryDef, Vec<(usize, String)>> {
    let annotation = &tokens[a];
    let line = annotation.line;
    let (name, command) = parse_annotation(annotation.text(text)).map_err(|m| vec![(line, m)])?;
    let mut problems = Vec::new();
    if let Err(e) = upper_camel("query name", &name)
        .and_then(|_| snake("query name", &name))
        .map_err(|e| e.to_string())
        .and_then(|method| {
            if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && name.starts_with(|c: char| c.is_ascii_alphabetic())
            {
                Ok(method)
            } else {
                Err(format!(
                    "query name `{name}` must be an identifier (letters, digits, `_`)"
                ))
            }
        })
        .and_then(|method| {
            if RESERVED_METHODS.contains(&method.as_str()) {
                Err(format!(
                    "query name `{name}` makes the method `{method}`, which the generated Session and Metered types define themselves; rename the query"
                ))
            } else {
                Ok(())
            }
        })
    {
        problems.push((line, e));
    }

    // Doc: comment lines directly above the annotation, then those between it and the SQL.
    let mut doc = doc_above(text, tokens, a);
    let body = &tokens[a + 1..end];
    let first_sig = body.iter().position(|t| t.kind.is_significant());
    let leading = &body[..first_sig.unwrap_or(body.len())];
    doc.extend(
        leading
            .iter()
            .filter(|t| t.kind == Kind::LineComment)
            .map(|t| comment_text(t.text(text))),
    );

    let Some(first_sig) = first_sig else {
        problems.push((line, format!("query `{name}` has no SQL statement")));
        return Err(problems);
    };
    let body = &body[first_sig..];
    // The statement runs to the first `;`; anything significant after it is another
    // statement, which has no annotation.
    let semi = body.iter().position(|t| t.kind == Kind::Semicolon);
    let stmt_end = semi.unwrap_or(body.len());
    if let Some(semi) = semi
        && let Some(extra) = body[semi..]
            .iter()
            .find(|t| t.kind.is_significant() && t.kind != Kind::Semicolon)
    {
        problems.push((
            extra.line,
            format!(
                "unannotated statement after query `{name}`: each statement needs its own `-- name: Name :command` line"
            ),
        ));
    }
    let last_sig = body[..stmt_end]
        .iter()
        .rposition(|t| t.kind.is_significant())
        .unwrap_or(0);
    let stmt = &body[..=last_sig];

    // `expr [NOT] IN (sqlc.slice(name))` → `expr = ANY($n)` / `expr <> ALL($n)`: token
    // ranges replaced as a whole, by where they start.
    let mut slices: BTreeMap<usize, (usize, &str)> = BTreeMap::new();
    for (i, t) in stmt.iter().enumerate() {
        if let Kind::Slice(param) = &t.kind {
            match slice_context(text, stmt, i) {
                Some((from, to, negated)) => {
                    slices.insert(from, (to, if negated { "<> ALL" } else { "= ANY" }));
                }
                None => problems.push((
                    t.line,
                    format!(
                        "query `{name}`: sqlc.slice({param}) works only as `expr IN (sqlc.slice({param}))` or `expr NOT IN (...)`; elsewhere pass an array: `expr = ANY(@{param})`"
                    ),
                )),
            }
        }
    }

    // Parameters.
    let mut named: Vec<Param> = Vec::new();
    let mut positional_max = 0u32;
    let mut positional_line = None;
    let mut sql = String::new();
    let mut written_sql = String::new();
    let mut embeds = Vec::new();
    let mut k = 0;
    while k < stmt.len() {
        let t = &stmt[k];
        if let Some(&(to, operator)) = slices.get(&k) {
            // The whole `[NOT] IN ( sqlc.slice(x) )`, keeping its line breaks.
            let mut breaks = String::new();
            let mut index = 0;
            for u in &stmt[k..=to] {
                written_sql.push_str(u.text(text));
                breaks.push_str(&"\n".repeat(u.text(text).matches('\n').count()));
                if let Kind::Slice(param) = &u.kind {
                    index =
                        named_index(&mut named, &mut problems, &name, u.line, param, false, true);
                }
            }
            sql.push_str(&format!("{operator}(${index}){breaks}"));
            k = to + 1;
            continue;
        }
        k += 1;
        written_sql.push_str(t.text(text));
        match &t.kind {
            Kind::Named {
                name: param,
                nullable,
            } => {
                let index = named_index(
                    &mut named,
                    &mut problems,
                    &name,
                    t.line,
                    param,
                    *nullable,
                    false,
                );
                sql.push_str(&format!("${index}"));
            }
            Kind::Embed(table) => {
                let start = sql.len();
                if table
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    && table.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                {
                    sql.push_str(&format!("{table}.*"));
                } else {
                    sql.push_str(&format!("\"{}\".*", table.replace('"', "\"\"")));
                }
                embeds.push(Embed {
                    name: table.clone(),
                    line: t.line,
                    start,
                    end: sql.len(),
                });
            }
            Kind::Positional(n) => {
                if *n == 0 {
                    problems.push((t.line, format!("query `{name}`: there is no parameter $0")));
                }
                positional_max = positional_max.max(*n);
                positional_line.get_or_insert(t.line);
                sql.push_str(t.text(text));
            }
            _ => sql.push_str(t.text(text)),
        }
    }
    if !named.is_empty()
        && let Some(l) = positional_line
    {
        problems.push((
            l,
            format!(
                "query `{name}` mixes positional `$n` with named parameters; use one style per query"
            ),
        ));
    }
    let params = if named.is_empty() {
        (1..=positional_max)
            .map(|n| Param {
                name: format!("p{n}"),
                nullable: false,
                slice: false,
            })
            .collect()
    } else {
        named
    };
    let copy = if command == Command::CopyFrom {
        match copy_statement(text, stmt, &params) {
            Ok(copy) => Some(copy),
            Err((at, why)) => {
                problems.push((
                    at,
                    format!(
                        "query `{name}`: :copyfrom needs `INSERT INTO table (col1, col2, ...) VALUES (@col1, @col2, ...)` with one parameter per column and nothing else (no RETURNING, ON CONFLICT, expressions or second row): {why}; for anything else use :exec or :batchexec"
                    ),
                ));
                None
            }
        }
    } else {
        None
    };
    if command == Command::CopyFrom || command.takes_slice() {
        if params.is_empty() {
            problems.push((
                line,
                format!(
                    "query `{name}`: {command} runs once per item of a slice of parameters, but the statement has none; use {}",
                    if command.returns_rows() { ":one or :many" } else { ":exec" }
                ),
            ));
        }
        if let Some(e) = embeds.first().filter(|_| command == Command::CopyFrom) {
            problems.push((
                e.line,
                format!("query `{name}`: sqlc.embed has no place in a :copyfrom INSERT"),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(QueryDef {
        name,
        command,
        sql,
        written_sql,
        params,
        doc,
        file: String::new(),
        line,
        sql_line: body[0].line,
        embeds,
        copy,
    })
}

/// The `COPY` of a `:copyfrom` statement: `INSERT INTO name [(.name)] (cols) VALUES
/// (params)`, one distinct parameter per column. Errors are (line, what is wrong).
fn copy_statement(
    text: &str,
    stmt: &[Token],
    params: &[Param],
) -> Result<CopyInto, (usize, String)> {
    let sig: Vec<&Token> = stmt.iter().filter(|t| t.kind.is_significant()).collect();
    let mut i = 0;
    let last_line = sig.last().map_or(1, |t| t.line);
    let at = |i: usize| sig.get(i).map_or(last_line, |t| t.line);
    let word = |i: usize, w: &str| {
        sig.get(i)
            .is_some_and(|t| t.kind == Kind::Code && t.text(text).eq_ignore_ascii_case(w))
    };
    let name = |i: usize| {
        sig.get(i).and_then(|t| {
            let s = t.text(text);
            match t.kind {
                Kind::Code if s.starts_with(|c: char| is_ident_start(c as u8)) => Some(s),
                Kind::Quoted if s.starts_with('"') => Some(s),
                _ => None,
            }
        })
    };
    let expect = |i: usize, w: &str| {
        if word(i, w) {
            Ok(i + 1)
        } else {
            let found = sig
                .get(i)
                .map_or("the end".to_owned(), |t| format!("`{}`", t.text(text)));
            Err((at(i), format!("expected `{w}`, found {found}")))
        }
    };
    i = expect(i, "insert")?;
    i = expect(i, "into")?;
    let mut table = name(i)
        .ok_or_else(|| (at(i), "expected the table name".to_owned()))?
        .to_owned();
    i += 1;
    if word(i, ".") {
        let second = name(i + 1)
            .ok_or_else(|| (at(i + 1), "expected the table name after `.`".to_owned()))?;
        table = format!("{table}.{second}");
        i += 2;
    }
    if !word(i, "(") {
        return Err((
            at(i),
            "the column list `(col1, col2, ...)` after the table name is missing".to_owned(),
        ));
    }
    i += 1;
    let mut columns = Vec::new();
    loop {
        let column = name(i).ok_or_else(|| (at(i), "expected a column name".to_owned()))?;
        columns.push(column.to_owned());
        i += 1;
        if word(i, ",") {
            i += 1;
        } else {
            i = expect(i, ")")?;
            break;
        }
    }
    i = expect(i, "values")?;
    i = expect(i, "(")?;
    let mut order = Vec::new();
    loop {
        let index = match sig.get(i).map(|t| &t.kind) {
            Some(Kind::Positional(n)) => *n as usize,
            Some(Kind::Named { name, .. }) => params
                .iter()
                .position(|p| p.name == *name)
                .map_or(0, |p| p + 1),
            _ => 0,
        };
        if index == 0 {
            let found = sig
                .get(i)
                .map_or("the end".to_owned(), |t| format!("`{}`", t.text(text)));
            return Err((
                at(i),
                format!("expected a parameter (`@name` or `$n`), found {found}"),
            ));
        }
        if order.contains(&(index - 1)) {
            return Err((at(i), "a parameter is used twice".to_owned()));
        }
        order.push(index - 1);
        i += 1;
        if word(i, ",") {
            i += 1;
        } else {
            i = expect(i, ")")?;
            break;
        }
    }
    if let Some(extra) = sig.get(i) {
        return Err((
            extra.line,
            format!("unexpected `{}` after the VALUES list", extra.text(text)),
        ));
    }
    if order.len() != columns.len() {
        return Err((
            at(0),
            format!(
                "the column list has {} entries and the VALUES list {}",
                columns.len(),
                order.len()
            ),
        ));
    }
    if order.len() != params.len() {
        return Err((
            at(0),
            "every parameter must be a value of its own".to_owned(),
        ));
    }
    Ok(CopyInto {
        sql: format!(
            "COPY {table} ({}) FROM STDIN (FORMAT binary)",
            columns.join(", ")
        ),
        order,
    })
}

/// The 1-based number of named parameter `param`, added on first use; a name used both
/// as nullable and not, or both as a slice and not, is a problem.
fn named_index(
    named: &mut Vec<Param>,
    problems: &mut Vec<(usize, String)>,
    query: &str,
    line: usize,
    param: &str,
    nullable: bool,
    slice: bool,
) -> usize {
    if let Err(e) = snake("parameter", param) {
        problems.push((line, format!("query `{query}`: {e}")));
    }
    match named.iter().position(|p| p.name == param) {
        Some(i) => {
            if named[i].nullable != nullable {
                problems.push((
                    line,
                    format!(
                        "query `{query}`: parameter `{param}` is used both as sqlc.narg (nullable) and as @{param}/sqlc.arg (not null); use one"
                    ),
                ));
            }
            if named[i].slice != slice {
                problems.push((
                    line,
                    format!(
                        "query `{query}`: parameter `{param}` is used both as sqlc.slice (an array) and as a single value; use two names"
                    ),
                ));
            }
            i + 1
        }
        None => {
            named.push(Param {
                name: param.to_owned(),
                nullable,
                slice,
            });
            named.len()
        }
    }
}

/// For the `sqlc.slice` token at `i` of `stmt`: the token range of `[NOT] IN ( ... )` around
/// it and whether it is `NOT IN`; `None` when it is not in that form.
fn slice_context(text: &str, stmt: &[Token], i: usize) -> Option<(usize, usize, bool)> {
    let prev = |j: usize| (0..j).rev().find(|&k| stmt[k].kind.is_significant());
    let next = |j: usize| (j + 1..stmt.len()).find(|&k| stmt[k].kind.is_significant());
    let is = |k: usize, word: &str| {
        stmt[k].kind == Kind::Code && stmt[k].text(text).eq_ignore_ascii_case(word)
    };
    let open = prev(i).filter(|&k| is(k, "("))?;
    let keyword = prev(open).filter(|&k| is(k, "in"))?;
    let close = next(i).filter(|&k| is(k, ")"))?;
    match prev(keyword).filter(|&k| is(k, "not")) {
        Some(not) => Some((not, close, true)),
        None => Some((keyword, close, false)),
    }
}

/// The text after `name:` of an annotation comment, `-- name: X :one` or
/// `/* name: X :one */`; `None` for any other comment.
fn annotation_body(comment: &str) -> Option<&str> {
    let inner = if let Some(rest) = comment.strip_prefix("--") {
        rest.trim_start_matches('-')
    } else {
        comment.strip_prefix("/*")?.strip_suffix("*/")?
    };
    inner.trim_start().strip_prefix("name:")
}

/// `-- name: Name :command` (or `/* name: Name :command */`) → (name, command).
fn parse_annotation(comment: &str) -> Result<(String, Command), String> {
    let rest = annotation_body(comment).unwrap_or_default();
    let words: Vec<&str> = rest.split_whitespace().collect();
    let expected = Command::ALL.map(Command::as_str).join(", ");
    match words.as_slice() {
        [] => Err("`-- name:` without a query name; write `-- name: Name :command`".to_owned()),
        [name] => Err(format!(
            "query `{name}` has no command; add one of {expected}"
        )),
        [name, command] => match Command::parse(command) {
            Some(c) => Ok(((*name).to_owned(), c)),
            None => match Command::unsupported(command) {
                Some(why) => Err(format!(
                    "query `{name}`: sqlc's `{command}` is not supported: it {why}"
                )),
                None => Err(format!(
                    "unknown command `{command}` for query `{name}`; expected one of {expected}"
                )),
            },
        },
        [name, _, extra @ ..] => Err(format!(
            "unexpected `{}` after the command of query `{name}`",
            extra.join(" ")
        )),
    }
}

/// Whether a token is a `-- name:` line comment or a `/* name: */` block comment that
/// starts its line.
fn is_annotation(text: &str, t: &Token) -> bool {
    matches!(t.kind, Kind::LineComment | Kind::BlockComment)
        && annotation_body(t.text(text)).is_some()
        && starts_line(text, t.start)
}

fn starts_line(text: &str, at: usize) -> bool {
    text[..at]
        .rsplit('\n')
        .next()
        .is_none_or(|s| s.trim().is_empty())
}

/// The block of `--` lines directly above token `a` (no blank line in between), in order.
fn doc_above(text: &str, tokens: &[Token], a: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut i = a;
    while i >= 2 {
        let space = &tokens[i - 1];
        let comment = &tokens[i - 2];
        let gap = space.text(text);
        if space.kind != Kind::Space
            || gap.matches('\n').count() != 1
            || comment.kind != Kind::LineComment
            || !starts_line(text, comment.start)
            || is_annotation(text, comment)
        {
            break;
        }
        lines.push(comment_text(comment.text(text)));
        i -= 2;
    }
    lines.reverse();
    lines
}

/// `-- text` → `text` (one space after the dashes removed, trailing space trimmed).
fn comment_text(comment: &str) -> String {
    let body = comment.strip_prefix("--").unwrap_or(comment);
    body.strip_prefix(' ').unwrap_or(body).trim_end().to_owned()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Space,
    LineComment,
    BlockComment,
    /// A string, quoted identifier or dollar-quoted body.
    Quoted,
    Semicolon,
    Positional(u32),
    Named {
        name: String,
        nullable: bool,
    },
    /// `sqlc.slice(name)`.
    Slice(String),
    /// `sqlc.embed(table)`.
    Embed(String),
    Code,
}

impl Kind {
    fn is_significant(&self) -> bool {
        !matches!(self, Kind::Space | Kind::LineComment | Kind::BlockComment)
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
    /// 1-based line of the first byte.
    line: usize,
}

impl Token {
    fn text<'a>(&self, source: &'a str) -> &'a str {
        &source[self.start..self.end]
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_char(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

const OPERATOR_CHARS: &[u8] = b"+-*/<>=~!@#%^&|`?";

/// Split SQL text into tokens; errors are (line, message).
fn lex(text: &str) -> Result<Vec<Token>, (usize, String)> {
    let b = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < b.len() {
        let start = i;
        let start_line = line;
        let kind = match b[i] {
            c if c.is_ascii_whitespace() => {
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                Kind::Space
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                Kind::LineComment
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                loop {
                    if i >= b.len() {
                        return Err((start_line, "unterminated /* comment".to_owned()));
                    }
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                Kind::BlockComment
            }
            b'\'' => {
                let escapes =
                    i > 0 && matches!(b[i - 1], b'E' | b'e') && (i < 2 || !is_ident_char(b[i - 2]));
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err((start_line, "unterminated string literal".to_owned())),
                        Some(b'\\') if escapes => i += 2,
                        Some(b'\'') if b.get(i + 1) == Some(&b'\'') => i += 2,
                        Some(b'\'') => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                Kind::Quoted
            }
            b'"' => {
                i += 1;
                loop {
                    match b.get(i) {
                        None => {
                            return Err((start_line, "unterminated quoted identifier".to_owned()));
                        }
                        Some(b'"') if b.get(i + 1) == Some(&b'"') => i += 2,
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                Kind::Quoted
            }
            b'$' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let n = text[start + 1..i].parse::<u32>().map_err(|_| {
                    (
                        start_line,
                        format!("parameter {} is out of range", &text[start..i]),
                    )
                })?;
                Kind::Positional(n)
            }
            b'$' => {
                // A dollar quote: $$ or $tag$.
                let mut j = i + 1;
                if b.get(j).is_some_and(|&c| is_ident_start(c)) {
                    while j < b.len() && is_ident_char(b[j]) && b[j] != b'$' {
                        j += 1;
                    }
                }
                if b.get(j) == Some(&b'$') {
                    let tag = &text[i..=j];
                    match text[j + 1..].find(tag) {
                        Some(close) => {
                            i = j + 1 + close + tag.len();
                            Kind::Quoted
                        }
                        None => {
                            return Err((
                                start_line,
                                format!("unterminated dollar-quoted string {tag}"),
                            ));
                        }
                    }
                } else {
                    i += 1;
                    Kind::Code
                }
            }
            b'@' if b.get(i + 1).is_some_and(|&c| is_ident_start(c))
                && (i == 0 || !OPERATOR_CHARS.contains(&b[i - 1])) =>
            {
                i += 1;
                while i < b.len() && is_ident_char(b[i]) && b[i] != b'$' {
                    i += 1;
                }
                Kind::Named {
                    name: text[start + 1..i].to_owned(),
                    nullable: false,
                }
            }
            b';' => {
                i += 1;
                Kind::Semicolon
            }
            c if is_ident_start(c) => {
                while i < b.len() && is_ident_char(b[i]) {
                    i += 1;
                }
                let word = &text[start..i];
                if word.eq_ignore_ascii_case("sqlc") && b.get(i) == Some(&b'.') {
                    let (end, kind) = sqlc_macro(text, i + 1).map_err(|m| (start_line, m))?;
                    i = end;
                    kind
                } else {
                    Kind::Code
                }
            }
            c if c.is_ascii_digit() => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
                Kind::Code
            }
            _ => {
                i += 1;
                Kind::Code
            }
        };
        line += text[start..i].matches('\n').count();
        tokens.push(Token {
            kind,
            start,
            end: i,
            line: start_line,
        });
    }
    Ok(tokens)
}

/// `arg(name)`, `narg(name)`, `slice(name)` or `embed(table)` after `sqlc.` at byte `at`:
/// the end of the call and the token.
fn sqlc_macro(text: &str, at: usize) -> Result<(usize, Kind), String> {
    let b = text.as_bytes();
    let skip_ws = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let mut i = at;
    while i < b.len() && is_ident_char(b[i]) {
        i += 1;
    }
    let func = &text[at..i];
    if !matches!(func, "arg" | "narg" | "slice" | "embed") {
        return Err(format!(
            "unsupported sqlc.{func}(...): the macros are sqlc.arg(name), sqlc.narg(name), sqlc.slice(name) and sqlc.embed(table)"
        ));
    }
    let malformed = || format!("malformed sqlc.{func}(...): write sqlc.{func}(name)");
    i = skip_ws(i);
    if b.get(i) != Some(&b'(') {
        return Err(malformed());
    }
    i = skip_ws(i + 1);
    let name = match b.get(i) {
        Some(&q @ (b'\'' | b'"')) => {
            let close = text[i + 1..].find(q as char).ok_or_else(malformed)?;
            let name = &text[i + 1..i + 1 + close];
            i += close + 2;
            name
        }
        Some(&c) if is_ident_start(c) => {
            let s = i;
            while i < b.len() && is_ident_char(b[i]) && b[i] != b'$' {
                i += 1;
            }
            &text[s..i]
        }
        _ => return Err(malformed()),
    };
    if name.is_empty() {
        return Err(malformed());
    }
    i = skip_ws(i);
    if b.get(i) != Some(&b')') {
        return Err(malformed());
    }
    let name = name.to_owned();
    let kind = match func {
        "slice" => Kind::Slice(name),
        "embed" => Kind::Embed(name),
        _ => Kind::Named {
            name,
            nullable: func == "narg",
        },
    };
    Ok((i + 1, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> QueryDef {
        let mut q = parse_file("q.sql", text).unwrap();
        assert_eq!(q.len(), 1, "{q:?}");
        q.remove(0)
    }

    fn errors(text: &str) -> Vec<String> {
        parse_file("q.sql", text)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn named_parameters_are_numbered_in_order_of_first_use() {
        let q = one(
            "-- name: GetX :one\nSELECT * FROM t WHERE a = @a AND b = sqlc.arg(b) AND c = sqlc.narg('c') AND d = @a;\n",
        );
        assert_eq!(
            q.sql,
            "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3 AND d = $1"
        );
        let params: Vec<(&str, bool)> = q
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.nullable))
            .collect();
        assert_eq!(params, [("a", false), ("b", false), ("c", true)]);
        assert_eq!(q.command, Command::One);
        assert_eq!((q.line, q.sql_line), (1, 2));
        assert_eq!(
            q.written_sql,
            "SELECT * FROM t WHERE a = @a AND b = sqlc.arg(b) AND c = sqlc.narg('c') AND d = @a"
        );
    }

    #[test]
    fn positional_parameters_are_named_p_n() {
        let q = one("-- name: Pos :many\nSELECT $2::int, $1::text");
        assert_eq!(q.sql, "SELECT $2::int, $1::text");
        let names: Vec<&str> = q.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["p1", "p2"]);
    }

    #[test]
    fn strings_comments_operators_and_dollar_quotes_are_not_parameters() {
        let q = one(concat!(
            "-- name: Lexing :many\n",
            "SELECT '@a', E'\\'@b', \"@c\", $$ @d ; $$, $tag$ ; @e $tag$, -- @f ;\n",
            "  x <@ y, x @> y, @@ z, /* @g ; /* nested */ */ @h, a$1\n",
            "FROM t;\n",
        ));
        let names: Vec<&str> = q.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["h"]);
        assert!(q.sql.contains("*/ $1, a$1\nFROM t"), "{}", q.sql);
        assert!(q.sql.contains("'@a', E'\\'@b'"), "{}", q.sql);
    }

    #[test]
    fn doc_comments_above_and_below_the_annotation() {
        let text = "-- header, not attached\n\n-- Fetches a thing.\n-- Second line.\n-- name: A :one\n-- More detail.\nSELECT 1;\n\n-- Doc of B.\n-- name: B :exec\nDELETE FROM t\n";
        let q = parse_file("q.sql", text).unwrap();
        assert_eq!(
            q[0].doc,
            ["Fetches a thing.", "Second line.", "More detail."]
        );
        assert_eq!(q[0].sql, "SELECT 1");
        assert_eq!(q[1].doc, ["Doc of B."]);
        assert_eq!(q[1].sql, "DELETE FROM t");
        assert_eq!(q[1].command, Command::Exec);
        assert_eq!(q[1].line, 10);
    }

    #[test]
    fn trailing_comments_of_a_query_are_not_part_of_its_sql() {
        let q = parse_file(
            "q.sql",
            "-- name: A :one\nSELECT 1 -- why\n;\n-- name: B :one\nSELECT 2",
        )
        .unwrap();
        assert_eq!(q[0].sql, "SELECT 1");
        assert_eq!(q[1].sql, "SELECT 2");
        assert!(q[1].doc.is_empty());
    }

    #[test]
    fn crlf_and_every_command() {
        let text = "-- name: A :one\r\nSELECT 1;\r\n-- name: B :opt\r\nSELECT 1;\r\n-- name: C :many\r\nSELECT 1;\r\n-- name: D :exec\r\nSELECT 1;\r\n-- name: E :execrows\r\nSELECT 1;\r\n/* name: F :execresult */\r\nSELECT 1;\r\n";
        let q = parse_file("q.sql", text).unwrap();
        let commands: Vec<Command> = q.iter().map(|q| q.command).collect();
        assert_eq!(commands, Command::ALL[..6]);
        assert!(q.iter().all(|q| q.sql == "SELECT 1"));
    }

    #[test]
    fn unannotated_statements_are_errors_with_their_line() {
        assert_eq!(
            errors("SELECT 1;\n-- name: A :one\nSELECT 2;"),
            [
                "q.sql:1: SQL outside any query: every statement needs a `-- name: Name :command` line above it"
            ]
        );
        assert_eq!(
            errors("-- name: A :one\nSELECT 2;\n\nDELETE FROM t;\n"),
            [
                "q.sql:4: unannotated statement after query `A`: each statement needs its own `-- name: Name :command` line"
            ]
        );
    }

    #[test]
    fn unknown_or_missing_commands_and_bad_names() {
        assert_eq!(
            errors("-- name: A :first\nSELECT 1"),
            [
                "q.sql:1: unknown command `:first` for query `A`; expected one of :one, :opt, :many, :exec, :execrows, :execresult, :batchexec, :batchone, :batchmany, :copyfrom"
            ]
        );
        assert_eq!(
            errors("\n-- name: A\nSELECT 1"),
            [
                "q.sql:2: query `A` has no command; add one of :one, :opt, :many, :exec, :execrows, :execresult, :batchexec, :batchone, :batchmany, :copyfrom"
            ]
        );
        assert_eq!(
            errors("-- name: A :one extra\nSELECT 1"),
            ["q.sql:1: unexpected `extra` after the command of query `A`"]
        );
        assert_eq!(
            errors("-- name: get-x :one\nSELECT 1"),
            ["q.sql:1: query name `get-x` must be an identifier (letters, digits, `_`)"]
        );
        assert!(errors("-- name: Commit :exec\nSELECT 1")[0].contains("method `commit`"));
        assert_eq!(
            errors("-- name: A :one\n\n-- name: B :one\nSELECT 1"),
            ["q.sql:1: query `A` has no SQL statement"]
        );
    }

    #[test]
    fn parameter_problems() {
        assert!(
            errors("-- name: A :one\nSELECT @a, $1")[0].contains("mixes positional"),
            "mixing"
        );
        assert!(
            errors("-- name: A :one\nSELECT @a, sqlc.narg(a)")[0].contains("both as sqlc.narg")
        );
        assert!(
            errors("-- name: A :one\nSELECT sqlc.slice(a)")[0]
                .contains("sqlc.slice(a) works only as `expr IN (sqlc.slice(a))`")
        );
        assert!(
            errors("-- name: A :one\nSELECT sqlc.nope(a)")[0].contains("unsupported sqlc.nope")
        );
        assert!(
            errors("-- name: A :one\nSELECT 1 WHERE 1 IN (sqlc.slice(a)) AND @a")[0]
                .contains("both as sqlc.slice")
        );
        assert!(errors("-- name: A :one\nSELECT sqlc.arg(")[0].contains("malformed sqlc.arg"));
        assert_eq!(
            errors("-- name: A :one\nSELECT 'abc\n"),
            ["q.sql:2: unterminated string literal"]
        );
        assert_eq!(
            errors("-- name: A :one\nSELECT 1 /* x\n"),
            ["q.sql:2: unterminated /* comment"]
        );
    }

    #[test]
    fn duplicate_names_across_files_name_both_places() {
        let files = [
            SourceFile {
                display: "a.sql".into(),
                text: "-- name: GetX :one\nSELECT 1".into(),
            },
            SourceFile {
                display: "b.sql".into(),
                text: "\n-- name: GetX :one\nSELECT 2\n-- name: GetAPIKey :one\nSELECT 3\n-- name: GetApiKey :one\nSELECT 4".into(),
            },
        ];
        let errs: Vec<String> = parse_files(&files)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                "b.sql:2: duplicate query name `GetX` (first defined at a.sql:1)",
                "b.sql:6: query names `GetAPIKey` (b.sql:4) and `GetApiKey` both make the Rust name `GetApiKey`; rename one",
            ]
        );
    }

    #[test]
    fn block_comment_annotations_mixed_with_line_comments() {
        let text = concat!(
            "/* A file header in a block comment. */\n",
            "-- and a line comment, both before the first query\n",
            "\n",
            "/* name: GetDate :one */\n",
            "SELECT now();\n",
            "/* name: GetOne :one */ SELECT 1\n",
            "/* name: Bump :execresult */\n",
            "UPDATE t SET n = n + 1;\n",
            "-- Line-comment doc.\n",
            "-- name: Last :many\n",
            "SELECT 2 /* name: NotAnAnnotation :one */;\n",
        );
        let q = parse_file("q.sql", text).unwrap();
        let got: Vec<(&str, Command, &str, usize)> = q
            .iter()
            .map(|q| (q.name.as_str(), q.command, q.sql.as_str(), q.line))
            .collect();
        assert_eq!(
            got,
            [
                ("GetDate", Command::One, "SELECT now()", 4),
                ("GetOne", Command::One, "SELECT 1", 6),
                ("Bump", Command::ExecResult, "UPDATE t SET n = n + 1", 7),
                ("Last", Command::Many, "SELECT 2", 10),
            ]
        );
        assert_eq!(q[3].doc, ["Line-comment doc."]);
        assert!(q[0].doc.is_empty());
        assert_eq!(
            errors("/* name: A :first */\nSELECT 1"),
            [
                "q.sql:1: unknown command `:first` for query `A`; expected one of :one, :opt, :many, :exec, :execrows, :execresult, :batchexec, :batchone, :batchmany, :copyfrom"
            ]
        );
    }

    #[test]
    fn commands_of_other_engines_name_the_postgresql_way() {
        let e = errors("-- name: InsertAuthor :execlastid\nINSERT INTO t VALUES (1)");
        assert_eq!(
            e,
            [
                "q.sql:1: query `InsertAuthor`: sqlc's `:execlastid` is not supported: it is MySQL-only in sqlc (LAST_INSERT_ID); PostgreSQL has no last insert id: write `INSERT ... RETURNING id` with :one"
            ]
        );
    }

    #[test]
    fn batch_and_copy_commands() {
        let text = "-- name: A :batchexec\nDELETE FROM t WHERE id = @id;\n-- name: B :batchone\nSELECT 1 WHERE @x;\n-- name: C :batchmany\nSELECT 1 WHERE @x;\n";
        let q = parse_file("q.sql", text).unwrap();
        let commands: Vec<Command> = q.iter().map(|q| q.command).collect();
        assert_eq!(
            commands,
            [Command::BatchExec, Command::BatchOne, Command::BatchMany]
        );
        assert!(errors("-- name: A :batchexec\nDELETE FROM t")[0].contains("has none; use :exec"));
        let q = one(
            "-- name: Load :copyfrom\nINSERT INTO audit.\"Log Rows\" (id, \"Kind\", tags)\nVALUES (@id, sqlc.narg(kind), @tags);",
        );
        let copy = q.copy.unwrap();
        assert_eq!(
            copy.sql,
            "COPY audit.\"Log Rows\" (id, \"Kind\", tags) FROM STDIN (FORMAT binary)"
        );
        assert_eq!(copy.order, [0, 1, 2]);
        assert!(q.params[1].nullable);
        let q = one("-- name: Load :copyfrom\nINSERT INTO t (a, b) VALUES ($2, $1)");
        assert_eq!(q.copy.unwrap().order, [1, 0]);
        for (sql, why) in [
            (
                "INSERT INTO t VALUES (@a)",
                "q.sql:3: query `L`: :copyfrom needs",
            ),
            (
                "INSERT INTO t (a, b) VALUES (@a, @a)",
                "a parameter is used twice",
            ),
            (
                "INSERT INTO t (a, b) VALUES (@a, now())",
                "expected a parameter",
            ),
            (
                "INSERT INTO t (a) VALUES (@a) RETURNING id",
                "unexpected `RETURNING`",
            ),
            (
                "INSERT INTO t (a) VALUES (@a) ON CONFLICT DO NOTHING",
                "unexpected `ON`",
            ),
            ("INSERT INTO t (a) VALUES (@a), (@b)", "unexpected `,`"),
            (
                "INSERT INTO t (a, b) VALUES (@a)",
                "the column list has 2 entries and the VALUES list 1",
            ),
            ("UPDATE t SET a = @a", "expected `insert`, found `UPDATE`"),
            ("INSERT INTO t (a) SELECT @a", "expected `values`"),
        ] {
            let e = errors(&format!("-- name: L :copyfrom\n\n{sql}"));
            assert!(e[0].contains(why), "{sql}: {e:?}");
            assert!(
                e[0].contains("for anything else use :exec or :batchexec"),
                "{e:?}"
            );
        }
    }

    #[test]
    fn slices_become_any_and_all() {
        let q = one(concat!(
            "-- name: ByIds :many\n",
            "SELECT * FROM t WHERE id IN (sqlc.slice(ids))\n",
            "  AND kind NOT IN\n  (sqlc.slice('kinds')) AND name = @name AND other in ( sqlc.slice(ids) )",
        ));
        assert_eq!(
            q.sql,
            "SELECT * FROM t WHERE id = ANY($1)\n  AND kind <> ALL($2)\n AND name = $3 AND other = ANY($1)"
        );
        let params: Vec<(&str, bool)> = q
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.slice))
            .collect();
        assert_eq!(params, [("ids", true), ("kinds", true), ("name", false)]);
        assert!(q.written_sql.contains("IN (sqlc.slice(ids))"));
    }

    #[test]
    fn embed_expands_to_the_table_columns() {
        let q = one(
            "-- name: StudentScores :many\nSELECT sqlc.embed(students),\n sqlc.embed(\"Test Scores\") FROM students JOIN \"Test Scores\" USING (id)",
        );
        assert_eq!(
            q.sql,
            "SELECT students.*,\n \"Test Scores\".* FROM students JOIN \"Test Scores\" USING (id)"
        );
        let spans: Vec<(&str, usize, &str)> = q
            .embeds
            .iter()
            .map(|e| (e.name.as_str(), e.line, &q.sql[e.start..e.end]))
            .collect();
        assert_eq!(
            spans,
            [
                ("students", 2, "students.*"),
                ("Test Scores", 3, "\"Test Scores\".*")
            ]
        );
    }

    #[test]
    fn parameters_that_make_one_rust_name_are_both_kept() {
        let q = one("-- name: A :one\nSELECT @userId::int, @user_id::int");
        let names: Vec<&str> = q.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["userId", "user_id"]);
    }

    #[test]
    fn error_positions_map_to_file_lines() {
        let q = one("\n-- name: A :one\nSELECT\n  @a,\n  nope");
        assert_eq!(q.sql_line, 3);
        let pos = q.sql.find("nope").unwrap() + 1;
        assert_eq!(q.line_of_position(pos), 5);
    }
}
