//! History rows of diesel migrations written before versions were padded.
//!
//! Until diesel versions were stored right-padded to [`crate::DIESEL_VERSION_DIGITS`] digits
//! (so that numeric order is diesel's string order), a diesel migration's history version was
//! its folder's digits read as a number: `2024-01-31-120000_x` was recorded as
//! `20240131120000`, now `202401311200000000`. Such rows are found by their old number and
//! rewritten to the new version, with the checksum recomputed for the new version when the
//! recorded one matched the file under the old version (a changed file keeps its recorded
//! checksum, and is then reported as changed).

use postgres::Client;

use crate::checksum;
use crate::error::{Error, Result};
use crate::history::{HISTORY_TABLE, HistoryRow};
use crate::set::{Layout, MigrationSet};

/// One row to rewrite: its recorded version, and the row as it must read now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rewrite {
    pub old_version: i64,
    pub row: HistoryRow,
}

/// `rows` as the current encoding reads them (ascending by version), and the rewrites needed.
pub(crate) fn upgraded(
    set: &MigrationSet,
    rows: Vec<HistoryRow>,
) -> (Vec<HistoryRow>, Vec<Rewrite>) {
    if set.layout != Layout::Diesel {
        return (rows, Vec::new());
    }
    let mut out = Vec::with_capacity(rows.len());
    let mut rewrites = Vec::new();
    for row in rows {
        if set.get(row.version).is_some() {
            out.push(row);
            continue;
        }
        let legacy = set.migrations.iter().find(|m| {
            m.version != row.version && m.version_text.parse::<i64>().ok() == Some(row.version)
        });
        let Some(m) = legacy else {
            out.push(row);
            continue;
        };
        let unchanged = checksum::matches(row.checksum, row.version, &row.name, &m.up.sql)
            || checksum::matches(row.checksum, row.version, &m.refinery_name(), &m.up.sql);
        let new = HistoryRow {
            version: m.version,
            checksum: if unchanged {
                m.checksum()
            } else {
                row.checksum
            },
            ..row.clone()
        };
        rewrites.push(Rewrite {
            old_version: row.version,
            row: new.clone(),
        });
        out.push(new);
    }
    out.sort_by_key(|r| r.version);
    (out, rewrites)
}

/// Rewrite legacy rows in the database (in one transaction) and return the rows as they read
/// now. Call with the migration lock held.
pub(crate) fn apply(
    c: &mut Client,
    set: &MigrationSet,
    rows: Vec<HistoryRow>,
) -> Result<Vec<HistoryRow>> {
    let (rows, rewrites) = upgraded(set, rows);
    if rewrites.is_empty() {
        return Ok(rows);
    }
    let mut tx = c
        .transaction()
        .map_err(|e| Error::db("cannot begin a transaction", e))?;
    for r in &rewrites {
        tx.execute_typed(
            &format!("UPDATE {HISTORY_TABLE} SET version = $1, checksum = $2 WHERE version = $3"),
            &[
                (&r.row.version, postgres::types::Type::INT8),
                (&r.row.checksum.to_string(), postgres::types::Type::TEXT),
                (&r.old_version, postgres::types::Type::INT8),
            ],
        )
        .map_err(|e| {
            Error::db(
                format!(
                    "cannot rewrite history version {} as {} (diesel versions are now padded to {} digits)",
                    r.old_version,
                    r.row.version,
                    crate::DIESEL_VERSION_DIGITS
                ),
                e,
            )
        })?;
    }
    tx.commit()
        .map_err(|e| Error::db("cannot commit the rewritten history versions", e))?;
    Ok(rows)
}
