//! What a statement does, as far as the rules care: extracted from sqlparser's AST
//! ([`super::ast`]) or, where sqlparser rejects the statement, from its tokens
//! ([`super::tokens`]). The rules only see facts, so both paths feed the same rules.

use std::fmt;

/// A possibly schema-qualified name, normalised as PostgreSQL does: unquoted parts folded to
/// lower case, quoted parts kept.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name {
    /// The schema, when written.
    pub schema: Option<String>,
    /// The object's own name.
    pub name: String,
}

impl Name {
    /// An unqualified name.
    pub fn bare(name: impl Into<String>) -> Self {
        Name {
            schema: None,
            name: name.into(),
        }
    }

    /// Whether two names can denote the same object: same name, and same schema when both
    /// are written (`users` matches `public.users`).
    pub fn same(&self, other: &Name) -> bool {
        self.name == other.name
            && match (&self.schema, &other.schema) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Kinds of constraints the rules care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    /// `CHECK (...)`.
    Check,
    /// `FOREIGN KEY ... REFERENCES` (or a column's `REFERENCES`).
    ForeignKey,
}

impl fmt::Display for ConstraintKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConstraintKind::Check => "CHECK",
            ConstraintKind::ForeignKey => "FOREIGN KEY",
        })
    }
}

/// One thing a statement does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// `CREATE TABLE name`.
    CreateTable {
        /// The table.
        table: Name,
    },
    /// `CREATE [MATERIALIZED] VIEW name`.
    CreateView {
        /// The view.
        view: Name,
    },
    /// `CREATE [UNIQUE] INDEX [CONCURRENTLY] ... ON table`.
    CreateIndex {
        /// The indexed table.
        table: Name,
        /// Written with `CONCURRENTLY`.
        concurrently: bool,
    },
    /// `ALTER TABLE table ADD [COLUMN] column ...`.
    AddColumn {
        /// The table.
        table: Name,
        /// The new column.
        column: String,
        /// Declared `NOT NULL` (or `PRIMARY KEY`).
        not_null: bool,
        /// The `DEFAULT` expression, as written.
        default: Option<String>,
        /// What else fills the column for existing rows: `serial`, identity, a stored
        /// generated expression.
        filled_by: Option<String>,
    },
    /// `ALTER TABLE table ADD [CONSTRAINT name] CHECK|FOREIGN KEY ... [NOT VALID]`, or a
    /// `CHECK`/`REFERENCES` on a column added by `ADD COLUMN`.
    AddConstraint {
        /// The table.
        table: Name,
        /// CHECK or FOREIGN KEY.
        kind: ConstraintKind,
        /// Its name, when written.
        name: Option<String>,
        /// Written with `NOT VALID`.
        not_valid: bool,
        /// Part of an `ADD COLUMN` (where `NOT VALID` cannot be written).
        on_new_column: Option<String>,
    },
    /// `DROP TABLE|VIEW|MATERIALIZED VIEW name`.
    DropRelation {
        /// What is dropped.
        relation: Name,
        /// `table`, `view` or `materialized view`.
        kind: &'static str,
    },
    /// `ALTER TABLE table DROP [COLUMN] column`.
    DropColumn {
        /// The table.
        table: Name,
        /// The column.
        column: String,
    },
    /// `ALTER TABLE|VIEW from RENAME TO to`.
    RenameRelation {
        /// The old name.
        from: Name,
        /// The new name.
        to: String,
    },
    /// `ALTER TABLE table RENAME [COLUMN] from TO to`.
    RenameColumn {
        /// The table.
        table: Name,
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// `ALTER TYPE ty ADD VALUE 'value'`.
    AddEnumValue {
        /// The enum type.
        ty: Name,
        /// The new label.
        value: String,
    },
}

/// Functions whose result differs per row (PostgreSQL `VOLATILE`) that appear in defaults:
/// adding a column with one of them as default rewrites the whole table.
pub const VOLATILE_FUNCTIONS: &[&str] = &[
    "random",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "txid_current",
    "pg_current_xact_id",
    "random_normal",
];

/// Column types that bring a sequence default (`nextval`), hence a rewrite.
pub const SERIAL_TYPES: &[&str] = &[
    "serial",
    "serial4",
    "bigserial",
    "serial8",
    "smallserial",
    "serial2",
];

/// The first volatile function a default expression calls, if any.
pub fn volatile_call(expr: &str) -> Option<String> {
    let tokens = super::tokens::tokenize(expr).ok()?;
    tokens.windows(2).find_map(|w| match (&w[0], &w[1]) {
        (super::tokens::Tok::Word { text, .. }, super::tokens::Tok::Punct('('))
            if VOLATILE_FUNCTIONS.contains(&text.as_str()) =>
        {
            Some(format!("{text}()"))
        }
        _ => None,
    })
}
