//! Transaction control inside a migration that runs in the runner's transaction.
//!
//! The runner opens the transaction a migration runs in and commits it with the history row.
//! A top-level `BEGIN`, `COMMIT`, `ROLLBACK`... in such a script would end or nest that
//! transaction behind the runner's back: earlier migrations would commit without the rest of
//! their run, or the history row would commit apart from the SQL. Such statements are found
//! here, before anything runs. Statements are split with [`schema::split`] (sqlparser's
//! PostgreSQL tokenizer), so `DO $$ BEGIN ... END $$`, function bodies and `BEGIN ATOMIC ... END`
//! bodies are never mistaken for transaction control; the first words of each statement are
//! read with the same tokenizer (comments between them are skipped).

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// A transaction-control statement found at the top level of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxControl {
    /// 1-based line of the statement's first token.
    pub line: usize,
    /// Byte offset of the statement's first token in the script.
    pub start: usize,
    /// The statement's leading keywords, upper case (`COMMIT`, `START TRANSACTION`, ...).
    pub keywords: String,
}

/// Every top-level transaction-control statement of `sql`, in order. A script the tokenizer
/// rejects yields none (the server reports its error when it runs).
pub fn find(sql: &str) -> Vec<TxControl> {
    find_tokenized(sql).unwrap_or_default()
}

/// As [`find`], but `None` when the tokenizer rejects the script.
pub(crate) fn find_tokenized(sql: &str) -> Option<Vec<TxControl>> {
    let statements = schema::split::split(sql).ok()?;
    let found = statements
        .iter()
        .filter(|st| !st.meta)
        .filter_map(|st| {
            let words = leading_words(&st.sql, 2);
            let first = words.first()?.as_str();
            let second = words.get(1).map(String::as_str);
            let keywords = match (first, second) {
                (
                    "BEGIN" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "SAVEPOINT" | "RELEASE",
                    _,
                ) => match (first, second) {
                    ("ROLLBACK", Some("TO")) => "ROLLBACK TO".to_string(),
                    ("COMMIT" | "ROLLBACK", Some("PREPARED")) => format!("{first} PREPARED"),
                    _ => first.to_string(),
                },
                ("START", Some("TRANSACTION")) => "START TRANSACTION".to_string(),
                ("PREPARE", Some("TRANSACTION")) => "PREPARE TRANSACTION".to_string(),
                _ => return None,
            };
            Some(TxControl {
                line: st.line,
                start: st.start,
                keywords,
            })
        })
        .collect();
    Some(found)
}

/// The first words of every transaction-control statement [`find`] reports.
const KEYWORDS: [&[u8]; 9] = [
    b"begin",
    b"commit",
    b"end",
    b"rollback",
    b"abort",
    b"savepoint",
    b"release",
    b"start",
    b"prepare",
];

/// Whether `sql` may hold transaction control: it contains one of the words [`find`] looks
/// for, in any case, anywhere (in a comment or string too). `false` proves that [`find`]
/// finds nothing, without tokenizing.
pub fn may_contain(sql: &str) -> bool {
    let bytes = sql.as_bytes();
    KEYWORDS.iter().any(|word| {
        bytes
            .windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word))
    })
}

/// Whether this statement ends the transaction it runs in (rather than nesting or marking it).
pub fn ends_transaction(keywords: &str) -> bool {
    matches!(
        keywords,
        "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "PREPARE TRANSACTION"
    )
}

/// The first `n` words of a statement, upper case, skipping whitespace and comments.
fn leading_words(statement: &str, n: usize) -> Vec<String> {
    // Only the head of the statement is needed; a long statement need not be tokenized whole.
    let head: String = statement.chars().take(512).collect();
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, &head).tokenize() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for t in tokens {
        match t {
            Token::Whitespace(_) => continue,
            Token::Word(w) if w.quote_style.is_none() => out.push(w.value.to_ascii_uppercase()),
            _ => break,
        }
        if out.len() == n {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{find, may_contain};

    fn kw(sql: &str) -> Vec<(usize, String)> {
        find(sql)
            .into_iter()
            .map(|t| (t.line, t.keywords))
            .collect()
    }

    #[test]
    fn top_level_transaction_control_is_found() {
        let sql = "BEGIN;\nCREATE TABLE b (id int);\nCOMMIT;\nstart  transaction isolation level serializable;\nSAVEPOINT s;\nRELEASE SAVEPOINT s;\nROLLBACK /* c */ TO s;\nROLLBACK;\nEND;\nABORT;\nPREPARE TRANSACTION 'x';\nCOMMIT PREPARED 'x';\n";
        assert_eq!(
            kw(sql),
            [
                (1, "BEGIN".into()),
                (3, "COMMIT".into()),
                (4, "START TRANSACTION".into()),
                (5, "SAVEPOINT".into()),
                (6, "RELEASE".into()),
                (7, "ROLLBACK TO".into()),
                (8, "ROLLBACK".into()),
                (9, "END".into()),
                (10, "ABORT".into()),
                (11, "PREPARE TRANSACTION".into()),
                (12, "COMMIT PREPARED".into()),
            ]
        );
    }

    #[test]
    fn bodies_and_lookalikes_are_not() {
        let sql = "DO $$ BEGIN RAISE NOTICE 'x'; COMMIT; END $$;\n\
                   CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $f$ BEGIN RETURN 1; END $f$;\n\
                   CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\n\
                   PREPARE p AS SELECT 1;\n\
                   -- COMMIT;\n\
                   /* BEGIN; */ SELECT 'COMMIT;';\n\
                   CREATE TABLE \"commit\" (id int);\n\
                   SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;\n";
        assert_eq!(kw(sql), []);
    }

    #[test]
    fn leading_comments_do_not_hide_it() {
        assert_eq!(
            kw("-- step 1\nSELECT 1;\n/* done */\n  commit;"),
            [(4, "COMMIT".into())]
        );
    }

    #[test]
    fn the_word_check_never_misses_what_find_finds() {
        let scripts = [
            "BEGIN;",
            "  CoMmIt;",
            "end;",
            "ABORT;",
            "SAVEPOINT s;",
            "RELEASE s;",
            "ROLLBACK;",
            "START TRANSACTION;",
            "PREPARE TRANSACTION 'x';",
            "/* x */ Commit And Chain;",
        ];
        for sql in scripts {
            assert!(!find(sql).is_empty(), "{sql}");
            assert!(may_contain(sql), "{sql}");
        }
        for sql in ["CREATE TABLE t (id int);", "DROP TABLE t;\nDROP TYPE mood;"] {
            assert!(!may_contain(sql), "{sql}");
            assert!(find(sql).is_empty(), "{sql}");
        }
        // Words inside bodies, strings and names count: the check errs towards tokenizing.
        assert!(may_contain("SELECT 'end';"));
    }
}
