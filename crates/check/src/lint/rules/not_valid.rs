//! `constraint-without-not-valid`: a CHECK or FOREIGN KEY added to an existing table without
//! `NOT VALID`: every row is checked while an ACCESS EXCLUSIVE (CHECK) or SHARE ROW EXCLUSIVE
//! (FOREIGN KEY) lock is held.

use super::super::Ctx;
use super::super::facts::Fact;
use super::Rule;

/// The rule.
pub const RULE: Rule = Rule {
    name: "constraint-without-not-valid",
    summary: "a CHECK or FOREIGN KEY added to an existing table without NOT VALID",
    hint: "ADD CONSTRAINT ... NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT in a separate statement (it takes a weaker lock)",
    check,
};

fn check(ctx: &Ctx<'_>) -> Vec<String> {
    ctx.stmt()
        .facts
        .iter()
        .filter_map(|f| match f {
            Fact::AddConstraint {
                table,
                kind,
                name,
                not_valid: false,
                on_new_column,
            } if !ctx.created_here(table) => {
                let what = match name {
                    Some(n) => format!("{kind} constraint {n}"),
                    None => format!("a {kind} constraint"),
                };
                Some(match on_new_column {
                    Some(col) => format!(
                        "{what} is added to existing table {table} with new column {col}: every row is checked under lock (NOT VALID cannot be written on a column; add the column, then the constraint NOT VALID)"
                    ),
                    None => format!(
                        "{what} is added to existing table {table} without NOT VALID: every row is checked under lock"
                    ),
                })
            }
            _ => None,
        })
        .collect()
}
