//! Taking over a database another tool migrated (`adopt`), or one with no history at all
//! (`baseline`), without running any migration SQL.
//!
//! `adopt` reads the other tool's history table, checks it against the folder and writes our
//! history rows (today's checksums) for exactly the migrations it records, in one transaction
//! under the migration lock. The other tool's table is left as it is. Supported:
//!
//! | tool | table | what it records |
//! | --- | --- | --- |
//! | diesel | `__diesel_schema_migrations (version varchar(50), run_on timestamp)` | a row per applied migration, the folder's version without dashes |
//! | golang-migrate | `schema_migrations (version bigint, dirty boolean)` | one row: the current version (everything up to it is applied) |
//! | sqlx | `_sqlx_migrations (version bigint, description, installed_on, success, checksum bytea, execution_time)` | a row per migration, `success = false` when it failed half-way |
//! | refinery | `refinery_schema_history` with an `int4` version | refinery's own rows (our table, in a default refinery build's format) |
//!
//! Nothing is changed when the other tool's history is dirty (a golang-migrate `dirty` row, a
//! sqlx row with `success = false`), records a version the folder lacks, leaves out a folder
//! migration older than its newest one, or when the database already has our history.

use std::fmt;

use postgres::types::Type;
use postgres::{Client, GenericClient};

use crate::engine::{Migrator, checksum_ok};
use crate::error::{Error, Result};
use crate::history::{self, HISTORY_TABLE};
use crate::set::Migration;

/// A migration tool whose history table `adopt` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    /// diesel (`__diesel_schema_migrations`).
    Diesel,
    /// golang-migrate (`schema_migrations` with `version` and `dirty`).
    GolangMigrate,
    /// sqlx (`_sqlx_migrations`).
    Sqlx,
    /// refinery's own table with `int4` versions (a default refinery build).
    Refinery,
}

impl Tool {
    /// Every tool, in detection order.
    pub const ALL: [Tool; 4] = [
        Tool::Diesel,
        Tool::GolangMigrate,
        Tool::Sqlx,
        Tool::Refinery,
    ];

    /// The history table the tool keeps.
    pub fn table(self) -> &'static str {
        match self {
            Tool::Diesel => "__diesel_schema_migrations",
            Tool::GolangMigrate => "schema_migrations",
            Tool::Sqlx => "_sqlx_migrations",
            Tool::Refinery => HISTORY_TABLE,
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tool::Diesel => "diesel",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Sqlx => "sqlx",
            Tool::Refinery => "refinery",
        })
    }
}

impl std::str::FromStr for Tool {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "diesel" => Ok(Tool::Diesel),
            "golang-migrate" | "migrate" => Ok(Tool::GolangMigrate),
            "sqlx" => Ok(Tool::Sqlx),
            "refinery" => Ok(Tool::Refinery),
            other => Err(format!(
                "unknown tool `{other}`: expected diesel, golang-migrate, sqlx or refinery"
            )),
        }
    }
}

/// Why `adopt` or `baseline` refused; in every case the database was not changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdoptError {
    /// No other tool's history table was found.
    #[error(
        "no history table of diesel, golang-migrate, sqlx or refinery (int4) in this database; nothing was changed.\n  For a database whose schema was made by hand or restored from a dump, record it with `cargo xtask migrate baseline --to VERSION`."
    )]
    NothingToAdopt,
    /// More than one tool's table was found.
    #[error(
        "history tables of several tools found ({}); nothing was changed.\n  Say which one to adopt with --from TOOL.",
        .0.iter().map(|t| format!("{t}: {}", t.table())).collect::<Vec<_>>().join(", ")
    )]
    Ambiguous(Vec<Tool>),
    /// `--from TOOL` named a tool whose table is not there.
    #[error("--from {tool}: this database has no {} table; nothing was changed", tool.table())]
    NotFound {
        /// The tool asked for.
        tool: Tool,
    },
    /// The database already has our history.
    #[error(
        "the database already has a migration history ({HISTORY_TABLE}, {rows} row(s)); nothing was changed.\n  It needs no adopting: `cargo xtask migrate status` shows where it stands."
    )]
    AlreadyAdopted {
        /// Rows in our history table.
        rows: i64,
    },
    /// golang-migrate's row is dirty, or a sqlx migration did not succeed.
    #[error(
        "{tool} marks version {version} as dirty (it failed half-way; {}); nothing was changed.\n  Repair the schema by hand, clear the flag with {tool} ({}), then adopt again.",
        tool.table(),
        match tool { Tool::GolangMigrate => "`migrate force VERSION`", _ => "delete or fix its row" }
    )]
    Dirty {
        /// The tool.
        tool: Tool,
        /// The dirty version.
        version: String,
    },
    /// A recorded version has no migration in the folder.
    #[error(
        "{tool} recorded version {version} as applied ({}), but {dir} has no such migration; nothing was changed.\n  Use the folder this database was migrated from (--dir), or restore the missing migration.",
        tool.table()
    )]
    MissingFromFolder {
        /// The tool.
        tool: Tool,
        /// The recorded version, as the tool wrote it.
        version: String,
        /// The folder searched.
        dir: String,
    },
    /// Folder migrations older than the newest recorded one are not recorded.
    #[error(
        "{tool} has version {newest} applied but not these older migrations of the folder: {}; nothing was changed.\n  Apply them with {tool} first (they would be pending below the newest applied one, which `migrate` refuses), or remove them from the folder if they are not meant to run.",
        missing.join(", ")
    )]
    NotRecorded {
        /// The tool.
        tool: Tool,
        /// The newest recorded version.
        newest: String,
        /// The unrecorded migrations' files.
        missing: Vec<String>,
    },
    /// A recorded checksum says the migration's file changed after it was applied.
    #[error(
        "{tool} applied {path} with checksum {recorded}, the file now has {current}: it changed after it was applied; nothing was changed.\n  Restore the file as it was applied, then adopt again."
    )]
    Changed {
        /// The tool.
        tool: Tool,
        /// The changed file.
        path: String,
        /// What the tool recorded.
        recorded: String,
        /// The file's checksum now (in the tool's algorithm).
        current: String,
    },
    /// `baseline` on a database another tool manages.
    #[error(
        "this database has {tool}'s history table {}; nothing was changed.\n  Take it over with `cargo xtask migrate adopt` instead of baseline.",
        tool.table()
    )]
    ForeignHistory {
        /// The tool found.
        tool: Tool,
    },
    /// `baseline --to` a version that is not in the folder.
    #[error(
        "baseline --to {version}: {dir} has no migration with this version; nothing was changed"
    )]
    UnknownVersion {
        /// The version given.
        version: String,
        /// The folder.
        dir: String,
    },
}

/// A migration `adopt` or `baseline` records (or would record, with `dry_run`) as applied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Recorded {
    /// History version.
    pub version: i64,
    /// The version as people see it.
    pub version_text: String,
    /// Its name.
    pub name: String,
    /// When it was applied, as the other tool recorded it (RFC 3339), else now.
    pub applied_on: String,
}

/// What `adopt` did (or would do).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Adoption {
    /// The tool whose history was read.
    pub tool: Tool,
    /// The migrations recorded in our history, ascending.
    pub recorded: Vec<Recorded>,
    /// Nothing was written (`dry_run`).
    pub dry_run: bool,
}

/// What the other tool says is applied.
enum Foreign {
    /// A row per applied migration: (version as written, applied_on, checksum check).
    Rows(Vec<ForeignRow>),
    /// golang-migrate: everything up to this version.
    UpTo(Option<i64>),
}

struct ForeignRow {
    version: String,
    applied_on: Option<String>,
    /// sqlx's SHA-384 of the up script, checked against the file.
    sha384: Option<Vec<u8>>,
}

fn db(context: &str) -> impl FnOnce(postgres::Error) -> Error + '_ {
    move |e| Error::db(context, e)
}

fn table_exists(c: &mut impl GenericClient, table: &str) -> Result<bool> {
    Ok(c.query_typed_one(
        "SELECT to_regclass($1) IS NOT NULL",
        &[(&table, Type::TEXT)],
    )
    .map_err(db("cannot look up history tables"))?
    .get(0))
}

fn column_type(c: &mut impl GenericClient, table: &str, column: &str) -> Result<Option<String>> {
    Ok(c.query_typed_opt(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
         WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped",
        &[(&table, Type::TEXT), (&column, Type::TEXT)],
    )
    .map_err(db("cannot look up history tables"))?
    .map(|r| r.get(0)))
}

/// Rows in our history table, when it is ours (int8 versions); `None` when absent or int4.
fn our_rows(c: &mut impl GenericClient) -> Result<Option<i64>> {
    if column_type(c, HISTORY_TABLE, "version")?.as_deref() != Some("bigint") {
        return Ok(None);
    }
    Ok(Some(
        c.query_typed_one(&format!("SELECT count(*) FROM {HISTORY_TABLE}"), &[])
            .map_err(db("cannot read the history table"))?
            .get(0),
    ))
}

/// The other tools' tables present in the database.
fn detect(c: &mut impl GenericClient) -> Result<Vec<Tool>> {
    let mut found = Vec::new();
    for tool in Tool::ALL {
        let present = match tool {
            Tool::Diesel | Tool::Sqlx => table_exists(c, tool.table())?,
            Tool::GolangMigrate => column_type(c, tool.table(), "dirty")?.is_some(),
            Tool::Refinery => {
                column_type(c, HISTORY_TABLE, "version")?.as_deref() == Some("integer")
            }
        };
        if present {
            found.push(tool);
        }
    }
    Ok(found)
}

const RFC3339_UTC: &str = r#"'YYYY-MM-DD"T"HH24:MI:SS"Z"'"#;

fn read_foreign(c: &mut impl GenericClient, tool: Tool) -> Result<Foreign> {
    let context = format!("cannot read {}", tool.table());
    let rows = match tool {
        Tool::Diesel => c.query_typed(
            &format!(
                "SELECT version::text, to_char(run_on AT TIME ZONE 'UTC', {RFC3339_UTC}), NULL::bytea, true
                 FROM __diesel_schema_migrations ORDER BY version"
            ),
            &[],
        ),
        Tool::Sqlx => c.query_typed(
            &format!(
                "SELECT version::text, to_char(installed_on AT TIME ZONE 'UTC', {RFC3339_UTC}), checksum, success
                 FROM _sqlx_migrations ORDER BY version"
            ),
            &[],
        ),
        Tool::Refinery => c.query_typed(
            &format!(
                "SELECT version::text, applied_on::text, NULL::bytea, true FROM {HISTORY_TABLE} ORDER BY version"
            ),
            &[],
        ),
        Tool::GolangMigrate => {
            let rows = c
                .query_typed("SELECT version::int8, dirty FROM schema_migrations", &[])
                .map_err(|e| Error::db(context.clone(), e))?;
            return match rows.as_slice() {
                [] => Ok(Foreign::UpTo(None)),
                [row] => {
                    let version: i64 = row.get(0);
                    if row.get::<_, bool>(1) {
                        return Err(AdoptError::Dirty {
                            tool,
                            version: version.to_string(),
                        }
                        .into());
                    }
                    Ok(Foreign::UpTo(Some(version)))
                }
                _ => Err(Error::History(format!(
                    "schema_migrations has {} rows; golang-migrate keeps exactly one (the current version)",
                    rows.len()
                ))),
            };
        }
    }
    .map_err(|e| Error::db(context, e))?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let version: String = r.get(0);
        if !r.get::<_, bool>(3) {
            return Err(AdoptError::Dirty { tool, version }.into());
        }
        out.push(ForeignRow {
            version,
            applied_on: r.get(1),
            sha384: r.get(2),
        });
    }
    Ok(Foreign::Rows(out))
}

impl Migrator<'_> {
    /// Take over a database another tool migrated: check its history table against the folder
    /// and record exactly the migrations it applied in ours, without running any migration
    /// SQL. `from`: the tool (default: the one whose table is found). `dry_run`: check and
    /// report, write nothing. Refusals ([`AdoptError`]) change nothing.
    pub fn adopt(
        &self,
        client: &mut Client,
        from: Option<Tool>,
        dry_run: bool,
    ) -> Result<Adoption> {
        self.locked_if_present(client, |c| {
            if let Some(rows) = our_rows(c)?
                && rows > 0
            {
                return Err(AdoptError::AlreadyAdopted { rows }.into());
            }
            let found = detect(c)?;
            let tool = match (from, found.as_slice()) {
                (Some(t), found) if found.contains(&t) => t,
                (Some(t), _) => return Err(AdoptError::NotFound { tool: t }.into()),
                (None, []) => return Err(AdoptError::NothingToAdopt.into()),
                (None, [one]) => *one,
                (None, many) => return Err(AdoptError::Ambiguous(many.to_vec()).into()),
            };
            let foreign = read_foreign(c, tool)?;
            let chosen = self.check_foreign(c, tool, &foreign)?;
            let now = now()?;
            let recorded: Vec<Recorded> = chosen
                .iter()
                .map(|(m, applied_on)| Recorded {
                    version: m.version,
                    version_text: m.version_text.clone(),
                    name: m.name.clone(),
                    applied_on: applied_on.clone().unwrap_or_else(|| now.clone()),
                })
                .collect();
            if !dry_run {
                let mut tx = c.transaction().map_err(db("cannot begin a transaction"))?;
                if tool == Tool::Refinery {
                    // refinery's own table becomes ours: int8 versions, today's checksums.
                    tx.batch_execute(&format!(
                        "ALTER TABLE {HISTORY_TABLE} ALTER COLUMN version TYPE int8"
                    ))
                    .map_err(db("cannot widen refinery_schema_history.version to int8"))?;
                    for (m, _) in &chosen {
                        tx.execute_typed(
                            &format!("UPDATE {HISTORY_TABLE} SET checksum = $1 WHERE version = $2"),
                            &[
                                (&m.checksum().to_string(), Type::TEXT),
                                (&m.version, Type::INT8),
                            ],
                        )
                        .map_err(db("cannot rewrite a checksum"))?;
                    }
                } else {
                    history::ensure(&mut tx)?;
                    for r in &recorded {
                        let m = self.set.get(r.version).expect("chosen from the set");
                        history::insert_at(
                            &mut tx,
                            m.version,
                            &m.refinery_name(),
                            &r.applied_on,
                            m.checksum(),
                        )?;
                    }
                }
                tx.commit()
                    .map_err(db("cannot commit the adopted history"))?;
            }
            Ok(Adoption {
                tool,
                recorded,
                dry_run,
            })
        })
    }

    /// The folder's migrations the other tool applied, with when; or why not.
    fn check_foreign(
        &self,
        c: &mut Client,
        tool: Tool,
        foreign: &Foreign,
    ) -> Result<Vec<(&Migration, Option<String>)>> {
        let dir = self.set.dir.display().to_string();
        let find = |v: &str| {
            self.set.migrations.iter().find(|m| {
                m.version_text == v
                    || (v.parse::<i64>().is_ok()
                        && m.version_text.parse::<i64>().ok() == v.parse().ok())
            })
        };
        let mut chosen: Vec<(&Migration, Option<String>)> = Vec::new();
        match foreign {
            Foreign::UpTo(None) => {}
            Foreign::UpTo(Some(v)) => {
                let text = v.to_string();
                let Some(newest) = find(&text) else {
                    return Err(AdoptError::MissingFromFolder {
                        tool,
                        version: text,
                        dir,
                    }
                    .into());
                };
                chosen.extend(
                    self.set
                        .migrations
                        .iter()
                        .filter(|m| m.version <= newest.version)
                        .map(|m| (m, None)),
                );
            }
            Foreign::Rows(rows) => {
                for r in rows {
                    let Some(m) = find(&r.version) else {
                        return Err(AdoptError::MissingFromFolder {
                            tool,
                            version: r.version.clone(),
                            dir,
                        }
                        .into());
                    };
                    if let Some(recorded) = &r.sha384 {
                        let current = sha384(c, &m.up.sql)?;
                        if &current != recorded {
                            return Err(AdoptError::Changed {
                                tool,
                                path: m.up.path.display().to_string(),
                                recorded: hex(recorded),
                                current: hex(&current),
                            }
                            .into());
                        }
                    }
                    chosen.push((m, r.applied_on.clone()));
                }
                chosen.sort_by_key(|(m, _)| m.version);
                if let Some((newest, _)) = chosen.last() {
                    let missing: Vec<String> = self
                        .set
                        .migrations
                        .iter()
                        .filter(|m| m.version < newest.version)
                        .filter(|m| !chosen.iter().any(|(c, _)| c.version == m.version))
                        .map(|m| m.up.path.display().to_string())
                        .collect();
                    if !missing.is_empty() {
                        return Err(AdoptError::NotRecorded {
                            tool,
                            newest: newest.version_text.clone(),
                            missing,
                        }
                        .into());
                    }
                }
            }
        }
        if tool == Tool::Refinery {
            let rows = history::read(c)?;
            for row in &rows {
                let m = self.set.get(row.version).expect("found above");
                if !checksum_ok(m, row) {
                    return Err(AdoptError::Changed {
                        tool,
                        path: m.up.path.display().to_string(),
                        recorded: row.checksum.to_string(),
                        current: m.checksum().to_string(),
                    }
                    .into());
                }
            }
        }
        Ok(chosen)
    }

    /// Record every migration up to and including `to` as applied, for a database with no
    /// history table at all (schema made by hand, or restored from a dump). Runs no migration
    /// SQL; refuses ([`AdoptError`]) and changes nothing when the database has a history.
    pub fn baseline(&self, client: &mut Client, to: i64, dry_run: bool) -> Result<Vec<Recorded>> {
        self.locked_if_present(client, |c| {
            if let Some(rows) = our_rows(c)?
                && rows > 0
            {
                return Err(AdoptError::AlreadyAdopted { rows }.into());
            }
            if let Some(tool) = detect(c)?.into_iter().next() {
                return Err(AdoptError::ForeignHistory { tool }.into());
            }
            if self.set.get(to).is_none() {
                return Err(AdoptError::UnknownVersion {
                    version: self.set.show_version(to),
                    dir: self.set.dir.display().to_string(),
                }
                .into());
            }
            let now = now()?;
            let chosen: Vec<&Migration> = self
                .set
                .migrations
                .iter()
                .filter(|m| m.version <= to)
                .collect();
            if !dry_run {
                let mut tx = c.transaction().map_err(db("cannot begin a transaction"))?;
                history::ensure(&mut tx)?;
                for m in &chosen {
                    history::insert_at(&mut tx, m.version, &m.refinery_name(), &now, m.checksum())?;
                }
                tx.commit().map_err(db("cannot commit the baseline"))?;
            }
            Ok(chosen
                .into_iter()
                .map(|m| Recorded {
                    version: m.version,
                    version_text: m.version_text.clone(),
                    name: m.name.clone(),
                    applied_on: now.clone(),
                })
                .collect())
        })
    }
}

fn now() -> Result<String> {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| Error::History(e.to_string()))
}

/// SHA-384 of a script as sqlx computes it (of the file's text), by the server.
fn sha384(c: &mut impl GenericClient, sql: &str) -> Result<Vec<u8>> {
    Ok(c.query_typed_one(
        "SELECT sha384(convert_to($1, 'UTF8'))",
        &[(&sql, Type::TEXT)],
    )
    .map_err(db("cannot hash a migration"))?
    .get(0))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
