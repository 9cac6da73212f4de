//! `nullability`: prove result columns that are expressions NOT NULL.
//!
//! The statement is parsed with sqlparser and each output column's expression is checked
//! against rules that follow PostgreSQL's semantics, with the catalog for table columns
//! (`pg_attribute.attnotnull`) and functions (`pg_proc.proisstrict`, `proretset`,
//! `prokind`). A column is proven only when NULL is impossible; anything the rules do not
//! know stays optional. [`crate::infer`] applies a proof only to columns its own rule left
//! optional as expressions or unproven plain references: a nullable column, the nullable
//! side of an outer join and the `!`/`?` suffixes are never overridden.
//!
//! The rules, in short (see [`Proof`] and the README's "Nullability" section):
//! - literals, parameters that are not `sqlc.narg`, `ARRAY[...]`/`ARRAY(SELECT ...)`;
//! - a column reference: a `NOT NULL` table column not on the nullable side of an outer
//!   join (by the query's syntax) and not grouped by grouping sets, or a proven column of
//!   a CTE or subquery (recursive CTEs prove nothing);
//! - `count(...)` in every form, `row_number`/`rank`/`dense_rank`/`percent_rank`/
//!   `cume_dist`/`ntile(n)` windows; other aggregates and window functions stay optional;
//! - `COALESCE`, `GREATEST`, `LEAST` with one proven argument; `concat`, `json(b)_build_*`,
//!   `num_nulls`/`num_nonnulls` always; `concat_ws`/`format` with a proven first argument;
//! - casts, strict operators (arithmetic, comparison, `||`, `AND`/`OR`/`NOT`, `LIKE`,
//!   regular expressions, containment) and `IN`/`BETWEEN` over proven operands;
//!   `IS [NOT] NULL`, `IS [NOT] DISTINCT FROM`, `IS [NOT] TRUE`, `EXISTS` always;
//! - `CASE` with an `ELSE` when every result is proven;
//! - built-in functions marked strict (every overload with that name), not set-returning,
//!   over proven arguments, unless on [`MAY_RETURN_NULL`];
//! - a scalar subquery only when it is an aggregate query without `GROUP BY`, `HAVING`,
//!   `LIMIT` or `OFFSET` (exactly one row) whose column is proven;
//! - `UNION`/`INTERSECT`/`EXCEPT` and `VALUES` columns proven in every branch or row;
//! - `RETURNING` of `INSERT`/`UPDATE`/`DELETE` as a `SELECT` over the target table.

use postgres::Client;
use sqlparser::ast::{
    BinaryOperator, CastKind, CeilFloorKind, DateTimeField, Delete, Expr, FromTable, Function,
    FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, Ident, Insert, JoinConstraint,
    JoinOperator, ObjectName, ObjectNamePart, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, Statement, TableAlias, TableFactor, TableObject,
    TableWithJoins, UnaryOperator, Update, UpdateTableFromKind, Value,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use std::collections::{BTreeSet, HashMap};

/// OIDs below this are built into PostgreSQL.
const FIRST_NORMAL_OID: u32 = 16384;

/// Between schema and relation in [`Catalog`] keys: a character no identifier contains.
const SEPARATOR: &str = "\u{0}";

/// Why an expression column cannot be NULL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proof {
    /// A literal other than `NULL`, `ARRAY[...]`, `ARRAY(SELECT ...)`.
    Literal,
    /// A parameter that is not `sqlc.narg`: its Rust argument is not an `Option`.
    Parameter,
    /// A `NOT NULL` table column, carried through a CTE or subquery or inside an
    /// expression.
    Column,
    /// `count(...)`, with or without `DISTINCT`, `FILTER` or `OVER`: never NULL.
    Count,
    /// `COALESCE` with a NOT NULL argument.
    Coalesce,
    /// `GREATEST`/`LEAST` with a NOT NULL argument (they ignore NULLs).
    GreatestLeast,
    /// A cast of a NOT NULL expression.
    Cast,
    /// A strict operator (or `IN`, `BETWEEN`, `LIKE`, ...) over NOT NULL operands.
    Operator,
    /// `IS [NOT] NULL`, `IS [NOT] DISTINCT FROM`, `IS [NOT] TRUE/FALSE/UNKNOWN`, `EXISTS`.
    Predicate,
    /// `CASE` with `ELSE`, every result NOT NULL.
    Case,
    /// A strict built-in function over NOT NULL arguments, or one that never returns NULL.
    Function,
    /// `row_number()`, `rank()`, `dense_rank()`, `percent_rank()`, `cume_dist()`, `ntile(n)`.
    Ranking,
    /// A scalar subquery that is one aggregate row with a NOT NULL column.
    Subquery,
    /// NOT NULL in every branch of a set operation or every row of `VALUES`.
    EveryBranch,
}

impl Proof {
    /// Short explanation for generated docs.
    pub fn describe(self) -> &'static str {
        match self {
            Proof::Literal => "NOT NULL (a literal)",
            Proof::Parameter => "NOT NULL (a parameter that is not `sqlc.narg`)",
            Proof::Column => "NOT NULL (a NOT NULL column, carried through)",
            Proof::Count => "NOT NULL (`count` is never NULL)",
            Proof::Coalesce => "NOT NULL (`COALESCE` with a NOT NULL argument)",
            Proof::GreatestLeast => "NOT NULL (`GREATEST`/`LEAST` with a NOT NULL argument)",
            Proof::Cast => "NOT NULL (a cast of a NOT NULL expression)",
            Proof::Operator => "NOT NULL (a strict operator over NOT NULL operands)",
            Proof::Predicate => "NOT NULL (a predicate that is never NULL)",
            Proof::Case => "NOT NULL (`CASE` whose every branch and `ELSE` are NOT NULL)",
            Proof::Function => "NOT NULL (a strict function over NOT NULL arguments)",
            Proof::Ranking => "NOT NULL (a ranking window function)",
            Proof::Subquery => "NOT NULL (a scalar subquery returning one aggregate row)",
            Proof::EveryBranch => "NOT NULL (NOT NULL in every branch)",
        }
    }
}

/// Built-in functions that are strict yet may return NULL for NOT NULL arguments (or
/// whose name has such an overload), never proven. Entries ending in `*` are prefixes.
pub const MAY_RETURN_NULL: &[&str] = &[
    "nullif",
    // Regular expressions without a match.
    "regexp_match",
    "regexp_substr",
    "substring",
    // Arrays: a missing element, an empty array.
    "array_position",
    "array_positions",
    "array_length",
    "array_lower",
    "array_upper",
    "array_ndims",
    "array_dims",
    // JSON: a missing key, index or path.
    "json_extract_path",
    "json_extract_path_text",
    "jsonb_extract_path",
    "jsonb_extract_path_text",
    "json_object_field",
    "json_object_field_text",
    "jsonb_object_field",
    "jsonb_object_field_text",
    "json_array_element",
    "json_array_element_text",
    "jsonb_array_element",
    "jsonb_array_element_text",
    "jsonb_path_*",
    // Settings, the session, the catalog: missing or invalid names and OIDs.
    "current_setting",
    "current_schema",
    "current_query",
    "inet_*",
    "pg_*",
    "has_*",
    "to_reg*",
    "obj_description",
    "col_description",
    "shobj_description",
    "txid_*",
    "xml*",
    // `to_char(ts, '')`, `extract(hour from 'infinity'::timestamptz)`, `scale('NaN')`,
    // `area` of an open path.
    "to_char",
    "date_part",
    "extract",
    "scale",
    "min_scale",
    "area",
];

/// Built-in functions that are not strict but never return NULL.
const NEVER_NULL: &[&str] = &[
    "concat",
    "json_build_object",
    "jsonb_build_object",
    "json_build_array",
    "jsonb_build_array",
    "num_nulls",
    "num_nonnulls",
];

/// Built-in functions that are not strict but return NULL only for a NULL first argument.
const NULL_ONLY_FOR_NULL_FIRST: &[&str] = &["concat_ws", "format"];

/// SQL value functions written without parentheses, never NULL.
const VALUE_FUNCTIONS: &[&str] = &[
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "current_user",
    "current_role",
    "session_user",
    "user",
    "current_catalog",
];

/// Window functions that are never NULL (with NOT NULL arguments, for `ntile`).
const RANKING: &[&str] = &[
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
];

fn may_return_null(name: &str) -> bool {
    MAY_RETURN_NULL
        .iter()
        .any(|entry| match entry.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *entry,
        })
}

/// What the analysis found for one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Analysis {
    /// One entry per output column (`None`: not proven), in the statement's order.
    Columns(Vec<Option<Proof>>),
    /// The output columns could not be listed (e.g. `*` over a function); nothing proven.
    Unknown,
    /// sqlparser could not parse the statement: the message.
    Unparsed(String),
}

impl Analysis {
    /// The proof for output column `index`, if any, given the server's column count.
    pub fn proof(&self, index: usize, columns: usize) -> Option<Proof> {
        match self {
            Analysis::Columns(proofs) if proofs.len() == columns => proofs[index],
            _ => None,
        }
    }
}

/// Analyse every statement (`sql`, with `$n` parameters; `narg[n - 1]` says whether `$n` is
/// `sqlc.narg`) with the catalog of `client`'s database.
pub fn prove(
    client: &mut Client,
    statements: &[(&str, Vec<bool>)],
) -> Result<Vec<Analysis>, postgres::Error> {
    let catalog = Catalog::load(client)?;
    Ok(statements
        .iter()
        .map(|(sql, narg)| analyze(sql, narg, &catalog))
        .collect())
}

/// Analyse one statement against a loaded catalog.
pub fn analyze(sql: &str, narg: &[bool], catalog: &Catalog) -> Analysis {
    let statements = match Parser::parse_sql(&PostgreSqlDialect {}, sql) {
        Ok(s) => s,
        Err(e) => return Analysis::Unparsed(e.to_string()),
    };
    let [statement] = statements.as_slice() else {
        return Analysis::Unparsed(format!("{} statements", statements.len()));
    };
    let analyzer = Analyzer { catalog, narg };
    match analyzer.statement(statement, &Ctes::new(), None) {
        Some(columns) => Analysis::Columns(columns.into_iter().map(|c| c.proof).collect()),
        None => Analysis::Unknown,
    }
}

/// A table or view column.
#[derive(Debug, Clone)]
struct CatalogColumn {
    name: String,
    not_null: bool,
    /// `pg_type.typcategory = 'S'`.
    string: bool,
}

/// A function overload.
#[derive(Debug, Clone)]
struct Proc {
    schema: String,
    builtin: bool,
    strict: bool,
    set_returning: bool,
    /// `pg_proc.prokind`: `f` function, `a` aggregate, `w` window, `p` procedure.
    kind: String,
}

/// The catalog facts the rules need, read once per run.
#[derive(Debug, Default)]
pub struct Catalog {
    /// `schema` [`SEPARATOR`] `relation` and, for relations visible on the search path,
    /// `relation`.
    relations: HashMap<String, Vec<CatalogColumn>>,
    /// By `proname`.
    functions: HashMap<String, Vec<Proc>>,
    /// Operator names with a user-defined overload whose function is not strict.
    non_strict_operators: BTreeSet<String>,
}

impl Catalog {
    /// Read tables, views and their columns, functions and user-defined operators.
    pub fn load(client: &mut Client) -> Result<Catalog, postgres::Error> {
        let mut catalog = Catalog::default();
        let rows = client.query(
            "SELECT n.nspname::text, c.relname::text, pg_catalog.pg_table_is_visible(c.oid),
                    a.attname::text, a.attnotnull, t.typcategory = 'S'
               FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
               JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
              WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
                AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                AND n.nspname NOT LIKE 'pg_toast%'
                AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY c.oid, a.attnum",
            &[],
        )?;
        for r in rows {
            let column = CatalogColumn {
                name: r.get(3),
                not_null: r.get(4),
                string: r.get(5),
            };
            let (schema, relation): (String, String) = (r.get(0), r.get(1));
            if r.get::<_, bool>(2) {
                catalog
                    .relations
                    .entry(relation.clone())
                    .or_default()
                    .push(column.clone());
            }
            catalog
                .relations
                .entry(format!("{schema}{SEPARATOR}{relation}"))
                .or_default()
                .push(column);
        }
        let rows = client.query(
            "SELECT p.proname::text, n.nspname::text, p.oid < $1::oid, p.proisstrict, p.proretset,
                    p.prokind::text
               FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace",
            &[&FIRST_NORMAL_OID],
        )?;
        for r in rows {
            catalog.functions.entry(r.get(0)).or_default().push(Proc {
                schema: r.get(1),
                builtin: r.get(2),
                strict: r.get(3),
                set_returning: r.get(4),
                kind: r.get(5),
            });
        }
        let rows = client.query(
            "SELECT DISTINCT o.oprname::text
               FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode
              WHERE o.oid >= $1::oid AND NOT p.proisstrict",
            &[&FIRST_NORMAL_OID],
        )?;
        catalog.non_strict_operators = rows.into_iter().map(|r| r.get(0)).collect();
        Ok(catalog)
    }

    /// The overloads a call of `name` (in `schema`, when qualified) may resolve to.
    fn overloads(&self, schema: Option<&str>, name: &str) -> Vec<&Proc> {
        self.functions
            .get(name)
            .into_iter()
            .flatten()
            .filter(|p| schema.is_none_or(|s| p.schema == s))
            .collect()
    }

    /// Every overload is built in, a plain function (not an aggregate or window
    /// function) and not set-returning; and strict, unless `strict` is false.
    fn all_builtin(&self, schema: Option<&str>, name: &str, strict: bool) -> bool {
        let overloads = self.overloads(schema, name);
        !overloads.is_empty()
            && overloads
                .iter()
                .all(|p| p.builtin && p.kind == "f" && !p.set_returning && (p.strict || !strict))
    }

    /// Every overload is built in (any kind).
    fn builtin_only(&self, schema: Option<&str>, name: &str) -> bool {
        let overloads = self.overloads(schema, name);
        !overloads.is_empty() && overloads.iter().all(|p| p.builtin)
    }
}

/// A result column as the analysis sees it.
#[derive(Debug, Clone)]
struct Col {
    /// The name a reference can use; `None` when PostgreSQL's name is not certain.
    name: Option<String>,
    proof: Option<Proof>,
    /// Known to be of a string type.
    string: bool,
}

/// A range-table entry of a `FROM` clause.
#[derive(Debug, Clone)]
struct Rel {
    alias: Option<String>,
    /// `None`: unknown (a function, an unknown relation).
    columns: Option<Vec<Col>>,
    /// On the nullable side of an outer join.
    null_extended: bool,
}

/// The entries one query level sees, and the enclosing level (correlated references).
#[derive(Debug)]
struct Scope<'a> {
    rels: Vec<Rel>,
    parent: Option<&'a Scope<'a>>,
    /// The level groups by grouping sets: its column references may be NULL.
    grouping_sets: bool,
    /// A `JOIN ... USING` or `NATURAL JOIN`: `*` merges columns.
    merged_columns: bool,
}

/// CTEs in scope, innermost last.
type Ctes = Vec<(String, Option<Vec<Col>>)>;

struct Analyzer<'c> {
    catalog: &'c Catalog,
    narg: &'c [bool],
}

fn ident(i: &Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_lowercase()
    }
}

fn object_name(name: &ObjectName) -> Option<Vec<String>> {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(i) => Some(ident(i)),
            ObjectNamePart::Function(_) => None,
        })
        .collect()
}

fn all<I: IntoIterator<Item = Option<Proof>>>(proofs: I, proof: Proof) -> Option<Proof> {
    for p in proofs {
        p?;
    }
    Some(proof)
}

fn rename(columns: Option<Vec<Col>>, alias: Option<&TableAlias>) -> Option<Vec<Col>> {
    let mut columns = columns?;
    if let Some(alias) = alias {
        if alias.columns.len() > columns.len() {
            return None;
        }
        for (c, a) in columns.iter_mut().zip(&alias.columns) {
            c.name = Some(ident(&a.name));
        }
    }
    Some(columns)
}

impl Analyzer<'_> {
    fn statement(&self, s: &Statement, ctes: &Ctes, outer: Option<&Scope>) -> Option<Vec<Col>> {
        match s {
            Statement::Query(q) => self.query(q, ctes, outer),
            Statement::Insert(i) => self.insert(i, ctes, outer),
            Statement::Update(u) => self.update(u, ctes, outer),
            Statement::Delete(d) => self.delete(d, ctes, outer),
            _ => None,
        }
    }

    fn query(&self, q: &Query, ctes: &Ctes, outer: Option<&Scope>) -> Option<Vec<Col>> {
        let mut ctes = ctes.clone();
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                let columns = if with.recursive {
                    None
                } else {
                    rename(self.query(&cte.query, &ctes, outer), Some(&cte.alias))
                };
                ctes.push((ident(&cte.alias.name), columns));
            }
        }
        self.set_expr(&q.body, &ctes, outer)
    }

    fn set_expr(&self, s: &SetExpr, ctes: &Ctes, outer: Option<&Scope>) -> Option<Vec<Col>> {
        match s {
            SetExpr::Select(select) => self.select(select, ctes, outer),
            SetExpr::Query(q) => self.query(q, ctes, outer),
            SetExpr::SetOperation { left, right, .. } => {
                let left = self.set_expr(left, ctes, outer)?;
                let right = self.set_expr(right, ctes, outer)?;
                (left.len() == right.len()).then(|| {
                    left.into_iter()
                        .zip(right)
                        .map(|(l, r)| Col {
                            proof: l.proof.and(r.proof).map(|_| Proof::EveryBranch),
                            string: l.string && r.string,
                            name: l.name,
                        })
                        .collect()
                })
            }
            SetExpr::Values(values) => {
                let scope = Scope::new(Vec::new(), outer);
                let width = values.rows.first()?.content.len();
                if values.rows.iter().any(|r| r.content.len() != width) {
                    return None;
                }
                Some(
                    (0..width)
                        .map(|i| Col {
                            name: Some(format!("column{}", i + 1)),
                            proof: all(
                                values
                                    .rows
                                    .iter()
                                    .map(|r| self.expr(&r.content[i], &scope, ctes)),
                                Proof::EveryBranch,
                            ),
                            string: false,
                        })
                        .collect(),
                )
            }
            SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) => {
                self.statement(s, ctes, outer)
            }
            _ => None,
        }
    }

    fn select(&self, s: &Select, ctes: &Ctes, outer: Option<&Scope>) -> Option<Vec<Col>> {
        let mut scope = self.from(&s.from, ctes, outer);
        scope.grouping_sets = match &s.group_by {
            GroupByExpr::All(modifiers) => !modifiers.is_empty(),
            GroupByExpr::Expressions(exprs, modifiers) => {
                !modifiers.is_empty()
                    || exprs.iter().any(|e| {
                        matches!(e, Expr::Rollup(_) | Expr::Cube(_) | Expr::GroupingSets(_))
                    })
            }
        };
        self.projection(&s.projection, &scope, ctes)
    }

    fn projection(&self, items: &[SelectItem], scope: &Scope, ctes: &Ctes) -> Option<Vec<Col>> {
        let mut out = Vec::new();
        for item in items {
            match item {
                SelectItem::UnnamedExpr(e) => out.push(Col {
                    name: Self::column_name(e),
                    proof: self.expr(e, scope, ctes),
                    string: self.is_string(e, scope),
                }),
                SelectItem::ExprWithAlias { expr, alias } => out.push(Col {
                    name: Some(ident(alias)),
                    proof: self.expr(expr, scope, ctes),
                    string: self.is_string(expr, scope),
                }),
                SelectItem::Wildcard(_) => {
                    if scope.merged_columns {
                        return None;
                    }
                    for rel in &scope.rels {
                        out.extend(self.star(rel, scope)?);
                    }
                }
                SelectItem::QualifiedWildcard(
                    SelectItemQualifiedWildcardKind::ObjectName(n),
                    _,
                ) => {
                    let name = object_name(n)?;
                    let rel = scope
                        .rels
                        .iter()
                        .find(|r| r.alias.as_deref() == name.last().map(String::as_str))?;
                    out.extend(self.star(rel, scope)?);
                }
                _ => return None,
            }
        }
        Some(out)
    }

    /// The columns `*` gives for `rel`.
    fn star(&self, rel: &Rel, scope: &Scope) -> Option<Vec<Col>> {
        Some(
            rel.columns
                .as_ref()?
                .iter()
                .map(|c| Col {
                    proof: c
                        .proof
                        .filter(|_| !rel.null_extended && !scope.grouping_sets),
                    ..c.clone()
                })
                .collect(),
        )
    }

    /// PostgreSQL's name for an unaliased output column, when certain.
    fn column_name(e: &Expr) -> Option<String> {
        match e {
            Expr::Identifier(i) => Some(ident(i)),
            Expr::CompoundIdentifier(parts) => parts.last().map(ident),
            Expr::Nested(inner) => Self::column_name(inner),
            // A cast keeps a column's or function's name; of anything else PostgreSQL
            // takes the type's name.
            Expr::Cast { expr, .. } => match &**expr {
                Expr::Identifier(_)
                | Expr::CompoundIdentifier(_)
                | Expr::Function(_)
                | Expr::Nested(_)
                | Expr::Cast { .. } => Self::column_name(expr),
                _ => None,
            },
            Expr::Function(f) => object_name(&f.name)?.pop(),
            Expr::Case { .. } => Some("case".to_owned()),
            Expr::Exists { .. } => Some("exists".to_owned()),
            _ => None,
        }
    }

    fn from<'s>(
        &self,
        from: &[TableWithJoins],
        ctes: &Ctes,
        outer: Option<&'s Scope<'s>>,
    ) -> Scope<'s> {
        // The scope is built left to right; a LATERAL item sees the entries before it.
        let mut scope = Scope::new(Vec::new(), outer);
        for twj in from {
            self.table_with_joins(twj, ctes, outer, &mut scope);
        }
        scope
    }

    fn table_with_joins<'s>(
        &self,
        twj: &TableWithJoins,
        ctes: &Ctes,
        outer: Option<&Scope>,
        scope: &mut Scope<'s>,
    ) {
        let start = scope.rels.len();
        let rels = self.factor(&twj.relation, ctes, outer, scope);
        scope.rels.extend(rels);
        for join in &twj.joins {
            let before = scope.rels.len();
            let rels = self.factor(&join.relation, ctes, outer, scope);
            scope.rels.extend(rels);
            let (left_nullable, right_nullable, constraint) = match &join.join_operator {
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::CrossJoin(c)
                | JoinOperator::StraightJoin(c) => (false, false, Some(c)),
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (false, true, Some(c)),
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (true, false, Some(c)),
                JoinOperator::FullOuter(c) => (true, true, Some(c)),
                // Not PostgreSQL: prove nothing on either side.
                _ => (true, true, None),
            };
            if matches!(
                constraint,
                Some(JoinConstraint::Using(_) | JoinConstraint::Natural)
            ) {
                scope.merged_columns = true;
            }
            for (i, rel) in scope.rels.iter_mut().enumerate().skip(start) {
                if (i < before && left_nullable) || (i >= before && right_nullable) {
                    rel.null_extended = true;
                }
            }
        }
    }

    /// The entries of one `FROM` item. `scope` holds the entries before it (for LATERAL).
    fn factor(
        &self,
        f: &TableFactor,
        ctes: &Ctes,
        outer: Option<&Scope>,
        scope: &Scope,
    ) -> Vec<Rel> {
        match f {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                let parts = object_name(name);
                let alias_name = alias
                    .as_ref()
                    .map(|a| ident(&a.name))
                    .or_else(|| parts.as_ref().and_then(|p| p.last().cloned()));
                let columns = match (&parts, args) {
                    (Some(parts), None) => self.relation(parts, ctes),
                    _ => None,
                };
                vec![Rel {
                    alias: alias_name,
                    columns: rename(columns, alias.as_ref()),
                    null_extended: false,
                }]
            }
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
                ..
            } => {
                let columns = if *lateral {
                    let visible = Scope {
                        rels: scope.rels.clone(),
                        parent: outer,
                        grouping_sets: false,
                        merged_columns: scope.merged_columns,
                    };
                    self.query(subquery, ctes, Some(&visible))
                } else {
                    self.query(subquery, ctes, outer)
                };
                vec![Rel {
                    alias: alias.as_ref().map(|a| ident(&a.name)),
                    columns: rename(columns, alias.as_ref()),
                    null_extended: false,
                }]
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            } => {
                let mut inner = Scope::new(Vec::new(), None);
                self.table_with_joins(table_with_joins, ctes, outer, &mut inner);
                inner.rels
            }
            TableFactor::Function { alias, .. }
            | TableFactor::UNNEST { alias, .. }
            | TableFactor::TableFunction { alias, .. }
            | TableFactor::NestedJoin { alias, .. } => vec![Rel {
                alias: alias.as_ref().map(|a| ident(&a.name)),
                columns: None,
                null_extended: false,
            }],
            _ => vec![Rel {
                alias: None,
                columns: None,
                null_extended: false,
            }],
        }
    }

    /// A table, view or CTE by name.
    fn relation(&self, parts: &[String], ctes: &Ctes) -> Option<Vec<Col>> {
        if let [name] = parts
            && let Some((_, columns)) = ctes.iter().rev().find(|(n, _)| n == name)
        {
            return columns.clone();
        }
        let columns = self.catalog.relations.get(&parts.join(SEPARATOR))?;
        Some(
            columns
                .iter()
                .map(|c| Col {
                    name: Some(c.name.clone()),
                    proof: c.not_null.then_some(Proof::Column),
                    string: c.string,
                })
                .collect(),
        )
    }

    fn insert(&self, i: &Insert, ctes: &Ctes, outer: Option<&Scope>) -> Option<Vec<Col>> {
        let TableObject::TableName(name) = &i.table else {
            return None;
        };
        let parts = object_name(name)?;
        let alias = match &i.table_alias {
            Some(a) => Some(ident(&a.alias)),
            None => parts.last().cloned(),
        };
        let rel = Rel {
            alias,
            columns: self.relation(&parts, &Ctes::new()),
            null_extended: false,
        };
        let scope = Scope::new(vec![rel], outer);
        self.projection(i.returning.as_deref().unwrap_or_default(), &scope, ctes)
    }

    fn update(&self, u: &Update, ctes: &Ctes, outer: Option<&Scope>) -> Option<Vec<Col>> {
        let mut tables = vec![u.table.clone()];
        match &u.from {
            Some(UpdateTableFromKind::BeforeSet(from) | UpdateTableFromKind::AfterSet(from)) => {
                tables.extend(from.iter().cloned())
            }
            None => {}
        }
        let scope = self.from(&tables, ctes, outer);
        self.projection(u.returning.as_deref().unwrap_or_default(), &scope, ctes)
    }

    fn delete(&self, d: &Delete, ctes: &Ctes, outer: Option<&Scope>) -> Option<Vec<Col>> {
        let mut tables = match &d.from {
            FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t.clone(),
        };
        tables.extend(d.using.iter().flatten().cloned());
        let scope = self.from(&tables, ctes, outer);
        self.projection(d.returning.as_deref().unwrap_or_default(), &scope, ctes)
    }

    /// A column reference: the column, if it resolves to exactly one proven column.
    fn reference(&self, qualifier: Option<&str>, column: &str, scope: &Scope) -> Option<Col> {
        let mut level = Some(scope);
        while let Some(s) = level {
            let mut found = Vec::new();
            let mut unknown = false;
            for rel in &s.rels {
                if let Some(q) = qualifier
                    && rel.alias.as_deref() != Some(q)
                {
                    continue;
                }
                match &rel.columns {
                    Some(columns) => {
                        let matching: Vec<_> = columns
                            .iter()
                            .filter(|c| c.name.as_deref() == Some(column))
                            .collect();
                        if matching.len() > 1 {
                            return None;
                        }
                        found.extend(matching.into_iter().map(|c| (rel, c)));
                    }
                    None => unknown = true,
                }
            }
            match found.as_slice() {
                [(rel, col)] if !unknown => {
                    return (!rel.null_extended && !s.grouping_sets && col.proof.is_some())
                        .then(|| (*col).clone());
                }
                [] if !unknown => {
                    // A qualifier that names an entry here stops the search.
                    if qualifier
                        .is_some_and(|q| s.rels.iter().any(|r| r.alias.as_deref() == Some(q)))
                    {
                        return None;
                    }
                    level = s.parent;
                }
                _ => return None,
            }
        }
        None
    }

    fn column(&self, e: &Expr, scope: &Scope) -> Option<Col> {
        match e {
            Expr::Identifier(i) => self.reference(None, &ident(i), scope),
            Expr::CompoundIdentifier(parts) => {
                let names: Vec<String> = parts.iter().map(ident).collect();
                match names.as_slice() {
                    [table, column] | [_, table, column] => {
                        self.reference(Some(table), column, scope)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Known to be of a string type (for `lower`/`upper`, which have range overloads).
    fn is_string(&self, e: &Expr, scope: &Scope) -> bool {
        match e {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                self.column(e, scope).is_some_and(|c| c.string)
            }
            Expr::Nested(inner) => self.is_string(inner, scope),
            Expr::Value(v) => matches!(
                v.value,
                Value::SingleQuotedString(_) | Value::EscapedStringLiteral(_)
            ),
            Expr::Cast { data_type, .. } => {
                let t = data_type.to_string().to_lowercase();
                !t.ends_with(']')
                    && ["text", "varchar", "character", "char", "name"]
                        .iter()
                        .any(|s| t.starts_with(s))
            }
            Expr::Function(f) => object_name(&f.name)
                .and_then(|mut n| n.pop())
                .is_some_and(|n| {
                    [
                        "lower",
                        "upper",
                        "concat",
                        "concat_ws",
                        "format",
                        "btrim",
                        "initcap",
                    ]
                    .contains(&n.as_str())
                }),
            Expr::Trim { .. } => true,
            _ => false,
        }
    }

    fn exprs<'e>(
        &self,
        es: impl IntoIterator<Item = &'e Expr>,
        scope: &Scope,
        ctes: &Ctes,
        proof: Proof,
    ) -> Option<Proof> {
        all(es.into_iter().map(|e| self.expr(e, scope, ctes)), proof)
    }

    fn expr(&self, e: &Expr, scope: &Scope, ctes: &Ctes) -> Option<Proof> {
        match e {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                self.column(e, scope).and_then(|c| c.proof)
            }
            Expr::Value(v) => match &v.value {
                Value::Null => None,
                Value::Placeholder(p) => {
                    let n: usize = p.strip_prefix('$')?.parse().ok()?;
                    (!*self.narg.get(n.checked_sub(1)?)?).then_some(Proof::Parameter)
                }
                _ => Some(Proof::Literal),
            },
            Expr::TypedString(_) | Expr::Interval(_) | Expr::Array(_) => Some(Proof::Literal),
            Expr::Nested(inner) => self.expr(inner, scope, ctes),
            Expr::Cast {
                kind: CastKind::Cast | CastKind::DoubleColon,
                expr,
                format: None,
                ..
            } => self.expr(expr, scope, ctes).map(|_| Proof::Cast),
            Expr::Collate { expr, .. } => self.expr(expr, scope, ctes),
            Expr::UnaryOp { op, expr } => {
                let symbol = match op {
                    UnaryOperator::Not => None,
                    UnaryOperator::Minus => Some("-"),
                    UnaryOperator::Plus => Some("+"),
                    UnaryOperator::PGAbs => Some("@"),
                    UnaryOperator::PGSquareRoot => Some("|/"),
                    UnaryOperator::PGCubeRoot => Some("||/"),
                    UnaryOperator::BitwiseNot => Some("~"),
                    _ => return None,
                };
                if symbol.is_some_and(|s| self.catalog.non_strict_operators.contains(s)) {
                    return None;
                }
                self.expr(expr, scope, ctes).map(|_| Proof::Operator)
            }
            Expr::BinaryOp { left, op, right } => {
                let symbol = match op {
                    BinaryOperator::And | BinaryOperator::Or => None,
                    _ => Some(strict_operator(op)?),
                };
                if symbol.is_some_and(|s| self.catalog.non_strict_operators.contains(s)) {
                    return None;
                }
                self.exprs([&**left, &**right], scope, ctes, Proof::Operator)
            }
            Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::IsTrue(_)
            | Expr::IsNotTrue(_)
            | Expr::IsFalse(_)
            | Expr::IsNotFalse(_)
            | Expr::IsUnknown(_)
            | Expr::IsNotUnknown(_)
            | Expr::IsDistinctFrom(..)
            | Expr::IsNotDistinctFrom(..)
            | Expr::Exists { .. } => Some(Proof::Predicate),
            Expr::InList { expr, list, .. } => self.exprs(
                std::iter::once(&**expr).chain(list),
                scope,
                ctes,
                Proof::Operator,
            ),
            Expr::InSubquery { expr, subquery, .. } => {
                self.expr(expr, scope, ctes)?;
                let columns = self.query(subquery, ctes, Some(scope))?;
                match columns.as_slice() {
                    [c] => c.proof.map(|_| Proof::Operator),
                    _ => None,
                }
            }
            Expr::Between {
                expr, low, high, ..
            } => self.exprs([&**expr, &**low, &**high], scope, ctes, Proof::Operator),
            Expr::Like {
                any: false,
                expr,
                pattern,
                escape_char,
                ..
            }
            | Expr::ILike {
                any: false,
                expr,
                pattern,
                escape_char,
                ..
            } => self.exprs(
                [&**expr, &**pattern]
                    .into_iter()
                    .chain(escape_char.as_deref()),
                scope,
                ctes,
                Proof::Operator,
            ),
            Expr::SimilarTo {
                expr,
                pattern,
                escape_char,
                ..
            } => self.exprs(
                [&**expr, &**pattern]
                    .into_iter()
                    .chain(escape_char.as_deref()),
                scope,
                ctes,
                Proof::Operator,
            ),
            Expr::AnyOp {
                left,
                compare_op,
                right,
                ..
            }
            | Expr::AllOp {
                left,
                compare_op,
                right,
            } => {
                // Only over an `ARRAY[...]` of NOT NULL elements: a NULL element makes
                // `x = ANY(...)` NULL when nothing matches.
                let symbol = strict_operator(compare_op)?;
                if self.catalog.non_strict_operators.contains(symbol) {
                    return None;
                }
                self.expr(left, scope, ctes)?;
                match &**right {
                    Expr::Array(array) => self.exprs(&array.elem, scope, ctes, Proof::Operator),
                    _ => None,
                }
            }
            Expr::AtTimeZone {
                timestamp,
                time_zone,
            } => self.exprs([&**timestamp, &**time_zone], scope, ctes, Proof::Function),
            Expr::Ceil {
                expr,
                field: CeilFloorKind::DateTimeField(DateTimeField::NoDateTime),
            }
            | Expr::Floor {
                expr,
                field: CeilFloorKind::DateTimeField(DateTimeField::NoDateTime),
            } => self.expr(expr, scope, ctes).map(|_| Proof::Function),
            Expr::Position { expr, r#in } => {
                self.exprs([&**expr, &**r#in], scope, ctes, Proof::Function)
            }
            Expr::Trim {
                expr,
                trim_what,
                trim_characters,
                ..
            } => self.exprs(
                std::iter::once(&**expr)
                    .chain(trim_what.as_deref())
                    .chain(trim_characters.iter().flatten()),
                scope,
                ctes,
                Proof::Function,
            ),
            Expr::Overlay {
                expr,
                overlay_what,
                overlay_from,
                overlay_for,
            } => self.exprs(
                [&**expr, &**overlay_what, &**overlay_from]
                    .into_iter()
                    .chain(overlay_for.as_deref()),
                scope,
                ctes,
                Proof::Function,
            ),
            Expr::Case {
                conditions,
                else_result,
                ..
            } => {
                let else_result = else_result.as_deref()?;
                self.exprs(
                    conditions.iter().map(|w| &w.result).chain([else_result]),
                    scope,
                    ctes,
                    Proof::Case,
                )
            }
            Expr::Tuple(elements) => self.exprs(elements, scope, ctes, Proof::Operator),
            Expr::Subquery(q) => self.scalar_subquery(q, scope, ctes),
            Expr::Function(f) => self.function(f, scope, ctes),
            _ => None,
        }
    }

    /// `(SELECT ...)`: NULL for zero rows, so proven only for one aggregate row.
    fn scalar_subquery(&self, q: &Query, scope: &Scope, ctes: &Ctes) -> Option<Proof> {
        if q.limit_clause.is_some() || q.fetch.is_some() {
            return None;
        }
        let SetExpr::Select(select) = &*q.body else {
            return None;
        };
        let grouped = match &select.group_by {
            GroupByExpr::All(_) => true,
            GroupByExpr::Expressions(exprs, modifiers) => {
                !exprs.is_empty() || !modifiers.is_empty()
            }
        };
        if grouped || select.having.is_some() {
            return None;
        }
        let [item] = select.projection.as_slice() else {
            return None;
        };
        let expr = match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
            _ => return None,
        };
        if !self.has_aggregate(expr) {
            return None;
        }
        let columns = self.query(q, ctes, Some(scope))?;
        match columns.as_slice() {
            [c] => c.proof.map(|_| Proof::Subquery),
            _ => None,
        }
    }

    /// Whether `e` calls an aggregate (not as a window function) outside subqueries, so
    /// that a query without `GROUP BY` selecting it returns exactly one row.
    fn has_aggregate(&self, e: &Expr) -> bool {
        match e {
            Expr::Function(f) => {
                let Some(mut name) = object_name(&f.name) else {
                    return false;
                };
                let Some(last) = name.pop() else {
                    return false;
                };
                let schema = name.pop();
                let aggregate = f.over.is_none()
                    && self
                        .catalog
                        .overloads(schema.as_deref(), &last)
                        .iter()
                        .any(|p| p.kind == "a");
                aggregate || function_args(f).iter().any(|a| self.has_aggregate(a))
            }
            Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => self.has_aggregate(inner),
            Expr::BinaryOp { left, right, .. } => {
                self.has_aggregate(left) || self.has_aggregate(right)
            }
            Expr::UnaryOp { expr, .. } => self.has_aggregate(expr),
            _ => false,
        }
    }

    fn function(&self, f: &Function, scope: &Scope, ctes: &Ctes) -> Option<Proof> {
        let mut name = object_name(&f.name)?;
        let last = name.pop()?;
        let schema = name.pop();
        if !name.is_empty() || schema.as_deref().is_some_and(|s| s != "pg_catalog") {
            return None;
        }
        let schema = schema.as_deref();
        if !f.within_group.is_empty() {
            return None;
        }
        // `ARRAY(SELECT ...)` is an empty array for no rows.
        if last == "array" && matches!(f.args, FunctionArguments::Subquery(_)) {
            return Some(Proof::Literal);
        }
        let FunctionArguments::List(list) = &f.args else {
            return (matches!(f.args, FunctionArguments::None)
                && f.over.is_none()
                && VALUE_FUNCTIONS.contains(&last.as_str()))
            .then_some(Proof::Function);
        };
        let args = function_args(f);
        // `count(*)` and the like: no expression arguments to check.
        let all_args_plain = list.args.iter().all(|a| {
            matches!(
                a,
                FunctionArg::Unnamed(FunctionArgExpr::Expr(_))
                    | FunctionArg::Named {
                        arg: FunctionArgExpr::Expr(_),
                        ..
                    }
            )
        });
        if last == "count" {
            return self
                .catalog
                .builtin_only(schema, &last)
                .then_some(Proof::Count);
        }
        if let Some(_window) = &f.over {
            if RANKING.contains(&last.as_str()) && self.catalog.builtin_only(schema, &last) {
                return self.exprs(args, scope, ctes, Proof::Ranking);
            }
            return None;
        }
        if !all_args_plain || f.filter.is_some() {
            return None;
        }
        match last.as_str() {
            // Keywords in PostgreSQL, never user functions.
            "coalesce" => args
                .iter()
                .any(|a| self.expr(a, scope, ctes).is_some())
                .then_some(Proof::Coalesce),
            // `GROUPING(...)` is a bit mask, never NULL.
            "grouping" => Some(Proof::Function),
            "greatest" | "least" => args
                .iter()
                .any(|a| self.expr(a, scope, ctes).is_some())
                .then_some(Proof::GreatestLeast),
            name if may_return_null(name) => None,
            name if NEVER_NULL.contains(&name) => self
                .catalog
                .all_builtin(schema, name, false)
                .then_some(Proof::Function),
            name if NULL_ONLY_FOR_NULL_FIRST.contains(&name) => {
                if !self.catalog.all_builtin(schema, name, false) {
                    return None;
                }
                self.expr(args.first()?, scope, ctes)
                    .map(|_| Proof::Function)
            }
            name => {
                if !self.catalog.all_builtin(schema, name, true) {
                    return None;
                }
                // `lower`/`upper` of a range are NULL for an empty or unbounded range.
                if matches!(name, "lower" | "upper")
                    && !args.iter().all(|a| self.is_string(a, scope))
                {
                    return None;
                }
                self.exprs(args, scope, ctes, Proof::Function)
            }
        }
    }
}

fn function_args(f: &Function) -> Vec<&Expr> {
    match &f.args {
        FunctionArguments::List(list) => list
            .args
            .iter()
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                | FunctionArg::Named {
                    arg: FunctionArgExpr::Expr(e),
                    ..
                }
                | FunctionArg::ExprNamed {
                    arg: FunctionArgExpr::Expr(e),
                    ..
                } => Some(e),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The PostgreSQL name of a binary operator whose built-in overloads are strict and never
/// NULL for NOT NULL operands; `None` for any other operator (`->`, `->>`, `#>`, `#>>`,
/// `@@`, `@?`, `#`, custom operators).
fn strict_operator(op: &BinaryOperator) -> Option<&'static str> {
    Some(match op {
        BinaryOperator::Plus => "+",
        BinaryOperator::Minus => "-",
        BinaryOperator::Multiply => "*",
        BinaryOperator::Divide => "/",
        BinaryOperator::Modulo => "%",
        BinaryOperator::StringConcat => "||",
        BinaryOperator::Gt => ">",
        BinaryOperator::Lt => "<",
        BinaryOperator::GtEq => ">=",
        BinaryOperator::LtEq => "<=",
        BinaryOperator::Eq => "=",
        BinaryOperator::NotEq => "<>",
        BinaryOperator::BitwiseOr => "|",
        BinaryOperator::BitwiseAnd => "&",
        BinaryOperator::PGBitwiseShiftLeft => "<<",
        BinaryOperator::PGBitwiseShiftRight => ">>",
        BinaryOperator::PGExp => "^",
        BinaryOperator::PGRegexMatch => "~",
        BinaryOperator::PGRegexIMatch => "~*",
        BinaryOperator::PGRegexNotMatch => "!~",
        BinaryOperator::PGRegexNotIMatch => "!~*",
        BinaryOperator::PGLikeMatch => "~~",
        BinaryOperator::PGILikeMatch => "~~*",
        BinaryOperator::PGNotLikeMatch => "!~~",
        BinaryOperator::PGNotILikeMatch => "!~~*",
        BinaryOperator::PGStartsWith => "^@",
        BinaryOperator::AtArrow => "@>",
        BinaryOperator::ArrowAt => "<@",
        BinaryOperator::PGOverlap => "&&",
        BinaryOperator::Question => "?",
        BinaryOperator::QuestionAnd => "?&",
        BinaryOperator::QuestionPipe => "?|",
        _ => return None,
    })
}

impl<'a> Scope<'a> {
    fn new(rels: Vec<Rel>, parent: Option<&'a Scope<'a>>) -> Scope<'a> {
        Scope {
            rels,
            parent,
            grouping_sets: false,
            merged_columns: false,
        }
    }
}
