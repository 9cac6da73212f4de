//! Tokens (the statement splitter's, [`schema::split::tokens`]: sqlparser's PostgreSQL
//! tokenizer) and facts read from them: the fallback for statements sqlparser cannot parse,
//! and the source of string literals everywhere.

use sqlparser::tokenizer::Token;

use super::facts::{ConstraintKind, Fact, Name, SERIAL_TYPES};

/// A simplified token: comments and whitespace are gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A keyword or identifier: unquoted ones folded to lower case.
    Word {
        /// The normalised text.
        text: String,
        /// Written in double quotes.
        quoted: bool,
    },
    /// A string literal's value (not dollar-quoted bodies).
    Str(String),
    /// `( ) , . * ;`
    Punct(char),
    /// Anything else (numbers, operators, dollar-quoted bodies).
    Other(String),
}

impl Tok {
    /// Whether this is the unquoted keyword `kw` (lower case).
    pub fn is(&self, kw: &str) -> bool {
        matches!(self, Tok::Word { text, quoted: false } if text == kw)
    }

    fn text(&self) -> String {
        match self {
            Tok::Word { text, .. } => text.clone(),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Punct(c) => c.to_string(),
            Tok::Other(s) => s.clone(),
        }
    }
}

/// Tokenize `sql` with the splitter's tokenizer ([`schema::split::tokens`]).
pub fn tokenize(sql: &str) -> Result<Vec<Tok>, String> {
    let tokens = schema::split::tokens(sql).map_err(|e| e.message)?;
    Ok(tokens
        .into_iter()
        .map(|t| match t {
            Token::Word(w) => Tok::Word {
                text: if w.quote_style.is_some() {
                    w.value
                } else {
                    w.value.to_lowercase()
                },
                quoted: w.quote_style.is_some(),
            },
            // Written as is: a doubled quote stands for one.
            Token::SingleQuotedString(s)
            | Token::EscapedStringLiteral(s)
            | Token::NationalStringLiteral(s)
            | Token::UnicodeStringLiteral(s) => Tok::Str(s.replace("''", "'")),
            Token::LParen => Tok::Punct('('),
            Token::RParen => Tok::Punct(')'),
            Token::Comma => Tok::Punct(','),
            Token::Period => Tok::Punct('.'),
            Token::Mul => Tok::Punct('*'),
            Token::SemiColon => Tok::Punct(';'),
            other => Tok::Other(other.to_string()),
        })
        .collect())
}

/// String literals of a token list.
pub fn literals(tokens: &[Tok]) -> Vec<String> {
    tokens
        .iter()
        .filter_map(|t| match t {
            Tok::Str(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// A cursor over tokens.
struct Cur<'a> {
    t: &'a [Tok],
    i: usize,
}

impl<'a> Cur<'a> {
    fn peek(&self) -> Option<&'a Tok> {
        self.t.get(self.i)
    }
    fn eat(&mut self, kw: &str) -> bool {
        if self.peek().is_some_and(|t| t.is(kw)) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn eat_seq(&mut self, kws: &[&str]) -> bool {
        let ok = kws
            .iter()
            .enumerate()
            .all(|(k, kw)| self.t.get(self.i + k).is_some_and(|t| t.is(kw)));
        if ok {
            self.i += kws.len();
        }
        ok
    }
    /// A possibly qualified name.
    fn name(&mut self) -> Option<Name> {
        let mut parts = Vec::new();
        while let Some(Tok::Word { text, .. }) = self.peek() {
            parts.push(text.clone());
            self.i += 1;
            if matches!(self.peek(), Some(Tok::Punct('.'))) {
                self.i += 1;
            } else {
                break;
            }
        }
        let last = parts.pop()?;
        Some(Name {
            schema: parts.pop(),
            name: last,
        })
    }
    fn word(&mut self) -> Option<String> {
        match self.peek() {
            Some(Tok::Word { text, .. }) => {
                self.i += 1;
                Some(text.clone())
            }
            _ => None,
        }
    }
}

/// `ALTER TABLE [IF EXISTS] [ONLY] name action, action, ...`: the table and its actions' tokens.
pub fn alter_table_actions(t: &[Tok]) -> Option<(Name, Vec<&[Tok]>)> {
    let mut c = Cur { t, i: 0 };
    if !c.eat_seq(&["alter", "table"]) {
        return None;
    }
    c.eat_seq(&["if", "exists"]);
    c.eat("only");
    let table = c.name()?;
    Some((table, top_level_split(&t[c.i..])))
}

/// Whether `t` contains the keywords `kws` in a row (unquoted), and where the first is.
pub fn find_seq(t: &[Tok], kws: &[&str]) -> Option<usize> {
    (0..t.len()).find(|&i| {
        kws.iter()
            .enumerate()
            .all(|(k, kw)| t.get(i + k).is_some_and(|x| x.is(kw)))
    })
}

/// The normalised text of a word token.
pub fn word_at(t: &[Tok], i: usize) -> Option<&str> {
    match t.get(i) {
        Some(Tok::Word { text, .. }) => Some(text),
        _ => None,
    }
}

/// Split at top-level commas.
fn top_level_split(t: &[Tok]) -> Vec<&[Tok]> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, tok) in t.iter().enumerate() {
        match tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            Tok::Punct(',') if depth == 0 => {
                out.push(&t[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&t[start..]);
    out
}

/// Facts read from the tokens of one statement.
pub fn facts(tokens: &[Tok]) -> Vec<Fact> {
    let mut c = Cur { t: tokens, i: 0 };
    let mut out = Vec::new();
    if c.eat("create") {
        c.eat_seq(&["or", "replace"]);
        let _ = c.eat("global") || c.eat("local");
        let _ = c.eat("temp") || c.eat("temporary") || c.eat("unlogged");
        c.eat("recursive");
        let materialized = c.eat("materialized");
        if c.eat("table") {
            c.eat_seq(&["if", "not", "exists"]);
            if let Some(table) = c.name() {
                out.push(Fact::CreateTable { table });
            }
        } else if c.eat("view") {
            let _ = materialized;
            c.eat_seq(&["if", "not", "exists"]);
            if let Some(view) = c.name() {
                out.push(Fact::CreateView { view });
            }
        } else {
            c.eat("unique");
            if c.eat("index") {
                let concurrently = c.eat("concurrently");
                c.eat_seq(&["if", "not", "exists"]);
                // Optional index name, then ON.
                if !c.peek().is_some_and(|t| t.is("on")) {
                    c.name();
                }
                if c.eat("on") {
                    c.eat("only");
                    if let Some(table) = c.name() {
                        out.push(Fact::CreateIndex {
                            table,
                            concurrently,
                        });
                    }
                }
            }
        }
    } else if c.eat("alter") {
        if c.eat("table") || c.eat("view") || c.eat_seq(&["materialized", "view"]) {
            c.eat_seq(&["if", "exists"]);
            c.eat("only");
            let Some(table) = c.name() else {
                return out;
            };
            if matches!(c.peek(), Some(Tok::Punct('*'))) {
                c.i += 1;
            }
            for action in top_level_split(&tokens[c.i..]) {
                alter_action(&table, action, &mut out);
            }
        } else if c.eat("type")
            && let Some(ty) = c.name()
            && c.eat_seq(&["add", "value"])
        {
            c.eat_seq(&["if", "not", "exists"]);
            if let Some(Tok::Str(value)) = c.peek() {
                out.push(Fact::AddEnumValue {
                    ty,
                    value: value.clone(),
                });
            }
        }
    } else if c.eat("drop") {
        let kind = if c.eat("table") {
            Some("table")
        } else if c.eat("view") {
            Some("view")
        } else if c.eat_seq(&["materialized", "view"]) {
            Some("materialized view")
        } else {
            None
        };
        if let Some(kind) = kind {
            c.eat_seq(&["if", "exists"]);
            for part in top_level_split(&tokens[c.i..]) {
                let mut p = Cur { t: part, i: 0 };
                if let Some(relation) = p.name() {
                    out.push(Fact::DropRelation { relation, kind });
                }
            }
        }
    }
    out
}

const CONSTRAINT_STARTS: &[&str] = &[
    "constraint",
    "check",
    "foreign",
    "unique",
    "primary",
    "exclude",
];

fn alter_action(table: &Name, action: &[Tok], out: &mut Vec<Fact>) {
    let mut c = Cur { t: action, i: 0 };
    if c.eat("add") {
        let is_constraint = c
            .peek()
            .is_some_and(|t| CONSTRAINT_STARTS.iter().any(|k| t.is(k)));
        if is_constraint {
            let name = if c.eat("constraint") { c.word() } else { None };
            let kind = if c.eat("check") {
                ConstraintKind::Check
            } else if c.eat("foreign") {
                ConstraintKind::ForeignKey
            } else {
                return;
            };
            let not_valid = action
                .windows(2)
                .any(|w| w[0].is("not") && w[1].is("valid"));
            out.push(Fact::AddConstraint {
                table: table.clone(),
                kind,
                name,
                not_valid,
                on_new_column: None,
            });
            return;
        }
        c.eat("column");
        c.eat_seq(&["if", "not", "exists"]);
        let Some(column) = c.word() else {
            return;
        };
        add_column(table, column, &action[c.i..], out);
    } else if c.eat("drop") {
        if c.peek().is_some_and(|t| t.is("constraint")) {
            return;
        }
        c.eat("column");
        c.eat_seq(&["if", "exists"]);
        if let Some(column) = c.word() {
            out.push(Fact::DropColumn {
                table: table.clone(),
                column,
            });
        }
    } else if c.eat("rename") {
        if c.eat("to") {
            if let Some(to) = c.word() {
                out.push(Fact::RenameRelation {
                    from: table.clone(),
                    to,
                });
            }
            return;
        }
        if c.peek().is_some_and(|t| t.is("constraint")) {
            return;
        }
        c.eat("column");
        if let (Some(from), true, Some(to)) = (c.word(), c.eat("to"), c.word()) {
            out.push(Fact::RenameColumn {
                table: table.clone(),
                from,
                to,
            });
        }
    }
}

/// Keywords that end a `DEFAULT` expression in a column definition.
const COLUMN_CLAUSES: &[&str] = &[
    "not",
    "null",
    "constraint",
    "check",
    "references",
    "primary",
    "unique",
    "generated",
    "collate",
    "default",
];

fn add_column(table: &Name, column: String, rest: &[Tok], out: &mut Vec<Fact>) {
    let ty = rest.first().map(Tok::text).unwrap_or_default();
    let mut not_null = false;
    let mut default = None;
    let mut filled_by = SERIAL_TYPES
        .contains(&ty.as_str())
        .then(|| format!("type {ty}"));
    let mut constraints = Vec::new();
    let mut pending_name = None;
    let mut depth = 0i32;
    let mut i = 0;
    while i < rest.len() {
        let t = &rest[i];
        match t {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            if t.is("not") && rest.get(i + 1).is_some_and(|n| n.is("null")) {
                not_null = true;
                i += 2;
                continue;
            }
            if t.is("primary") {
                not_null = true;
            }
            if t.is("constraint") {
                pending_name = rest.get(i + 1).map(Tok::text);
            }
            if t.is("check") {
                constraints.push((ConstraintKind::Check, pending_name.take()));
            }
            if t.is("references") {
                constraints.push((ConstraintKind::ForeignKey, pending_name.take()));
            }
            if t.is("generated") {
                filled_by = Some(
                    rest[i..]
                        .iter()
                        .take(6)
                        .map(Tok::text)
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
            if t.is("default") {
                let mut j = i + 1;
                let mut d = 0i32;
                let mut expr = Vec::new();
                while j < rest.len() {
                    let u = &rest[j];
                    match u {
                        Tok::Punct('(') => d += 1,
                        Tok::Punct(')') => d -= 1,
                        _ => {}
                    }
                    if d == 0 && COLUMN_CLAUSES.iter().any(|k| u.is(k)) {
                        break;
                    }
                    expr.push(u.text());
                    j += 1;
                }
                default = Some(join_tokens(&expr));
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out.push(Fact::AddColumn {
        table: table.clone(),
        column: column.clone(),
        not_null,
        default,
        filled_by,
    });
    for (kind, name) in constraints {
        out.push(Fact::AddConstraint {
            table: table.clone(),
            kind,
            name,
            not_valid: false,
            on_new_column: Some(column.clone()),
        });
    }
}

/// Tokens back to readable text: `f ( )` becomes `f()`.
fn join_tokens(parts: &[String]) -> String {
    let mut out = String::new();
    for p in parts {
        let glue = !(out.is_empty()
            || out.ends_with('(')
            || out.ends_with('.')
            || p == ")"
            || p == "("
            || p == "."
            || p == ",");
        if glue {
            out.push(' ');
        }
        out.push_str(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(sql: &str) -> Vec<Fact> {
        facts(&tokenize(sql).unwrap())
    }

    #[test]
    fn token_facts_match_the_common_shapes() {
        assert_eq!(
            f("CREATE UNIQUE INDEX IF NOT EXISTS users_x ON ONLY public.users (lower(email))"),
            vec![Fact::CreateIndex {
                table: Name {
                    schema: Some("public".into()),
                    name: "users".into()
                },
                concurrently: false
            }]
        );
        assert_eq!(
            f(
                "ALTER TABLE users ADD COLUMN n int NOT NULL DEFAULT random() * 10, ADD CONSTRAINT c CHECK (n > 0) NOT VALID, DROP COLUMN old, RENAME COLUMN a TO b"
            ),
            vec![
                Fact::AddColumn {
                    table: Name::bare("users"),
                    column: "n".into(),
                    not_null: true,
                    default: Some("random() * 10".into()),
                    filled_by: None
                },
                Fact::AddConstraint {
                    table: Name::bare("users"),
                    kind: ConstraintKind::Check,
                    name: Some("c".into()),
                    not_valid: true,
                    on_new_column: None
                },
                Fact::DropColumn {
                    table: Name::bare("users"),
                    column: "old".into()
                },
                Fact::RenameColumn {
                    table: Name::bare("users"),
                    from: "a".into(),
                    to: "b".into()
                },
            ]
        );
        assert_eq!(
            f("ALTER TYPE \"Mood\" ADD VALUE IF NOT EXISTS 'meh' AFTER 'ok'"),
            vec![Fact::AddEnumValue {
                ty: Name::bare("Mood"),
                value: "meh".into()
            }]
        );
        assert_eq!(
            f("DROP TABLE IF EXISTS a, s.b CASCADE"),
            vec![
                Fact::DropRelation {
                    relation: Name::bare("a"),
                    kind: "table"
                },
                Fact::DropRelation {
                    relation: Name {
                        schema: Some("s".into()),
                        name: "b".into()
                    },
                    kind: "table"
                },
            ]
        );
    }
}
