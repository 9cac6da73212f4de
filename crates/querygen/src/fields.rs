//! `fields`: the Rust field names of a query's parameters and result columns.
//!
//! Each parameter and column wants a field named after it ([`unique_fields`] makes them
//! distinct by a fixed rule), then the project's `gen.toml` may rename any of them
//! ([`FieldRenames`], `[queries.NAME.columns]` / `[queries.NAME.params]`), keyed by the name the
//! rule gave, which the generated doc comments show.

use codegen::naming::snake;
use std::collections::{BTreeMap, BTreeSet};

/// One `gen.toml` line renaming a field: `rule_name = "new_name"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRename {
    /// The name the rule gives (the key).
    pub from: String,
    /// The name to use instead.
    pub to: String,
    /// Where it was written (`gen.toml:12`), for messages.
    pub origin: String,
}

/// The renames for one query, from `[queries.NAME.columns]` and `[queries.NAME.params]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldRenames {
    /// Where the query's table starts (`gen.toml:10`), for a query that does not exist.
    pub origin: String,
    pub columns: Vec<FieldRename>,
    pub params: Vec<FieldRename>,
}

/// Which fields of a query are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Columns,
    Params,
}

impl FieldKind {
    fn section(self) -> &'static str {
        match self {
            FieldKind::Columns => "columns",
            FieldKind::Params => "params",
        }
    }
}

/// A rename that cannot be applied; the text says where and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenameError {
    pub origin: String,
    pub message: String,
}

/// The rule's names with `renames` applied. Every key must be one of the rule's names and the
/// result must stay distinct.
pub fn apply_renames(
    query: &str,
    kind: FieldKind,
    names: Vec<String>,
    renames: &[FieldRename],
) -> Result<Vec<String>, RenameError> {
    let mut out = names.clone();
    for r in renames {
        let Some(i) = names.iter().position(|n| *n == r.from) else {
            let known = if names.is_empty() {
                format!("query `{query}` has no {}", kind.section())
            } else {
                format!(
                    "its {} are: {}",
                    kind.section(),
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(RenameError {
                origin: r.origin.clone(),
                message: format!(
                    "[queries.{query}.{}] `{}`: query `{query}` has no field of this name \
                     (the key is the name gen would give, as the generated doc shows; {known})",
                    kind.section(),
                    r.from
                ),
            });
        };
        out[i] = r.to.clone();
    }
    let mut seen = BTreeSet::new();
    for (i, name) in out.iter().enumerate() {
        if !seen.insert(name.as_str()) {
            let first = out.iter().position(|n| n == name).unwrap_or(i);
            let origin = renames
                .iter()
                .find(|r| r.to == *name)
                .map_or_else(String::new, |r| r.origin.clone());
            return Err(RenameError {
                origin,
                message: format!(
                    "[queries.{query}.{}]: two fields would be named `{name}` (the {} and the \
                     {} of {}); choose another name",
                    kind.section(),
                    ordinal(first + 1),
                    ordinal(i + 1),
                    kind.section()
                ),
            });
        }
    }
    Ok(out)
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// Distinct field names for wanted (field, relation) pairs, in order; the rule for result
/// columns and parameters alike. Fields nobody else wants are kept. When several want one
/// field and each names a different relation, each becomes `relation_field` (`authors_id`,
/// `books_id`); otherwise the first keeps it and the others get `field_2`, `field_3`, ... A
/// made-up name that is taken already gets the next free `_n`.
pub fn unique_fields(wanted: &[(String, Option<String>)]) -> Result<Vec<String>, codegen::Error> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for (field, _) in wanted {
        *count.entry(field).or_default() += 1;
    }
    let mut taken: std::collections::BTreeSet<String> = wanted
        .iter()
        .filter(|(f, _)| count[f.as_str()] == 1)
        .map(|(f, _)| f.clone())
        .collect();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(wanted.len());
    for (field, _) in wanted {
        let n = count[field.as_str()];
        if n == 1 {
            out.push(field.clone());
            continue;
        }
        let group: Vec<Option<&String>> = wanted
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, r)| r.as_ref())
            .collect();
        let relations: std::collections::BTreeSet<&String> =
            group.iter().flatten().copied().collect();
        let k = seen.entry(field).or_default();
        *k += 1;
        let chosen = if relations.len() == n {
            let relation = group[*k - 1].expect("every member names a relation");
            let candidate = format!("{}_{field}", snake("relation", relation)?);
            let mut chosen = candidate.clone();
            let mut suffix = 2;
            while taken.contains(&chosen) {
                chosen = format!("{candidate}_{suffix}");
                suffix += 1;
            }
            chosen
        } else if *k == 1 && !taken.contains(field) {
            field.clone()
        } else {
            let mut suffix = (*k).max(2);
            while taken.contains(&format!("{field}_{suffix}")) {
                suffix += 1;
            }
            format!("{field}_{suffix}")
        };
        taken.insert(chosen.clone());
        out.push(chosen);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(wanted: &[(&str, Option<&str>)]) -> Vec<String> {
        let wanted: Vec<(String, Option<String>)> = wanted
            .iter()
            .map(|(f, r)| ((*f).to_owned(), r.map(str::to_owned)))
            .collect();
        unique_fields(&wanted).unwrap()
    }

    #[test]
    fn colliding_fields_take_their_relation_else_a_number() {
        // Different relations: each takes its relation's name.
        assert_eq!(
            names(&[
                ("id", Some("authors")),
                ("name", Some("authors")),
                ("id", Some("books"))
            ]),
            ["authors_id", "name", "books_id"]
        );
        // One relation twice (a self-join), or expressions: the first keeps the name.
        assert_eq!(
            names(&[("id", Some("e")), ("id", Some("e")), ("id", Some("e"))]),
            ["id", "id_2", "id_3"]
        );
        assert_eq!(
            names(&[("jsonb_build_array", None), ("jsonb_build_array", None)]),
            ["jsonb_build_array", "jsonb_build_array_2"]
        );
        assert_eq!(names(&[("id", Some("t")), ("id", None)]), ["id", "id_2"]);
        // Names that are taken already are skipped; a unique name is never changed.
        assert_eq!(
            names(&[
                ("authors_id", None),
                ("id", Some("authors")),
                ("id", Some("books"))
            ]),
            ["authors_id", "authors_id_2", "books_id"]
        );
        assert_eq!(
            names(&[("x", None), ("x", None), ("x_2", None)]),
            ["x", "x_3", "x_2"]
        );
        // Parameters (no relation): `@userId` and `@user_id`.
        assert_eq!(
            names(&[("user_id", None), ("user_id", None)]),
            ["user_id", "user_id_2"]
        );
    }
}
