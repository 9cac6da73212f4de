//! `infer`: prepare every query on the live (migrated) database and learn its parameter and
//! column types and the nullability of each column.
//!
//! Types come from the server (`Parse`/`Describe`), resolved through `pg_type` into the
//! schema model's [`PgType`] (enums, domains, arrays, composites), so `emit` maps them with
//! the same function as the generated models.
//!
//! Nullability of a result column, in order:
//! 1. an alias ending in `!` forces NOT NULL, one ending in `?` forces nullable (the suffix
//!    is not part of the Rust name): `count(*) AS "total!"`, `u.name AS "name?"`;
//! 2. a plain reference to a table column (the server reports the table and column in the
//!    row description) that is `NOT NULL` in `pg_attribute` is NOT NULL, unless the
//!    generic plan (`EXPLAIN (VERBOSE, FORMAT JSON)` of the statement `PREPARE`d under
//!    `plan_cache_mode = force_generic_plan`, executed with NULL arguments) shows it coming
//!    from the nullable side of an outer join, or the plan has grouping sets, or the plan's
//!    output for it is not a plain reference to a scan of that table;
//! 3. an expression, or a NOT NULL column rule 2 could not prove, that
//!    [`crate::nullability`] proves NOT NULL from the parsed statement and the catalog
//!    (`count(*)`, `COALESCE(sum(x), 0)`, a literal, a CTE's NOT NULL column, ...) is NOT
//!    NULL;
//! 4. everything else (other expressions, aggregates, function results, view columns,
//!    nullable columns) is nullable. A statement sqlparser cannot parse gets rules 1, 2
//!    and 4 only, with a note in its docs.
//!
//! A generic plan matters: with a custom plan for NULL arguments the planner would fold
//! `WHERE x = NULL` to an empty result and show no joins at all. An outer join the planner
//! reduces to an inner join (a strict condition on the nullable side) rightly counts as
//! inner: null-extended rows cannot reach the output.

use crate::Error;
use crate::annotate::QueryDef;
use crate::nullability::{self, Analysis, Proof};
use postgres::Client;
use schema::model::{PgType, PgTypeKind, QualifiedName};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// OIDs below this are built into PostgreSQL and equal in every database.
const FIRST_NORMAL_OID: u32 = 16384;

/// A query with everything the server told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferredQuery {
    pub def: QueryDef,
    pub params: Vec<InferredParam>,
    pub columns: Vec<InferredColumn>,
    /// Things the reader of the generated docs should know (e.g. the plan could not be
    /// read, so NOT NULL columns were left optional).
    pub notes: Vec<String>,
    /// Where each `sqlc.embed(...)` is among [`InferredQuery::columns`].
    pub embeds: Vec<InferredEmbed>,
}

/// The columns of one `sqlc.embed(name)`: every column of `relation`, in table order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferredEmbed {
    /// As written in `sqlc.embed(...)` (a table or its alias).
    pub name: String,
    pub relation: QualifiedName,
    /// Index of its first column.
    pub first: usize,
    /// How many columns it has.
    pub len: usize,
    /// 1-based file line of the `sqlc.embed`.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferredParam {
    pub name: String,
    /// `sqlc.narg`.
    pub nullable: bool,
    /// The type the server inferred.
    pub ty: PgType,
    /// When the parameter is a domain (or an array of one) over a built-in type, that
    /// type's OID: the statement is prepared with it so the client sends the base type and
    /// the server applies the domain's checks. 0: let the server infer it.
    pub wire_oid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferredColumn {
    /// The column name without a `!`/`?` suffix.
    pub name: String,
    pub ty: PgType,
    pub nullable: bool,
    pub why: Nullability,
    /// The table column it is a plain reference to, when the server says so.
    pub origin: Option<ColumnOrigin>,
}

/// Where a result column comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ColumnOrigin {
    pub relation: QualifiedName,
    pub column: String,
    /// `pg_attribute.attnotnull`.
    pub not_null: bool,
}

/// Why a column is or is not optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Nullability {
    /// Alias ending in `!`.
    ForcedNotNull,
    /// Alias ending in `?`.
    ForcedNullable,
    /// A plain reference to a `NOT NULL` column of a table.
    NotNullColumn,
    /// A plain reference to a column that may be NULL (or a view column: PostgreSQL does
    /// not track NOT NULL for views).
    NullableColumn,
    /// A `NOT NULL` column from the nullable side of an outer join.
    OuterJoin,
    /// A `NOT NULL` column the plan could not prove to be a plain scan output (grouping
    /// sets, subquery or CTE scans, no plan).
    Unproven,
    /// Not a column reference: an expression, aggregate, function result, ...
    Expression,
    /// An expression (or an unproven column) proven NOT NULL by [`crate::nullability`].
    Proven(Proof),
}

impl Nullability {
    /// Short explanation for generated docs.
    pub fn describe(self) -> &'static str {
        match self {
            Nullability::ForcedNotNull => "NOT NULL (forced by the `!` alias suffix)",
            Nullability::ForcedNullable => "nullable (forced by the `?` alias suffix)",
            Nullability::NotNullColumn => "NOT NULL column",
            Nullability::NullableColumn => "nullable column",
            Nullability::OuterJoin => "nullable side of an outer join",
            Nullability::Unproven => "NOT NULL column, but not provably a plain scan output",
            Nullability::Expression => "expression",
            Nullability::Proven(proof) => proof.describe(),
        }
    }
}

/// Split a forced-nullability suffix off a column name: `total!` → (`total`, Some(false)),
/// `x?` → (`x`, Some(true)).
pub fn split_suffix(name: &str) -> (&str, Option<bool>) {
    if let Some(base) = name.strip_suffix('!') {
        (base, Some(false))
    } else if let Some(base) = name.strip_suffix('?')
        && name != "?column?"
    {
        (base, Some(true))
    } else {
        (name, None)
    }
}

/// Which rules decide the nullability of expression columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expressions {
    /// Every expression column is nullable (the rule before [`crate::nullability`]; kept
    /// to measure what the proofs change).
    Optional,
    /// Expressions [`crate::nullability`] proves are NOT NULL.
    Proven,
}

/// Prepare and describe every query. Runs one `BEGIN ... ROLLBACK` for the plans; leaves
/// no prepared statement behind.
pub fn infer(client: &mut Client, defs: &[QueryDef]) -> Result<Vec<InferredQuery>, Error> {
    infer_with(client, defs, Expressions::Proven)
}

/// [`infer`], choosing the rules for expression columns.
pub fn infer_with(
    client: &mut Client,
    defs: &[QueryDef],
    expressions: Expressions,
) -> Result<Vec<InferredQuery>, Error> {
    let types = TypeTable::load(client)?;
    let mut statements = Vec::with_capacity(defs.len());
    for def in defs {
        let stmt = client
            .prepare(&def.sql)
            .map_err(|e| prepare_error(def, &e))?;
        statements.push(stmt);
    }

    // The table columns referenced, in one catalog query.
    let oids: BTreeSet<u32> = statements
        .iter()
        .flat_map(|s| s.columns().iter().filter_map(|c| c.table_oid()))
        .filter(|&oid| oid != 0)
        .collect();
    let attributes = Attributes::load(client, &oids.into_iter().collect::<Vec<_>>())?;
    let analyses = match expressions {
        Expressions::Optional => vec![Analysis::Unknown; defs.len()],
        Expressions::Proven => {
            let statements: Vec<(&str, Vec<bool>)> = defs
                .iter()
                .map(|d| {
                    (
                        d.sql.as_str(),
                        d.params.iter().map(|p| p.nullable).collect(),
                    )
                })
                .collect();
            nullability::prove(client, &statements).map_err(|source| Error::Catalog {
                what: "tables and functions for nullability (pg_class, pg_proc)",
                source,
            })?
        }
    };

    let mut out = Vec::with_capacity(defs.len());
    let mut in_transaction = false;
    let result = (|| {
        for ((def, stmt), analysis) in defs.iter().zip(&statements).zip(&analyses) {
            let mut columns = Vec::new();
            let mut notes = Vec::new();
            let mut needs_plan = false;
            for c in stmt.columns() {
                let (name, forced) = split_suffix(c.name());
                let origin = match (c.table_oid(), c.column_id()) {
                    (Some(t), Some(a)) if t != 0 && a > 0 => attributes.get(t, a),
                    _ => None,
                };
                let why = match (forced, &origin) {
                    (Some(false), _) => Nullability::ForcedNotNull,
                    (Some(true), _) => Nullability::ForcedNullable,
                    (None, Some(o)) if o.not_null => {
                        needs_plan = true;
                        Nullability::NotNullColumn
                    }
                    (None, Some(_)) => Nullability::NullableColumn,
                    (None, None) => Nullability::Expression,
                };
                columns.push(InferredColumn {
                    name: name.to_owned(),
                    ty: types.resolve(c.type_().oid()),
                    nullable: !matches!(
                        why,
                        Nullability::ForcedNotNull | Nullability::NotNullColumn
                    ),
                    why,
                    origin,
                });
            }
            if needs_plan {
                if !in_transaction {
                    client
                        .batch_execute("BEGIN; SET LOCAL plan_cache_mode = force_generic_plan")
                        .map_err(|source| Error::Catalog {
                            what: "a transaction for EXPLAIN",
                            source,
                        })?;
                    in_transaction = true;
                }
                let plan = generic_plan(client, def, stmt.params().len());
                let facts = match plan {
                    Ok(json) => PlanFacts::from_json(&json),
                    Err(e) => {
                        notes.push(format!(
                            "Its plan could not be read ({}), so its NOT NULL columns are optional.",
                            e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_owned())
                        ));
                        // The transaction is aborted: start over, and prove nothing.
                        client
                            .batch_execute(
                                "ROLLBACK; BEGIN; SET LOCAL plan_cache_mode = force_generic_plan",
                            )
                            .map_err(|source| Error::Catalog {
                                what: "a transaction for EXPLAIN",
                                source,
                            })?;
                        None
                    }
                };
                for (i, col) in columns.iter_mut().enumerate() {
                    if col.why != Nullability::NotNullColumn {
                        continue;
                    }
                    let verdict = match (&facts, &col.origin) {
                        (Some(f), Some(o)) => f.verdict(i, o),
                        _ => Nullability::Unproven,
                    };
                    col.why = verdict;
                    col.nullable = verdict != Nullability::NotNullColumn;
                }
            }
            apply_proofs(&mut columns, analysis, &mut notes);
            let params = def
                .params
                .iter()
                .zip(stmt.params())
                .map(|(p, t)| {
                    let ty = types.resolve(t.oid());
                    InferredParam {
                        name: p.name.clone(),
                        nullable: p.nullable,
                        wire_oid: types.wire_oid(t.oid()),
                        ty,
                    }
                })
                .collect::<Vec<_>>();
            if params.len() != stmt.params().len() {
                return Err(Error::Query {
                    location: def.location(),
                    name: def.name.clone(),
                    message: format!(
                        "the server counts {} parameters, the annotations {}",
                        stmt.params().len(),
                        params.len()
                    ),
                });
            }
            let embeds = if def.embeds.is_empty() {
                Vec::new()
            } else {
                locate_embeds(client, def, &columns)?
            };
            out.push(InferredQuery {
                def: def.clone(),
                params,
                columns,
                notes,
                embeds,
            });
        }
        Ok(())
    })();
    if in_transaction {
        let rollback = client.batch_execute("ROLLBACK");
        if result.is_ok() {
            rollback.map_err(|source| Error::Catalog {
                what: "ROLLBACK after EXPLAIN",
                source,
            })?;
        }
    }
    result?;
    Ok(out)
}

/// Make the columns [`crate::nullability`] proves NOT NULL plain, where the rules above
/// left them optional as expressions or unproven columns (never a forced, nullable or
/// outer-join column).
fn apply_proofs(columns: &mut [InferredColumn], analysis: &Analysis, notes: &mut Vec<String>) {
    let open =
        |c: &InferredColumn| matches!(c.why, Nullability::Expression | Nullability::Unproven);
    if let Analysis::Unparsed(message) = analysis {
        if columns.iter().any(open) {
            notes.push(format!(
                "sqlparser could not parse it ({message}), so its expression columns are optional."
            ));
        }
        return;
    }
    let count = columns.len();
    for (i, col) in columns.iter_mut().enumerate() {
        if open(col)
            && let Some(proof) = analysis.proof(i, count)
        {
            col.why = Nullability::Proven(proof);
            col.nullable = false;
        }
    }
}

/// Where the columns of each `sqlc.embed` of `def` are: prepares the statement once more
/// with marker columns around each `name.*`, which also proves that each one is a whole
/// item of the top-level SELECT (or RETURNING) list.
fn locate_embeds(
    client: &mut Client,
    def: &QueryDef,
    columns: &[InferredColumn],
) -> Result<Vec<InferredEmbed>, Error> {
    const END: &str = "sqlc.embed end";
    let mut probe = def.sql.clone();
    for (k, e) in def.embeds.iter().enumerate().rev() {
        probe.replace_range(
            e.start..e.end,
            &format!(
                "NULL::int4 AS \"sqlc.embed {k}\", {}, NULL::int4 AS \"{END}\"",
                &def.sql[e.start..e.end]
            ),
        );
    }
    let at = |e: &crate::annotate::Embed, message: String| Error::Query {
        location: format!("{}:{}", def.file, e.line),
        name: def.name.clone(),
        message,
    };
    let whole_item = |e: &crate::annotate::Embed, detail: &str| {
        at(
            e,
            format!(
                "sqlc.embed({}) must be a whole item of the query's SELECT list (`SELECT sqlc.embed(t), x.name FROM t ...`), not inside an expression or a subquery{detail}",
                e.name
            ),
        )
    };
    let statement = match client.prepare(&probe) {
        Ok(s) => s,
        Err(err) => {
            let detail = format!(" (PostgreSQL: {})", pgerror::describe(&err));
            return Err(whole_item(&def.embeds[0], &detail));
        }
    };
    let names: Vec<&str> = statement.columns().iter().map(|c| c.name()).collect();
    let mut out = Vec::new();
    for (k, e) in def.embeds.iter().enumerate() {
        let marker = format!("sqlc.embed {k}");
        let starts: Vec<usize> = (0..names.len()).filter(|&i| names[i] == marker).collect();
        let [start] = starts.as_slice() else {
            return Err(whole_item(e, ""));
        };
        let Some(end) = (start + 1..names.len()).find(|&i| names[i] == END) else {
            return Err(whole_item(e, ""));
        };
        let markers_before = names[..*start]
            .iter()
            .filter(|n| n.starts_with("sqlc.embed "))
            .count();
        let first = start - markers_before;
        let len = end - start - 1;
        let cols = columns.get(first..first + len).unwrap_or_default();
        let relation = cols
            .first()
            .and_then(|c| c.origin.as_ref())
            .map(|o| o.relation.clone());
        let Some(relation) = relation.filter(|r| {
            len > 0
                && cols.len() == len
                && cols
                    .iter()
                    .all(|c| c.origin.as_ref().is_some_and(|o| o.relation == *r))
        }) else {
            return Err(at(
                e,
                format!(
                    "sqlc.embed({}): `{}` is not a table or view of the FROM clause (a subquery, CTE or function has no model struct); select `{}.*` instead",
                    e.name, e.name, e.name
                ),
            ));
        };
        out.push(InferredEmbed {
            name: e.name.clone(),
            relation,
            first,
            len,
            line: e.line,
        });
    }
    Ok(out)
}

/// The generic plan of `def` as EXPLAIN JSON text (inside the caller's transaction).
fn generic_plan(
    client: &mut Client,
    def: &QueryDef,
    params: usize,
) -> Result<String, postgres::Error> {
    const NAME: &str = "queries_infer_generic_plan";
    client.batch_execute(&format!("PREPARE {NAME} AS {}", def.sql))?;
    let args = if params == 0 {
        String::new()
    } else {
        format!("({})", vec!["NULL"; params].join(", "))
    };
    let rows = client.simple_query(&format!(
        "EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE {NAME}{args}"
    ));
    let deallocate = client.batch_execute(&format!("DEALLOCATE {NAME}"));
    let rows = rows?;
    deallocate?;
    let mut text = String::new();
    for m in rows {
        if let postgres::SimpleQueryMessage::Row(r) = m {
            text.push_str(r.get(0).unwrap_or_default());
        }
    }
    Ok(text)
}

fn prepare_error(def: &QueryDef, e: &postgres::Error) -> Error {
    let line = match e.as_db_error().and_then(|db| db.position()) {
        Some(postgres::error::ErrorPosition::Original(p)) => def.line_of_position(*p as usize),
        Some(_) => def.sql_line,
        None if e.as_db_error().is_some() => def.sql_line,
        None => def.line,
    };
    let message = pgerror::describe(e).to_string();
    Error::Prepare {
        file: def.file.clone(),
        line,
        name: def.name.clone(),
        message,
    }
}

/// What the generic plan says about nullability.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PlanFacts {
    /// Aliases of every plan node below the nullable side of an outer join.
    pub nullable_aliases: BTreeSet<String>,
    /// Alias → relation, for nodes that scan (or modify) a relation.
    pub relation_aliases: BTreeMap<String, QualifiedName>,
    /// The top node's output expressions (the result columns first).
    pub outputs: Vec<String>,
    /// The plan uses grouping sets, which put NULLs into grouped columns.
    pub grouping_sets: bool,
}

impl PlanFacts {
    /// Parse `EXPLAIN (VERBOSE, FORMAT JSON)` output; `None` when it is not a plan.
    pub fn from_json(text: &str) -> Option<PlanFacts> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let plan = value.get(0)?.get("Plan")?;
        let mut facts = PlanFacts {
            outputs: plan
                .get("Output")
                .and_then(|o| o.as_array())
                .map(|a| {
                    a.iter()
                        .map(|v| v.as_str().unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            ..PlanFacts::default()
        };
        facts.walk(plan, false);
        Some(facts)
    }

    fn walk(&mut self, node: &serde_json::Value, nullable: bool) {
        let text = |key: &str| node.get(key).and_then(|v| v.as_str());
        if node.get("Grouping Sets").is_some() {
            self.grouping_sets = true;
        }
        if let Some(alias) = text("Alias") {
            if nullable {
                self.nullable_aliases.insert(alias.to_owned());
            }
            if let Some(relation) = text("Relation Name") {
                self.relation_aliases.insert(
                    alias.to_owned(),
                    QualifiedName::new(text("Schema").unwrap_or("public"), relation),
                );
            }
        }
        let join = text("Join Type").unwrap_or("");
        for child in node
            .get("Plans")
            .and_then(|p| p.as_array())
            .into_iter()
            .flatten()
        {
            let side = child
                .get("Parent Relationship")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            let null_extended = matches!(
                (join, side),
                ("Left", "Inner") | ("Right", "Outer") | ("Full", "Inner" | "Outer")
            );
            self.walk(child, nullable || null_extended);
        }
    }

    /// The nullability of result column `index`, a plain reference to the NOT NULL column
    /// `origin`.
    pub fn verdict(&self, index: usize, origin: &ColumnOrigin) -> Nullability {
        if self.grouping_sets {
            return Nullability::Unproven;
        }
        let Some(output) = self.outputs.get(index) else {
            return Nullability::Unproven;
        };
        match parse_reference(output) {
            Some((Some(alias), column)) => {
                if column != origin.column {
                    Nullability::Unproven
                } else if self.nullable_aliases.contains(&alias) {
                    Nullability::OuterJoin
                } else if self.relation_aliases.get(&alias) == Some(&origin.relation) {
                    Nullability::NotNullColumn
                } else {
                    Nullability::Unproven
                }
            }
            // EXPLAIN leaves references unqualified only when the query has a single
            // range-table entry: no join at all.
            Some((None, column)) if column == origin.column && self.nullable_aliases.is_empty() => {
                Nullability::NotNullColumn
            }
            _ => Nullability::Unproven,
        }
    }
}

/// `alias.column` or `column` as EXPLAIN deparses a column reference (identifiers quoted
/// when needed) → (alias, column), unquoted. `None` for anything else.
pub fn parse_reference(text: &str) -> Option<(Option<String>, String)> {
    fn ident(s: &str) -> Option<(String, &str)> {
        if let Some(rest) = s.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = rest.char_indices();
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    if rest[i + 1..].starts_with('"') {
                        out.push('"');
                        chars.next();
                    } else {
                        return Some((out, &rest[i + 1..]));
                    }
                } else {
                    out.push(c);
                }
            }
            None
        } else {
            let end = s
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(s.len());
            let word = &s[..end];
            if !word.starts_with(|c: char| c.is_alphabetic() || c == '_') {
                None
            } else {
                Some((word.to_owned(), &s[end..]))
            }
        }
    }
    let (first, rest) = ident(text)?;
    if rest.is_empty() {
        return Some((None, first));
    }
    let (second, rest) = ident(rest.strip_prefix('.')?)?;
    rest.is_empty().then_some((Some(first), second))
}

/// `pg_attribute` facts for the referenced tables.
struct Attributes {
    by_key: HashMap<(u32, i16), ColumnOrigin>,
}

impl Attributes {
    fn load(client: &mut Client, oids: &[u32]) -> Result<Attributes, Error> {
        let mut by_key = HashMap::new();
        if oids.is_empty() {
            return Ok(Attributes { by_key });
        }
        let rows = client
            .query(
                "SELECT a.attrelid, a.attnum, a.attname::text, a.attnotnull, n.nspname::text, c.relname::text
                   FROM pg_catalog.pg_attribute a
                   JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped",
                &[&oids],
            )
            .map_err(|source| Error::Catalog {
                what: "column facts (pg_attribute)",
                source,
            })?;
        for r in rows {
            by_key.insert(
                (r.get::<_, u32>(0), r.get::<_, i16>(1)),
                ColumnOrigin {
                    relation: QualifiedName::new(r.get::<_, String>(4), r.get::<_, String>(5)),
                    column: r.get(2),
                    not_null: r.get(3),
                },
            );
        }
        Ok(Attributes { by_key })
    }

    fn get(&self, table: u32, column: i16) -> Option<ColumnOrigin> {
        self.by_key.get(&(table, column)).cloned()
    }
}

struct TypeRow {
    name: QualifiedName,
    typtype: String,
    category: String,
    elem: u32,
    base: u32,
    array: u32,
    sql: String,
}

/// `pg_type`, read once.
struct TypeTable {
    rows: HashMap<u32, TypeRow>,
}

impl TypeTable {
    fn load(client: &mut Client) -> Result<TypeTable, Error> {
        let rows = client
            .query(
                "SELECT t.oid, n.nspname::text, t.typname::text, t.typtype::text, t.typcategory::text,
                        t.typelem, t.typbasetype, t.typarray, pg_catalog.format_type(t.oid, NULL)
                   FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace",
                &[],
            )
            .map_err(|source| Error::Catalog {
                what: "types (pg_type)",
                source,
            })?;
        let rows = rows
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
                        array: r.get(7),
                        sql: r.get(8),
                    },
                )
            })
            .collect();
        Ok(TypeTable { rows })
    }

    fn resolve(&self, oid: u32) -> PgType {
        self.resolve_depth(oid, 0)
    }

    fn resolve_depth(&self, oid: u32, depth: usize) -> PgType {
        let Some(t) = self.rows.get(&oid) else {
            return PgType {
                name: QualifiedName::new("pg_catalog", format!("oid {oid}")),
                sql: format!("type oid {oid}"),
                kind: PgTypeKind::Pseudo,
            };
        };
        let kind = if depth > 32 {
            PgTypeKind::Pseudo
        } else {
            match t.typtype.as_str() {
                "e" => PgTypeKind::Enum,
                "d" => PgTypeKind::Domain {
                    base: Box::new(self.resolve_depth(t.base, depth + 1)),
                },
                "c" => PgTypeKind::Composite,
                "r" => PgTypeKind::Range,
                "m" => PgTypeKind::Multirange,
                "p" => PgTypeKind::Pseudo,
                _ if t.category == "A" && t.elem != 0 => PgTypeKind::Array {
                    element: Box::new(self.resolve_depth(t.elem, depth + 1)),
                },
                _ => PgTypeKind::Base,
            }
        };
        PgType {
            name: t.name.clone(),
            sql: t.sql.clone(),
            kind,
        }
    }

    /// The fully resolved base type of a domain (itself otherwise).
    fn base_of(&self, mut oid: u32) -> u32 {
        for _ in 0..32 {
            match self.rows.get(&oid) {
                Some(t) if t.typtype == "d" => oid = t.base,
                _ => break,
            }
        }
        oid
    }

    /// See [`InferredParam::wire_oid`].
    fn wire_oid(&self, oid: u32) -> u32 {
        let Some(t) = self.rows.get(&oid) else {
            return 0;
        };
        if t.typtype == "d" {
            let base = self.base_of(oid);
            return if base < FIRST_NORMAL_OID { base } else { 0 };
        }
        if t.category == "A"
            && t.elem != 0
            && self.rows.get(&t.elem).is_some_and(|e| e.typtype == "d")
        {
            let base = self.base_of(t.elem);
            let array = self.rows.get(&base).map(|b| b.array).unwrap_or(0);
            return if array != 0 && array < FIRST_NORMAL_OID {
                array
            } else {
                0
            };
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes() {
        assert_eq!(split_suffix("total!"), ("total", Some(false)));
        assert_eq!(split_suffix("name?"), ("name", Some(true)));
        assert_eq!(split_suffix("?column?"), ("?column?", None));
        assert_eq!(split_suffix("plain"), ("plain", None));
    }

    #[test]
    fn references() {
        assert_eq!(
            parse_reference("g.id"),
            Some((Some("g".into()), "id".into()))
        );
        assert_eq!(
            parse_reference("\"Order \"\"Items\"\"\".\"ID\""),
            Some((Some("Order \"Items\"".into()), "ID".into()))
        );
        assert_eq!(parse_reference("id"), Some((None, "id".into())));
        assert_eq!(parse_reference("COALESCE(g.id, 0)"), None);
        assert_eq!(parse_reference("$1"), None);
        assert_eq!(parse_reference("(g.id)::text"), None);
        assert_eq!(parse_reference("1"), None);
    }

    #[test]
    fn left_join_inner_side_is_nullable() {
        let json = r#"[{"Plan": {"Node Type": "Nested Loop", "Join Type": "Left",
            "Output": ["g.id", "b.spend_limit_micros", "g.name"],
            "Plans": [
              {"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Relation Name": "groups", "Schema": "public", "Alias": "g"},
              {"Node Type": "Hash", "Parent Relationship": "Inner", "Plans": [
                {"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Relation Name": "group_ai_budgets", "Schema": "public", "Alias": "b"}]}
            ]}}]"#;
        let facts = PlanFacts::from_json(json).unwrap();
        assert_eq!(facts.nullable_aliases, BTreeSet::from(["b".to_owned()]));
        let origin = |t: &str, c: &str| ColumnOrigin {
            relation: QualifiedName::new("public", t),
            column: c.into(),
            not_null: true,
        };
        assert_eq!(
            facts.verdict(0, &origin("groups", "id")),
            Nullability::NotNullColumn
        );
        assert_eq!(
            facts.verdict(1, &origin("group_ai_budgets", "spend_limit_micros")),
            Nullability::OuterJoin
        );
        // Output does not match the origin the server reported: prove nothing.
        assert_eq!(
            facts.verdict(2, &origin("groups", "id")),
            Nullability::Unproven
        );
        assert_eq!(
            facts.verdict(3, &origin("groups", "id")),
            Nullability::Unproven
        );
    }

    #[test]
    fn right_and_full_joins_and_grouping_sets() {
        let json = |join: &str| {
            format!(
                r#"[{{"Plan": {{"Node Type": "Hash Join", "Join Type": "{join}", "Output": ["a.x"],
                "Plans": [
                  {{"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Relation Name": "a", "Schema": "s", "Alias": "a"}},
                  {{"Node Type": "Seq Scan", "Parent Relationship": "Inner", "Relation Name": "b", "Schema": "s", "Alias": "b"}}
                ]}}}}]"#
            )
        };
        let nullable = |join: &str| {
            PlanFacts::from_json(&json(join))
                .unwrap()
                .nullable_aliases
                .into_iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(nullable("Inner"), Vec::<String>::new());
        assert_eq!(nullable("Left"), ["b"]);
        assert_eq!(nullable("Right"), ["a"]);
        assert_eq!(nullable("Full"), ["a", "b"]);
        assert_eq!(nullable("Semi"), Vec::<String>::new());
        let grouped = r#"[{"Plan": {"Node Type": "Aggregate", "Output": ["x"], "Grouping Sets": [],
            "Plans": [{"Node Type": "Seq Scan", "Relation Name": "a", "Schema": "s", "Alias": "a"}]}}]"#;
        let facts = PlanFacts::from_json(grouped).unwrap();
        let origin = ColumnOrigin {
            relation: QualifiedName::new("s", "a"),
            column: "x".into(),
            not_null: true,
        };
        assert_eq!(facts.verdict(0, &origin), Nullability::Unproven);
    }
}
