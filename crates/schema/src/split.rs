//! Split SQL text into statements with sqlparser's tokenizer.
//!
//! The tokenizer knows PostgreSQL's lexical rules, so semicolons inside string literals,
//! quoted identifiers, comments and dollar-quoted bodies (`$$`, `$_$`, `$tag$`, nested tags)
//! never end a statement. On top of the tokens this module tracks parentheses (pg_dump writes
//! multi-action rules as `DO (a; b)`) and `BEGIN ATOMIC ... END` bodies of SQL-standard
//! functions. psql meta-commands (a line starting with `\`, such as the `\restrict` lines of
//! pg_dump 15.14+) are returned as statements of their own, marked [`Statement::meta`].

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer, Whitespace};

/// One statement of a SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement text: from its first token up to, not including, the terminating `;`.
    /// Leading comments are not part of it; comments inside it are, byte for byte.
    pub sql: String,
    /// 1-based line of the statement's first token.
    pub line: usize,
    /// Byte offset of the first token in the input.
    pub start: usize,
    /// Byte offset just past the statement, including the `;` when there is one.
    pub end: usize,
    /// A psql meta-command line (`\restrict ...`), not SQL.
    pub meta: bool,
}

/// The tokenizer rejected the text (unterminated string, quote or dollar-quoted body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot tokenize SQL at line {line}, column {column}: {message}")]
pub struct SplitError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Tokenize `sql` with the PostgreSQL dialect; every token carries its byte range.
pub(crate) fn tokenize(sql: &str) -> Result<Vec<(Token, std::ops::Range<usize>)>, SplitError> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .with_unescape(false)
        .tokenize_with_location()
        .map_err(|e| SplitError {
            line: e.location.line as usize,
            column: e.location.column as usize,
            message: e.message,
        })?;
    let mut offsets = Offsets::new(sql);
    Ok(tokens
        .into_iter()
        .map(|TokenWithSpan { token, span }| {
            let start = offsets.byte(span.start);
            let end = offsets.byte(span.end);
            (token, start..end)
        })
        .collect())
}

/// The tokens of `sql` as [`split`] reads them (sqlparser's PostgreSQL tokenizer), without
/// whitespace, comments and the end-of-input marker. String literals are as written between
/// their quotes (a quote inside is still doubled: `it''s`); callers that want the value undo it.
pub fn tokens(sql: &str) -> Result<Vec<Token>, SplitError> {
    Ok(tokenize(sql)?
        .into_iter()
        .map(|(token, _)| token)
        .filter(|t| !matches!(t, Token::Whitespace(_) | Token::EOF))
        .collect())
}

/// Converts sqlparser's (line, column) locations, which count characters, into byte offsets.
/// Locations are requested in increasing order, so a cursor makes the whole pass linear.
struct Offsets<'a> {
    text: &'a str,
    line: u64,
    column: u64,
    byte: usize,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        Offsets {
            text,
            line: 1,
            column: 1,
            byte: 0,
        }
    }

    fn byte(&mut self, loc: Location) -> usize {
        if loc.line == 0 {
            return self.byte;
        }
        if (loc.line, loc.column) < (self.line, self.column) {
            // Out of order (never for the tokenizer's own spans): restart from the top.
            self.line = 1;
            self.column = 1;
            self.byte = 0;
        }
        let mut chars = self.text[self.byte..].chars();
        while (self.line, self.column) < (loc.line, loc.column) {
            let Some(c) = chars.next() else { break };
            self.byte += c.len_utf8();
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        self.byte
    }
}

fn is_trivia(token: &Token) -> bool {
    matches!(token, Token::Whitespace(_))
}

/// 1-based line numbers of increasing byte offsets, in one linear pass.
struct Lines<'a> {
    text: &'a str,
    byte: usize,
    line: usize,
}

impl Lines<'_> {
    fn line_of(&mut self, byte: usize) -> usize {
        if byte < self.byte {
            self.byte = 0;
            self.line = 1;
        }
        self.line += self.text.as_bytes()[self.byte..byte]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.byte = byte;
        self.line
    }
}

/// Split `sql` into statements. Text after the last `;` that holds more than whitespace and
/// comments is returned as a final statement without a terminator.
pub fn split(sql: &str) -> Result<Vec<Statement>, SplitError> {
    let tokens = tokenize(sql)?;
    let mut statements = Vec::new();
    let mut lines = Lines {
        text: sql,
        byte: 0,
        line: 1,
    };
    let mut i = 0;
    while i < tokens.len() {
        if is_trivia(&tokens[i].0) {
            i += 1;
            continue;
        }
        let start = tokens[i].1.start;
        // psql meta-command: a backslash at the start of a statement runs to the end of line.
        if tokens[i].0 == Token::Backslash {
            let mut j = i;
            while j < tokens.len() && tokens[j].0 != Token::Whitespace(Whitespace::Newline) {
                j += 1;
            }
            let end = if j < tokens.len() {
                tokens[j].1.start
            } else {
                sql.len()
            };
            statements.push(Statement {
                sql: sql[start..end].trim_end().to_owned(),
                line: lines.line_of(start),
                start,
                end,
                meta: true,
            });
            i = j;
            continue;
        }
        let routine = is_routine_definition(&tokens[i..]);
        let mut parens = 0usize;
        let mut blocks = 0usize;
        let mut last_significant = i;
        let mut j = i;
        let mut terminated = None;
        let mut prev_word: Option<Keyword> = None;
        while j < tokens.len() {
            let tok = &tokens[j].0;
            match tok {
                Token::LParen => parens += 1,
                Token::RParen => parens = parens.saturating_sub(1),
                Token::SemiColon if parens == 0 && blocks == 0 => {
                    terminated = Some(j);
                    break;
                }
                Token::Word(w) if routine => match w.keyword {
                    Keyword::ATOMIC if prev_word == Some(Keyword::BEGIN) => blocks += 1,
                    Keyword::CASE if blocks > 0 => blocks += 1,
                    Keyword::END if blocks > 0 => blocks -= 1,
                    _ => {}
                },
                _ => {}
            }
            if let Token::Word(w) = tok {
                prev_word = Some(w.keyword);
            }
            if !is_trivia(tok) {
                last_significant = j;
            }
            j += 1;
        }
        let text_end = tokens[last_significant].1.end;
        let (sql_end, end, next) = match terminated {
            Some(semi) => {
                // The statement text stops before the `;` (and before trailing comments).
                let body_end = if last_significant < semi {
                    tokens[last_significant].1.end
                } else {
                    start
                };
                (body_end, tokens[semi].1.end, semi + 1)
            }
            None => (text_end, text_end, tokens.len()),
        };
        statements.push(Statement {
            sql: sql[start..sql_end].to_owned(),
            line: lines.line_of(start),
            start,
            end,
            meta: false,
        });
        i = next;
    }
    Ok(statements)
}

/// `CREATE [OR REPLACE] FUNCTION|PROCEDURE`: the only statements whose body may be a
/// `BEGIN ATOMIC ... END` block with semicolons inside.
fn is_routine_definition(tokens: &[(Token, std::ops::Range<usize>)]) -> bool {
    let mut words = tokens
        .iter()
        .filter(|(t, _)| !is_trivia(t))
        .map(|(t, _)| match t {
            Token::Word(w) => w.keyword,
            _ => Keyword::NoKeyword,
        });
    if words.next() != Some(Keyword::CREATE) {
        return false;
    }
    let mut next = words.next();
    if next == Some(Keyword::OR) {
        words.next(); // REPLACE
        next = words.next();
    }
    matches!(next, Some(Keyword::FUNCTION | Keyword::PROCEDURE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<String> {
        split(sql).unwrap().into_iter().map(|s| s.sql).collect()
    }

    #[test]
    fn splits_on_top_level_semicolons_and_keeps_lines() {
        let sql = "SELECT 1;\n\n-- note; not a statement\nSELECT 2 ;\n  /* a; b */ SELECT 3";
        let stmts = split(sql).unwrap();
        let got: Vec<_> = stmts.iter().map(|s| (s.sql.as_str(), s.line)).collect();
        assert_eq!(got, [("SELECT 1", 1), ("SELECT 2", 4), ("SELECT 3", 5)]);
        assert_eq!(&sql[stmts[1].start..stmts[1].end], "SELECT 2 ;");
    }

    #[test]
    fn semicolons_in_strings_identifiers_and_comments() {
        let sql =
            "INSERT INTO \"a;b\" VALUES ('x;y', E'it\\'s;', 'don''t;'); -- c;\nSELECT /* ; */ 2;";
        assert_eq!(
            texts(sql),
            [
                "INSERT INTO \"a;b\" VALUES ('x;y', E'it\\'s;', 'don''t;')",
                "SELECT /* ; */ 2"
            ]
        );
    }

    #[test]
    fn dollar_quotes_plain_underscore_and_nested_tags() {
        let plain = "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;";
        let underscore = "CREATE FUNCTION g(t text) RETURNS text LANGUAGE plpgsql AS $_$\nBEGIN\n  RETURN replace(t, '$$', ';');\nEND;\n$_$;";
        let nested =
            "DO $outer$ BEGIN EXECUTE $inner$ SELECT ';' $inner$; PERFORM $$;$$; END $outer$;";
        let sql = format!("{plain}\n{underscore}\n{nested}\nSELECT 4;");
        let stmts = split(&sql).unwrap();
        assert_eq!(stmts.len(), 4);
        assert_eq!(stmts[0].sql, plain.trim_end_matches(';'));
        assert_eq!(stmts[1].sql, underscore.trim_end_matches(';'));
        assert_eq!(stmts[1].line, 2);
        assert_eq!(stmts[2].sql, nested.trim_end_matches(';'));
        assert_eq!(stmts[3].sql, "SELECT 4");
        assert_eq!(stmts[3].line, 8);
    }

    #[test]
    fn body_is_byte_exact_including_blank_lines_and_tabs() {
        let body = "$$\nBEGIN\n\n\n\tRAISE NOTICE 'a;b';   \r\nEND;\n$$";
        let sql = format!("CREATE FUNCTION h() RETURNS void LANGUAGE plpgsql AS {body};");
        let stmts = split(&sql).unwrap();
        assert!(stmts[0].sql.ends_with(body), "{:?}", stmts[0].sql);
    }

    #[test]
    fn begin_atomic_bodies_and_rules_with_parenthesised_actions() {
        let atomic = "CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END;\n  SELECT 3;\nEND";
        let rule = "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); INSERT INTO u VALUES (2))";
        let sql = format!("{atomic};\n{rule};\nBEGIN;\nEND;");
        assert_eq!(texts(&sql), [atomic, rule, "BEGIN", "END"]);
    }

    #[test]
    fn meta_commands_are_their_own_statements() {
        let sql = "--\n\\restrict AbC123\n\nSET x = 1;\n\\unrestrict AbC123\n";
        let stmts = split(sql).unwrap();
        let got: Vec<_> = stmts
            .iter()
            .map(|s| (s.sql.as_str(), s.line, s.meta))
            .collect();
        assert_eq!(
            got,
            [
                ("\\restrict AbC123", 2, true),
                ("SET x = 1", 4, false),
                ("\\unrestrict AbC123", 5, true)
            ]
        );
    }

    #[test]
    fn multibyte_text_keeps_byte_offsets_right() {
        let sql = "COMMENT ON TABLE t IS 'größe; ü'; SELECT 'é';";
        assert_eq!(
            texts(sql),
            ["COMMENT ON TABLE t IS 'größe; ü'", "SELECT 'é'"]
        );
    }

    #[test]
    fn unterminated_input_is_an_error_with_a_line() {
        let err = split("SELECT 1;\nSELECT $$ never closed").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        assert!(split("SELECT 'open").is_err());
    }

    #[test]
    fn trailing_comment_only_text_is_not_a_statement() {
        assert_eq!(texts("SELECT 1; -- done\n/* end */\n"), ["SELECT 1"]);
        assert!(split("  \n-- nothing\n").unwrap().is_empty());
    }
}
