//! `status`: every migration of the folder and of the history table, side by side.

use std::path::PathBuf;

use postgres::Client;

use crate::engine::{Migrator, checksum_ok};
use crate::error::Result;
use crate::history;

/// Where a migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Recorded in the history table and present in the folder.
    Applied,
    /// In the folder, not applied.
    Pending,
    /// Recorded as applied, but not in the folder.
    MissingFile,
}

/// Whether an applied migration's file still matches what was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChecksumState {
    /// Matches.
    Ok,
    /// The file changed after it was applied.
    Changed,
    /// Not applicable (pending, or no file).
    None,
}

/// One line of `status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatusRow {
    /// Version, as recorded in the history table.
    pub version: i64,
    /// Version as people see it (diesel: the folder's version without dashes).
    pub version_text: String,
    /// Name (the file's; the recorded one when the file is missing).
    pub name: String,
    /// Applied, pending or missing.
    pub state: State,
    /// When it was applied (RFC 3339, as recorded).
    pub applied_on: Option<String>,
    /// Checksum verdict.
    pub checksum: ChecksumState,
    /// Runs outside a transaction.
    pub no_transaction: bool,
    /// Its up file, when present.
    pub path: Option<PathBuf>,
}

impl Migrator<'_> {
    /// The status of every migration (no lock needed: it only reads).
    pub fn status(&self, client: &mut Client) -> Result<Vec<StatusRow>> {
        let applied = if history::exists(client)? {
            // Read only: legacy diesel rows are shown as they will be rewritten.
            crate::reencode::upgraded(self.set, history::read(client)?).0
        } else {
            Vec::new()
        };
        let mut rows: Vec<StatusRow> = self
            .set
            .migrations
            .iter()
            .map(|m| {
                let row = applied.iter().find(|r| r.version == m.version);
                StatusRow {
                    version: m.version,
                    version_text: m.version_text.clone(),
                    name: m.name.clone(),
                    state: if row.is_some() {
                        State::Applied
                    } else {
                        State::Pending
                    },
                    applied_on: row.map(|r| r.applied_on.clone()),
                    checksum: match row {
                        Some(r) if checksum_ok(m, r) => ChecksumState::Ok,
                        Some(_) => ChecksumState::Changed,
                        None => ChecksumState::None,
                    },
                    no_transaction: m.up.no_transaction,
                    path: Some(m.up.path.clone()),
                }
            })
            .collect();
        for r in &applied {
            if self.set.get(r.version).is_none() {
                rows.push(StatusRow {
                    version: r.version,
                    version_text: r.version.to_string(),
                    name: r.name.clone(),
                    state: State::MissingFile,
                    applied_on: Some(r.applied_on.clone()),
                    checksum: ChecksumState::None,
                    no_transaction: false,
                    path: None,
                });
            }
        }
        rows.sort_by_key(|r| r.version);
        Ok(rows)
    }
}
