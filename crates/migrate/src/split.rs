//! Splitting a script into statements, for scripts that run outside a transaction.
//!
//! PostgreSQL runs a multi-statement simple query in one implicit transaction, which
//! `CREATE INDEX CONCURRENTLY` refuses, so `-- no-transaction` scripts are sent one statement at
//! a time. The splitting itself is [`schema::split`]'s (sqlparser's PostgreSQL tokenizer: quotes,
//! dollar quotes, comments, `BEGIN ATOMIC ... END` bodies); this module only gives each
//! statement its character offset in the script, for mapping error positions into the file.

/// A statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// 0-based character offset of its first character in the script.
    pub char_offset: usize,
    /// Its text, without the terminating semicolon.
    pub text: &'a str,
}

/// Split `sql` into statements; empty ones (only spaces and comments) are dropped. A script
/// the tokenizer rejects (an unterminated quote, say) is returned whole as one statement, so
/// the server reports the problem at its position instead of anything being skipped.
pub fn statements(sql: &str) -> Vec<Statement<'_>> {
    let Ok(split) = schema::split::split(sql) else {
        return if sql.trim().is_empty() {
            Vec::new()
        } else {
            vec![Statement {
                char_offset: 0,
                text: sql,
            }]
        };
    };
    let mut out = Vec::with_capacity(split.len());
    let (mut chars, mut bytes) = (0usize, 0usize);
    for st in split {
        // `st.sql` is the script's text from `st.start`, byte for byte.
        let text = &sql[st.start..st.start + st.sql.len()];
        debug_assert_eq!(text, st.sql);
        if text.trim().is_empty() {
            continue;
        }
        chars += sql[bytes..st.start].chars().count();
        bytes = st.start;
        out.push(Statement {
            char_offset: chars,
            text,
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
                "SELECT ';', \"a;b\", E'\\';'",
                "SELECT $f$ ; $$ ; $f$",
                "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql",
            ]
        );
    }

    #[test]
    fn sql_standard_function_bodies_stay_whole() {
        let sql = "CREATE FUNCTION one() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\nSELECT one();";
        assert_eq!(
            texts(sql),
            vec![
                "CREATE FUNCTION one() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
                "SELECT one()",
            ]
        );
    }

    #[test]
    fn an_untokenizable_script_is_kept_whole() {
        assert_eq!(
            texts("SELECT 'unterminated;\nSELECT 2;"),
            vec!["SELECT 'unterminated;\nSELECT 2;"]
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
