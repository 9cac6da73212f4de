//! `changing-column-type`: `ALTER COLUMN ... TYPE` on an existing table rewrites the table
//! (and its indexes) under an ACCESS EXCLUSIVE lock. Not reported: the changes PostgreSQL
//! does without a rewrite, to `text`, `varchar`/`character varying` (with or without a
//! length: widening is assumed, since the old type is not known here; a narrowing still
//! scans the table) and `numeric` without a precision.

use super::super::Ctx;
use super::super::tokens::{find_seq, word_at};
use super::Rule;

/// The rule.
pub const RULE: Rule = Rule {
    name: "changing-column-type",
    summary: "ALTER COLUMN ... TYPE on an existing table (a table rewrite)",
    hint: "add a new column of the new type, backfill it in batches, switch reads and writes, then drop the old one (expand and contract)",
    check,
};

fn check(ctx: &Ctx<'_>) -> Vec<String> {
    let Some((table, actions)) = ctx.alter_existing_table() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for a in actions {
        if !a.first().is_some_and(|t| t.is("alter")) {
            continue;
        }
        let Some(at) = find_seq(a, &["type"]) else {
            continue;
        };
        let column = if a.get(1).is_some_and(|t| t.is("column")) {
            word_at(a, 2)
        } else {
            word_at(a, 1)
        };
        let ty = word_at(a, at + 1).unwrap_or("");
        let next = word_at(a, at + 2).unwrap_or("");
        let params = a
            .get(at + 2)
            .is_some_and(|t| t == &super::super::tokens::Tok::Punct('('));
        let safe = ty == "text"
            || ty == "varchar"
            || (ty == "character" && next == "varying")
            || (ty == "numeric" && !params);
        if !safe {
            out.push(format!(
                "column {table}.{} changes type to {ty} on an existing table: the table and its indexes are rewritten under an ACCESS EXCLUSIVE lock",
                column.unwrap_or("?")
            ));
        }
    }
    out
}
