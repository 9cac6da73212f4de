//! Pseudo-constraints: names that PL/pgSQL functions raise with
//! `RAISE ... USING ERRCODE = '...', CONSTRAINT = 'name'`.
//!
//! The catalog does not know these names, but the error a client receives carries them in
//! its constraint field exactly like a real constraint's. A literal name is taken from the
//! function body; `CONSTRAINT = TG_ARGV[n]` (a shared guard function) is resolved to the
//! literal `n`th argument of every `CREATE TRIGGER ... EXECUTE FUNCTION f(...)` that runs it.
//! Anything else (a variable, an expression) cannot be resolved statically and becomes a
//! warning.

use crate::catalog::Function;
use crate::errcodes::CONDITIONS;
use crate::model::{Constraint, ConstraintKind, Origin, Owner, QualifiedName, RaisedBy, Trigger};
use crate::split::tokenize;
use sqlparser::tokenizer::Token;

/// What a `RAISE` puts in the error's constraint field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RaisedName {
    /// `CONSTRAINT = 'name'`
    Literal(String),
    /// `CONSTRAINT = TG_ARGV[n]`
    TriggerArgument(usize),
    /// Any other expression, as written.
    Expression(String),
}

/// One `RAISE EXCEPTION ... USING CONSTRAINT = ...` of a function body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raise {
    pub name: RaisedName,
    /// The SQLSTATE the statement raises: from `ERRCODE = ...`, `RAISE condition_name`,
    /// `RAISE SQLSTATE '.....'`, or `P0001` (raise_exception) when none is given.
    pub sqlstate: String,
    /// The statement with runs of whitespace collapsed, for documentation.
    pub statement: String,
    /// 1-based line within the body.
    pub line: usize,
    /// A condition name that PostgreSQL does not know, if one was given.
    pub unknown_condition: Option<String>,
    /// `TABLE = 'literal'` and `SCHEMA = 'literal'` options, which name the table the error
    /// reports (used as the owner of names raised outside triggers).
    pub table: Option<String>,
    pub schema: Option<String>,
}

/// The SQLSTATE of a PL/pgSQL condition name (`check_violation` → `23514`), or the code
/// itself when given a five-character SQLSTATE.
pub fn sqlstate_of(condition: &str) -> Option<String> {
    let c = condition.trim();
    if c.len() == 5
        && c.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return Some(c.to_owned());
    }
    let lower = c.to_ascii_lowercase();
    CONDITIONS
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, code)| (*code).to_owned())
}

fn significant(
    tokens: Vec<(Token, std::ops::Range<usize>)>,
) -> Vec<(Token, std::ops::Range<usize>)> {
    tokens
        .into_iter()
        .filter(|(t, _)| !matches!(t, Token::Whitespace(_)))
        .collect()
}

fn word_is(token: &Token, word: &str) -> bool {
    matches!(token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

fn string_value(token: &Token) -> Option<String> {
    match token {
        Token::SingleQuotedString(s) => Some(s.replace("''", "'")),
        Token::EscapedStringLiteral(s) => Some(s.clone()),
        _ => None,
    }
}

/// Find every `RAISE` at EXCEPTION level that sets `CONSTRAINT` in a PL/pgSQL body.
/// Comments and string literals are skipped by the tokenizer, so a `RAISE` in a comment does
/// not count.
pub fn extract_raises(body: &str) -> Result<Vec<Raise>, crate::split::SplitError> {
    let tokens = significant(tokenize(body)?);
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if !word_is(&tokens[i].0, "RAISE") {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i;
        while end < tokens.len() && tokens[end].0 != Token::SemiColon {
            end += 1;
        }
        if let Some(raise) = parse_raise(body, &tokens[start..end]) {
            out.push(raise);
        }
        i = end + 1;
    }
    Ok(out)
}

const LEVELS: [&str; 6] = ["DEBUG", "LOG", "INFO", "NOTICE", "WARNING", "EXCEPTION"];

fn parse_raise(body: &str, stmt: &[(Token, std::ops::Range<usize>)]) -> Option<Raise> {
    let mut k = 1;
    let mut level = "EXCEPTION";
    if let Some((Token::Word(w), _)) = stmt.get(k)
        && let Some(l) = LEVELS
            .iter()
            .find(|l| w.quote_style.is_none() && w.value.eq_ignore_ascii_case(l))
    {
        level = l;
        k += 1;
    }
    if level != "EXCEPTION" {
        return None; // only EXCEPTION aborts the statement with an error
    }
    let mut sqlstate = None;
    let mut unknown_condition = None;
    match stmt.get(k).map(|(t, _)| t) {
        Some(t) if word_is(t, "SQLSTATE") => {
            sqlstate = stmt.get(k + 1).and_then(|(t, _)| string_value(t));
        }
        Some(Token::Word(w)) if !word_is(&Token::Word(w.clone()), "USING") => {
            sqlstate = sqlstate_of(&w.value);
            if sqlstate.is_none() {
                unknown_condition = Some(w.value.clone());
            }
        }
        _ => {}
    }
    let using = stmt.iter().position(|(t, _)| word_is(t, "USING"))?;
    // Options: name = expr [, name = expr]... separated by top-level commas.
    let mut options: Vec<&[(Token, std::ops::Range<usize>)]> = Vec::new();
    let mut depth = 0usize;
    let mut from = using + 1;
    for (j, (t, _)) in stmt.iter().enumerate().skip(using + 1) {
        match t {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => {
                options.push(&stmt[from..j]);
                from = j + 1;
            }
            _ => {}
        }
    }
    options.push(&stmt[from..]);
    let mut name = None;
    let mut table = None;
    let mut schema = None;
    for option in options {
        let [(key, _), (eq, _), value @ ..] = option else {
            continue;
        };
        if !matches!(eq, Token::Eq | Token::Assignment) || value.is_empty() {
            continue;
        }
        let text = body[value[0].1.start..value[value.len() - 1].1.end].to_owned();
        if word_is(key, "ERRCODE") {
            match value.first().and_then(|(t, _)| string_value(t)) {
                Some(code) => {
                    sqlstate = sqlstate_of(&code);
                    if sqlstate.is_none() {
                        unknown_condition = Some(code);
                    }
                }
                None => unknown_condition = Some(text),
            }
        } else if word_is(key, "TABLE") {
            table = value.first().and_then(|(t, _)| string_value(t));
        } else if word_is(key, "SCHEMA") {
            schema = value.first().and_then(|(t, _)| string_value(t));
        } else if word_is(key, "CONSTRAINT") {
            name = Some(match value {
                [(t, _)] if string_value(t).is_some() => {
                    RaisedName::Literal(string_value(t).unwrap_or_default())
                }
                [
                    (t, _),
                    (Token::LBracket, _),
                    (Token::Number(n, _), _),
                    (Token::RBracket, _),
                ] if word_is(t, "TG_ARGV") && n.parse::<usize>().is_ok() => {
                    RaisedName::TriggerArgument(n.parse().unwrap_or_default())
                }
                _ => RaisedName::Expression(text),
            });
        }
    }
    let first = &stmt[0].1;
    let last = &stmt[stmt.len() - 1].1;
    Some(Raise {
        name: name?,
        sqlstate: sqlstate.unwrap_or_else(|| "P0001".to_owned()),
        statement: body[first.start..last.end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            + ";",
        line: body[..first.start].bytes().filter(|&b| b == b'\n').count() + 1,
        unknown_condition,
        table,
        schema,
    })
}

/// Pseudo-constraints of `functions` as executed by `triggers`, plus warnings for names
/// that cannot be resolved.
pub fn pseudo_constraints(
    functions: &[Function],
    triggers: &[Trigger],
) -> (Vec<Constraint>, Vec<String>) {
    let mut constraints = Vec::new();
    let mut warnings = Vec::new();
    for function in functions {
        let raises = match extract_raises(&function.body) {
            Ok(r) => r,
            Err(e) => {
                warnings.push(format!(
                    "function {}: body cannot be tokenized ({e}); its RAISE ... CONSTRAINT names are not known",
                    function.signature()
                ));
                continue;
            }
        };
        let users: Vec<&Trigger> = triggers
            .iter()
            .filter(|t| t.function == function.name)
            .collect();
        for raise in raises {
            let at = format!("function {} line {}", function.signature(), raise.line);
            if let Some(c) = &raise.unknown_condition {
                warnings.push(format!(
                    "{at}: unknown condition {c:?}; assuming SQLSTATE {}",
                    raise.sqlstate
                ));
            }
            let kind = ConstraintKind::TriggerRaised {
                sqlstate: raise.sqlstate.clone(),
            };
            let make = |name: String, owner: Owner, definition: String, trigger: Option<String>| {
                Constraint {
                    name,
                    kind: kind.clone(),
                    owner,
                    definition,
                    validated: true,
                    inherited: false,
                    comment: None,
                    origin: Origin::Trigger,
                    raised_by: Some(RaisedBy {
                        function: function.name.clone(),
                        trigger,
                    }),
                }
            };
            // A literal `TABLE = '...'` names the table outright.
            let stated_table = raise.table.as_ref().map(|t| {
                QualifiedName::new(
                    raise
                        .schema
                        .clone()
                        .unwrap_or_else(|| function.name.schema.clone()),
                    t.clone(),
                )
            });
            match &raise.name {
                RaisedName::Literal(name) if users.is_empty() || stated_table.is_some() => constraints.push(make(
                    name.clone(),
                    stated_table.clone().map_or_else(|| Owner::Function(function.name.clone()), Owner::Table),
                    raise.statement.clone(),
                    None,
                )),
                RaisedName::Literal(name) => {
                    for t in &users {
                        constraints.push(make(
                            name.clone(),
                            Owner::Table(t.table.clone()),
                            raise.statement.clone(),
                            Some(t.name.clone()),
                        ));
                    }
                }
                RaisedName::TriggerArgument(n) => {
                    if users.is_empty() {
                        warnings.push(format!(
                            "{at}: raises CONSTRAINT = TG_ARGV[{n}] but no trigger executes the function"
                        ));
                    }
                    for t in &users {
                        match t.args.get(*n) {
                            Some(name) => constraints.push(make(
                                name.clone(),
                                Owner::Table(t.table.clone()),
                                t.definition.clone(),
                                Some(t.name.clone()),
                            )),
                            None => warnings.push(format!(
                                "{at}: raises CONSTRAINT = TG_ARGV[{n}] but trigger {} on {} passes {} argument(s)",
                                t.name,
                                t.table,
                                t.args.len()
                            )),
                        }
                    }
                }
                RaisedName::Expression(e) => warnings.push(format!(
                    "{at}: raises CONSTRAINT = {e}, which cannot be resolved statically; use a literal or TG_ARGV[n]"
                )),
            }
        }
    }
    (constraints, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(body: &str) -> Vec<(RaisedName, String)> {
        extract_raises(body)
            .unwrap()
            .into_iter()
            .map(|r| (r.name, r.sqlstate))
            .collect()
    }

    #[test]
    fn literal_names_with_errcode_condition_or_sqlstate() {
        let body = "BEGIN
  -- RAISE EXCEPTION USING CONSTRAINT = 'in_comment';
  PERFORM 'RAISE EXCEPTION USING CONSTRAINT = ''in_string''';
  RAISE EXCEPTION 'x %; y', 1 USING ERRCODE = 'check_violation', CONSTRAINT = 'a_check', HINT = 'h';
  RAISE unique_violation USING CONSTRAINT = 'b_key';
  raise exception using errcode = '23503', constraint := 'c_fkey';
  RAISE SQLSTATE 'P0002' USING CONSTRAINT = 'd';
  RAISE EXCEPTION USING CONSTRAINT = 'e', MESSAGE = 'no errcode';
  RAISE NOTICE 'n' USING CONSTRAINT = 'notice_is_not_an_error';
  RAISE;
END";
        assert_eq!(
            names(body),
            [
                (RaisedName::Literal("a_check".into()), "23514".into()),
                (RaisedName::Literal("b_key".into()), "23505".into()),
                (RaisedName::Literal("c_fkey".into()), "23503".into()),
                (RaisedName::Literal("d".into()), "P0002".into()),
                (RaisedName::Literal("e".into()), "P0001".into()),
            ]
        );
    }

    #[test]
    fn trigger_arguments_and_expressions() {
        let body = "BEGIN
  RAISE EXCEPTION '%', TG_ARGV[1] USING ERRCODE = 'check_violation', CONSTRAINT = TG_ARGV[0];
  RAISE EXCEPTION 'v' USING CONSTRAINT = v_name || '_x';
END";
        assert_eq!(
            names(body),
            [
                (RaisedName::TriggerArgument(0), "23514".into()),
                (
                    RaisedName::Expression("v_name || '_x'".into()),
                    "P0001".into()
                ),
            ]
        );
        let raise = &extract_raises(body).unwrap()[0];
        assert_eq!(raise.line, 2);
        assert_eq!(
            raise.statement,
            "RAISE EXCEPTION '%', TG_ARGV[1] USING ERRCODE = 'check_violation', CONSTRAINT = TG_ARGV[0];"
        );
    }

    #[test]
    fn condition_names_resolve_to_sqlstates() {
        assert_eq!(sqlstate_of("check_violation").as_deref(), Some("23514"));
        assert_eq!(sqlstate_of("EXCLUSION_VIOLATION").as_deref(), Some("23P01"));
        assert_eq!(sqlstate_of("23505").as_deref(), Some("23505"));
        assert_eq!(sqlstate_of("no_such_condition"), None);
    }
}
