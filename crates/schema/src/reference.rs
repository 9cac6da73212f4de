//! What a schema reference (`SCHEMA.md`) shows beyond what code generation needs: column
//! defaults, every index, foreign keys as columns and targets, and user functions with their
//! signatures. Read from `pg_catalog` like the rest of the model; extension members, system
//! schemas, excluded tables and partitions' copies of their parent's objects are left out.

use crate::catalog::{
    CatalogError, CatalogOptions, not_extension_member as no_extension, query as rows,
    user_schema as user_namespace,
};
use crate::model::QualifiedName;
use postgres::Client;
use serde::{Deserialize, Serialize};

/// A column's `DEFAULT` (or generation) expression.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ColumnDefault {
    pub relation: QualifiedName,
    pub column: String,
    /// `pg_get_expr` text, e.g. `now()`, `nextval('t_id_seq'::regclass)`.
    pub expression: String,
}

/// An index of a table (unique or not, backing a constraint or not).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Index {
    pub table: QualifiedName,
    pub name: String,
    /// `pg_get_indexdef`.
    pub definition: String,
    pub unique: bool,
    pub primary: bool,
    /// The constraint it backs (primary key, unique, exclusion), if any.
    pub constraint: Option<String>,
}

/// A foreign key as columns: `table (columns) → references (referenced_columns)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ForeignKey {
    pub name: String,
    pub table: QualifiedName,
    pub columns: Vec<String>,
    pub references: QualifiedName,
    pub referenced_columns: Vec<String>,
    /// Every referencing column is `NOT NULL`: a row always has a parent.
    pub required: bool,
    /// The referencing columns are the table's primary key or a unique key: at most one
    /// child per parent.
    pub unique: bool,
    /// The referencing columns are part of the table's primary key.
    pub identifying: bool,
    /// `pg_get_constraintdef`.
    pub definition: String,
}

/// A user function or procedure.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FunctionInfo {
    pub name: QualifiedName,
    /// `pg_get_function_arguments`.
    pub arguments: String,
    /// `pg_get_function_result`; `None` for a procedure.
    pub result: Option<String>,
    /// `function`, `procedure`, `aggregate` or `window`.
    pub kind: String,
    pub language: String,
    pub comment: Option<String>,
}

/// Everything the schema reference adds to the model, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    pub defaults: Vec<ColumnDefault>,
    pub indexes: Vec<Index>,
    pub foreign_keys: Vec<ForeignKey>,
    pub functions: Vec<FunctionInfo>,
}

/// Read the reference part of the catalog.
pub fn read_reference(
    client: &mut Client,
    options: &CatalogOptions,
) -> Result<Reference, CatalogError> {
    let mut reference = Reference::default();
    let not_partition = "NOT c.relispartition";
    let sql = format!(
        "SELECT n.nspname::text, c.relname::text, a.attname::text, pg_catalog.pg_get_expr(d.adbin, d.adrelid)
           FROM pg_catalog.pg_attrdef d
           JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
           JOIN pg_catalog.pg_class c ON c.oid = d.adrelid
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE NOT a.attisdropped AND {not_partition} AND {} AND {}",
        user_namespace("n"),
        no_extension("pg_class", "c.oid"),
    );
    for row in rows(client, "column defaults", &sql)? {
        let relation = QualifiedName::new(row.get::<_, String>(0), row.get::<_, String>(1));
        if options.excludes(&relation) {
            continue;
        }
        reference.defaults.push(ColumnDefault {
            relation,
            column: row.get(2),
            expression: row.get(3),
        });
    }
    let sql = format!(
        "SELECT n.nspname::text, c.relname::text, i.relname::text, pg_catalog.pg_get_indexdef(x.indexrelid),
                x.indisunique, x.indisprimary,
                (SELECT k.conname::text FROM pg_catalog.pg_constraint k
                  WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u', 'x') LIMIT 1)
           FROM pg_catalog.pg_index x
           JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
           JOIN pg_catalog.pg_class c ON c.oid = x.indrelid
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE {not_partition} AND NOT i.relispartition AND {} AND {}",
        user_namespace("n"),
        no_extension("pg_class", "c.oid"),
    );
    for row in rows(client, "indexes", &sql)? {
        let table = QualifiedName::new(row.get::<_, String>(0), row.get::<_, String>(1));
        if options.excludes(&table) {
            continue;
        }
        reference.indexes.push(Index {
            table,
            name: row.get(2),
            definition: row.get(3),
            unique: row.get(4),
            primary: row.get(5),
            constraint: row.get(6),
        });
    }
    let sql = format!(
        "SELECT k.conname::text, n.nspname::text, c.relname::text, rn.nspname::text, r.relname::text,
                ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(attnum, i)
                        JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.i),
                ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(attnum, i)
                        JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.i),
                NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey) AND NOT a.attnotnull),
                EXISTS (SELECT 1 FROM pg_catalog.pg_constraint u
                         WHERE u.conrelid = k.conrelid AND u.contype IN ('p', 'u')
                           AND u.conkey @> k.conkey AND u.conkey <@ k.conkey),
                EXISTS (SELECT 1 FROM pg_catalog.pg_constraint p
                         WHERE p.conrelid = k.conrelid AND p.contype = 'p' AND p.conkey @> k.conkey),
                pg_catalog.pg_get_constraintdef(k.oid)
           FROM pg_catalog.pg_constraint k
           JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_catalog.pg_class r ON r.oid = k.confrelid
           JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
          WHERE k.contype = 'f' AND k.conparentid = 0 AND {not_partition} AND NOT r.relispartition AND {}",
        user_namespace("n"),
    );
    for row in rows(client, "foreign keys", &sql)? {
        let table = QualifiedName::new(row.get::<_, String>(1), row.get::<_, String>(2));
        let references = QualifiedName::new(row.get::<_, String>(3), row.get::<_, String>(4));
        if options.excludes(&table) || options.excludes(&references) {
            continue;
        }
        reference.foreign_keys.push(ForeignKey {
            name: row.get(0),
            table,
            columns: row.get(5),
            references,
            referenced_columns: row.get(6),
            required: row.get(7),
            unique: row.get(8),
            identifying: row.get(9),
            definition: row.get(10),
        });
    }
    let sql = format!(
        "SELECT n.nspname::text, p.proname::text, pg_catalog.pg_get_function_arguments(p.oid),
                CASE WHEN p.prokind = 'p' THEN NULL ELSE pg_catalog.pg_get_function_result(p.oid) END,
                CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window' ELSE 'function' END,
                l.lanname::text, pg_catalog.obj_description(p.oid, 'pg_proc')
           FROM pg_catalog.pg_proc p
           JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
           JOIN pg_catalog.pg_language l ON l.oid = p.prolang
          WHERE {} AND {}",
        user_namespace("n"),
        no_extension("pg_proc", "p.oid"),
    );
    for row in rows(client, "functions", &sql)? {
        reference.functions.push(FunctionInfo {
            name: QualifiedName::new(row.get::<_, String>(0), row.get::<_, String>(1)),
            arguments: row.get(2),
            result: row.get(3),
            kind: row.get(4),
            language: row.get(5),
            comment: row.get(6),
        });
    }
    reference.sort();
    Ok(reference)
}

impl Reference {
    /// Sort every list into its canonical order.
    pub fn sort(&mut self) {
        self.defaults.sort();
        self.indexes.sort();
        self.foreign_keys.sort();
        self.functions.sort();
    }
}
