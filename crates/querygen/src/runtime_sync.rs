// The blocking flavour's fixed part of the generated `queries.rs` (after `runtime.rs`):
// the `Session` over the `postgres` client and how it runs a statement, prepared or not.
// Plain `//` comments are dropped on the way; doc comments stay.

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

/// A connection (or transaction) with its statement cache: the [`Querier`] the
/// generated queries run on.
///
/// ```ignore
/// let mut db = Session::new(client);              // owns the postgres::Client
/// let budget = db.get_group_ai_budget(group_id)?;
/// let mut tx = db.transaction()?;                 // shares the cache
/// tx.delete_group_ai_budget(group_id)?;
/// tx.commit()?;
/// let mut pooled = Session::unprepared(client);   // through PgBouncer in transaction mode
/// ```
pub struct Session<C, S = StatementCache> {
    client: C,
    cache: S,
    execution: Execution,
}

impl<C: Executor> Session<C> {
    /// A session with its own, empty statement cache, running queries as
    /// [`Execution::DEFAULT`] says.
    pub fn new(client: C) -> Self {
        Session::with_cache(client, StatementCache::new())
    }

    /// A session that never prepares a named statement ([`Execution::Unprepared`]).
    pub fn unprepared(client: C) -> Self {
        Session::new(client).with_execution(Execution::Unprepared)
    }
}

impl<C: Executor, S: ::std::borrow::BorrowMut<StatementCache>> Session<C, S> {
    /// A session on `client` using `cache`, which must belong to the same connection
    /// (e.g. kept beside a pooled connection).
    pub fn with_cache(client: C, cache: S) -> Self {
        Session {
            client,
            cache,
            execution: Execution::DEFAULT,
        }
    }

    /// This session, running its queries as `execution` says (its transactions too).
    pub fn with_execution(mut self, execution: Execution) -> Self {
        self.execution = execution;
        self
    }

    pub fn execution(&self) -> Execution {
        self.execution
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
    /// statement cache and execution mode.
    pub fn transaction(
        &mut self,
    ) -> Result<Session<::postgres::Transaction<'_>, &mut StatementCache>, ::postgres::Error> {
        let transaction = ::postgres::GenericClient::transaction(self.client.generic_client())?;
        Ok(Session {
            client: transaction,
            cache: self.cache.borrow_mut(),
            execution: self.execution,
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
        match self.execution {
            Execution::Prepared => {
                let statement = prepare(client, cache, query)?;
                ::postgres::GenericClient::query(client, &statement, params)
            }
            Execution::Unprepared => {
                resolve_custom_types(client, cache, query)?;
                let params = cache.typed_params(query, params);
                ::postgres::GenericClient::query_typed(client, query.sql(), &params)
            }
        }
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
        match self.execution {
            Execution::Prepared => {
                let statement = prepare(client, cache, query)?;
                ::postgres::GenericClient::execute(client, &statement, params)
            }
            Execution::Unprepared => {
                resolve_custom_types(client, cache, query)?;
                let params = cache.typed_params(query, params);
                ::postgres::GenericClient::execute_typed(client, query.sql(), &params)
            }
        }
        .map_err(|source| cache.failed(query, source))
    }
}

#[allow(dead_code)]
impl<C: Executor, S: ::std::borrow::BorrowMut<StatementCache>> Session<C, S> {
    /// `:batchone` and `:batchmany`: the statement once per item, in order, on this
    /// session's connection (one round trip each); the first failure stops the batch.
    fn run_batch<'p, const N: usize>(
        &mut self,
        query: QueryId,
        items: impl Iterator<Item = [&'p (dyn ::postgres::types::ToSql + Sync); N]>,
    ) -> Result<Vec<Vec<::postgres::Row>>, QueryError> {
        items
            .enumerate()
            .map(|(index, params)| {
                self.run_many(query, &params)
                    .map_err(|e| e.in_batch(index))
            })
            .collect()
    }

    /// `:batchexec`: [`Session::run_batch`] without rows.
    fn run_batch_execute<'p, const N: usize>(
        &mut self,
        query: QueryId,
        items: impl Iterator<Item = [&'p (dyn ::postgres::types::ToSql + Sync); N]>,
    ) -> Result<Vec<u64>, QueryError> {
        items
            .enumerate()
            .map(|(index, params)| {
                self.run_execute(query, &params)
                    .map_err(|e| e.in_batch(index))
            })
            .collect()
    }

    /// `:copyfrom`: every row in one `COPY ... FROM STDIN (FORMAT binary)`. Prepared, the
    /// `COPY` statement is cached like any other; unprepared, it runs in a transaction (a
    /// savepoint inside one) so that a transaction pooler keeps one server connection for
    /// the driver's statement, closed before it ends.
    fn run_copy<'p, const N: usize>(
        &mut self,
        query: QueryId,
        rows: impl Iterator<Item = [&'p (dyn ::postgres::types::ToSql + Sync); N]>,
    ) -> Result<u64, QueryError> {
        let client = self.client.generic_client();
        let cache = self.cache.borrow_mut();
        if cache.needs_custom_types(query) {
            match self.execution {
                // The driver's own type lookups stay cached, as for any prepared query.
                Execution::Prepared => {
                    let statement = ::postgres::GenericClient::prepare(client, &custom_types_sql())
                        .map_err(|source| QueryError::Db { query, source })?;
                    cache.set_custom_types(column_types(statement.columns()));
                }
                Execution::Unprepared => resolve_custom_types(client, cache, query)?,
            }
        }
        let types = cache.wire_types(query);
        match self.execution {
            Execution::Prepared => {
                let statement = prepare(client, cache, query)?;
                ::postgres::GenericClient::copy_in(client, &statement)
                    .and_then(|writer| copy_rows(writer, &types, rows))
            }
            Execution::Unprepared => ::postgres::GenericClient::transaction(client).and_then(
                |mut transaction| {
                    let copied = transaction
                        .copy_in(query.sql())
                        .and_then(|writer| copy_rows(writer, &types, rows))?;
                    transaction.commit()?;
                    Ok(copied)
                },
            ),
        }
        .map_err(|source| cache.failed(query, source))
    }
}

/// Write `rows` in COPY's binary format; the number of rows copied.
fn copy_rows<'p, const N: usize>(
    writer: ::postgres::CopyInWriter<'_>,
    types: &[::postgres::types::Type],
    rows: impl Iterator<Item = [&'p (dyn ::postgres::types::ToSql + Sync); N]>,
) -> Result<u64, ::postgres::Error> {
    let mut writer = ::postgres::binary_copy::BinaryCopyInWriter::new(writer, types);
    for row in rows {
        writer.write(&row)?;
    }
    writer.finish()
}

/// The statement of `query` on this connection, prepared on first use.
fn prepare<G: ::postgres::GenericClient>(
    client: &mut G,
    cache: &mut StatementCache,
    query: QueryId,
) -> Result<::postgres::Statement, QueryError> {
    if let Some(statement) = cache.cached(query) {
        return Ok(statement);
    }
    let types = prepare_types(query);
    let statement = client
        .prepare_typed(query.sql(), &types)
        .map_err(|source| QueryError::Db { query, source })?;
    cache.store(query, &statement);
    Ok(statement)
}

/// Resolve [`CUSTOM_TYPES`] on this connection when `query` needs them and they are not
/// yet: in one transaction (a savepoint inside one), so that a transaction pooler keeps
/// one server connection for the driver's lookups, whose statements are deallocated
/// before it ends.
fn resolve_custom_types<G: ::postgres::GenericClient>(
    client: &mut G,
    cache: &mut StatementCache,
    query: QueryId,
) -> Result<(), QueryError> {
    if !cache.needs_custom_types(query) {
        return Ok(());
    }
    let failed = |source| QueryError::Db { query, source };
    let mut transaction = client.transaction().map_err(failed)?;
    let row = transaction
        .query_typed_one(&custom_types_sql(), &[])
        .map_err(failed)?;
    let since: ::std::time::SystemTime = row.try_get(0).map_err(failed)?;
    let types = column_types(row.columns());
    let deallocate: String = transaction
        .query_typed_one(
            LOOKUP_STATEMENTS_SQL,
            &[(&since, ::postgres::types::Type::TIMESTAMPTZ)],
        )
        .and_then(|row| row.try_get(0))
        .map_err(failed)?;
    if !deallocate.is_empty() {
        transaction.batch_execute(&deallocate).map_err(failed)?;
    }
    transaction.commit().map_err(failed)?;
    cache.set_custom_types(types);
    Ok(())
}

impl<C, S: ::std::borrow::Borrow<StatementCache>> ::std::fmt::Debug for Session<C, S> {
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        f.debug_struct("Session")
            .field("execution", &self.execution)
            .field("statements", self.cache.borrow())
            .finish_non_exhaustive()
    }
}
