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
    /// Set by validation on an up script that tokenizes and has no top-level transaction
    /// control: its migration's checksum then ([`Migration::checksum`]). While the checksum
    /// still matches, the script may share a message with other migrations without being
    /// tokenized again ([`crate::batch`]).
    pub(crate) shareable_checksum: Option<u64>,
}

/// One versioned migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Its version as recorded in the history table and compared: the file name's number, or
    /// for diesel the folder's version digits right-padded with zeros to 18 digits, so that
    /// numeric order is diesel's string order (see [`crate::DIESEL_VERSION_DIGITS`]).
    pub version: i64,
    /// The version as the layout's own tool writes it and as people see it: for diesel the
    /// folder's version without dashes (what `__diesel_schema_migrations` records, e.g.
    /// `20240131120000`), else the number.
    pub version_text: String,
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
        format!("{}_{}", self.version_text, self.name)
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
    /// Files the layout's own tool ignores, each with why (empty with `strict` discovery,
    /// which makes them errors). Show them to the user.
    pub warnings: Vec<crate::Problem>,
}

impl MigrationSet {
    /// Discover and validate the migrations in `dir`, detecting the layout.
    pub fn discover(dir: &Path) -> crate::Result<MigrationSet> {
        crate::discover::discover(dir, crate::DiscoverOptions::default())
    }

    /// Discover with an explicit layout (`None`: detect it).
    pub fn discover_with(dir: &Path, layout: Option<Layout>) -> crate::Result<MigrationSet> {
        crate::discover::discover(
            dir,
            crate::DiscoverOptions {
                layout,
                strict: false,
            },
        )
    }

    /// Discover with every option (layout, `strict`).
    pub fn discover_opts(
        dir: &Path,
        options: crate::DiscoverOptions,
    ) -> crate::Result<MigrationSet> {
        crate::discover::discover(dir, options)
    }

    /// The history version of `text` as a user types it (`--to`): a number, or for diesel a
    /// folder version with or without dashes (`2024-01-31-120000` or `20240131120000`). `0`
    /// stays 0 (before every migration).
    pub fn parse_version(&self, text: &str) -> Option<i64> {
        let digits = text.trim().replace('-', "");
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if digits.bytes().all(|b| b == b'0') {
            return Some(0);
        }
        match self.layout {
            Layout::Diesel => self
                .migrations
                .iter()
                .find(|m| m.version_text == digits)
                .map(|m| m.version)
                .or_else(|| crate::discover::diesel_history_version(&digits)),
            _ => digits.parse().ok(),
        }
    }

    /// How `version` is shown to people: the migration's [`Migration::version_text`] when it
    /// is in the folder, else the number.
    pub fn show_version(&self, version: i64) -> String {
        self.get(version)
            .map_or_else(|| version.to_string(), |m| m.version_text.clone())
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
