//! `volatile-default`: `ADD COLUMN` with a volatile default (`random()`, `gen_random_uuid()`,
//! `clock_timestamp()`, `nextval()`, a serial type, an identity, a stored generated column) on
//! an existing table: PostgreSQL rewrites the whole table under an ACCESS EXCLUSIVE lock.
//! Constant and stable defaults (`now()`) are stored once and cost nothing.

use super::super::Ctx;
use super::super::facts::{Fact, volatile_call};
use super::Rule;

/// The rule.
pub const RULE: Rule = Rule {
    name: "volatile-default",
    summary: "a volatile default (random(), gen_random_uuid(), clock_timestamp(), serial, identity) added to an existing table",
    hint: "add the column without a default (or with a constant one), backfill in batches, then SET DEFAULT for new rows",
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
                default,
                filled_by,
                ..
            } if !ctx.created_here(table) => {
                let why = default
                    .as_deref()
                    .and_then(volatile_call)
                    .map(|call| format!("its default calls {call}, which is volatile"))
                    .or_else(|| filled_by.as_ref().map(|b| format!("it is filled by {b}")))?;
                Some(format!(
                    "column {table}.{column} is added to an existing table and {why}: PostgreSQL rewrites all of {table} under an ACCESS EXCLUSIVE lock"
                ))
            }
            _ => None,
        })
        .collect()
}
