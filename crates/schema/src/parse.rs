//! Parse a dump, statement by statement, with sqlparser's PostgreSQL dialect.
//!
//! sqlparser 0.63 rejects part of what pg_dump writes (`CREATE SEQUENCE ... START WITH ...
//! INCREMENT BY`, `ALTER SEQUENCE ... OWNED BY`, `COMMENT ON FUNCTION f(...)`, identity columns,
//! `WITH NO DATA`, `ALTER DOMAIN`, `ATTACH PARTITION`, `CREATE UNIQUE INDEX ... ON ONLY`, trigger
//! arguments ...). A rejected statement is kept in [`ParsedDump::unparsed`] with its line and
//! the parser's message, and its tokens are still scanned for `CONSTRAINT name` and
//! `UNIQUE INDEX name`, so that it cannot hide a constraint.

use crate::model::{EnumType, QualifiedName, Unparsed};
use crate::split::{SplitError, split, tokenize};
use sqlparser::ast::{
    AlterTableOperation, ColumnOption, Ident, ObjectName, ObjectNamePart, Statement,
    TableConstraint, UserDefinedTypeRepresentation,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

/// The kind of a constraint as the dump declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ParsedKind {
    Check,
    PrimaryKey,
    Unique,
    UniqueIndex,
    ForeignKey,
    Exclude,
}

/// A named constraint declared by a parsed statement.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParsedConstraint {
    pub name: String,
    pub kind: ParsedKind,
    /// The table (or domain) the statement declares it on.
    pub owner: QualifiedName,
    /// 1-based line of the declaring statement.
    pub line: usize,
}

/// What the dump says, as far as sqlparser understands it.
#[derive(Debug, Clone, Default)]
pub struct ParsedDump {
    /// Number of SQL statements (meta-commands excluded).
    pub statements: usize,
    pub constraints: Vec<ParsedConstraint>,
    pub enums: Vec<EnumType>,
    pub unparsed: Vec<Unparsed>,
}

fn ident(i: &Ident) -> String {
    // Unquoted identifiers fold to lower case in PostgreSQL.
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_lowercase()
    }
}

fn qualified(name: &ObjectName) -> QualifiedName {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => ident(i),
            other => other.to_string(),
        })
        .collect();
    match parts.as_slice() {
        [.., schema, name] => QualifiedName::new(schema.clone(), name.clone()),
        [name] => QualifiedName::new("public", name.clone()),
        [] => QualifiedName::new("public", ""),
    }
}

fn table_constraint(c: &TableConstraint) -> Option<(String, ParsedKind)> {
    let (name, kind) = match c {
        TableConstraint::Check(c) => (&c.name, ParsedKind::Check),
        TableConstraint::Unique(c) => (&c.name, ParsedKind::Unique),
        TableConstraint::PrimaryKey(c) => (&c.name, ParsedKind::PrimaryKey),
        TableConstraint::ForeignKey(c) => (&c.name, ParsedKind::ForeignKey),
        TableConstraint::Exclude(c) => (&c.name, ParsedKind::Exclude),
        TableConstraint::PrimaryKeyUsingIndex(c) => (&c.name, ParsedKind::PrimaryKey),
        TableConstraint::UniqueUsingIndex(c) => (&c.name, ParsedKind::Unique),
        TableConstraint::Index(_) | TableConstraint::FulltextOrSpatial(_) => return None,
    };
    Some((ident(name.as_ref()?), kind))
}

fn column_constraint(name: &Option<Ident>, option: &ColumnOption) -> Option<(String, ParsedKind)> {
    let kind = match option {
        ColumnOption::Check(_) => ParsedKind::Check,
        ColumnOption::Unique(_) => ParsedKind::Unique,
        ColumnOption::PrimaryKey(_) => ParsedKind::PrimaryKey,
        ColumnOption::ForeignKey(_) => ParsedKind::ForeignKey,
        _ => return None,
    };
    Some((ident(name.as_ref()?), kind))
}

/// Parse every statement of `sql`.
pub fn parse_dump(sql: &str) -> Result<ParsedDump, SplitError> {
    let mut out = ParsedDump::default();
    for stmt in split(sql)? {
        if stmt.meta {
            continue;
        }
        out.statements += 1;
        let parsed = Parser::parse_sql(&PostgreSqlDialect {}, &stmt.sql);
        match parsed {
            Ok(statements) => {
                for s in &statements {
                    collect(s, stmt.line, &mut out);
                }
            }
            Err(e) => out.unparsed.push(Unparsed {
                line: stmt.line,
                message: e.to_string(),
                sql: stmt.sql.clone(),
                constraint_names: scan_constraint_names(&stmt.sql),
            }),
        }
    }
    out.constraints.sort();
    out.constraints.dedup();
    out.enums.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn collect(statement: &Statement, line: usize, out: &mut ParsedDump) {
    let mut push = |owner: &QualifiedName, found: Option<(String, ParsedKind)>| {
        if let Some((name, kind)) = found {
            out.constraints.push(ParsedConstraint {
                name,
                kind,
                owner: owner.clone(),
                line,
            });
        }
    };
    match statement {
        Statement::CreateTable(t) => {
            let owner = qualified(&t.name);
            for c in &t.constraints {
                push(&owner, table_constraint(c));
            }
            for column in &t.columns {
                for o in &column.options {
                    push(&owner, column_constraint(&o.name, &o.option));
                }
            }
        }
        Statement::AlterTable(t) => {
            let owner = qualified(&t.name);
            for op in &t.operations {
                if let AlterTableOperation::AddConstraint { constraint, .. } = op {
                    push(&owner, table_constraint(constraint));
                }
            }
        }
        Statement::CreateIndex(i) if i.unique => {
            let table = qualified(&i.table_name);
            if let Some(name) = &i.name {
                // An index lives in its table's schema.
                push(
                    &table,
                    Some((qualified(name).name, ParsedKind::UniqueIndex)),
                );
            }
        }
        Statement::CreateDomain(d) => {
            let owner = qualified(&d.name);
            for c in &d.constraints {
                push(&owner, table_constraint(c));
            }
        }
        Statement::CreateType {
            name,
            representation: Some(UserDefinedTypeRepresentation::Enum { labels }),
        } => {
            out.enums.push(EnumType {
                name: qualified(name),
                labels: labels.iter().map(|l| l.value.clone()).collect(),
                comment: None,
            });
        }
        _ => {}
    }
}

/// Names following `CONSTRAINT` and `UNIQUE INDEX [CONCURRENTLY] [IF NOT EXISTS]` in a
/// statement's tokens (strings, comments and dollar-quoted bodies are single tokens, so their
/// contents never match). Sorted and deduplicated.
pub fn scan_constraint_names(sql: &str) -> Vec<String> {
    let Ok(tokens) = tokenize(sql) else {
        return Vec::new();
    };
    let words: Vec<&Token> = tokens
        .iter()
        .map(|(t, _)| t)
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let is = |t: &Token, w: &str| matches!(t, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    let name_of = |t: &Token| match t {
        Token::Word(w) if w.quote_style == Some('"') => Some(w.value.clone()),
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_lowercase()),
        _ => None,
    };
    let mut names = Vec::new();
    for (i, t) in words.iter().enumerate() {
        if is(t, "CONSTRAINT") {
            if let Some(next) = words.get(i + 1)
                && !is(next, "TRIGGER")
                && let Some(n) = name_of(next)
            {
                names.push(n);
            }
        } else if is(t, "UNIQUE") && words.get(i + 1).is_some_and(|n| is(n, "INDEX")) {
            let mut j = i + 2;
            while words.get(j).is_some_and(|w| {
                is(w, "CONCURRENTLY") || is(w, "IF") || is(w, "NOT") || is(w, "EXISTS")
            }) {
                j += 1;
            }
            if let Some(n) = words
                .get(j)
                .filter(|w| !is(w, "ON"))
                .and_then(|w| name_of(w))
            {
                names.push(n);
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_constraints_from_parsed_statements() {
        let sql = r#"
CREATE TABLE public."T" (id int CONSTRAINT "T_id_check" CHECK (id > 0), CONSTRAINT t_pk PRIMARY KEY (id));
ALTER TABLE ONLY public."T" ADD CONSTRAINT "Fk" FOREIGN KEY (id) REFERENCES public.u(id);
CREATE UNIQUE INDEX t_idx ON public."T" USING btree (id);
CREATE INDEX not_unique ON public."T" USING btree (id);
CREATE TYPE public.e AS ENUM ('b', 'a');
"#;
        let parsed = parse_dump(sql).unwrap();
        assert!(parsed.unparsed.is_empty(), "{:?}", parsed.unparsed);
        let got: Vec<_> = parsed
            .constraints
            .iter()
            .map(|c| (c.name.as_str(), c.kind, c.owner.name.as_str(), c.line))
            .collect();
        assert_eq!(
            got,
            [
                ("Fk", ParsedKind::ForeignKey, "T", 3),
                ("T_id_check", ParsedKind::Check, "T", 2),
                ("t_idx", ParsedKind::UniqueIndex, "T", 4),
                ("t_pk", ParsedKind::PrimaryKey, "T", 2),
            ]
        );
        assert_eq!(parsed.enums[0].labels, ["b", "a"]);
        assert_eq!(parsed.statements, 5);
    }

    #[test]
    fn rejected_statements_are_kept_with_line_message_and_names() {
        let sql = "SELECT 1;\nCREATE DOMAIN public.d AS text NOT NULL\n\tCONSTRAINT d_check CHECK (VALUE <> '');\nCREATE UNIQUE INDEX \"Only_Idx\" ON ONLY public.t USING btree (a);\nCOMMENT ON FUNCTION public.f() IS 'x';";
        let parsed = parse_dump(sql).unwrap();
        let got: Vec<_> = parsed
            .unparsed
            .iter()
            .map(|u| (u.line, u.constraint_names.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (2, vec!["d_check".to_owned()]),
                (4, vec!["Only_Idx".to_owned()]),
                (5, vec![])
            ]
        );
        assert!(parsed.unparsed.iter().all(|u| !u.message.is_empty()));
        assert!(parsed.unparsed[0].sql.starts_with("CREATE DOMAIN"));
    }

    #[test]
    fn scan_ignores_strings_and_constraint_triggers() {
        assert_eq!(
            scan_constraint_names(
                "CREATE CONSTRAINT TRIGGER t AFTER INSERT ON x FROM y FOR EACH ROW EXECUTE FUNCTION f('CONSTRAINT nope')"
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            scan_constraint_names("ALTER TABLE x ADD CONSTRAINT Abc CHECK (true)"),
            ["abc"]
        );
    }
}
