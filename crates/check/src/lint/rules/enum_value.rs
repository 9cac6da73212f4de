//! `enum-value-used-in-transaction`: `ALTER TYPE ... ADD VALUE 'v'` followed, in the same
//! transaction, by a use of `'v'`. PostgreSQL refuses it ("unsafe use of new value") until
//! the transaction that added the value commits. In the default single-transaction mode the
//! rest of the migration and every following migration up to a `-- no-transaction` one share
//! the transaction.

use super::super::facts::Fact;
use super::super::{Ctx, place};
use super::Rule;

/// The rule.
pub const RULE: Rule = Rule {
    name: "enum-value-used-in-transaction",
    summary: "ALTER TYPE ... ADD VALUE whose new value is used later in the same transaction",
    hint: "add the value in its own migration whose first line is `-- no-transaction` (it then commits before anything uses it)",
    check,
};

fn check(ctx: &Ctx<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for f in &ctx.stmt().facts {
        let Fact::AddEnumValue { ty, value } = f else {
            continue;
        };
        let later = ctx.same_transaction_after();
        let used = later.iter().find(|(_, s)| {
            s.literals.contains(value)
                && !s
                    .facts
                    .iter()
                    .any(|f| matches!(f, Fact::AddEnumValue { .. }))
        });
        if let Some((m, s)) = used {
            out.push(format!(
                "enum value '{value}' is added to type {ty} here and used at {} in the same transaction: PostgreSQL rejects that use (unsafe use of new value) until this transaction commits",
                place(m.path(), s.line)
            ));
        }
    }
    out
}
