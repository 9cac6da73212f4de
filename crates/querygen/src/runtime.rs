// The fixed part of the generated `queries.rs` shared by both flavours (errors, the
// statement cache, metrics, the `Metered` wrapper): `emit` parses this file and appends it
// after the per-query items, followed by `runtime_sync.rs`; `queries_async.rs` reaches it
// through `use super::*` and appends `runtime_async.rs`. So the generated files need
// nothing but `postgres` (`tokio-postgres` for the async one, and the crates the column
// types name). It refers to the generated `QueryId` and `CUSTOM_TYPES`; it is compiled (and
// linted) as part of the crate that includes the generated files. Plain `//` comments are
// dropped on the way; doc comments stay.

/// What went wrong running a generated query.
#[derive(Debug)]
pub enum QueryError {
    /// The server refused the statement, or the connection failed. Classify it with
    /// [`QueryError::postgres`] and `db::is_check_violation` and friends.
    Db {
        query: QueryId,
        source: ::postgres::Error,
    },
    /// A `:one` query returned no row.
    NotFound { query: QueryId },
    /// A `:one` or `:opt` query returned more than one row.
    TooManyRows { query: QueryId, rows: usize },
    /// NULL arrived in a column the generated code declares NOT NULL (a forced `!` alias
    /// that did not hold, or a schema that changed since `cargo xtask gen`).
    UnexpectedNull {
        query: QueryId,
        column: &'static str,
    },
    /// A value could not be decoded into its Rust type (a type changed since generation).
    Decode {
        query: QueryId,
        column: &'static str,
        source: ::postgres::Error,
    },
    /// Item `index` (0-based) of a `:batchexec`, `:batchone` or `:batchmany` call failed.
    Batch {
        index: usize,
        source: Box<QueryError>,
    },
}

impl QueryError {
    /// The query that failed.
    pub fn query(&self) -> QueryId {
        match self {
            QueryError::Db { query, .. }
            | QueryError::NotFound { query }
            | QueryError::TooManyRows { query, .. }
            | QueryError::UnexpectedNull { query, .. }
            | QueryError::Decode { query, .. } => *query,
            QueryError::Batch { source, .. } => source.query(),
        }
    }

    /// A `:one` query (or an item of a `:batchone` one) found no row.
    pub fn is_not_found(&self) -> bool {
        match self {
            QueryError::NotFound { .. } => true,
            QueryError::Batch { source, .. } => source.is_not_found(),
            _ => false,
        }
    }

    /// The `postgres` error of a [`QueryError::Db`] (SQLSTATE, constraint name, ...), also
    /// inside a [`QueryError::Batch`].
    pub fn postgres(&self) -> Option<&::postgres::Error> {
        match self {
            QueryError::Db { source, .. } => Some(source),
            QueryError::Batch { source, .. } => source.postgres(),
            _ => None,
        }
    }

    /// The index of the failing item of a batch call.
    pub fn batch_index(&self) -> Option<usize> {
        match self {
            QueryError::Batch { index, .. } => Some(*index),
            _ => None,
        }
    }

    fn in_batch(self, index: usize) -> QueryError {
        QueryError::Batch {
            index,
            source: Box::new(self),
        }
    }

    fn decode(query: QueryId, index: usize, source: ::postgres::Error) -> QueryError {
        let column = query.columns().get(index).copied().unwrap_or("?");
        let was_null = ::std::error::Error::source(&source)
            .is_some_and(|cause| cause.is::<::postgres::types::WasNull>());
        if was_null {
            QueryError::UnexpectedNull { query, column }
        } else {
            QueryError::Decode {
                query,
                column,
                source,
            }
        }
    }
}

impl ::std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        let query = self.query();
        write!(f, "query {} ({}): ", query.name(), query.source())?;
        self.fmt_detail(f)
    }
}

impl QueryError {
    fn fmt_detail(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        match self {
            QueryError::Db { source, .. } => match source.as_db_error() {
                Some(db) => write!(
                    f,
                    "{} {}: {}",
                    db.severity(),
                    db.code().code(),
                    db.message()
                ),
                None => write!(f, "{source}"),
            },
            QueryError::NotFound { .. } => f.write_str("no row"),
            QueryError::TooManyRows { rows, .. } => {
                write!(f, "{rows} rows where at most one was expected")
            }
            QueryError::UnexpectedNull { column, .. } => {
                write!(f, "column {column} is NULL but is declared NOT NULL")
            }
            QueryError::Decode { column, source, .. } => {
                write!(f, "cannot decode column {column}: {source}")
            }
            QueryError::Batch { index, source } => {
                write!(f, "item {index} of the batch: ")?;
                source.fmt_detail(f)
            }
        }
    }
}

impl ::std::error::Error for QueryError {
    fn source(&self) -> Option<&(dyn ::std::error::Error + 'static)> {
        match self {
            QueryError::Db { source, .. } | QueryError::Decode { source, .. } => Some(source),
            QueryError::Batch { source, .. } => ::std::error::Error::source(source.as_ref()),
            _ => None,
        }
    }
}

/// Read column `index` of a row of `query`, mapping a NULL in a non-optional column to
/// [`QueryError::UnexpectedNull`].
fn read_column<'r, T: ::postgres::types::FromSql<'r>>(
    row: &'r ::postgres::Row,
    query: QueryId,
    index: usize,
) -> Result<T, QueryError> {
    row.try_get(index)
        .map_err(|source| QueryError::decode(query, index, source))
}

/// The rows of each item of a `:batchone` call, decoded: exactly one row per item.
#[allow(dead_code)]
fn batch_one<T>(
    query: QueryId,
    results: Vec<Vec<::postgres::Row>>,
    decode: fn(&::postgres::Row) -> Result<T, QueryError>,
) -> Result<Vec<T>, QueryError> {
    results
        .into_iter()
        .enumerate()
        .map(|(index, rows)| {
            match rows.as_slice() {
                [row] => decode(row),
                [] => Err(QueryError::NotFound { query }),
                _ => Err(QueryError::TooManyRows {
                    query,
                    rows: rows.len(),
                }),
            }
            .map_err(|e| e.in_batch(index))
        })
        .collect()
}

/// The rows of each item of a `:batchmany` call, decoded.
#[allow(dead_code)]
fn batch_many<T>(
    results: Vec<Vec<::postgres::Row>>,
    decode: fn(&::postgres::Row) -> Result<T, QueryError>,
) -> Result<Vec<Vec<T>>, QueryError> {
    results
        .into_iter()
        .enumerate()
        .map(|(index, rows)| {
            rows.iter()
                .map(decode)
                .collect::<Result<Vec<T>, QueryError>>()
                .map_err(|e| e.in_batch(index))
        })
        .collect()
}

/// How a session sends its queries.
///
/// The default for `Session::new` is [`Execution::DEFAULT`], set by `[query_runtime]
/// prepare` in `gen.toml` (`Prepared` unless it says `prepare = false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Execution {
    /// Each query is prepared once per connection (a named statement) and then run with
    /// Bind/Execute: one round trip per call, the statement cached in the
    /// [`StatementCache`]. Needs the same server session for every call: a direct
    /// connection, or a pooler in session mode.
    Prepared,
    /// Each call sends Parse/Bind/Execute of an unnamed statement with the parameter types
    /// known at generation (`query_typed`): one round trip per call, nothing left in the
    /// server session, so it works through PgBouncer in transaction mode. Types without a
    /// fixed OID (enums, composites, extension types) are resolved once per connection, in
    /// one transaction that leaves no prepared statement behind.
    Unprepared,
}

/// The type a parameter is sent as when unprepared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireType {
    /// A built-in type, by OID (the same in every database).
    Builtin(u32),
    /// A type whose OID differs per database (an enum, a composite, an extension's type):
    /// its position in [`CUSTOM_TYPES`], resolved once per connection.
    Custom(usize),
}

/// The prepared statements of one connection (each query is prepared on its first use and
/// reused after), and for [`Execution::Unprepared`] the resolved [`CUSTOM_TYPES`].
/// Prepared statements outlive transactions, so a connection's session and the sessions
/// of its transactions share one cache.
///
/// A cache belongs to one connection. Used with another one, the first call fails with
/// SQLSTATE 26000 (statement names are unique per process, so a statement of another
/// connection can never run by mistake) and the cache empties itself; the next call
/// prepares again.
#[derive(Default)]
pub struct StatementCache {
    statements: Vec<Option<::postgres::Statement>>,
    custom_types: Option<Vec<::postgres::types::Type>>,
}

impl StatementCache {
    pub fn new() -> Self {
        StatementCache::default()
    }

    /// How many statements are prepared.
    pub fn len(&self) -> usize {
        self.statements.iter().filter(|s| s.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `query` is prepared.
    pub fn contains(&self, query: QueryId) -> bool {
        matches!(self.statements.get(query.index()), Some(Some(_)))
    }

    /// Whether [`CUSTOM_TYPES`] are resolved on this connection (done by the first
    /// unprepared call that needs them).
    pub fn custom_types_resolved(&self) -> bool {
        self.custom_types.is_some()
    }

    /// Forget every statement (they are closed on the server when dropped) and the
    /// resolved types.
    pub fn clear(&mut self) {
        self.statements.clear();
        self.custom_types = None;
    }

    fn cached(&self, query: QueryId) -> Option<::postgres::Statement> {
        self.statements.get(query.index()).cloned().flatten()
    }

    fn store(&mut self, query: QueryId, statement: &::postgres::Statement) {
        if self.statements.len() < QueryId::COUNT {
            self.statements.resize(QueryId::COUNT, None);
        }
        self.statements[query.index()] = Some(statement.clone());
    }

    /// Whether an unprepared call of `query` must resolve [`CUSTOM_TYPES`] first.
    fn needs_custom_types(&self, query: QueryId) -> bool {
        query.uses_custom_types() && self.custom_types.is_none()
    }

    fn set_custom_types(&mut self, types: Vec<::postgres::types::Type>) {
        self.custom_types = Some(types);
    }

    /// The types `query`'s parameters are sent as when unprepared, and the column types
    /// of a `:copyfrom` (custom types resolved by then).
    fn wire_types(&self, query: QueryId) -> Vec<::postgres::types::Type> {
        query
            .param_types()
            .iter()
            .map(|wire| match *wire {
                WireType::Builtin(oid) => builtin_type(oid),
                WireType::Custom(i) => self
                    .custom_types
                    .as_ref()
                    .and_then(|types| types.get(i).cloned())
                    .unwrap_or_else(|| builtin_type(0)),
            })
            .collect()
    }

    /// The parameters of an unprepared call, each with the type it is sent as.
    fn typed_params<'a>(
        &self,
        query: QueryId,
        params: &[&'a (dyn ::postgres::types::ToSql + Sync)],
    ) -> Vec<(&'a (dyn ::postgres::types::ToSql + Sync), ::postgres::types::Type)> {
        params
            .iter()
            .copied()
            .zip(self.wire_types(query))
            .collect()
    }

    /// The results of a pipelined batch, or the first failing item's error.
    #[allow(dead_code)]
    fn batch_results<T>(
        &mut self,
        query: QueryId,
        results: Vec<Result<T, ::postgres::Error>>,
    ) -> Result<Vec<T>, QueryError> {
        results
            .into_iter()
            .enumerate()
            .map(|(index, result)| result.map_err(|source| self.failed(query, source).in_batch(index)))
            .collect()
    }

    /// Wrap a failure, dropping statements the server no longer knows.
    fn failed(&mut self, query: QueryId, source: ::postgres::Error) -> QueryError {
        if let Some(db) = source.as_db_error() {
            if *db.code() == ::postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME {
                self.clear();
            } else if *db.code() == ::postgres::error::SqlState::FEATURE_NOT_SUPPORTED
                && db.message().contains("cached plan")
                && let Some(slot) = self.statements.get_mut(query.index())
            {
                *slot = None;
            }
        }
        QueryError::Db { query, source }
    }
}

impl ::std::fmt::Debug for StatementCache {
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        f.debug_struct("StatementCache")
            .field("prepared", &self.len())
            .field("custom_types_resolved", &self.custom_types_resolved())
            .finish()
    }
}

/// The driver's type for a built-in OID (an unknown one only fails to encode, with a
/// `postgres` error naming the Rust type).
fn builtin_type(oid: u32) -> ::postgres::types::Type {
    ::postgres::types::Type::from_oid(oid).unwrap_or_else(|| {
        ::postgres::types::Type::new(
            String::new(),
            oid,
            ::postgres::types::Kind::Pseudo,
            String::new(),
        )
    })
}

/// The parameter types `query` is prepared with (empty: the server infers them all).
fn prepare_types(query: QueryId) -> Vec<::postgres::types::Type> {
    query.param_oids().iter().map(|&oid| builtin_type(oid)).collect()
}

/// Resolving [`CUSTOM_TYPES`], step 1: a row whose columns have those types (the driver
/// looks each one up, with named statements of its own, inside the caller's transaction),
/// and the time before the lookups.
fn custom_types_sql() -> String {
    let mut sql = "SELECT clock_timestamp()".to_owned();
    for ty in CUSTOM_TYPES {
        sql.push_str(", NULL::");
        sql.push_str(ty);
    }
    sql
}

/// The types of the columns of [`custom_types_sql`]'s row after the first: the
/// [`CUSTOM_TYPES`], in order.
fn column_types(columns: &[::postgres::Column]) -> Vec<::postgres::types::Type> {
    columns[1..]
        .iter()
        .map(|column| column.type_().clone())
        .collect()
}

/// Step 2: the `DEALLOCATE`s of the statements the lookups prepared (since `$1`), to run
/// before the transaction ends, so nothing is left on a pooled server connection.
const LOOKUP_STATEMENTS_SQL: &str = "SELECT coalesce(string_agg(format('DEALLOCATE %I', name), '; '), '') \
     FROM pg_catalog.pg_prepared_statements WHERE NOT from_sql AND prepare_time >= $1";

/// Counts and times of one query's calls through a [`Metered`] querier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryStats {
    pub calls: u64,
    /// Calls that returned an error (not-found included).
    pub errors: u64,
    /// Rows returned (`:one`, `:opt`, `:many`) or affected (`:execrows`) by successful calls.
    pub rows: u64,
    /// Wall time of all calls, statement preparation and row decoding included.
    pub total: ::std::time::Duration,
    /// The slowest call.
    pub max: ::std::time::Duration,
}

impl QueryStats {
    const ZERO: QueryStats = QueryStats {
        calls: 0,
        errors: 0,
        rows: 0,
        total: ::std::time::Duration::ZERO,
        max: ::std::time::Duration::ZERO,
    };

    /// Mean time per call (zero without calls).
    pub fn mean(&self) -> ::std::time::Duration {
        match u32::try_from(self.calls) {
            Ok(0) => ::std::time::Duration::ZERO,
            Ok(n) => self.total / n,
            Err(_) => {
                ::std::time::Duration::from_secs_f64(self.total.as_secs_f64() / self.calls as f64)
            }
        }
    }

    fn add(&mut self, other: &QueryStats) {
        self.calls += other.calls;
        self.errors += other.errors;
        self.rows += other.rows;
        self.total += other.total;
        self.max = self.max.max(other.max);
    }
}

/// Per-query [`QueryStats`], indexed by [`QueryId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryMetrics {
    stats: [QueryStats; QueryId::COUNT],
}

impl Default for QueryMetrics {
    fn default() -> Self {
        QueryMetrics {
            stats: [QueryStats::ZERO; QueryId::COUNT],
        }
    }
}

impl QueryMetrics {
    pub fn new() -> Self {
        QueryMetrics::default()
    }

    pub fn get(&self, query: QueryId) -> &QueryStats {
        &self.stats[query.index()]
    }

    /// Every query with its stats, in [`QueryId::ALL`] order (uncalled ones included).
    pub fn iter(&self) -> impl Iterator<Item = (QueryId, &QueryStats)> + '_ {
        QueryId::ALL.iter().map(|&q| (q, &self.stats[q.index()]))
    }

    /// The queries called at least once.
    pub fn called(&self) -> impl Iterator<Item = (QueryId, &QueryStats)> + '_ {
        self.iter().filter(|(_, s)| s.calls > 0)
    }

    /// All queries together.
    pub fn total(&self) -> QueryStats {
        let mut total = QueryStats::ZERO;
        for s in &self.stats {
            total.add(s);
        }
        total
    }

    /// Add another set (e.g. of another connection).
    pub fn merge(&mut self, other: &QueryMetrics) {
        for (mine, theirs) in self.stats.iter_mut().zip(&other.stats) {
            mine.add(theirs);
        }
    }

    pub fn reset(&mut self) {
        self.stats = [QueryStats::ZERO; QueryId::COUNT];
    }

    fn record(&mut self, query: QueryId, elapsed: ::std::time::Duration, rows: Option<u64>) {
        let s = &mut self.stats[query.index()];
        s.calls += 1;
        s.total += elapsed;
        s.max = s.max.max(elapsed);
        match rows {
            Some(rows) => s.rows += rows,
            None => s.errors += 1,
        }
    }
}

/// A table of the called queries: calls, errors, rows, total, mean and max time.
impl ::std::fmt::Display for QueryMetrics {
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        let width = self
            .called()
            .map(|(q, _)| q.name().len())
            .max()
            .unwrap_or(5)
            .max(5);
        writeln!(
            f,
            "{:width$} {:>8} {:>6} {:>8} {:>12} {:>12} {:>12}",
            "query", "calls", "errors", "rows", "total", "mean", "max"
        )?;
        for (q, s) in self.called() {
            writeln!(
                f,
                "{:width$} {:>8} {:>6} {:>8} {:>12?} {:>12?} {:>12?}",
                q.name(),
                s.calls,
                s.errors,
                s.rows,
                s.total,
                s.mean(),
                s.max
            )?;
        }
        Ok(())
    }
}

/// A [`Querier`] that forwards every query to `inner` and counts and times it. Every
/// query of `Querier` goes through it (the forwarding methods are generated), so no query
/// is ever left unmetered.
///
/// ```ignore
/// let mut db = Metered::new(Session::new(client));
/// db.get_group_ai_budget(group_id)?;
/// let stats = db.metrics().get(QueryId::GetGroupAiBudget);
/// println!("{}", db.metrics());
/// ```
pub struct Metered<Q, M = QueryMetrics> {
    inner: Q,
    metrics: M,
}

impl<Q> Metered<Q> {
    pub fn new(inner: Q) -> Self {
        Metered {
            inner,
            metrics: QueryMetrics::new(),
        }
    }
}

impl<Q, M: ::std::borrow::BorrowMut<QueryMetrics>> Metered<Q, M> {
    /// Record into `metrics` (e.g. `&mut QueryMetrics` shared by the sessions of one
    /// connection and its transactions).
    pub fn with_metrics(inner: Q, metrics: M) -> Self {
        Metered { inner, metrics }
    }

    pub fn inner(&self) -> &Q {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut Q {
        &mut self.inner
    }

    pub fn into_inner(self) -> Q {
        self.inner
    }

    pub fn metrics(&self) -> &QueryMetrics {
        self.metrics.borrow()
    }

    pub fn reset_metrics(&mut self) {
        self.metrics.borrow_mut().reset();
    }

    #[allow(dead_code)]
    fn record_call(&mut self, query: QueryId, started: ::std::time::Instant, rows: Option<u64>) {
        self.metrics
            .borrow_mut()
            .record(query, started.elapsed(), rows);
    }
}

impl<Q, M: ::std::borrow::Borrow<QueryMetrics>> ::std::fmt::Debug for Metered<Q, M> {
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        f.debug_struct("Metered")
            .field("metrics", self.metrics.borrow())
            .finish_non_exhaustive()
    }
}
