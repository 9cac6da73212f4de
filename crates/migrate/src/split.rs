//! Splitting a script into statements, for scripts that run outside a transaction.
//!
//! PostgreSQL runs a multi-statement simple query in one implicit transaction, which
//! `CREATE INDEX CONCURRENTLY` refuses, so `-- no-transaction` scripts are sent one statement at
//! a time. The lexer knows quotes (`'…'`, `E'…'`, `"…"`), dollar quotes (`$$`, `$tag$`), line and
//! nested block comments. Limitation: SQL-standard bodies (`BEGIN ATOMIC … END`) contain bare
//! semicolons; put such functions in a transactional migration.

/// A statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// 0-based character offset of its first character in the script.
    pub char_offset: usize,
    /// Its text, without the terminating semicolon.
    pub text: &'a str,
}

/// Split `sql` into statements; empty ones (only spaces and comments) are dropped.
pub fn statements(sql: &str) -> Vec<Statement<'_>> {
    let chars: Vec<(usize, char)> = sql.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0usize; // char index
    let mut i = 0usize;
    let mut has_code = false;
    let byte = |ci: usize| chars.get(ci).map(|c| c.0).unwrap_or(sql.len());
    while i < chars.len() {
        let c = chars[i].1;
        let next = chars.get(i + 1).map(|c| c.1);
        match c {
            '-' if next == Some('-') => {
                while i < chars.len() && chars[i].1 != '\n' {
                    i += 1;
                }
                if !has_code {
                    start = i;
                }
                continue;
            }
            '/' if next == Some('*') => {
                let mut depth = 0;
                while i < chars.len() {
                    let (a, b) = (chars[i].1, chars.get(i + 1).map(|c| c.1));
                    if a == '/' && b == Some('*') {
                        depth += 1;
                        i += 2;
                    } else if a == '*' && b == Some('/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                if !has_code {
                    start = i;
                }
                continue;
            }
            '\'' => {
                let backslash = i > 0 && matches!(chars[i - 1].1, 'e' | 'E') && {
                    // E'…' only when the E starts a token.
                    i < 2 || !(chars[i - 2].1.is_alphanumeric() || chars[i - 2].1 == '_')
                };
                has_code = true;
                i += 1;
                while i < chars.len() {
                    let ch = chars[i].1;
                    if backslash && ch == '\\' {
                        i += 2;
                        continue;
                    }
                    if ch == '\'' {
                        if chars.get(i + 1).map(|c| c.1) == Some('\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                continue;
            }
            '"' => {
                has_code = true;
                i += 1;
                while i < chars.len() && chars[i].1 != '"' {
                    i += 1;
                }
                i += 1;
                continue;
            }
            '$' => {
                // A dollar-quote tag: $ [letter_][alnum_]* $, not preceded by an identifier char.
                let prev_ident =
                    i > 0 && (chars[i - 1].1.is_alphanumeric() || chars[i - 1].1 == '_');
                let mut j = i + 1;
                while j < chars.len() && (chars[j].1.is_alphanumeric() || chars[j].1 == '_') {
                    j += 1;
                }
                let tag_ok = !prev_ident
                    && j < chars.len()
                    && chars[j].1 == '$'
                    && !chars.get(i + 1).is_some_and(|c| c.1.is_ascii_digit());
                if tag_ok {
                    has_code = true;
                    let tag = &sql[byte(i)..byte(j + 1)];
                    let body_start = byte(j + 1);
                    match sql[body_start..].find(tag) {
                        Some(rel) => {
                            let end_byte = body_start + rel + tag.len();
                            while i < chars.len() && chars[i].0 < end_byte {
                                i += 1;
                            }
                        }
                        None => i = chars.len(),
                    }
                    continue;
                }
                has_code = true;
                i += 1;
                continue;
            }
            ';' => {
                if has_code {
                    out.push(Statement {
                        char_offset: start,
                        text: &sql[byte(start)..byte(i)],
                    });
                }
                i += 1;
                start = i;
                has_code = false;
                continue;
            }
            c if c.is_whitespace() => {
                if !has_code {
                    start = i + 1;
                }
            }
            _ => has_code = true,
        }
        i += 1;
    }
    if has_code {
        out.push(Statement {
            char_offset: start,
            text: &sql[byte(start)..],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::statements;

    fn texts(sql: &str) -> Vec<&str> {
        statements(sql).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_on_top_level_semicolons_only() {
        let sql = "-- no-transaction\nCREATE INDEX CONCURRENTLY a ON t (x);\n\nSELECT ';', \"a;b\", E'\\';' ; /* ; /* nested; */ */ SELECT $f$ ; $$ ; $f$;\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql";
        assert_eq!(
            texts(sql),
            vec![
                "CREATE INDEX CONCURRENTLY a ON t (x)",
                "SELECT ';', \"a;b\", E'\\';' ",
                "SELECT $f$ ; $$ ; $f$",
                "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql",
            ]
        );
    }

    #[test]
    fn offsets_are_in_characters() {
        let sql = "SELECT 'é';\n  SELECT 2;";
        let st = statements(sql);
        assert_eq!(st[1].char_offset, 14);
        assert_eq!(st[1].text, "SELECT 2");
    }

    #[test]
    fn positional_parameters_are_not_dollar_quotes() {
        assert_eq!(
            texts("PREPARE p AS SELECT $1; SELECT 2"),
            vec!["PREPARE p AS SELECT $1", "SELECT 2"]
        );
    }

    #[test]
    fn comment_only_scripts_have_no_statements() {
        assert!(statements("-- nothing\n/* here */\n;").is_empty());
    }
}
