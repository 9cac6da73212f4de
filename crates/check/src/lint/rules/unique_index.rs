//! `unique-without-index`: `ADD CONSTRAINT ... UNIQUE`/`PRIMARY KEY` on an existing table
//! builds its index while holding a lock that blocks writes (reads too, for a primary key).
//! `USING INDEX name` of an index built `CONCURRENTLY` beforehand avoids it (the build itself
//! is checked by `index-without-concurrently`).

use super::super::Ctx;
use super::super::tokens::find_seq;
use super::Rule;

/// The rule.
pub const RULE: Rule = Rule {
    name: "unique-without-index",
    summary: "ADD UNIQUE/PRIMARY KEY on an existing table without USING INDEX",
    hint: "CREATE UNIQUE INDEX CONCURRENTLY in a `-- no-transaction` migration, then ADD CONSTRAINT name UNIQUE|PRIMARY KEY USING INDEX index_name",
    check,
};

fn check(ctx: &Ctx<'_>) -> Vec<String> {
    let Some((table, actions)) = ctx.alter_existing_table() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for a in actions {
        if !a.first().is_some_and(|t| t.is("add")) || find_seq(a, &["column"]).is_some() {
            continue;
        }
        let kind = if find_seq(a, &["primary", "key"]).is_some() {
            "PRIMARY KEY"
        } else if find_seq(a, &["unique"]).is_some() {
            "UNIQUE"
        } else {
            continue;
        };
        if find_seq(a, &["using", "index"]).is_none() {
            out.push(format!(
                "{kind} constraint added to {table}, an existing table, without USING INDEX: its index builds while writes to {table} block"
            ));
        }
    }
    out
}
