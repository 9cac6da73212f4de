// The fixed part of the generated `queries.rs`: `emit` parses this file and appends it
// after the per-query items, so the generated file needs nothing but `postgres` (and the
// crates its column types name). It refers to the generated `QueryId`; it is compiled (and
// linted) as part of the crate that includes the generated file, and checked by the
// `runtime_template_*` tests of this crate. Plain `//` comments are dropped on the way; doc
// comments stay.

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
        }
    }

    /// A `:one` query found no row.
    pub fn is_not_found(&self) -> bool {
        matches!(self, QueryError::NotFound { .. })
    }

    /// The `postgres` error of a [`QueryError::Db`] (SQLSTATE, constraint name, ...).
    pub fn postgres(&self) -> Option<&::postgres::Error> {
        match self {
            QueryError::Db { source, .. } => Some(source),
            _ => None,
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
        }
    }
}

impl ::std::error::Error for QueryError {
    fn source(&self) -> Option<&(dyn ::std::error::Error + 'static)> {
        match self {
            QueryError::Db { source, .. } | QueryError::Decode { source, .. } => Some(source),
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

/// Something a [`Session`] can run statements on: a `postgres::Client`, a
/// `postgres::Transaction`, or a mutable reference to either.
pub trait Executor {
    type Client: ::postgres::GenericClient;
    fn generic_client(&mut self) -> &mut Self::Client;
}

impl Executor for ::postgres::Client {
    type Client = ::postgres::Client;
    fn generic_client(&mut self) -> &mut Self::Client {
        self
    }
}

impl<'a> Executor for ::postgres::Transaction<'a> {
    type Client = ::postgres::Transaction<'a>;
    fn generic_client(&mut self) -> &mut Self::Client {
        self
    }
}

impl<T: Executor + ?Sized> Executor for &mut T {
    type Client = T::Client;
    fn generic_client(&mut self) -> &mut Self::Client {
        (**self).generic_client()
    }
}

/// The prepared statements of one connection: each query is prepared on its first use and
/// reused after. Prepared statements outlive transactions, so a connection's
/// [`Session`] and the sessions of its transactions share one cache.
///
/// A cache belongs to one connection. Used with another one, the first call fails with
/// SQLSTATE 26000 (statement names are unique per process, so a statement of another
/// connection can never run by mistake) and the cache empties itself; the next call
/// prepares again.
#[derive(Default)]
pub struct StatementCache {
    statements: Vec<Option<::postgres::Statement>>,
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

    /// Forget every statement (they are closed on the server when dropped).
    pub fn clear(&mut self) {
        self.statements.clear();
    }

    fn statement<G: ::postgres::GenericClient>(
        &mut self,
        client: &mut G,
        query: QueryId,
    ) -> Result<::postgres::Statement, QueryError> {
        if let Some(Some(statement)) = self.statements.get(query.index()) {
            return Ok(statement.clone());
        }
        let oids = query.param_oids();
        let prepared = if oids.is_empty() {
            client.prepare(query.sql())
        } else {
            let types: Vec<::postgres::types::Type> = oids
                .iter()
                .map(|&oid| {
                    ::postgres::types::Type::from_oid(oid).unwrap_or_else(|| {
                        ::postgres::types::Type::new(
                            String::new(),
                            oid,
                            ::postgres::types::Kind::Pseudo,
                            String::new(),
                        )
                    })
                })
                .collect();
            client.prepare_typed(query.sql(), &types)
        };
        let statement = prepared.map_err(|source| QueryError::Db { query, source })?;
        if self.statements.len() < QueryId::COUNT {
            self.statements.resize(QueryId::COUNT, None);
        }
        self.statements[query.index()] = Some(statement.clone());
        Ok(statement)
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
            .finish()
    }
}

/// A connection (or transaction) with its statement cache: the [`Querier`] the
/// generated queries run on.
///
/// ```ignore
/// let mut db = Session::new(client);              // owns the postgres::Client
/// let budget = db.get_group_ai_budget(group_id)?;
/// let mut tx = db.transaction()?;                 // shares the cache
/// tx.delete_group_ai_budget(group_id)?;
/// tx.commit()?;
/// ```
pub struct Session<C, S = StatementCache> {
    client: C,
    cache: S,
}

impl<C: Executor> Session<C> {
    /// A session with its own, empty statement cache.
    pub fn new(client: C) -> Self {
        Session {
            client,
            cache: StatementCache::new(),
        }
    }
}

impl<C: Executor, S: ::std::borrow::BorrowMut<StatementCache>> Session<C, S> {
    /// A session on `client` using `cache`, which must belong to the same connection
    /// (e.g. kept beside a pooled connection).
    pub fn with_cache(client: C, cache: S) -> Self {
        Session { client, cache }
    }

    /// The client, for statements of your own.
    pub fn client(&mut self) -> &mut C {
        &mut self.client
    }

    pub fn statement_cache(&self) -> &StatementCache {
        self.cache.borrow()
    }

    pub fn into_client(self) -> C {
        self.client
    }

    /// Begin a transaction (a savepoint inside a transaction) whose session shares this
    /// statement cache.
    pub fn transaction(
        &mut self,
    ) -> Result<Session<::postgres::Transaction<'_>, &mut StatementCache>, ::postgres::Error> {
        let transaction = ::postgres::GenericClient::transaction(self.client.generic_client())?;
        Ok(Session {
            client: transaction,
            cache: self.cache.borrow_mut(),
        })
    }
}

impl<S: ::std::borrow::BorrowMut<StatementCache>> Session<::postgres::Transaction<'_>, S> {
    pub fn commit(self) -> Result<(), ::postgres::Error> {
        self.client.commit()
    }

    pub fn rollback(self) -> Result<(), ::postgres::Error> {
        self.client.rollback()
    }
}

#[allow(dead_code)]
impl<C: Executor, S: ::std::borrow::BorrowMut<StatementCache>> Session<C, S> {
    fn run_many(
        &mut self,
        query: QueryId,
        params: &[&(dyn ::postgres::types::ToSql + Sync)],
    ) -> Result<Vec<::postgres::Row>, QueryError> {
        let client = self.client.generic_client();
        let cache = self.cache.borrow_mut();
        let statement = cache.statement(client, query)?;
        ::postgres::GenericClient::query(client, &statement, params)
            .map_err(|source| cache.failed(query, source))
    }

    fn run_opt(
        &mut self,
        query: QueryId,
        params: &[&(dyn ::postgres::types::ToSql + Sync)],
    ) -> Result<Option<::postgres::Row>, QueryError> {
        let mut rows = self.run_many(query, params)?;
        match rows.len() {
            0 | 1 => Ok(rows.pop()),
            rows => Err(QueryError::TooManyRows { query, rows }),
        }
    }

    fn run_one(
        &mut self,
        query: QueryId,
        params: &[&(dyn ::postgres::types::ToSql + Sync)],
    ) -> Result<::postgres::Row, QueryError> {
        self.run_opt(query, params)?
            .ok_or(QueryError::NotFound { query })
    }

    fn run_execute(
        &mut self,
        query: QueryId,
        params: &[&(dyn ::postgres::types::ToSql + Sync)],
    ) -> Result<u64, QueryError> {
        let client = self.client.generic_client();
        let cache = self.cache.borrow_mut();
        let statement = cache.statement(client, query)?;
        ::postgres::GenericClient::execute(client, &statement, params)
            .map_err(|source| cache.failed(query, source))
    }
}

impl<C, S: ::std::borrow::Borrow<StatementCache>> ::std::fmt::Debug for Session<C, S> {
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        f.debug_struct("Session")
            .field("statements", self.cache.borrow())
            .finish_non_exhaustive()
    }
}

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
