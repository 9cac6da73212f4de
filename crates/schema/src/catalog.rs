//! Read the schema from `pg_catalog`: the authority for completeness.
//!
//! Covered: every constraint in `pg_constraint` of kind CHECK (incl. `NOT VALID` and domain
//! checks), PRIMARY KEY, UNIQUE, FOREIGN KEY and EXCLUDE; unique indexes that back no
//! constraint; enums with labels in `enumsortorder`; tables, partitioned tables, views,
//! materialized views, foreign tables and composite types (`CREATE TYPE t AS (...)`) with their
//! columns; `COMMENT ON` texts; user triggers
//! with their literal arguments; PL/pgSQL function bodies (for pseudo-constraints).
//!
//! Not covered, on purpose: system schemas (`pg_catalog`, `information_schema`, `pg_toast*`,
//! `pg_temp*`); relations, types and functions that belong to an extension (pg_dump leaves them
//! out too; their constraints are still read); NOT NULL constraints that PostgreSQL 18 lists in
//! `pg_constraint` (a NOT NULL violation names a column, not a constraint); constraint triggers
//! (`contype = 't'`: they are triggers, whose raised names come from their functions).

use crate::model::{
    Column, Constraint, ConstraintKind, EnumType, Origin, Owner, PgType, PgTypeKind, QualifiedName,
    Relation, RelationKind, Trigger, UniqueFlavour,
};
use postgres::Client;
use std::collections::{BTreeMap, HashMap};

/// Which objects to leave out of the model.
#[derive(Debug, Clone, Default)]
pub struct CatalogOptions {
    /// Tables to ignore with their columns, constraints and triggers: a bare name matches in
    /// every schema, `schema.name` matches exactly. Used for the migration history table.
    pub exclude_tables: Vec<String>,
}

impl CatalogOptions {
    pub(crate) fn excludes(&self, table: &QualifiedName) -> bool {
        self.exclude_tables
            .iter()
            .any(|pattern| match pattern.split_once('.') {
                Some((schema, name)) => table.schema == schema && table.name == name,
                None => table.name == *pattern,
            })
    }
}

/// A PL/pgSQL function.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Function {
    pub name: QualifiedName,
    /// `pg_get_function_identity_arguments`, e.g. `t text`.
    pub arguments: String,
    /// `prosrc`: the body exactly as written.
    pub body: String,
}

impl Function {
    /// `schema.name(arguments)`.
    pub fn signature(&self) -> String {
        format!("{}({})", self.name, self.arguments)
    }
}

/// Everything read from the catalog, sorted.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub constraints: Vec<Constraint>,
    pub enums: Vec<EnumType>,
    pub relations: Vec<Relation>,
    pub triggers: Vec<Trigger>,
    pub functions: Vec<Function>,
}

/// A catalog query failed.
#[derive(Debug, thiserror::Error)]
#[error("reading {what} from pg_catalog failed: {source}")]
pub struct CatalogError {
    pub what: &'static str,
    #[source]
    pub source: postgres::Error,
}

/// Namespace filter for a `pg_namespace` alias.
pub(crate) fn user_schema(alias: &str) -> String {
    format!(
        "{alias}.nspname <> 'pg_catalog' AND {alias}.nspname <> 'information_schema' \
         AND {alias}.nspname NOT LIKE 'pg\\_toast%' AND {alias}.nspname NOT LIKE 'pg\\_temp\\_%'"
    )
}

/// `NOT EXISTS` an extension membership for `oid` in catalog `class`.
pub(crate) fn not_extension_member(class: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep WHERE dep.classid = 'pg_catalog.{class}'::pg_catalog.regclass \
         AND dep.objid = {oid} AND dep.deptype = 'e')"
    )
}

pub(crate) fn query(
    client: &mut Client,
    what: &'static str,
    sql: &str,
) -> Result<Vec<postgres::Row>, CatalogError> {
    client
        .query(sql, &[])
        .map_err(|source| CatalogError { what, source })
}

/// Read the whole catalog in a handful of queries.
pub fn read_catalog(
    client: &mut Client,
    options: &CatalogOptions,
) -> Result<Catalog, CatalogError> {
    let mut constraints = read_constraints(client, options)?;
    constraints.extend(read_unique_indexes(client, options)?);
    constraints.sort();
    let enums = read_enums(client)?;
    let relations = read_relations(client, options)?;
    let triggers = read_triggers(client, options)?;
    let functions = read_functions(client)?;
    Ok(Catalog {
        constraints,
        enums,
        relations,
        triggers,
        functions,
    })
}

fn read_constraints(
    client: &mut Client,
    options: &CatalogOptions,
) -> Result<Vec<Constraint>, CatalogError> {
    let sql = format!(
        "SELECT c.conname::text, c.contype::text, c.convalidated, (NOT c.conislocal OR c.conparentid <> 0),
                tn.nspname::text, t.relname::text, dn.nspname::text, d.typname::text,
                pg_catalog.pg_get_constraintdef(c.oid),
                pg_catalog.obj_description(c.oid, 'pg_constraint')
           FROM pg_catalog.pg_constraint c
           JOIN pg_catalog.pg_namespace n ON n.oid = c.connamespace
           LEFT JOIN pg_catalog.pg_class t ON t.oid = c.conrelid
           LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
           LEFT JOIN pg_catalog.pg_type d ON d.oid = c.contypid
           LEFT JOIN pg_catalog.pg_namespace dn ON dn.oid = d.typnamespace
          WHERE c.contype IN ('c', 'u', 'p', 'f', 'x') AND {}",
        user_schema("n")
    );
    let mut out = Vec::new();
    for row in query(client, "constraints", &sql)? {
        let contype: String = row.get(1);
        let kind = match contype.as_str() {
            "c" => ConstraintKind::Check,
            "u" => ConstraintKind::Unique(UniqueFlavour::Constraint),
            "p" => ConstraintKind::Unique(UniqueFlavour::PrimaryKey),
            "f" => ConstraintKind::ForeignKey,
            _ => ConstraintKind::Exclude,
        };
        let table: Option<String> = row.get(5);
        let owner = match table {
            Some(table) => Owner::Table(QualifiedName::new(row.get::<_, String>(4), table)),
            None => Owner::Domain(QualifiedName::new(
                row.get::<_, String>(6),
                row.get::<_, String>(7),
            )),
        };
        if matches!(&owner, Owner::Table(t) if options.excludes(t)) {
            continue;
        }
        out.push(Constraint {
            name: row.get(0),
            kind,
            owner,
            definition: row.get(8),
            validated: row.get(2),
            inherited: row.get(3),
            comment: row.get(9),
            origin: Origin::Catalog,
            raised_by: None,
        });
    }
    Ok(out)
}

fn read_unique_indexes(
    client: &mut Client,
    options: &CatalogOptions,
) -> Result<Vec<Constraint>, CatalogError> {
    let sql = format!(
        "SELECT i.relname::text, tn.nspname::text, t.relname::text, pg_catalog.pg_get_indexdef(i.oid),
                x.indisvalid,
                EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.oid),
                pg_catalog.obj_description(i.oid, 'pg_class')
           FROM pg_catalog.pg_index x
           JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
           JOIN pg_catalog.pg_namespace n ON n.oid = i.relnamespace
           JOIN pg_catalog.pg_class t ON t.oid = x.indrelid
           JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
          WHERE x.indisunique AND {}
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c
                             WHERE c.conindid = x.indexrelid AND c.contype IN ('p', 'u', 'x'))",
        user_schema("n")
    );
    let mut out = Vec::new();
    for row in query(client, "unique indexes", &sql)? {
        let table = QualifiedName::new(row.get::<_, String>(1), row.get::<_, String>(2));
        if options.excludes(&table) {
            continue;
        }
        out.push(Constraint {
            name: row.get(0),
            kind: ConstraintKind::Unique(UniqueFlavour::Index),
            owner: Owner::Table(table),
            definition: row.get(3),
            validated: row.get(4),
            inherited: row.get(5),
            comment: row.get(6),
            origin: Origin::Catalog,
            raised_by: None,
        });
    }
    Ok(out)
}

fn read_enums(client: &mut Client) -> Result<Vec<EnumType>, CatalogError> {
    let sql = format!(
        "SELECT n.nspname::text, t.typname::text, e.enumlabel::text, pg_catalog.obj_description(t.oid, 'pg_type')
           FROM pg_catalog.pg_type t
           JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
           LEFT JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid
          WHERE t.typtype = 'e' AND {} AND {}
          ORDER BY n.nspname, t.typname, e.enumsortorder",
        user_schema("n"),
        not_extension_member("pg_type", "t.oid")
    );
    let mut enums: Vec<EnumType> = Vec::new();
    for row in query(client, "enums", &sql)? {
        let name = QualifiedName::new(row.get::<_, String>(0), row.get::<_, String>(1));
        let label: Option<String> = row.get(2);
        if enums.last().is_none_or(|e| e.name != name) {
            enums.push(EnumType {
                name,
                labels: Vec::new(),
                comment: row.get(3),
            });
        }
        if let (Some(label), Some(e)) = (label, enums.last_mut()) {
            e.labels.push(label);
        }
    }
    enums.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(enums)
}

struct TypeRow {
    name: QualifiedName,
    typtype: String,
    category: String,
    elem: u32,
    base: u32,
    sql: String,
}

fn resolve_type(
    types: &HashMap<u32, TypeRow>,
    oid: u32,
    sql: Option<String>,
    depth: usize,
) -> PgType {
    let Some(t) = types.get(&oid) else {
        return PgType {
            name: QualifiedName::new("pg_catalog", format!("oid {oid}")),
            sql: sql.unwrap_or_default(),
            kind: PgTypeKind::Pseudo,
        };
    };
    let sql = sql.unwrap_or_else(|| t.sql.clone());
    let kind = if depth > 32 {
        PgTypeKind::Pseudo
    } else {
        match t.typtype.as_str() {
            "e" => PgTypeKind::Enum,
            "d" => PgTypeKind::Domain {
                base: Box::new(resolve_type(types, t.base, None, depth + 1)),
            },
            "c" => PgTypeKind::Composite,
            "r" => PgTypeKind::Range,
            "m" => PgTypeKind::Multirange,
            "p" => PgTypeKind::Pseudo,
            _ if t.category == "A" && t.elem != 0 => PgTypeKind::Array {
                element: Box::new(resolve_type(types, t.elem, None, depth + 1)),
            },
            _ => PgTypeKind::Base,
        }
    };
    PgType {
        name: t.name.clone(),
        sql,
        kind,
    }
}

fn read_relations(
    client: &mut Client,
    options: &CatalogOptions,
) -> Result<Vec<Relation>, CatalogError> {
    let type_rows = query(
        client,
        "types",
        "SELECT t.oid, n.nspname::text, t.typname::text, t.typtype::text, t.typcategory::text,
                t.typelem, t.typbasetype, pg_catalog.format_type(t.oid, NULL)
           FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace",
    )?;
    let types: HashMap<u32, TypeRow> = type_rows
        .into_iter()
        .map(|r| {
            (
                r.get::<_, u32>(0),
                TypeRow {
                    name: QualifiedName::new(r.get::<_, String>(1), r.get::<_, String>(2)),
                    typtype: r.get(3),
                    category: r.get(4),
                    elem: r.get(5),
                    base: r.get(6),
                    sql: r.get(7),
                },
            )
        })
        .collect();

    let relation_filter = format!(
        "c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c') AND NOT c.relispartition AND {} AND {}",
        user_schema("n"),
        not_extension_member("pg_class", "c.oid")
    );
    let sql = format!(
        "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text, pg_catalog.obj_description(c.oid, 'pg_class')
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE {relation_filter}"
    );
    let mut relations: BTreeMap<u32, Relation> = BTreeMap::new();
    for row in query(client, "relations", &sql)? {
        let name = QualifiedName::new(row.get::<_, String>(1), row.get::<_, String>(2));
        if options.excludes(&name) {
            continue;
        }
        let kind = match row.get::<_, String>(3).as_str() {
            "r" => RelationKind::Table,
            "p" => RelationKind::PartitionedTable,
            "v" => RelationKind::View,
            "m" => RelationKind::MaterializedView,
            "c" => RelationKind::Composite,
            _ => RelationKind::ForeignTable,
        };
        relations.insert(
            row.get(0),
            Relation {
                name,
                kind,
                columns: Vec::new(),
                comment: row.get(4),
            },
        );
    }
    let sql = format!(
        "SELECT a.attrelid, a.attnum, a.attname::text, a.atttypid, pg_catalog.format_type(a.atttypid, a.atttypmod),
                a.attnotnull, a.atthasdef, a.attidentity::text, a.attgenerated::text,
                pg_catalog.col_description(a.attrelid, a.attnum)
           FROM pg_catalog.pg_attribute a
           JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE a.attnum > 0 AND NOT a.attisdropped AND {relation_filter}
          ORDER BY a.attrelid, a.attnum"
    );
    for row in query(client, "columns", &sql)? {
        let Some(relation) = relations.get_mut(&row.get::<_, u32>(0)) else {
            continue;
        };
        let identity: String = row.get(7);
        let generated: String = row.get(8);
        relation.columns.push(Column {
            name: row.get(2),
            position: row.get(1),
            ty: resolve_type(&types, row.get(3), Some(row.get(4)), 0),
            not_null: row.get(5),
            has_default: row.get(6),
            identity: (!identity.is_empty()).then_some(identity),
            generated: !generated.is_empty(),
            comment: row.get(9),
        });
    }
    let mut relations: Vec<Relation> = relations.into_values().collect();
    relations.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(relations)
}

fn read_triggers(
    client: &mut Client,
    options: &CatalogOptions,
) -> Result<Vec<Trigger>, CatalogError> {
    let sql = format!(
        "SELECT t.tgname::text, n.nspname::text, c.relname::text, pn.nspname::text, p.proname::text,
                t.tgnargs, t.tgargs, pg_catalog.pg_get_triggerdef(t.oid)
           FROM pg_catalog.pg_trigger t
           JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
           JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
          WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND {}",
        user_schema("n")
    );
    let mut out = Vec::new();
    for row in query(client, "triggers", &sql)? {
        let table = QualifiedName::new(row.get::<_, String>(1), row.get::<_, String>(2));
        if options.excludes(&table) {
            continue;
        }
        let nargs: i16 = row.get(5);
        let raw: Vec<u8> = row.get(6);
        let args = raw
            .split(|&b| b == 0)
            .take(usize::try_from(nargs).unwrap_or(0))
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        out.push(Trigger {
            name: row.get(0),
            table,
            function: QualifiedName::new(row.get::<_, String>(3), row.get::<_, String>(4)),
            args,
            definition: row.get(7),
        });
    }
    out.sort_by(|a, b| (&a.table, &a.name).cmp(&(&b.table, &b.name)));
    Ok(out)
}

fn read_functions(client: &mut Client) -> Result<Vec<Function>, CatalogError> {
    let sql = format!(
        "SELECT n.nspname::text, p.proname::text, pg_catalog.pg_get_function_identity_arguments(p.oid), p.prosrc
           FROM pg_catalog.pg_proc p
           JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
           JOIN pg_catalog.pg_language l ON l.oid = p.prolang
          WHERE l.lanname = 'plpgsql' AND {} AND {}",
        user_schema("n"),
        not_extension_member("pg_proc", "p.oid")
    );
    let mut out: Vec<Function> = query(client, "functions", &sql)?
        .into_iter()
        .map(|row| Function {
            name: QualifiedName::new(row.get::<_, String>(0), row.get::<_, String>(1)),
            arguments: row.get(2),
            body: row.get(3),
        })
        .collect();
    out.sort();
    Ok(out)
}
