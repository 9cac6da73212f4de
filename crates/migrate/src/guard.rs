//! The run-time guard for scripts run in the runner's transaction, and the report when it
//! fires.
//!
//! Every script that runs in the runner's transaction is sent with `SELECT txid_current()`
//! before and after it, in the same round trip ([`GUARD_BEFORE`], [`GUARD_AFTER`]): the
//! transaction's id (assigned if it had none yet). The two values differ, or the first differs
//! from the id the transaction had when its first script ran, exactly when a script ended the
//! runner's transaction itself: a `COMMIT`, `ROLLBACK`, ... that validation did not see (the
//! static check refuses them), or something it called. The run then stops, the runner rolls
//! back whatever is still open, and [`describe`] asks the server (`txid_status`) what became
//! of the runner's transaction, so the report tells the truth about what is committed.

use postgres::{Client, GenericClient, SimpleQueryMessage};

use crate::checksum;
use crate::error::SqlFailure;
use crate::pgerror;
use crate::set::Script;

/// Sent in front of a script (see the module docs).
pub(crate) const GUARD_BEFORE: &str = "SELECT txid_current();\n";
/// Sent after a script. It starts with a newline so that a trailing `--` comment in the
/// script cannot swallow it.
pub(crate) const GUARD_AFTER: &str = "\n;SELECT txid_current()";

/// The column of the guard's `txid_current()` in front of a fixture sent in the same message
/// as its migration ([`crate::refinery_bridge::Bridge::with_fixture`]), so that its row is
/// told apart from the up's guard rows and from rows the scripts' own queries return.
pub(crate) const FIXTURE_COLUMN: &str = "migrate_fixture_xid";

/// Sent in front of a fixture that travels in its migration's message.
pub(crate) const FIXTURE_GUARD_BEFORE: &str = "SELECT txid_current() AS migrate_fixture_xid;\n";

/// The transaction id in front of a fixture that travelled in its migration's message.
pub(crate) fn fixture_xid(messages: &[SimpleQueryMessage]) -> Option<i64> {
    messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(r)
            if r.columns().len() == 1 && r.columns()[0].name() == FIXTURE_COLUMN =>
        {
            r.get(0).and_then(|v| v.parse().ok())
        }
        _ => None,
    })
}

/// The first and last transaction ids a guarded query returned.
pub(crate) fn xids(messages: &[SimpleQueryMessage]) -> Option<(i64, i64)> {
    let mut rows = messages.iter().filter_map(|m| match m {
        SimpleQueryMessage::Row(r) => r.get(0).and_then(|v| v.parse::<i64>().ok()),
        _ => None,
    });
    let first = rows.next()?;
    let last = rows.last().unwrap_or(first);
    Some((first, last))
}

/// `Some((reference, end))` when the ids show the transaction is no longer `reference` (which
/// is set from `start` when it is the transaction's first script).
pub(crate) fn check(reference: &mut Option<i64>, start: i64, end: i64) -> Option<(i64, i64)> {
    let r = *reference.get_or_insert(start);
    (start != r || end != r).then_some((r, end))
}

/// Why a guarded script did not complete.
#[derive(Debug)]
pub(crate) enum Guarded {
    /// Its SQL failed (located in its file).
    Failed(Box<SqlFailure>),
    /// It ended the runner's transaction: (the runner's transaction id, the id it ended in).
    Ended(i64, i64),
}

/// Run a whole script (fixture, down) in the runner's transaction, guarded.
pub(crate) fn run_script(
    c: &mut impl GenericClient,
    script: &Script,
    reference: &mut Option<i64>,
) -> Result<(), Guarded> {
    let sql = checksum::normalise(&script.sql);
    let messages = c
        .simple_query(&format!("{GUARD_BEFORE}{sql}{GUARD_AFTER}"))
        .map_err(|e| {
            Guarded::Failed(Box::new(pgerror::locate_prefixed(
                &e,
                &script.path,
                &sql,
                0,
                GUARD_BEFORE.chars().count(),
            )))
        })?;
    if let Some((start, end)) = xids(&messages)
        && let Some((r, e)) = check(reference, start, end)
    {
        return Err(Guarded::Ended(r, e));
    }
    Ok(())
}

/// Once the guard fired in `script`: roll back what is still open, and say what the server
/// committed. `before` names what the runner's transaction held before the script (e.g.
/// "migration(s) 1, 2"). Returns where the script ended the transaction (`COMMIT` at
/// file:line) and the sentences of the report.
pub(crate) fn describe(
    c: &mut Client,
    script: &Script,
    reference: i64,
    end: i64,
    before: Option<String>,
) -> (String, Vec<String>) {
    // Whatever the script left open is not ours to keep.
    let _ = c.batch_execute("ROLLBACK");
    let status = |xid: i64, c: &mut Client| -> String {
        c.query_typed_one(
            "SELECT txid_status($1)",
            &[(&xid, postgres::types::Type::INT8)],
        )
        .ok()
        .and_then(|r| r.get::<_, Option<String>>(0))
        .unwrap_or_else(|| "unknown".into())
    };
    let ours = status(reference, c);
    let theirs = status(end, c);
    let sql = checksum::normalise(&script.sql);
    let controls = crate::txcontrol::find(&sql);
    let ending = controls
        .iter()
        .find(|t| crate::txcontrol::ends_transaction(&t.keywords))
        .or(controls.first());
    let file = script.path.display().to_string();
    let at = match ending {
        Some(t) => format!("`{}` at {file}:{}", t.keywords, t.line),
        None => format!(
            "{file} has no top-level transaction control: something it ran (a procedure?) ended the transaction"
        ),
    };
    let mut held: Vec<String> = before.into_iter().collect();
    held.push(match ending {
        Some(t) => format!("the statements of {file} before line {}", t.line),
        None => format!("the statements of {file} run before that"),
    });
    let held = held.join(" and ");
    let mut outcome = vec![match ours.as_str() {
        "committed" => {
            format!("It COMMITTED the runner's transaction: {held} are in the database.")
        }
        "aborted" => {
            format!("It ROLLED BACK the runner's transaction: none of {held} is in the database.")
        }
        "in progress" => format!(
            "It left the runner's transaction PREPARED (PREPARE TRANSACTION): {held} are neither committed nor rolled back, and hold their locks until COMMIT PREPARED or ROLLBACK PREPARED (see pg_prepared_xacts)."
        ),
        other => format!(
            "What became of the runner's transaction ({held}) is unknown (txid_status: {other})."
        ),
    }];
    if let Some(t) = ending {
        let after = schema::split::split(&sql)
            .map(|s| s.iter().filter(|s| !s.meta && s.start > t.start).count())
            .unwrap_or(0);
        if after > 0 {
            outcome.push(format!(
                "Its {after} statement(s) after line {} ran outside the runner's transaction, in transaction(s) of their own; the last of them was {}.",
                t.line,
                match theirs.as_str() {
                    "committed" => "committed",
                    "aborted" => "rolled back",
                    "in progress" => "left prepared",
                    _ => "of unknown outcome",
                }
            ));
        }
    }
    (at, outcome)
}

/// The closing advice of every guard report.
pub(crate) fn advice(script: &Script) -> String {
    format!(
        "Remove the transaction control from {} (the runner owns the transaction) or make it `-- no-transaction`; check what of it is in the database and repair that by hand, then run again.",
        script.path.display()
    )
}

/// Versions recorded in the history table now, or why they cannot be read.
pub(crate) fn recorded_now(c: &mut Client) -> Result<Vec<i64>, String> {
    crate::history::exists(c)
        .and_then(|e| {
            if e {
                crate::history::read(c)
            } else {
                Ok(Vec::new())
            }
        })
        .map(|rows| rows.into_iter().map(|r| r.version).collect())
        .map_err(|e| format!("the history table could not be read ({e})"))
}
