//! `drop-or-rename`: `DROP TABLE`, `DROP COLUMN` or a `RENAME` of a table or column that an
//! earlier migration created, when `drop-or-rename-in-use` does not report it (no release
//! queries, or none of them uses it): code outside the query files (an ORM, another service,
//! the release being rolled out) may still use it. A relation dropped and created again by the
//! same migration, or a column dropped and added again, is not a drop.

use super::super::Ctx;
use super::super::facts::Fact;
use super::Rule;
use super::drop_in_use;

/// The rule.
pub const RULE: Rule = Rule {
    name: "drop-or-rename",
    summary: "DROP/RENAME of an existing table or column (not used by the release's queries, or they are unknown)",
    hint: "expand and contract: make sure no running code uses it (then silence this with the reason), or keep it until a release that no longer does",
    check,
};

fn check(ctx: &Ctx<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for f in &ctx.stmt().facts {
        let (what, table, column) = match f {
            Fact::DropRelation {
                relation,
                kind: "table",
            } if !ctx.recreated_later(relation) => {
                (format!("DROP TABLE {relation}"), relation, None)
            }
            Fact::RenameRelation { from, to } => (format!("RENAME of {from} to {to}"), from, None),
            Fact::DropColumn { table, column } if !ctx.column_readded_later(table, column) => (
                format!("DROP COLUMN {table}.{column}"),
                table,
                Some(column.as_str()),
            ),
            Fact::RenameColumn { table, from, to } => (
                format!("RENAME of column {table}.{from} to {to}"),
                table,
                Some(from.as_str()),
            ),
            _ => continue,
        };
        if ctx.created_here(table) || column.is_some_and(|c| added_here(ctx, table, c)) {
            continue;
        }
        if let Some(q) = ctx.queries
            && !drop_in_use::users(q, table, column).is_empty()
        {
            // Reported by drop-or-rename-in-use.
            continue;
        }
        out.push(format!(
            "{what}: {table} exists before this migration; code that still uses it fails once this runs"
        ));
    }
    out
}

/// Whether an earlier statement of this migration adds `column` to `table`.
fn added_here(ctx: &Ctx<'_>, table: &super::super::facts::Name, column: &str) -> bool {
    ctx.mig().stmts[..ctx.si].iter().any(|s| {
        s.facts.iter().any(
            |f| matches!(f, Fact::AddColumn { table: t, column: c, .. } if t.same(table) && c == column),
        )
    })
}
