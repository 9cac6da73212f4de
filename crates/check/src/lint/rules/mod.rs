//! The lint rules, one module each. A rule looks at the facts of one statement (and, through
//! [`Ctx`], at the statements around it) and returns one message per problem.

pub mod column_type;
pub mod drop_in_use;
pub mod drop_rename;
pub mod enum_value;
pub mod index_concurrently;
pub mod not_null;
pub mod not_valid;
pub mod set_not_null;
pub mod unique_index;
pub mod volatile_default;

use super::Ctx;

/// A lint rule.
#[derive(Debug)]
pub struct Rule {
    /// Its name, as written in `-- check:allow NAME reason`.
    pub name: &'static str,
    /// What it catches, in one line (README, `--help`).
    pub summary: &'static str,
    /// How to fix what it reports.
    pub hint: &'static str,
    /// The check: one message per problem of the statement `ctx` points at.
    pub check: fn(&Ctx<'_>) -> Vec<String>,
}

/// Every rule, in the order findings are reported.
pub const RULES: &[&Rule] = &[
    &enum_value::RULE,
    &index_concurrently::RULE,
    &not_null::RULE,
    &volatile_default::RULE,
    &drop_in_use::RULE,
    &not_valid::RULE,
    &column_type::RULE,
    &unique_index::RULE,
    &set_not_null::RULE,
    &drop_rename::RULE,
];

/// The rule called `name`.
pub fn find(name: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.name == name)
}
