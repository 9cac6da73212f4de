//! refinery's history table, `refinery_schema_history`, read and written in refinery's format:
//! `version` (int8 here, int4 in a default refinery database: both are read), `name`,
//! `applied_on` (RFC 3339 text) and `checksum` (a `u64` as text).

use postgres::GenericClient;
use postgres::types::Type;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{Error, Result};

/// The history table's name, as refinery names it.
pub const HISTORY_TABLE: &str = "refinery_schema_history";

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HistoryRow {
    /// Version applied.
    pub version: i64,
    /// Name recorded (refinery's `\w+` form of the file's name).
    pub name: String,
    /// When, as recorded (RFC 3339).
    pub applied_on: String,
    /// Checksum recorded.
    pub checksum: u64,
}

/// Create the table when it does not exist (refinery's definition, with an int8 version).
pub fn ensure(c: &mut impl GenericClient) -> Result<()> {
    c.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (
             version int8 PRIMARY KEY,
             name VARCHAR(255),
             applied_on VARCHAR(255),
             checksum VARCHAR(255));"
    ))
    .map_err(|e| Error::db(format!("cannot create {HISTORY_TABLE}"), e))
}

/// Whether the history table exists (without creating it).
pub fn exists(c: &mut impl GenericClient) -> Result<bool> {
    let row = c
        .query_typed_one(
            "SELECT to_regclass($1) IS NOT NULL",
            &[(&HISTORY_TABLE, Type::TEXT)],
        )
        .map_err(|e| Error::db("cannot look up the history table", e))?;
    Ok(row.get(0))
}

/// Every row, ascending by version.
pub fn read(c: &mut impl GenericClient) -> Result<Vec<HistoryRow>> {
    let rows = c
        .query_typed(
            &format!(
                "SELECT version::int8, coalesce(name, ''), coalesce(applied_on, ''), coalesce(checksum, '')
                 FROM {HISTORY_TABLE} ORDER BY version"
            ),
            &[],
        )
        .map_err(|e| Error::db(format!("cannot read {HISTORY_TABLE}"), e))?;
    rows.into_iter()
        .map(|r| {
            let version: i64 = r.get(0);
            let checksum: String = r.get(3);
            Ok(HistoryRow {
                version,
                name: r.get(1),
                applied_on: r.get(2),
                checksum: checksum.trim().parse().map_err(|_| {
                    Error::History(format!(
                        "version {version} has checksum `{checksum}`, which is not a number"
                    ))
                })?,
            })
        })
        .collect()
}

/// Record a migration as applied, exactly as refinery does.
pub fn insert(c: &mut impl GenericClient, version: i64, name: &str, checksum: u64) -> Result<()> {
    let now = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .map_err(|e| Error::History(e.to_string()))?;
    c.execute_typed(
        &format!(
            "INSERT INTO {HISTORY_TABLE} (version, name, applied_on, checksum) VALUES ($1, $2, $3, $4)"
        ),
        &[
            (&version, Type::INT8),
            (&name, Type::TEXT),
            (&now, Type::TEXT),
            (&checksum.to_string(), Type::TEXT),
        ],
    )
    .map_err(|e| Error::db(format!("cannot record migration {version}"), e))?;
    Ok(())
}

/// Record a migration as applied at `applied_on` (RFC 3339), for `adopt` and `baseline`.
pub fn insert_at(
    c: &mut impl GenericClient,
    version: i64,
    name: &str,
    applied_on: &str,
    checksum: u64,
) -> Result<()> {
    c.execute_typed(
        &format!(
            "INSERT INTO {HISTORY_TABLE} (version, name, applied_on, checksum) VALUES ($1, $2, $3, $4)"
        ),
        &[
            (&version, Type::INT8),
            (&name, Type::TEXT),
            (&applied_on, Type::TEXT),
            (&checksum.to_string(), Type::TEXT),
        ],
    )
    .map_err(|e| Error::db(format!("cannot record migration {version}"), e))?;
    Ok(())
}

/// Forget a migration (after its down ran).
pub fn delete(c: &mut impl GenericClient, version: i64) -> Result<()> {
    c.execute_typed(
        &format!("DELETE FROM {HISTORY_TABLE} WHERE version = $1"),
        &[(&version, Type::INT8)],
    )
    .map_err(|e| Error::db(format!("cannot remove migration {version} from history"), e))?;
    Ok(())
}
