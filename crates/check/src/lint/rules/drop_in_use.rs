//! `drop-or-rename-in-use`: `DROP`/`RENAME` of a table, view or column that the earlier
//! release's queries still use (see [`super::super::queries`]): while that release runs next
//! to the migrated schema (a rolling deploy), its queries fail. A relation dropped and created
//! again by the same migration (a view redefined) is not a drop.

use super::super::Ctx;
use super::super::facts::{Fact, Name};
use super::super::queries::QueryRef;
use super::Rule;

/// The rule.
pub const RULE: Rule = Rule {
    name: "drop-or-rename-in-use",
    summary: "DROP/RENAME of a table or column that the earlier release's queries still use",
    hint: "expand and contract: release code that no longer uses it first, then drop or rename it in a later migration",
    check,
};

/// The places of the queries that use `table` (and `column`).
pub fn users<'q>(queries: &'q [QueryRef], table: &Name, column: Option<&str>) -> Vec<&'q str> {
    queries
        .iter()
        .filter(|q| {
            q.idents.contains(&table.name) && column.is_none_or(|c| q.idents.contains(c) || q.star)
        })
        .map(|q| q.place.as_str())
        .collect()
}

fn list(places: &[&str]) -> String {
    let shown: Vec<&str> = places.iter().take(3).copied().collect();
    let more = places.len().saturating_sub(shown.len());
    let mut s = shown.join(", ");
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

fn check(ctx: &Ctx<'_>) -> Vec<String> {
    let Some(queries) = ctx.queries else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for f in &ctx.stmt().facts {
        let (what, places) = match f {
            Fact::DropRelation { relation, kind } if !ctx.recreated_later(relation) => (
                format!("DROP {} {relation}", kind.to_uppercase()),
                users(queries, relation, None),
            ),
            Fact::RenameRelation { from, to } => (
                format!("RENAME of {from} to {to}"),
                users(queries, from, None),
            ),
            Fact::DropColumn { table, column } if !ctx.column_readded_later(table, column) => (
                format!("DROP COLUMN {table}.{column}"),
                users(queries, table, Some(column)),
            ),
            Fact::RenameColumn { table, from, to } => (
                format!("RENAME of column {table}.{from} to {to}"),
                users(queries, table, Some(from)),
            ),
            _ => continue,
        };
        if !places.is_empty() {
            out.push(format!(
                "{what}: the earlier release's queries ({}) still use it: {}",
                ctx.release_label,
                list(&places)
            ));
        }
    }
    out
}
