//! `set-not-null-without-check`: `ALTER COLUMN c SET NOT NULL` on an existing table scans the
//! whole table under an ACCESS EXCLUSIVE lock, unless a validated `CHECK (c IS NOT NULL)`
//! already proves it (PostgreSQL 12+ then skips the scan). Such a check counts when an earlier
//! statement (of this or an earlier migration) added it to the table, and it was either added
//! without `NOT VALID` or validated (`VALIDATE CONSTRAINT name`) before this statement.

use super::super::Ctx;
use super::super::tokens::{alter_table_actions, find_seq, word_at};
use super::Rule;

/// The rule.
pub const RULE: Rule = Rule {
    name: "set-not-null-without-check",
    summary: "SET NOT NULL on an existing table without a validated CHECK (col IS NOT NULL) first",
    hint: "first ADD CONSTRAINT c_not_null CHECK (col IS NOT NULL) NOT VALID, then VALIDATE CONSTRAINT c_not_null (a later migration), then SET NOT NULL (and drop the check)",
    check,
};

fn check(ctx: &Ctx<'_>) -> Vec<String> {
    let Some((table, actions)) = ctx.alter_existing_table() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for a in actions {
        if !a.first().is_some_and(|t| t.is("alter"))
            || find_seq(a, &["set", "not", "null"]).is_none()
        {
            continue;
        }
        let column = if a.get(1).is_some_and(|t| t.is("column")) {
            word_at(a, 2)
        } else {
            word_at(a, 1)
        };
        let Some(column) = column else { continue };
        if !proven(ctx, &table, column) {
            out.push(format!(
                "SET NOT NULL on {table}.{column}, an existing table, without a validated CHECK ({column} IS NOT NULL): the whole table is scanned under an ACCESS EXCLUSIVE lock"
            ));
        }
    }
    out
}

/// Whether a validated `CHECK (column IS NOT NULL)` on `table` precedes the statement.
fn proven(ctx: &Ctx<'_>, table: &super::super::facts::Name, column: &str) -> bool {
    let before = ctx.migs[..=ctx.mi].iter().enumerate().flat_map(|(mi, m)| {
        let end = if mi == ctx.mi { ctx.si } else { m.stmts.len() };
        m.stmts[..end].iter()
    });
    // (constraint name, validated)
    let mut checks: Vec<(Option<String>, bool)> = Vec::new();
    for s in before {
        let Some((t, actions)) = alter_table_actions(&s.tokens) else {
            continue;
        };
        if !t.same(table) {
            continue;
        }
        for a in actions {
            if a.first().is_some_and(|x| x.is("add"))
                && let Some(k) = find_seq(a, &["check"])
                && word_at(a, k + 2) == Some(column)
                && find_seq(&a[k..], &["is", "not", "null"]) == Some(3)
            {
                let name = find_seq(a, &["constraint"])
                    .and_then(|c| word_at(a, c + 1))
                    .map(str::to_string);
                checks.push((name, find_seq(a, &["not", "valid"]).is_none()));
            } else if let Some(v) = find_seq(a, &["validate", "constraint"])
                && let Some(name) = word_at(a, v + 2)
            {
                for c in checks.iter_mut() {
                    if c.0.as_deref() == Some(name) {
                        c.1 = true;
                    }
                }
            }
        }
    }
    checks.iter().any(|c| c.1)
}
