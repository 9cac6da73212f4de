//! `index-without-concurrently`: `CREATE INDEX` without `CONCURRENTLY` on a table that an
//! earlier migration created: it blocks every write to the table while the index builds.

use super::super::Ctx;
use super::super::facts::Fact;
use super::Rule;

/// The rule.
pub const RULE: Rule = Rule {
    name: "index-without-concurrently",
    summary: "CREATE INDEX without CONCURRENTLY on a table created by an earlier migration",
    hint: "use CREATE INDEX CONCURRENTLY (IF NOT EXISTS) in a migration whose first line is `-- no-transaction`",
    check,
};

fn check(ctx: &Ctx<'_>) -> Vec<String> {
    ctx.stmt()
        .facts
        .iter()
        .filter_map(|f| match f {
            Fact::CreateIndex {
                table,
                concurrently: false,
            } if !ctx.created_here(table) => Some(format!(
                "CREATE INDEX on {table}, a table created by an earlier migration, without CONCURRENTLY: writes to {table} block while the index builds"
            )),
            _ => None,
        })
        .collect()
}
