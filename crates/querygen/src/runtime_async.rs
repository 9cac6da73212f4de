// The async flavour's fixed part of the generated `queries_async.rs`: the `AsyncSession`
// over `tokio_postgres` and how it runs a statement, prepared or not. Everything else
// (rows, parameters, `QueryId`, `QueryError`, the statement cache, metrics, `Metered`) is
// the blocking file's, reached through `use super::*`. Plain `//` comments are dropped on
// the way; doc comments stay.

/// Something an [`AsyncSession`] can run statements on: a `tokio_postgres::Client`, a
/// `tokio_postgres::Transaction`, or a mutable reference to either, which covers pooled
/// connections: `AsyncSession::new(&mut **pooled)` for a `deadpool_postgres::Object`
/// (it derefs to its `tokio_postgres::Client`).
pub trait AsyncExecutor: Send {
    type Client: ::tokio_postgres::GenericClient + Send + Sync;
    fn generic_client(&mut self) -> &mut Self::Client;
}

impl AsyncExecutor for ::tokio_postgres::Client {
    type Client = ::tokio_postgres::Client;
    fn generic_client(&mut self) -> &mut Self::Client {
        self
    }
}

impl<'a> AsyncExecutor for ::tokio_postgres::Transaction<'a> {
    type Client = ::tokio_postgres::Transaction<'a>;
    fn generic_client(&mut self) -> &mut Self::Client {
        self
    }
}

impl<T: AsyncExecutor + ?Sized> AsyncExecutor for &mut T {
    type Client = T::Client;
    fn generic_client(&mut self) -> &mut Self::Client {
        (**self).generic_client()
    }
}

/// A connection (or transaction) with its statement cache: the [`AsyncQuerier`] the
/// generated queries run on. Its futures are `Send`, so it works inside `tokio::spawn`.
///
/// ```ignore
/// let mut db = AsyncSession::new(client);          // owns the tokio_postgres::Client
/// let budget = db.get_group_ai_budget(group_id).await?;
/// let mut tx = db.transaction().await?;            // shares the cache
/// tx.delete_group_ai_budget(group_id).await?;
/// tx.commit().await?;
/// ```
pub struct AsyncSession<C, S = StatementCache> {
    client: C,
    cache: S,
    execution: Execution,
}

impl<C: AsyncExecutor> AsyncSession<C> {
    /// A session with its own, empty statement cache, running queries as
    /// [`Execution::DEFAULT`] says.
    pub fn new(client: C) -> Self {
        AsyncSession::with_cache(client, StatementCache::new())
    }

    /// A session that never prepares a named statement ([`Execution::Unprepared`]).
    pub fn unprepared(client: C) -> Self {
        AsyncSession::new(client).with_execution(Execution::Unprepared)
    }
}

impl<C: AsyncExecutor, S: ::std::borrow::BorrowMut<StatementCache> + Send> AsyncSession<C, S> {
    /// A session on `client` using `cache`, which must belong to the same connection
    /// (e.g. kept beside a pooled connection).
    pub fn with_cache(client: C, cache: S) -> Self {
        AsyncSession {
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
    pub async fn transaction(
        &mut self,
    ) -> Result<
        AsyncSession<::tokio_postgres::Transaction<'_>, &mut StatementCache>,
        ::tokio_postgres::Error,
    > {
        let transaction =
            ::tokio_postgres::GenericClient::transaction(self.client.generic_client()).await?;
        Ok(AsyncSession {
            client: transaction,
            cache: self.cache.borrow_mut(),
            execution: self.execution,
        })
    }
}

impl<S: ::std::borrow::BorrowMut<StatementCache>> AsyncSession<::tokio_postgres::Transaction<'_>, S> {
    pub async fn commit(self) -> Result<(), ::tokio_postgres::Error> {
        self.client.commit().await
    }

    pub async fn rollback(self) -> Result<(), ::tokio_postgres::Error> {
        self.client.rollback().await
    }
}

#[allow(dead_code)]
impl<C: AsyncExecutor, S: ::std::borrow::BorrowMut<StatementCache> + Send> AsyncSession<C, S> {
    async fn run_many(
        &mut self,
        query: QueryId,
        params: &[&(dyn ::tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<::tokio_postgres::Row>, QueryError> {
        let client = self.client.generic_client();
        let cache = self.cache.borrow_mut();
        match self.execution {
            Execution::Prepared => {
                let statement = prepare(client, cache, query).await?;
                ::tokio_postgres::GenericClient::query(client, &statement, params).await
            }
            Execution::Unprepared => {
                resolve_custom_types(client, cache, query).await?;
                let params = cache.typed_params(query, params);
                ::tokio_postgres::GenericClient::query_typed(client, query.sql(), &params).await
            }
        }
        .map_err(|source| cache.failed(query, source))
    }

    async fn run_opt(
        &mut self,
        query: QueryId,
        params: &[&(dyn ::tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<::tokio_postgres::Row>, QueryError> {
        let mut rows = self.run_many(query, params).await?;
        match rows.len() {
            0 | 1 => Ok(rows.pop()),
            rows => Err(QueryError::TooManyRows { query, rows }),
        }
    }

    async fn run_one(
        &mut self,
        query: QueryId,
        params: &[&(dyn ::tokio_postgres::types::ToSql + Sync)],
    ) -> Result<::tokio_postgres::Row, QueryError> {
        self.run_opt(query, params)
            .await?
            .ok_or(QueryError::NotFound { query })
    }

    async fn run_execute(
        &mut self,
        query: QueryId,
        params: &[&(dyn ::tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, QueryError> {
        let client = self.client.generic_client();
        let cache = self.cache.borrow_mut();
        match self.execution {
            Execution::Prepared => {
                let statement = prepare(client, cache, query).await?;
                ::tokio_postgres::GenericClient::execute(client, &statement, params).await
            }
            Execution::Unprepared => {
                resolve_custom_types(client, cache, query).await?;
                let params = cache.typed_params(query, params);
                ::tokio_postgres::GenericClient::execute_typed(client, query.sql(), &params).await
            }
        }
        .map_err(|source| cache.failed(query, source))
    }
}

#[allow(dead_code)]
impl<C: AsyncExecutor, S: ::std::borrow::BorrowMut<StatementCache> + Send> AsyncSession<C, S> {
    /// `:batchone` and `:batchmany`: the statement once per item, pipelined (every item
    /// is sent before the first result is awaited; prepared once first). Every item runs;
    /// the first failure (by index) is the error.
    async fn run_batch<'p, const N: usize>(
        &mut self,
        query: QueryId,
        items: impl Iterator<Item = [&'p (dyn ::tokio_postgres::types::ToSql + Sync); N]> + Send,
    ) -> Result<Vec<Vec<::tokio_postgres::Row>>, QueryError> {
        let client = self.client.generic_client();
        let cache = self.cache.borrow_mut();
        let items: Vec<_> = items.collect();
        let results = match self.execution {
            Execution::Prepared => {
                let statement = prepare(client, cache, query).await?;
                join_all(
                    items
                        .iter()
                        .map(|params| ::tokio_postgres::GenericClient::query(client, &statement, params)),
                )
                .await
            }
            Execution::Unprepared => {
                resolve_custom_types(client, cache, query).await?;
                let typed: Vec<_> = items
                    .iter()
                    .map(|params| cache.typed_params(query, params))
                    .collect();
                join_all(typed.iter().map(|params| {
                    ::tokio_postgres::GenericClient::query_typed(client, query.sql(), params)
                }))
                .await
            }
        };
        cache.batch_results(query, results)
    }

    /// `:batchexec`: [`AsyncSession::run_batch`] without rows.
    async fn run_batch_execute<'p, const N: usize>(
        &mut self,
        query: QueryId,
        items: impl Iterator<Item = [&'p (dyn ::tokio_postgres::types::ToSql + Sync); N]> + Send,
    ) -> Result<Vec<u64>, QueryError> {
        let client = self.client.generic_client();
        let cache = self.cache.borrow_mut();
        let items: Vec<_> = items.collect();
        let results = match self.execution {
            Execution::Prepared => {
                let statement = prepare(client, cache, query).await?;
                join_all(
                    items
                        .iter()
                        .map(|params| ::tokio_postgres::GenericClient::execute(client, &statement, params)),
                )
                .await
            }
            Execution::Unprepared => {
                resolve_custom_types(client, cache, query).await?;
                let typed: Vec<_> = items
                    .iter()
                    .map(|params| cache.typed_params(query, params))
                    .collect();
                join_all(typed.iter().map(|params| {
                    ::tokio_postgres::GenericClient::execute_typed(client, query.sql(), params)
                }))
                .await
            }
        };
        cache.batch_results(query, results)
    }

    /// `:copyfrom`: every row in one `COPY ... FROM STDIN (FORMAT binary)`; see the
    /// blocking `Session`'s for the statement cache and poolers.
    async fn run_copy<'p, const N: usize>(
        &mut self,
        query: QueryId,
        rows: impl Iterator<Item = [&'p (dyn ::tokio_postgres::types::ToSql + Sync); N]> + Send,
    ) -> Result<u64, QueryError> {
        let client = self.client.generic_client();
        let cache = self.cache.borrow_mut();
        if cache.needs_custom_types(query) {
            match self.execution {
                // The driver's own type lookups stay cached, as for any prepared query.
                Execution::Prepared => {
                    let statement = ::tokio_postgres::GenericClient::prepare(client, &custom_types_sql())
                        .await
                        .map_err(|source| QueryError::Db { query, source })?;
                    cache.set_custom_types(column_types(statement.columns()));
                }
                Execution::Unprepared => resolve_custom_types(client, cache, query).await?,
            }
        }
        let types = cache.wire_types(query);
        let copied = match self.execution {
            Execution::Prepared => {
                let statement = prepare(client, cache, query).await?;
                async {
                    let sink = ::tokio_postgres::GenericClient::client(client)
                        .copy_in(&statement)
                        .await?;
                    copy_rows(
                        ::tokio_postgres::binary_copy::BinaryCopyInWriter::new(sink, &types),
                        rows,
                    )
                    .await
                }
                .await
            }
            Execution::Unprepared => {
                async {
                    let transaction =
                        ::tokio_postgres::GenericClient::transaction(client).await?;
                    let sink = transaction.copy_in(query.sql()).await?;
                    let copied = copy_rows(
                        ::tokio_postgres::binary_copy::BinaryCopyInWriter::new(sink, &types),
                        rows,
                    )
                    .await?;
                    transaction.commit().await?;
                    Ok(copied)
                }
                .await
            }
        };
        copied.map_err(|source| cache.failed(query, source))
    }
}

/// Write `rows` in COPY's binary format; the number of rows copied.
async fn copy_rows<'p, const N: usize>(
    writer: ::tokio_postgres::binary_copy::BinaryCopyInWriter,
    rows: impl Iterator<Item = [&'p (dyn ::tokio_postgres::types::ToSql + Sync); N]>,
) -> Result<u64, ::tokio_postgres::Error> {
    let mut writer = ::std::pin::pin!(writer);
    for row in rows {
        writer.as_mut().write(&row).await?;
    }
    writer.finish().await
}

/// Poll every future to completion, all of them from the start (so that tokio_postgres
/// pipelines their requests); the outputs in order. Pipelined responses arrive in order,
/// so after the first round only the first unfinished future is polled until it is done.
async fn join_all<F: ::std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<::std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    let mut started = 0;
    let mut next = 0;
    ::std::future::poll_fn(|cx| {
        while next < futures.len() {
            if outputs[next].is_none() {
                match futures[next].as_mut().poll(cx) {
                    ::std::task::Poll::Ready(output) => outputs[next] = Some(output),
                    ::std::task::Poll::Pending => break,
                }
            }
            next += 1;
        }
        // Start the futures not yet polled, so that their requests are sent.
        started = started.max(next + 1);
        while started < futures.len() {
            if let ::std::task::Poll::Ready(output) = futures[started].as_mut().poll(cx) {
                outputs[started] = Some(output);
            }
            started += 1;
        }
        if next < futures.len() {
            ::std::task::Poll::Pending
        } else {
            ::std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// The statement of `query` on this connection, prepared on first use.
async fn prepare<G: ::tokio_postgres::GenericClient + Sync>(
    client: &G,
    cache: &mut StatementCache,
    query: QueryId,
) -> Result<::tokio_postgres::Statement, QueryError> {
    if let Some(statement) = cache.cached(query) {
        return Ok(statement);
    }
    let types = prepare_types(query);
    let statement = client
        .prepare_typed(query.sql(), &types)
        .await
        .map_err(|source| QueryError::Db { query, source })?;
    cache.store(query, &statement);
    Ok(statement)
}

/// Resolve [`CUSTOM_TYPES`] on this connection when `query` needs them and they are not
/// yet: in one transaction (a savepoint inside one), so that a transaction pooler keeps
/// one server connection for the driver's lookups, whose statements are deallocated
/// before it ends.
async fn resolve_custom_types<G: ::tokio_postgres::GenericClient + Send + Sync>(
    client: &mut G,
    cache: &mut StatementCache,
    query: QueryId,
) -> Result<(), QueryError> {
    if !cache.needs_custom_types(query) {
        return Ok(());
    }
    let failed = |source| QueryError::Db { query, source };
    let transaction = client.transaction().await.map_err(failed)?;
    let row = transaction
        .query_typed_one(&custom_types_sql(), &[])
        .await
        .map_err(failed)?;
    let since: ::std::time::SystemTime = row.try_get(0).map_err(failed)?;
    let types = column_types(row.columns());
    let deallocate: String = transaction
        .query_typed_one(
            LOOKUP_STATEMENTS_SQL,
            &[(&since, ::tokio_postgres::types::Type::TIMESTAMPTZ)],
        )
        .await
        .and_then(|row| row.try_get(0))
        .map_err(failed)?;
    if !deallocate.is_empty() {
        transaction.batch_execute(&deallocate).await.map_err(failed)?;
    }
    transaction.commit().await.map_err(failed)?;
    cache.set_custom_types(types);
    Ok(())
}

impl<C, S: ::std::borrow::Borrow<StatementCache>> ::std::fmt::Debug for AsyncSession<C, S> {
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        f.debug_struct("AsyncSession")
            .field("execution", &self.execution)
            .field("statements", self.cache.borrow())
            .finish_non_exhaustive()
    }
}
