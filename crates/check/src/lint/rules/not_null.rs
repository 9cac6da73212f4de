//! `not-null-without-default`: `ADD COLUMN ... NOT NULL` without a default on an existing
//! table: it fails as soon as the table has a row (and in production it has).

use super::super::Ctx;
use super::super::facts::Fact;
use super::Rule;

/// The rule.
pub const RULE: Rule = Rule {
    name: "not-null-without-default",
    summary: "adding a NOT NULL column without a default to an existing table",
    hint: "add the column with a constant DEFAULT (no rewrite since PostgreSQL 11), or add it nullable, backfill, then SET NOT NULL in a later migration (after a CHECK (col IS NOT NULL) NOT VALID + VALIDATE)",
    check,
};

fn check(ctx: &Ctx<'_>) -> Vec<String> {
    ctx.stmt()
        .facts
        .iter()
        .filter_map(|f| match f {
            Fact::AddColumn {
                table,
                column,
                not_null: true,
                default: None,
                filled_by: None,
            } if !ctx.created_here(table) => Some(format!(
                "column {table}.{column} is added NOT NULL without a default: this fails on every existing row of {table}"
            )),
            _ => None,
        })
        .collect()
}
