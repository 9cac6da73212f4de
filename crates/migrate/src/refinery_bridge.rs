//! Letting refinery apply migrations inside a transaction that we own.
//!
//! refinery's sync `postgres` driver opens its own transaction per `execute` call, so a
//! migration's SQL and its history row can land in two transactions. Here refinery's `Migrate`
//! traits are implemented on a wrapper around *our* transaction: refinery decides what to run and
//! writes its history rows in its own format, and everything commits or rolls back together.
//!
//! Verification of the history (missing files, changed checksums, ordering) is done by the
//! engine under the advisory lock before refinery runs, and the engine hands refinery exactly
//! the migrations to apply. So the wrapper skips the round trips that would only repeat that
//! work: refinery's `CREATE TABLE IF NOT EXISTS` of the history table (already ensured in this
//! session) and its read of the applied migrations (reported as none, so refinery applies the
//! whole batch; the engine then checks that it did).

use postgres::GenericClient;
use refinery::Migration as RefineryMigration;
use refinery_core::traits::sync::{Migrate, Query, Transaction};

use crate::batch;
use crate::checksum;
use crate::error::{Error, Result};
use crate::history;
use crate::set::Migration;

/// refinery's view of one of our migrations (SQL with LF line endings).
pub(crate) fn to_refinery(m: &Migration) -> Result<RefineryMigration> {
    let name = m.refinery_name();
    let sql = checksum::normalise(&m.up.sql);
    let r = RefineryMigration::unapplied(&format!("V{}__{}", m.version, name), &sql)?;
    if r.name() != name || r.version() != m.version {
        return Err(Error::History(format!(
            "refinery parsed migration {} as {}__{}; rename the file with letters, digits and _",
            m.label(),
            r.version(),
            r.name()
        )));
    }
    Ok(r)
}

/// Prepended to the first migration's SQL when the bridge owns its transaction.
pub(crate) const BEGIN_PREFIX: &str = "BEGIN;";

pub(crate) use crate::guard::{GUARD_AFTER, GUARD_BEFORE};

/// The guard found that a migration ended the runner's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Broken {
    /// Index of the migration in the batch handed to refinery.
    pub index: usize,
    /// The runner's transaction id (when its first migration started).
    pub reference: i64,
    /// The transaction id the script ended in.
    pub end: i64,
    /// It was the migration's fixture, sent after it in the same message
    /// ([`Bridge::with_fixture`]), rather than its up script.
    pub fixture: bool,
    /// The migration's fixture was sent in the same message.
    pub fixture_sent: bool,
}

/// A migration sent in one message with others ended the runner's transaction: the guard saw
/// the transaction id change, or the runner's transaction had ended when the message failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EndedInBatch {
    /// Index (in the batch handed to refinery) of the message's first migration.
    pub first: usize,
    /// Index of its last migration.
    pub last: usize,
    /// How the runner saw it.
    pub evidence: Evidence,
    /// The runner's transaction id, when known.
    pub reference: Option<i64>,
}

/// How the runner saw that a message of several migrations ended its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Evidence {
    /// The transaction id after the message's last migration differs from the one before
    /// its first.
    IdChanged,
    /// The message failed, and the runner's transaction had ended before the failure.
    EndedBeforeFailure,
}

/// How migrations are grouped into messages ([`crate::batch`]).
#[derive(Debug, Clone)]
pub(crate) struct Batching {
    /// Per migration handed to refinery: may share a message ([`batch::shareable`]).
    pub shareable: Vec<bool>,
    /// Upper bound of a message's SQL, in bytes.
    pub max_bytes: usize,
    /// Upper bound of the migrations in a message.
    pub max_count: usize,
}

/// What the bridge reports to refinery.
#[derive(Debug)]
pub(crate) enum BridgeError {
    /// The server refused a query.
    Pg(postgres::Error),
    /// The guard fired (see [`Broken`]).
    TransactionEnded,
    /// The message with the last history insert and `COMMIT` failed (see
    /// [`Bridge::commit_error`]).
    CommitFailed,
}

impl std::fmt::Display for BridgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BridgeError::Pg(e) => write!(f, "{e}"),
            BridgeError::TransactionEnded => {
                f.write_str("a migration ended the runner's transaction itself")
            }
            BridgeError::CommitFailed => f.write_str("the history insert or COMMIT failed"),
        }
    }
}

impl std::error::Error for BridgeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BridgeError::Pg(e) => Some(e),
            BridgeError::TransactionEnded | BridgeError::CommitFailed => None,
        }
    }
}

impl From<postgres::Error> for BridgeError {
    fn from(e: postgres::Error) -> Self {
        BridgeError::Pg(e)
    }
}

/// The wrapper refinery drives, over our transaction or, in per-migration mode, over a
/// client whose transaction the bridge opens and commits itself: `BEGIN;` travels with the
/// migration's SQL and `COMMIT` with refinery's history insert, saving two round trips per
/// migration while keeping the SQL and its history row in one transaction.
pub(crate) struct Bridge<'t, C: GenericClient> {
    tx: &'t mut C,
    /// Open and commit the transaction in-band (see the type docs).
    owns_transaction: bool,
    /// `BEGIN` was sent and no `COMMIT` succeeded yet: the caller must roll back on error.
    pub open: bool,
    /// SQL texts of the migrations handed to refinery, in order.
    expected: Vec<String>,
    /// Index (into `expected`) of the migration whose SQL failed.
    pub failed_migration: Option<usize>,
    /// Time each migration's SQL took, by index into `expected`.
    pub timings: Vec<std::time::Duration>,
    /// Characters sent in front of each migration's SQL (`BEGIN;`, the previous history insert).
    pub prefixes: Vec<usize>,
    /// A history insert waiting to travel with the next migration.
    held_insert: Option<String>,
    /// The runner's transaction id, once the first migration of the transaction ran (pass
    /// it on to the next bridge in the same transaction with [`Bridge::in_transaction`]).
    pub reference: Option<i64>,
    /// Set when the guard found a migration that ended the transaction.
    pub broken: Option<Broken>,
    /// Set when a migration sent with others ended the transaction.
    pub ended_in_batch: Option<EndedInBatch>,
    /// When the bridge owns the transaction: the error of the message carrying the last
    /// history insert and `COMMIT` (a deferred constraint, say); the transaction is then
    /// rolled back or aborted, and [`Bridge::open`] still set.
    pub commit_error: Option<postgres::Error>,
    /// Set when a message of several migrations failed in the runner's transaction: their
    /// indices. The engine rolls the transaction back and runs it again with them one per
    /// message, to locate the failure exactly.
    pub replay_alone: Option<Vec<usize>>,
    /// How many migrations shared the message that carried each one (by index).
    pub batch_sizes: Vec<usize>,
    /// Several migrations per message (`None`: one per message).
    batching: Option<Batching>,
    /// Sent first in every query (the watcher's marker comment).
    marker: String,
    /// Sent right after `BEGIN` when the bridge owns the transaction (lock guard).
    begin_sql: String,
    /// Sent before each migration's SQL (its `SET LOCAL lock_timeout`).
    before: Vec<String>,
    /// The fixture of the bridge's one migration, sent guarded in the same message right
    /// after its SQL ([`Bridge::with_fixture`]).
    fixture: Option<String>,
}

impl<'t, C: GenericClient> Bridge<'t, C> {
    pub(crate) fn new(tx: &'t mut C, migrations: &[RefineryMigration]) -> Self {
        Bridge {
            tx,
            owns_transaction: false,
            open: false,
            expected: migrations
                .iter()
                .map(|m| m.sql().unwrap_or_default().to_string())
                .collect(),
            failed_migration: None,
            timings: vec![std::time::Duration::ZERO; migrations.len()],
            prefixes: vec![0; migrations.len()],
            held_insert: None,
            reference: None,
            broken: None,
            ended_in_batch: None,
            commit_error: None,
            replay_alone: None,
            batch_sizes: vec![1; migrations.len()],
            batching: None,
            marker: String::new(),
            begin_sql: String::new(),
            before: Vec::new(),
            fixture: None,
        }
    }

    /// SQL to send with the migrations: `marker` first in each query, `begin_sql` after the
    /// `BEGIN` the bridge sends, `before[i]` in front of migration `i`.
    pub(crate) fn with_prefixes(
        mut self,
        marker: String,
        begin_sql: String,
        before: Vec<String>,
    ) -> Self {
        self.marker = marker;
        self.begin_sql = begin_sql;
        self.before = before;
        self
    }

    /// Send shareable migrations several per message (only when the bridge does not own the
    /// transaction; see [`crate::batch`]). `shareable` has one entry per migration.
    pub(crate) fn batched(mut self, shareable: Vec<bool>) -> Self {
        self.batching = Some(Batching {
            shareable,
            max_bytes: batch::MAX_BATCH_BYTES,
            max_count: batch::MAX_BATCH_MIGRATIONS,
        });
        self
    }

    /// The transaction's id is already known (an earlier bridge in the same transaction).
    pub(crate) fn in_transaction(mut self, reference: Option<i64>) -> Self {
        self.reference = reference;
        self
    }

    /// The bridge opens the transaction with the first migration and commits it with the last
    /// history insert (`tx` must be a client outside any transaction).
    pub(crate) fn owning_transaction(mut self) -> Self {
        self.owns_transaction = true;
        self
    }

    /// Send `fixture_sql` (LF line endings) guarded in the same message as the bridge's one
    /// migration, right after its SQL, so that the migration and its data cost one round trip.
    /// The fixture then runs before the history insert, which waits for the next message
    /// (with `COMMIT`, when the bridge owns the transaction).
    ///
    /// Only for an up that is [`crate::batch::shareable`] and a fixture that is too or has no
    /// transaction-control word at all, in a transaction block: neither can end the
    /// transaction then. When the message fails, the
    /// error cannot be told apart between the two scripts (many errors carry no position):
    /// [`Bridge::replay_alone`] is set, once a probe showed that the transaction is still open
    /// (aborted) or that the message did not parse, and the engine rolls back and runs the
    /// migration again with the fixture in a message of its own, which attributes the error
    /// exactly.
    pub(crate) fn with_fixture(mut self, fixture_sql: String) -> Self {
        self.fixture = Some(fixture_sql);
        self
    }
}

impl<C: GenericClient> Transaction for Bridge<'_, C> {
    type Error = BridgeError;

    /// refinery hands over `[sql_1, insert_1, sql_2, insert_2, ...]`. With batching (see
    /// [`Bridge::batched`]), consecutive shareable migrations and their history inserts travel
    /// in one message each ([`crate::batch`]). Otherwise, and for a migration that travels
    /// alone, each history insert is held back and sent in front of the next migration's SQL
    /// (the last one alone, or with `COMMIT` when the bridge owns the transaction): one round
    /// trip per migration instead of two. [`Bridge::prefixes`] records how many characters
    /// went in front of each migration's SQL, so error positions still map into the file.
    fn execute<'a, T: Iterator<Item = &'a str>>(
        &mut self,
        queries: T,
    ) -> std::result::Result<usize, Self::Error> {
        let mut count = 0;
        let mut items: Vec<Item<'a>> = Vec::new();
        for q in queries {
            count += 1;
            if q.trim_start().starts_with(&format!(
                "CREATE TABLE IF NOT EXISTS {}",
                history::HISTORY_TABLE
            )) {
                continue;
            }
            // refinery sends each migration's SQL in order, each followed by its insert.
            let next = items.last().map_or(0, |it| it.index + 1);
            if self.expected.get(next).is_some_and(|s| s == q) {
                items.push(Item {
                    index: next,
                    sql: q,
                    insert: None,
                });
                continue;
            }
            match items.last_mut() {
                Some(it) if it.insert.is_none() => it.insert = Some(q),
                _ => {
                    // Not a migration's SQL nor its insert: send it as it comes.
                    self.flush_held()?;
                    self.tx.batch_execute(q)?;
                }
            }
        }
        let plan = match &self.batching {
            Some(b) if !self.owns_transaction => {
                let sizes: Vec<usize> = items.iter().map(|it| it.sql.len()).collect();
                let share: Vec<bool> = items
                    .iter()
                    .map(|it| b.shareable.get(it.index).copied().unwrap_or(false))
                    .collect();
                batch::plan(&sizes, &share, b.max_bytes, b.max_count)
            }
            _ => (0..items.len()).map(|i| i..i + 1).collect(),
        };
        for range in plan {
            match &items[range] {
                [one] => self.send_alone(one)?,
                several => self.send_batch(several)?,
            }
        }
        if let Some(held) = self.held_insert.take() {
            if self.owns_transaction && self.open {
                if let Err(e) = self.tx.batch_execute(&format!("{held};\nCOMMIT")) {
                    self.commit_error = Some(e);
                    return Err(BridgeError::CommitFailed);
                }
                self.open = false;
            } else {
                self.tx.batch_execute(&held)?;
            }
        }
        Ok(count)
    }
}

/// One migration of the queries refinery handed over.
#[derive(Debug, Clone, Copy)]
struct Item<'a> {
    /// Its index in the batch handed to refinery.
    index: usize,
    /// Its SQL.
    sql: &'a str,
    /// refinery's history insert for it.
    insert: Option<&'a str>,
}

impl<C: GenericClient> Bridge<'_, C> {
    /// Send a held history insert on its own.
    fn flush_held(&mut self) -> std::result::Result<(), BridgeError> {
        if let Some(held) = self.held_insert.take() {
            self.tx.batch_execute(&held)?;
        }
        Ok(())
    }

    /// One migration in a message of its own: the held insert of the previous one, its
    /// `before` SQL and the guard in front, its own insert held for the next message.
    fn send_alone(&mut self, it: &Item<'_>) -> std::result::Result<(), BridgeError> {
        let index = it.index;
        let mut prefix = self.marker.clone();
        if self.owns_transaction && !self.open {
            prefix.push_str(BEGIN_PREFIX);
            prefix.push_str(&self.begin_sql);
        }
        if let Some(held) = self.held_insert.take() {
            prefix.push_str(&held);
            prefix.push_str(";\n");
        }
        if let Some(before) = self.before.get(index) {
            prefix.push_str(before);
        }
        prefix.push_str(GUARD_BEFORE);
        self.prefixes[index] = prefix.chars().count();
        // The fixture rides along only with the bridge's one migration.
        let fixture = self.fixture.take().filter(|_| self.expected.len() == 1);
        let text = match &fixture {
            Some(f) => format!(
                "{prefix}{}{GUARD_AFTER};\n{}{f}{GUARD_AFTER}",
                it.sql,
                crate::guard::FIXTURE_GUARD_BEFORE
            ),
            None => format!("{prefix}{}{GUARD_AFTER}", it.sql),
        };
        let started = std::time::Instant::now();
        let result = self.tx.simple_query(&text);
        self.timings[index] += started.elapsed();
        self.batch_sizes[index] = 1;
        if self.owns_transaction {
            self.open = true;
        }
        let messages = match result {
            Ok(m) => m,
            Err(e) => {
                self.failed_migration = Some(index);
                if fixture.is_some() && e.as_db_error().is_some() {
                    return self.fused_failed(index, e);
                }
                return Err(e.into());
            }
        };
        // The first id is from before the up, the last from after the fixture when one rode
        // along: they are equal exactly when neither ended the transaction (ids are never
        // reused). The fixture's own first id tells which of the two it was.
        if let Some((start, end)) = crate::guard::xids(&messages)
            && let Some((reference, end)) = crate::guard::check(&mut self.reference, start, end)
        {
            let in_fixture =
                fixture.is_some() && crate::guard::fixture_xid(&messages) == Some(reference);
            self.broken = Some(Broken {
                index,
                reference,
                end,
                fixture: in_fixture,
                fixture_sent: fixture.is_some(),
            });
            return Err(BridgeError::TransactionEnded);
        }
        self.held_insert = it.insert.map(str::to_string);
        Ok(())
    }

    /// A message carrying a migration and its fixture failed with `err` (see
    /// [`Bridge::with_fixture`]). In the aborted transaction every statement fails with
    /// 25P02: then [`Bridge::replay_alone`] asks the engine to run the migration again with its
    /// fixture apart. When a statement runs, no transaction is open: either the message did
    /// not parse (the server parses the whole message first, so nothing of it ran, not even
    /// its `BEGIN`; a syntax error), and it runs again apart too, or the transaction had ended
    /// before the failure.
    fn fused_failed(
        &mut self,
        index: usize,
        err: postgres::Error,
    ) -> std::result::Result<(), BridgeError> {
        use postgres::error::SqlState;
        let unparsed = matches!(
            err.code(),
            Some(&SqlState::SYNTAX_ERROR | &SqlState::INVALID_ESCAPE_SEQUENCE)
        );
        match self.tx.simple_query("SELECT 1") {
            Err(probe) if probe.code() == Some(&SqlState::IN_FAILED_SQL_TRANSACTION) => {
                self.replay_alone = Some(vec![index]);
                Err(err.into())
            }
            Ok(_) if unparsed => {
                self.replay_alone = Some(vec![index]);
                Err(err.into())
            }
            Ok(_) => {
                self.ended_in_batch = Some(EndedInBatch {
                    first: index,
                    last: index,
                    evidence: Evidence::EndedBeforeFailure,
                    reference: self.reference,
                });
                Err(BridgeError::TransactionEnded)
            }
            Err(_) => Err(err.into()),
        }
    }

    /// Several migrations and their inserts in one message, with the guard's `txid_current()`
    /// before the first and after the last. When the message fails, the runner's transaction
    /// is aborted: [`Bridge::replay_alone`] asks the engine to roll it back and run it again
    /// with these migrations one per message, so the failing one reports its error exactly as
    /// if it had travelled alone. (No savepoint around the message: a subtransaction makes
    /// every statement in it slower, about a quarter more for small DDL.)
    fn send_batch(&mut self, items: &[Item<'_>]) -> std::result::Result<(), BridgeError> {
        if self.reference.is_none() {
            // The transaction's id, known before its first message: should that message end
            // the transaction and then fail, the report can still ask what became of it. The
            // engine normally has it already, from the message that took the lock
            // ([`crate::engine::Migrator::begin_guard`], passed on with
            // [`Bridge::in_transaction`]); this round trip is for a transaction begun without
            // the lock guard.
            let messages = self.tx.simple_query(batch::GUARD_BEFORE)?;
            self.reference = crate::guard::xids(&messages).map(|(xid, _)| xid);
        }
        let bytes: usize = items.iter().map(|it| it.sql.len() + 256).sum();
        let mut text = String::with_capacity(bytes + self.marker.len());
        text.push_str(&self.marker);
        if let Some(held) = self.held_insert.take() {
            text.push_str(&held);
            text.push_str(";\n");
        }
        text.push_str(batch::GUARD_BEFORE);
        let mut previous: Option<(&str, &str)> = None;
        for it in items {
            // Each migration's `SET LOCAL lock_timeout`, unless the one before had the same
            // and could not have changed it.
            if let Some(before) = self.before.get(it.index)
                && !previous.is_some_and(|(b, sql)| b == before && !batch::may_reset(sql))
            {
                text.push_str(before);
            }
            text.push_str(it.sql);
            // A newline first, so that a trailing `--` comment cannot swallow what follows.
            text.push_str("\n;\n");
            previous = Some((self.before.get(it.index).map_or("", String::as_str), it.sql));
        }
        // The guard once after the message's last migration: a shareable script cannot end
        // the transaction (validation refused its top-level transaction control, and inside a
        // transaction block a `COMMIT` in a `DO` or procedure fails), so one check per message
        // proves the transaction survived; should it ever fire, the report names the message's
        // migrations.
        text.push_str(batch::GUARD_AFTER);
        text.push_str(";\n");
        // The message's history rows, in one INSERT when refinery wrote them as usual.
        let inserts: Vec<&str> = items.iter().filter_map(|it| it.insert).collect();
        match batch::merge_inserts(&inserts) {
            Some(merged) => {
                text.push_str(&merged);
                text.push_str(";\n");
            }
            None => {
                for insert in inserts {
                    text.push_str(insert);
                    text.push_str(";\n");
                }
            }
        }
        let started = std::time::Instant::now();
        let result = self.tx.simple_query(&text);
        let took = started.elapsed();
        let messages = match result {
            Ok(m) => m,
            Err(e) => return self.batch_failed(items, e),
        };
        for it in items {
            self.timings[it.index] += took;
            self.batch_sizes[it.index] = items.len();
        }
        if let [start, end] = batch::xids(&messages)[..]
            && let Some((reference, _)) = crate::guard::check(&mut self.reference, start, end)
        {
            self.ended_in_batch = Some(EndedInBatch {
                first: items[0].index,
                last: items[items.len() - 1].index,
                evidence: Evidence::IdChanged,
                reference: Some(reference),
            });
            return Err(BridgeError::TransactionEnded);
        }
        Ok(())
    }

    /// A message of several migrations failed with `err`. Normally the runner's transaction is
    /// still open, aborted: the engine rolls it back and runs it again with these migrations
    /// one per message ([`Bridge::replay_alone`]). A lock timeout is retried whole by the
    /// engine anyway. If the transaction is no longer open, a migration of the message ended
    /// it before the failure.
    fn batch_failed(
        &mut self,
        items: &[Item<'_>],
        err: postgres::Error,
    ) -> std::result::Result<(), BridgeError> {
        let at_first = |b: &mut Self| {
            b.failed_migration = Some(items[0].index);
            b.prefixes[items[0].index] = usize::MAX;
        };
        if err.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE)
            || err.as_db_error().is_none()
        {
            // A lock timeout (retried whole), or the connection failed: reported at the
            // message's first migration (no position of the message maps into a file).
            at_first(self);
            return Err(err.into());
        }
        // In the aborted transaction every statement fails with 25P02; one that runs shows
        // the transaction has ended.
        match self.tx.simple_query("SELECT 1") {
            Err(probe)
                if probe.code() == Some(&postgres::error::SqlState::IN_FAILED_SQL_TRANSACTION) =>
            {
                self.replay_alone = Some(items.iter().map(|it| it.index).collect());
                Err(err.into())
            }
            Ok(_) => {
                self.ended_in_batch = Some(EndedInBatch {
                    first: items[0].index,
                    last: items[items.len() - 1].index,
                    evidence: Evidence::EndedBeforeFailure,
                    reference: self.reference,
                });
                Err(BridgeError::TransactionEnded)
            }
            Err(_) => {
                at_first(self);
                Err(err.into())
            }
        }
    }
}

impl<C: GenericClient> Query<Vec<RefineryMigration>> for Bridge<'_, C> {
    fn query(&mut self, _query: &str) -> std::result::Result<Vec<RefineryMigration>, BridgeError> {
        // See the module docs: the engine verified the history and chose the batch.
        Ok(Vec::new())
    }
}

impl<C: GenericClient> Migrate for Bridge<'_, C> {}
