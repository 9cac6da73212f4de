//! The migration set: what discovery found, validated and ready to apply.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::checksum;

/// How a migration folder is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `NNNNNN_name.up.sql` + `NNNNNN_name.down.sql` (golang-migrate, sqlx, coder), fixtures in
    /// `fixtures/NNNNNN_name.sql`. Short (under 10 digit) versions must be contiguous.
    Paired,
    /// diesel: folders `VERSION_name/` with `up.sql`, `down.sql` and an optional
    /// `metadata.toml` (`run_in_transaction = false`). Versions compare with `-` and `_` removed.
    Diesel,
    /// refinery: `V{n}__name.sql`, up only.
    Refinery,
}

impl Layout {
    /// Whether migrations of this layout come with down scripts.
    pub fn has_downs(self) -> bool {
        !matches!(self, Layout::Refinery)
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Paired => "paired",
            Layout::Diesel => "diesel",
            Layout::Refinery => "refinery",
        })
    }
}

impl std::str::FromStr for Layout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "paired" | "up-down" => Ok(Layout::Paired),
            "diesel" => Ok(Layout::Diesel),
            "refinery" => Ok(Layout::Refinery),
            other => Err(format!(
                "unknown layout `{other}`: expected paired, diesel or refinery"
            )),
        }
    }
}

/// One SQL file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its text, exactly as in the file (CRLF kept; see [`crate::checksum`]).
    pub sql: String,
    /// First line says `-- no-transaction` (or diesel's `run_in_transaction = false`): the script
    /// runs outside a transaction, one statement at a time.
    pub no_transaction: bool,
}

/// One versioned migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Its version (for diesel, the digits of the folder's version part).
    pub version: i64,
    /// Its name as written in the file or folder name (any UTF-8, spaces included).
    pub name: String,
    /// The up script.
    pub up: Script,
    /// The down script, where the layout has one.
    pub down: Option<Script>,
    /// Test data inserted right after this migration (`fixtures/NNNNNN_name.sql`), if present.
    pub fixture: Option<Script>,
}

impl Migration {
    /// The name refinery records in its history table: the file's name with every character that
    /// refinery's `\w+` name grammar rejects (spaces, `-`, quotes...) replaced by `_`.
    pub fn refinery_name(&self) -> String {
        refinery_name(&self.name)
    }

    /// The checksum recorded for this migration (refinery's algorithm; see [`crate::checksum`]).
    pub fn checksum(&self) -> u64 {
        checksum::of(self.version, &self.refinery_name(), &self.up.sql)
    }

    /// `version_name`, as shown to people.
    pub fn label(&self) -> String {
        format!("{}_{}", self.version, self.name)
    }
}

pub(crate) fn refinery_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A validated migration folder, sorted by version.
#[derive(Debug, Clone)]
pub struct MigrationSet {
    /// The folder it was read from.
    pub dir: PathBuf,
    /// Its layout.
    pub layout: Layout,
    /// The migrations, ascending by version, versions unique.
    pub migrations: Vec<Migration>,
}

impl MigrationSet {
    /// Discover and validate the migrations in `dir`, detecting the layout.
    pub fn discover(dir: &Path) -> crate::Result<MigrationSet> {
        crate::discover::discover(dir, None)
    }

    /// Discover with an explicit layout (`None`: detect it).
    pub fn discover_with(dir: &Path, layout: Option<Layout>) -> crate::Result<MigrationSet> {
        crate::discover::discover(dir, layout)
    }

    /// The migration with this version.
    pub fn get(&self, version: i64) -> Option<&Migration> {
        self.migrations
            .binary_search_by_key(&version, |m| m.version)
            .ok()
            .map(|i| &self.migrations[i])
    }

    /// A stable hash of every version, name, up, down and fixture text: the key of a template
    /// database built from this set (16 lowercase hex characters).
    pub fn hash(&self) -> String {
        use std::hash::Hasher;
        let mut h = siphasher::sip128::SipHasher13::new();
        for m in &self.migrations {
            h.write_i64(m.version);
            for part in [
                Some(m.name.as_str()),
                Some(m.up.sql.as_str()),
                m.down.as_ref().map(|s| s.sql.as_str()),
                m.fixture.as_ref().map(|s| s.sql.as_str()),
            ] {
                let text = part.unwrap_or("\u{0}none");
                h.write_usize(text.len());
                h.write(text.as_bytes());
            }
        }
        use siphasher::sip128::Hasher128;
        format!("{:016x}", h.finish128().h1)
    }
}
