//! The schema model: what code generation needs to know about a database, and nothing about
//! how it was learned. Every list is sorted, so a model serialises byte-for-byte the same way
//! for the same schema.

use serde::{Deserialize, Serialize};
use std::fmt;

/// `schema.name`, unquoted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QualifiedName {
    pub schema: String,
    pub name: String,
}

impl QualifiedName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QualifiedName {
            schema: schema.into(),
            name: name.into(),
        }
    }

    /// The name as application code usually sees it: bare in `public`, `schema.name` elsewhere.
    pub fn display_name(&self) -> String {
        if self.schema == "public" {
            self.name.clone()
        } else {
            format!("{}.{}", self.schema, self.name)
        }
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// Flavours of a uniqueness guarantee; all three raise `unique_violation` (23505) naming
/// the constraint (or, for a bare unique index, the index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum UniqueFlavour {
    PrimaryKey,
    Constraint,
    /// `CREATE UNIQUE INDEX` not backing any constraint (partial and expression indexes too).
    Index,
}

/// What a named constraint is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ConstraintKind {
    Check,
    Unique(UniqueFlavour),
    ForeignKey,
    Exclude,
    /// A pseudo-constraint: a PL/pgSQL `RAISE ... USING CONSTRAINT = 'name'`.
    TriggerRaised {
        /// The SQLSTATE the `RAISE` sets (`P0001` when it sets none).
        sqlstate: String,
    },
}

impl ConstraintKind {
    /// The SQLSTATE PostgreSQL reports when this constraint is violated.
    pub fn sqlstate(&self) -> &str {
        match self {
            ConstraintKind::Check => "23514",
            ConstraintKind::Unique(_) => "23505",
            ConstraintKind::ForeignKey => "23503",
            ConstraintKind::Exclude => "23P01",
            ConstraintKind::TriggerRaised { sqlstate } => sqlstate,
        }
    }
}

/// What a constraint belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Owner {
    /// A table (also a partition, or a table reached by a trigger).
    Table(QualifiedName),
    /// A domain's `CHECK`.
    Domain(QualifiedName),
    /// A pseudo-constraint raised by a function that no trigger executes.
    Function(QualifiedName),
}

impl Owner {
    pub fn name(&self) -> &QualifiedName {
        match self {
            Owner::Table(n) | Owner::Domain(n) | Owner::Function(n) => n,
        }
    }
}

/// Where a constraint was learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Origin {
    /// `pg_constraint` or `pg_index`: the authority.
    Catalog,
    /// Only the parsed dump knows it (a cross-check failure; kept so nothing is ever missed).
    Dump,
    /// Extracted from a PL/pgSQL function body (and trigger arguments).
    Trigger,
}

/// For a pseudo-constraint: which function raises it, and through which trigger.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RaisedBy {
    /// The function, e.g. `public.guard()`.
    pub function: QualifiedName,
    /// The trigger whose argument supplies the name (`CONSTRAINT = TG_ARGV[n]`), or a trigger
    /// that executes the function (literal names).
    pub trigger: Option<String>,
}

/// One named constraint on one owner. The same name may appear several times: partitions
/// and inheritance children carry their parent's `CHECK` and `FOREIGN KEY` names, and two
/// tables may use one name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Constraint {
    pub name: String,
    pub kind: ConstraintKind,
    pub owner: Owner,
    /// `pg_get_constraintdef`/`pg_get_indexdef` text; for a pseudo-constraint, the `RAISE`
    /// statement (or the `CREATE TRIGGER` that supplies the name).
    pub definition: String,
    /// False for `NOT VALID` constraints.
    pub validated: bool,
    /// Cloned from a parent (a partition's copy of its parent's constraint, an inherited CHECK).
    pub inherited: bool,
    /// `COMMENT ON CONSTRAINT` text.
    pub comment: Option<String>,
    pub origin: Origin,
    pub raised_by: Option<RaisedBy>,
}

/// A PostgreSQL enum type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EnumType {
    pub name: QualifiedName,
    /// Labels in catalog order (`pg_enum.enumsortorder`), which is the type's sort order.
    pub labels: Vec<String>,
    pub comment: Option<String>,
}

/// A column's type, resolved through the catalog.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PgType {
    /// The type's name, e.g. `pg_catalog.int4`, `public.mood`, `pg_catalog._text`.
    pub name: QualifiedName,
    /// `format_type` text as SQL writes it, e.g. `character varying(40)`, `text[]`.
    pub sql: String,
    pub kind: PgTypeKind,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PgTypeKind {
    /// A base type (`typtype = 'b'`), e.g. `int4`, `text`, `uuid`.
    Base,
    Enum,
    Domain {
        base: Box<PgType>,
    },
    Array {
        element: Box<PgType>,
    },
    Composite,
    Range,
    Multirange,
    Pseudo,
}

/// What kind of relation a row struct describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RelationKind {
    Table,
    PartitionedTable,
    View,
    MaterializedView,
    ForeignTable,
    /// A composite type (`CREATE TYPE t AS (a int, b text)`): its attributes are the columns.
    Composite,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// `pg_attribute.attnum` (1-based; gaps where columns were dropped).
    pub position: i16,
    pub ty: PgType,
    /// `attnotnull`. Always false for view columns: PostgreSQL does not track it there.
    pub not_null: bool,
    pub has_default: bool,
    /// `a` (ALWAYS) or `d` (BY DEFAULT) for identity columns.
    pub identity: Option<String>,
    /// `GENERATED ALWAYS AS (...) STORED`.
    pub generated: bool,
    pub comment: Option<String>,
}

/// A table, view or materialized view. Partitions are not listed separately (their rows
/// have their parent's shape); their constraints are.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Relation {
    pub name: QualifiedName,
    pub kind: RelationKind,
    /// Columns in `attnum` order.
    pub columns: Vec<Column>,
    pub comment: Option<String>,
}

/// A user trigger (internal FK triggers excluded).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Trigger {
    pub name: String,
    pub table: QualifiedName,
    pub function: QualifiedName,
    /// The literal arguments of `EXECUTE FUNCTION f('a', 'b')`.
    pub args: Vec<String>,
    /// `pg_get_triggerdef`.
    pub definition: String,
}

/// A statement of the dump that sqlparser rejected. It is kept, never dropped.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Unparsed {
    /// 1-based line of the statement in the dump.
    pub line: usize,
    /// sqlparser's message.
    pub message: String,
    /// The statement text.
    pub sql: String,
    /// Constraint and unique-index names found in the statement by a token scan, so a
    /// statement sqlparser rejects still cannot hide one.
    pub constraint_names: Vec<String>,
}

/// The whole model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaModel {
    /// Sorted by (name, owner, kind).
    pub constraints: Vec<Constraint>,
    /// Sorted by name.
    pub enums: Vec<EnumType>,
    /// Sorted by name.
    pub relations: Vec<Relation>,
    /// Sorted by (table, name).
    pub triggers: Vec<Trigger>,
    /// Dump statements sqlparser rejected, in dump order.
    pub unparsed: Vec<Unparsed>,
    /// Things a human should look at: `RAISE ... CONSTRAINT = <expression>` that cannot be
    /// resolved, catalog/dump disagreements. Sorted.
    pub warnings: Vec<String>,
    /// What only the schema reference (`SCHEMA.md`) shows.
    #[serde(default)]
    pub reference: crate::reference::Reference,
}

impl SchemaModel {
    /// Sort every list into its canonical order.
    pub fn normalize(&mut self) {
        self.constraints.sort_by(|a, b| {
            (&a.name, &a.owner, &a.kind, &a.definition).cmp(&(
                &b.name,
                &b.owner,
                &b.kind,
                &b.definition,
            ))
        });
        self.constraints.dedup();
        self.enums.sort_by(|a, b| a.name.cmp(&b.name));
        self.relations.sort_by(|a, b| a.name.cmp(&b.name));
        self.triggers
            .sort_by(|a, b| (&a.table, &a.name).cmp(&(&b.table, &b.name)));
        self.warnings.sort();
        self.warnings.dedup();
    }

    /// Every distinct constraint name, sorted.
    pub fn constraint_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.constraints.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}
