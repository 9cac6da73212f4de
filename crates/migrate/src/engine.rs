//! Applying migrations: the `up` direction.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::{Client, GenericClient};
use refinery::{Runner, Target};

use crate::checksum;
use crate::error::{Error, Result, SqlFailure};
use crate::history::{self, HistoryRow};
use crate::lock::{self, Lease, LockMode};
use crate::pgerror;
use crate::refinery_bridge::{Bridge, EndedInBatch, Evidence, to_refinery};
use crate::set::{Migration, MigrationSet, Script};
use crate::split;
use crate::watch::{self, Watcher};

/// A migration this run applied.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    /// Its version.
    pub version: i64,
    /// Its name.
    pub name: String,
    /// Its up file.
    pub path: PathBuf,
    /// Ran outside a transaction (`-- no-transaction`).
    pub no_transaction: bool,
    /// Time its SQL took on the server (and its fixture's, when fixtures are on). For a
    /// migration sent in one message with others (`batch` > 1), the time of that message.
    #[serde(with = "secs")]
    pub duration: Duration,
    /// How many migrations travelled in the message that carried it (1: alone; see the
    /// README's "How `migrate` talks to the server").
    pub batch: usize,
}

mod secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

/// How `up`, `down` and `redo` run.
pub struct Migrator<'a> {
    pub(crate) set: &'a MigrationSet,
    pub(crate) single_transaction: bool,
    pub(crate) fixtures: bool,
    pub(crate) on_wait: Box<dyn Fn(Option<String>) + 'a>,
    /// Set by the run-time guard when a migration ended the runner's transaction.
    pub(crate) broken: std::cell::Cell<Option<BrokenAt>>,
    /// Set when a migration sent in one message with others ended the runner's transaction.
    pub(crate) broken_batch: std::cell::Cell<Option<BatchEnded>>,
    /// `None`: detected ([`lock::detect`]).
    pub(crate) lock_mode: Option<LockMode>,
    pub(crate) lease_length: Duration,
    /// Each migration statement's `lock_timeout` (zero: none).
    pub(crate) lock_timeout: Duration,
    /// Attempts after the first when a statement's lock wait times out.
    pub(crate) lock_retries: u32,
    /// Opens a second connection for the heartbeat / blocker watcher.
    pub(crate) side: Option<Box<dyn Fn() -> Option<Client> + 'a>>,
    /// Where retry and heartbeat lines go (default: stderr).
    pub(crate) print: Arc<dyn Fn(&str) + Send + Sync>,
    /// The lease held by the current run.
    pub(crate) lease: RefCell<Option<Lease>>,
    /// SQL that starts every applying transaction (see [`Lease::tx_guard_sql`]).
    pub(crate) guard_sql: RefCell<String>,
    pub(crate) watcher: RefCell<Option<Watcher>>,
}

/// Default `lock_timeout` of each migration statement.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(2);
/// Default retries after a lock timeout.
pub const DEFAULT_LOCK_RETRIES: u32 = 10;

/// Where the run-time guard fired in a message of several migrations (versions).
#[derive(Debug, Clone)]
pub(crate) struct BatchEnded {
    /// The migrations of the message, in order.
    versions: Vec<i64>,
    /// How the runner saw it.
    evidence: Evidence,
    /// The runner's transaction id, when known.
    reference: Option<i64>,
}

/// Where the run-time guard fired.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BrokenAt {
    version: i64,
    reference: i64,
    end: i64,
    /// In the migration's fixture rather than its up script.
    fixture: bool,
    /// In the up script, and its fixture ran after it in the same message
    /// ([`Bridge::with_fixture`]).
    fixture_followed: bool,
}

impl std::fmt::Debug for Migrator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator")
            .field("dir", &self.set.dir)
            .field("single_transaction", &self.single_transaction)
            .field("fixtures", &self.fixtures)
            .finish_non_exhaustive()
    }
}

impl<'a> Migrator<'a> {
    /// A migrator for `set`: whole pending set in one transaction, no fixtures.
    pub fn new(set: &'a MigrationSet) -> Self {
        Migrator {
            set,
            single_transaction: true,
            fixtures: false,
            on_wait: Box::new(|_| {}),
            broken: std::cell::Cell::new(None),
            broken_batch: std::cell::Cell::new(None),
            lock_mode: None,
            lease_length: lock::DEFAULT_LEASE,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            lock_retries: DEFAULT_LOCK_RETRIES,
            side: None,
            print: Arc::new(|line: &str| eprintln!("{line}")),
            lease: RefCell::new(None),
            guard_sql: RefCell::new(String::new()),
            watcher: RefCell::new(None),
        }
    }

    /// The lock mode (`None`, the default: advisory where the server has advisory locks,
    /// else table).
    pub fn lock_mode(mut self, mode: Option<LockMode>) -> Self {
        self.lock_mode = mode;
        self
    }

    /// How long the run's lease lasts without renewal (default 30 s): the longest a killed
    /// runner can block the next one.
    pub fn lease(mut self, length: Duration) -> Self {
        self.lease_length = length.max(Duration::from_secs(1));
        self
    }

    /// `lock_timeout` for each migration's statements (default 2 s; zero: wait forever).
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Retries after a lock timeout (default 10), with exponential backoff and jitter.
    pub fn lock_retries(mut self, retries: u32) -> Self {
        self.lock_retries = retries;
        self
    }

    /// How to open a second connection to the same database, for the heartbeat and
    /// blocker watcher (without one: no heartbeat, blockers guessed after a timeout, and the
    /// lease renewed only between statements).
    pub fn side_connection(mut self, open: impl Fn() -> Option<Client> + 'a) -> Self {
        self.side = Some(Box::new(open));
        self
    }

    /// Where retry and heartbeat lines go (default: stderr).
    pub fn on_message(mut self, f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.print = Arc::new(f);
        self
    }

    /// The lock mode this migrator uses on `client`'s server (the configured one, else
    /// detected).
    pub fn effective_lock_mode(&self, client: &mut Client) -> LockMode {
        self.lock_mode.unwrap_or_else(|| lock::detect(client))
    }

    /// Run `f` holding the run's lease (and with the watcher running, when a second
    /// connection is available).
    pub(crate) fn locked<T>(
        &self,
        client: &mut Client,
        f: impl FnOnce(&mut Client) -> Result<T>,
    ) -> Result<T> {
        let lease = Lease::new(self.effective_lock_mode(client), self.lease_length);
        *self.guard_sql.borrow_mut() = lease.tx_guard_sql(lock::server_num(client));
        *self.lease.borrow_mut() = Some(lease.clone());
        let result = lock::with_lock(client, &lease, &*self.on_wait, |c| {
            if let Some(open) = &self.side
                && let Some(side) = open()
            {
                *self.watcher.borrow_mut() = Some(Watcher::start(
                    side,
                    self.marker(),
                    lease.clone(),
                    self.print.clone(),
                ));
            }
            let r = f(c);
            self.watcher.borrow_mut().take();
            r
        });
        self.lease.borrow_mut().take();
        // The lease is gone: a later call without it (`apply_next`) must not check it.
        self.guard_sql.borrow_mut().clear();
        result
    }

    /// For `adopt` and `baseline`, which must leave a database they refuse untouched: hold the
    /// lease when the lease table exists (some run created it, so runs may race with us),
    /// else run without it (the first `up` creates it).
    pub(crate) fn locked_if_present<T>(
        &self,
        client: &mut Client,
        f: impl FnOnce(&mut Client) -> Result<T>,
    ) -> Result<T> {
        let present = client
            .query_typed_one(
                "SELECT to_regclass($1) IS NOT NULL",
                &[(&lock::LOCK_TABLE, postgres::types::Type::TEXT)],
            )
            .map_err(|e| Error::db("cannot look up the lock table", e))?
            .get::<_, bool>(0);
        if present {
            self.locked(client, f)
        } else {
            f(client)
        }
    }

    /// The comment that starts every query sent for a migration (found by the watcher).
    pub(crate) fn marker(&self) -> String {
        match &*self.lease.borrow() {
            Some(l) => format!("/* migrate:{} */\n", l.owner.replace("*/", "")),
            None => String::new(),
        }
    }

    /// `SET LOCAL lock_timeout` for migration `m` (its directive, else the runner's).
    pub(crate) fn timeout_sql(&self, m: &Migration) -> Result<String> {
        let t = self.timeout_of(m)?;
        Ok(format!("SET LOCAL lock_timeout = '{}ms';", t.as_millis()))
    }

    fn timeout_of(&self, m: &Migration) -> Result<Duration> {
        match crate::directive::lock_timeout(&m.up.sql) {
            None => Ok(self.lock_timeout),
            Some(Ok(t)) => Ok(t),
            Some(Err(e)) => Err(Error::History(format!("{}: {e}", m.up.path.display()))),
        }
    }

    /// Apply one group (or fused migration) with lock-timeout retries: on a lock timeout the
    /// attempt was rolled back; wait with backoff and jitter, say who blocks, try again.
    fn with_retries<T>(
        &self,
        c: &mut Client,
        first: &Migration,
        done: &[Applied],
        mut attempt_fn: impl FnMut(&mut Client) -> Result<T>,
    ) -> Result<T> {
        let mut attempt: u32 = 0;
        let mut jitter = lock::Jitter::new();
        let timeout = self.timeout_of(first)?;
        loop {
            if let Some(w) = &*self.watcher.borrow() {
                w.running(&first.label());
            }
            let started = Instant::now();
            let result = attempt_fn(c);
            let Err(e) = result else {
                return result;
            };
            if !is_lock_timeout(&e) || self.broken.get().is_some() {
                return Err(e);
            }
            attempt += 1;
            let blockers = self.blockers(c, timeout);
            if attempt > self.lock_retries {
                return Err(Error::LockTimeout {
                    version: first.version,
                    shown: first.version_text.clone(),
                    name: first.name.clone(),
                    attempts: attempt,
                    timeout_ms: timeout.as_millis() as u64,
                    report: format!("{}\n{blockers}", earlier(done)),
                });
            }
            let base = (200u64 << (attempt - 1).min(6)).min(10_000);
            let wait = Duration::from_millis(base / 2 + jitter.below(base));
            (self.print)(&format!(
                "lock timeout: migration {} waited {} for a lock (lock_timeout {} ms) and was rolled back; retry {attempt} of {} in {:.1} s\n{blockers}",
                first.label(),
                lock::secs_since(started),
                timeout.as_millis(),
                self.lock_retries,
                wait.as_secs_f64()
            ));
            std::thread::sleep(wait);
            if let Some(lease) = &*self.lease.borrow() {
                lease.renew(c)?;
            }
        }
    }

    /// Who blocked the last attempt, as text.
    fn blockers(&self, c: &mut Client, timeout: Duration) -> String {
        let (seen, how) = match &*self.watcher.borrow() {
            Some(w) => (w.blockers(), "blocked by"),
            None => (
                watch::likely_blockers(c, timeout),
                "likely blocked by (sessions in a transaction longer than the lock timeout, holding locks)",
            ),
        };
        if seen.is_empty() {
            return "  blocker: not seen (it may have ended)".into();
        }
        let mut out = format!("  {how}:");
        for b in seen {
            out.push_str(&format!("\n    {b}"));
        }
        out
    }

    /// `true` (default): all pending migrations in one transaction, all or nothing.
    /// `false`: one transaction per migration; a failure keeps the earlier ones.
    pub fn single_transaction(mut self, yes: bool) -> Self {
        self.single_transaction = yes;
        self
    }

    /// Run each migration's fixture right after it, in the same transaction (tests, `check`).
    pub fn with_fixtures(mut self, yes: bool) -> Self {
        self.fixtures = yes;
        self
    }

    /// Called once, with the holder's backend pid, when another runner holds the lock.
    /// The argument describes the holder (lease owner and expiry).
    pub fn on_lock_wait(mut self, f: impl Fn(Option<String>) + 'a) -> Self {
        self.on_wait = Box::new(f);
        self
    }

    /// Apply every pending migration.
    pub fn up(&self, client: &mut Client) -> Result<Vec<Applied>> {
        self.up_to(client, i64::MAX)
    }

    /// Apply pending migrations up to and including `version`.
    pub fn up_to(&self, client: &mut Client, version: i64) -> Result<Vec<Applied>> {
        self.locked(client, |c| {
            history::ensure(c)?;
            let applied = history::read(c)?;
            let applied = crate::reencode::apply(c, self.set, applied)?;
            verify(self.set, &applied)?;
            let pending = pending(self.set, &applied, version)?;
            self.apply(c, &pending)
        })
    }

    /// Apply `pending` (lock held, verified).
    pub(crate) fn apply(&self, c: &mut Client, pending: &[&Migration]) -> Result<Vec<Applied>> {
        let mut done = Vec::new();
        let mut i = 0;
        while i < pending.len() {
            if pending[i].up.no_transaction {
                done.push(self.apply_no_transaction(c, pending[i], &done)?);
                i += 1;
                continue;
            }
            // The longest run of transactional migrations starting at i.
            let end = pending[i..]
                .iter()
                .position(|m| m.up.no_transaction)
                .map_or(pending.len(), |p| i + p);
            let groups: Vec<&[&Migration]> = if self.single_transaction {
                vec![&pending[i..end]]
            } else {
                pending[i..end].chunks(1).collect()
            };
            for group in groups {
                // A transaction of one migration: opened and committed in-band.
                if let [m] = group
                    && let Some(duration) = self.apply_fused(c, m, pending, &done)?
                {
                    done.push(Applied {
                        version: m.version,
                        name: m.name.clone(),
                        path: m.up.path.clone(),
                        no_transaction: false,
                        duration,
                        batch: 1,
                    });
                    continue;
                }
                let timings = self.apply_group(c, group, pending, &done)?;
                done.extend(
                    group
                        .iter()
                        .zip(timings)
                        .map(|(m, (duration, batch))| Applied {
                            version: m.version,
                            name: m.name.clone(),
                            path: m.up.path.clone(),
                            no_transaction: false,
                            duration,
                            batch,
                        }),
                );
            }
            i = end;
        }
        Ok(done)
    }

    /// `group` in one transaction begun with the lock guard ([`Migrator::begin_guard`]),
    /// through [`Migrator::apply_in`], with lock-timeout retries. When a message of several
    /// migrations failed, the attempt was rolled back and runs again with those migrations
    /// one per message ([`crate::batch`]); the set of them is this call's own.
    fn apply_group(
        &self,
        c: &mut Client,
        group: &[&Migration],
        run: &[&Migration],
        done: &[Applied],
    ) -> Result<Vec<(Duration, usize)>> {
        let mut alone = BTreeSet::new();
        loop {
            let attempt = |c: &mut Client| -> Result<Attempt> {
                let mut tx = c
                    .transaction()
                    .map_err(|e| Error::db("cannot begin a transaction", e))?;
                let reference = self.begin_guard(&mut tx)?;
                let attempt = self.apply_in(&mut tx, group, run, done, &alone, reference)?;
                if let Attempt::Done(_) = attempt {
                    tx.commit()
                        .map_err(|e| Error::db("cannot commit the migrations", e))?;
                }
                // A replay: `tx` rolls back as it goes.
                Ok(attempt)
            };
            match self.with_retries(c, group[0], done, attempt) {
                Ok(Attempt::Done(timings)) => return Ok(timings),
                Ok(Attempt::Replay(versions)) => alone.extend(versions),
                Err(e) => return Err(self.finish_broken(c, run, done).unwrap_or(e)),
            }
        }
    }

    /// Apply `group` inside `tx` through refinery (plus fixtures when asked); returns the time
    /// each migration took and how many migrations shared its message. Without fixtures,
    /// shareable migrations travel several per message ([`crate::batch`]), except those in
    /// `alone`. `reference`: the transaction's id, when already known
    /// ([`Migrator::begin_guard`]).
    pub(crate) fn apply_in(
        &self,
        tx: &mut postgres::Transaction<'_>,
        group: &[&Migration],
        run: &[&Migration],
        done: &[Applied],
        alone: &BTreeSet<i64>,
        reference: Option<i64>,
    ) -> Result<Attempt> {
        let mut timings = Vec::with_capacity(group.len());
        // With fixtures, each migration is followed by its data, so hand refinery one at a time.
        let batches: Vec<&[&Migration]> = if self.fixtures {
            group.chunks(1).collect()
        } else {
            vec![group]
        };
        let mut reference = reference;
        for batch in batches {
            let refinery_migrations = batch
                .iter()
                .map(|m| to_refinery(m))
                .collect::<Result<Vec<_>>>()?;
            let timeouts = batch
                .iter()
                .map(|m| self.timeout_sql(m))
                .collect::<Result<Vec<_>>>()?;
            let mut bridge = Bridge::new(tx, &refinery_migrations)
                .in_transaction(reference)
                .with_prefixes(self.marker(), String::new(), timeouts);
            if !self.fixtures {
                let shareable = batch
                    .iter()
                    .zip(&refinery_migrations)
                    .map(|(m, r)| !alone.contains(&m.version) && up_shareable(m, r))
                    .collect();
                bridge = bridge.batched(shareable);
            }
            let result = run_refinery(&refinery_migrations, &mut bridge);
            reference = bridge.reference;
            if let Some(b) = bridge.broken {
                return Err(self.guard_fired(batch[b.index], b));
            }
            if let Some(e) = bridge.ended_in_batch {
                return Err(self.guard_fired_in_batch(batch, e));
            }
            if let Some(indices) = bridge.replay_alone.take() {
                return Ok(Attempt::Replay(
                    indices.iter().map(|&i| batch[i].version).collect(),
                ));
            }
            let failed = bridge.failed_migration;
            let batch_timings = std::mem::take(&mut bridge.timings);
            let batch_sizes = std::mem::take(&mut bridge.batch_sizes);
            let prefixes = std::mem::take(&mut bridge.prefixes);
            self.check_batch(result, failed, batch, &prefixes, run, done)?;
            for ((m, mut took), shared) in batch.iter().zip(batch_timings).zip(batch_sizes) {
                if self.fixtures
                    && let Some(fixture) = &m.fixture
                {
                    let started = Instant::now();
                    match crate::guard::run_script(tx, fixture, &mut reference) {
                        Ok(()) => {}
                        Err(crate::guard::Guarded::Failed(f)) => {
                            return Err(self.failed(m, *f, run, done));
                        }
                        Err(crate::guard::Guarded::Ended(reference, end)) => {
                            self.broken.set(Some(BrokenAt {
                                version: m.version,
                                reference,
                                end,
                                fixture: true,
                                fixture_followed: false,
                            }));
                            return Err(Error::History(format!(
                                "the fixture of migration {} ended the runner's transaction",
                                m.label()
                            )));
                        }
                    }
                    took += started.elapsed();
                }
                timings.push((took, shared));
            }
        }
        Ok(Attempt::Done(timings))
    }

    /// `m` in a transaction of its own opened and committed in-band, with lock-timeout
    /// retries: its time, or `None` when it must take [`Migrator::apply_group`]'s way instead
    /// (its fixture cannot share its message, or the message carrying both failed and runs
    /// again to locate the failure).
    fn apply_fused(
        &self,
        c: &mut Client,
        m: &Migration,
        run: &[&Migration],
        done: &[Applied],
    ) -> Result<Option<Duration>> {
        let fixture = match &m.fixture {
            Some(f) if self.fixtures => {
                let sql = checksum::normalise(&f.sql);
                // Without any transaction-control word it cannot end the transaction, whether
                // it tokenizes or not (a fixture need not be tokenized to be sent: nothing of
                // another migration follows it in the message); else it must be shareable.
                if crate::txcontrol::may_contain(&sql) && !crate::batch::shareable(&sql) {
                    return Ok(None);
                }
                Some(sql)
            }
            _ => None,
        };
        self.with_retries(c, m, done, |c| {
            self.apply_one_fused(c, m, fixture.as_deref(), run, done)
        })
        .map_err(|e| self.finish_broken(c, run, done).unwrap_or(e))
    }

    /// One migration in its own transaction: `BEGIN` (and the lock guard) sent with its
    /// statements, its history row with `COMMIT`: two round trips. With `fixture` (its
    /// fixture's text, free of transaction control), the fixture travels in the first message
    /// too, when the up is [`crate::batch::shareable`] (else `None`: nothing was sent); see
    /// [`Bridge::with_fixture`] for how a failure of that message is located.
    fn apply_one_fused(
        &self,
        c: &mut Client,
        m: &Migration,
        fixture: Option<&str>,
        run: &[&Migration],
        done: &[Applied],
    ) -> Result<Option<Duration>> {
        let refinery_migrations = [to_refinery(m)?];
        if fixture.is_some() && !up_shareable(m, &refinery_migrations[0]) {
            return Ok(None);
        }
        let guard = self.guard_sql.borrow().clone();
        let mut bridge = Bridge::new(c, &refinery_migrations)
            .owning_transaction()
            .with_prefixes(self.marker(), guard, vec![self.timeout_sql(m)?]);
        if let Some(f) = fixture {
            bridge = bridge.with_fixture(f.to_string());
        }
        let result = run_refinery(&refinery_migrations, &mut bridge);
        let (failed, open, broken) = (bridge.failed_migration, bridge.open, bridge.broken);
        let (ended, replay) = (bridge.ended_in_batch, bridge.replay_alone.take());
        let commit_error = bridge.commit_error.take();
        let took = bridge.timings.iter().sum();
        let prefixes = std::mem::take(&mut bridge.prefixes);
        if open {
            // Whatever failed, the in-band transaction must not stay open.
            let _ = c.batch_execute("ROLLBACK");
        }
        if let Some(b) = broken {
            return Err(self.guard_fired(m, b));
        }
        if let Some(e) = ended {
            return Err(self.guard_fired_in_batch(&[m], e));
        }
        if replay.is_some() {
            // The up and its fixture failed together and were rolled back: again, apart.
            return Ok(None);
        }
        if let Some(e) = commit_error {
            let earlier = version_list(done.iter().map(|d| d.version)).map_or(String::new(), |v| {
                format!(" (applied and committed earlier in this run: {v})")
            });
            return Err(Error::db(
                format!(
                    "migration {} is not applied{earlier}: recording it and committing its transaction{} failed, and the transaction was rolled back",
                    m.label(),
                    if fixture.is_some() {
                        " (its fixture ran in it)"
                    } else {
                        ""
                    },
                ),
                e,
            ));
        }
        self.check_batch(result, failed, &[m], &prefixes, run, done)?;
        if open {
            return Err(Error::History(format!(
                "migration {} was applied but its transaction did not commit; it was rolled back",
                m.label()
            )));
        }
        Ok(Some(took))
    }

    /// Turn refinery's verdict on `batch` into ours, locating a failing migration's error.
    fn check_batch(
        &self,
        result: std::result::Result<refinery::Report, refinery::Error>,
        failed: Option<usize>,
        batch: &[&Migration],
        prefixes: &[usize],
        run: &[&Migration],
        done: &[Applied],
    ) -> Result<()> {
        match result {
            Ok(report) if report.applied_migrations().len() != batch.len() => {
                Err(Error::History(format!(
                    "refinery applied {} of the {} migrations handed to it; nothing was committed",
                    report.applied_migrations().len(),
                    batch.len()
                )))
            }
            Ok(_) => Ok(()),
            Err(err) => {
                let Some(idx) = failed else {
                    return Err(Error::Refinery(err));
                };
                let m = batch[idx];
                let failure = match source_pg_error(&err) {
                    Some(pg) => pgerror::locate_prefixed(
                        pg,
                        &m.up.path,
                        &checksum::normalise(&m.up.sql),
                        0,
                        prefixes.get(idx).copied().unwrap_or(0),
                    ),
                    None => plain_failure(&m.up, err.to_string()),
                };
                Err(self.failed(m, failure, run, done))
            }
        }
    }

    /// Remember where the guard fired; [`Migrator::finish_broken`] reports it once the
    /// transaction is gone.
    fn guard_fired(&self, m: &Migration, b: crate::refinery_bridge::Broken) -> Error {
        self.broken.set(Some(BrokenAt {
            version: m.version,
            reference: b.reference,
            end: b.end,
            fixture: b.fixture,
            fixture_followed: b.fixture_sent && !b.fixture,
        }));
        Error::History(format!(
            "migration {} ended the runner's transaction",
            m.label()
        ))
    }

    /// Remember that a migration sent with others ended the runner's transaction;
    /// [`Migrator::finish_broken`] reports it once the transaction is gone.
    fn guard_fired_in_batch(&self, batch: &[&Migration], e: EndedInBatch) -> Error {
        let versions: Vec<i64> = batch[e.first..=e.last].iter().map(|m| m.version).collect();
        self.broken_batch.set(Some(BatchEnded {
            versions,
            evidence: e.evidence,
            reference: e.reference,
        }));
        Error::History(format!(
            "a migration of {}..{} ended the runner's transaction",
            batch[e.first].label(),
            batch[e.last].label()
        ))
    }

    /// The report when a migration sent in one message with others ended the runner's
    /// transaction (validation and the batching's own check make this all but impossible:
    /// such a migration travels alone).
    fn finish_broken_batch(&self, c: &mut Client, run: &[&Migration], b: BatchEnded) -> Error {
        let _ = c.batch_execute("ROLLBACK");
        let shown: Vec<String> = b
            .versions
            .iter()
            .map(|v| self.set.show_version(*v))
            .collect();
        let first = self.set.get(b.versions[0]).expect("a migration of the set");
        let mut outcome = Vec::new();
        let status = b.reference.and_then(|xid| {
            c.query_typed_one(
                "SELECT txid_status($1)",
                &[(&xid, postgres::types::Type::INT8)],
            )
            .ok()
            .and_then(|r| r.get::<_, Option<String>>(0))
        });
        outcome.push(match status.as_deref() {
            Some("committed") => "The runner's transaction was COMMITTED (so was whatever of this run ran in it)".to_string(),
            Some("aborted") => "The runner's transaction was ROLLED BACK".to_string(),
            Some(other) => format!("The runner's transaction is {other}"),
            None => "What became of the runner's transaction is unknown".to_string(),
        } + "; which statements of these migrations are in the database cannot be told from here: check the schema.");
        outcome.push(match crate::guard::recorded_now(c) {
            Ok(rows) => {
                let recorded: Vec<String> = run
                    .iter()
                    .filter(|p| rows.contains(&p.version))
                    .map(|p| p.version_text.clone())
                    .collect();
                format!(
                    "Of this run, the history table now records {} as applied. No migration after this message ran.",
                    if recorded.is_empty() {
                        "no migration".to_string()
                    } else {
                        recorded.join(", ")
                    }
                )
            }
            Err(why) => format!("{why}. No migration after this message ran."),
        });
        outcome.push(format!(
            "Find what ends the transaction in these migrations (from {} on), remove it (the runner owns the transaction) or make that migration `-- no-transaction`; check what of them is in the database and repair that by hand, then run again.",
            first.up.path.display()
        ));
        Error::TransactionEndedInMessage {
            versions: b.versions,
            shown: shown.join(", "),
            evidence: match b.evidence {
                Evidence::IdChanged => "the transaction id after the last of them differed from the one before the first",
                Evidence::EndedBeforeFailure => "the message failed, and the runner's transaction had ended before the failure",
            }
            .to_string(),
            outcome: outcome.join("\n"),
        }
    }

    /// After the guard fired and the runner's side of the transaction was rolled back: find
    /// out from the server what was committed, and say so. `None` when the guard did not fire.
    pub(crate) fn finish_broken(
        &self,
        c: &mut Client,
        run: &[&Migration],
        done: &[Applied],
    ) -> Option<Error> {
        if let Some(b) = self.broken_batch.take() {
            return Some(self.finish_broken_batch(c, run, b));
        }
        let b = self.broken.take()?;
        let m = self.set.get(b.version)?;
        let script = if b.fixture {
            m.fixture.as_ref()?
        } else {
            &m.up
        };
        // The migrations that shared the runner's transaction with it, before it (with it, for
        // its fixture: its up script and history row ran first).
        let mut before: Vec<String> = run
            .iter()
            .filter(|p| !p.up.no_transaction && !done.iter().any(|d| d.version == p.version))
            .take_while(|p| p.version != m.version)
            .map(|p| p.version_text.clone())
            .collect();
        if b.fixture {
            before.push(m.version_text.clone());
        }
        let before = (!before.is_empty()).then(|| format!("migration(s) {}", before.join(", ")));
        let (at, mut outcome) = crate::guard::describe(c, script, b.reference, b.end, before);
        outcome.push(match crate::guard::recorded_now(c) {
            Ok(rows) => {
                let recorded: Vec<String> = run
                    .iter()
                    .filter(|p| rows.contains(&p.version))
                    .map(|p| p.version_text.clone())
                    .collect();
                format!(
                    "Of this run, the history table now records {} as applied{}. Nothing after it ran.",
                    if recorded.is_empty() {
                        "no migration".to_string()
                    } else {
                        recorded.join(", ")
                    },
                    if rows.contains(&m.version) {
                        String::new()
                    } else {
                        format!("; {} is not recorded", m.version_text)
                    }
                )
            }
            Err(why) => format!("{why}. Nothing after it ran."),
        });
        if b.fixture_followed
            && let Some(fixture) = &m.fixture
        {
            outcome.push(format!(
                "Its fixture {}, sent in the same message, ran after it outside the runner's transaction: check whether its rows are in the database.",
                fixture.path.display()
            ));
        }
        outcome.push(crate::guard::advice(script));
        Some(Error::TransactionEnded {
            version: m.version,
            shown: m.version_text.clone(),
            name: m.name.clone(),
            at,
            outcome: outcome.join("\n"),
        })
    }

    fn apply_no_transaction(
        &self,
        c: &mut Client,
        m: &Migration,
        done: &[Applied],
    ) -> Result<Applied> {
        let start = Instant::now();
        let sql = checksum::normalise(&m.up.sql);
        let statements = split::statements(&sql);
        let marker = self.marker();
        if let Some(w) = &*self.watcher.borrow() {
            w.running(&m.label());
        }
        for (n, st) in statements.iter().enumerate() {
            if let Some(lease) = &*self.lease.borrow() {
                lease.renew(c)?;
            }
            if let Err(e) = c.batch_execute(&format!("{marker}{}", st.text)) {
                let failure = pgerror::locate_prefixed(
                    &e,
                    &m.up.path,
                    &sql,
                    st.char_offset,
                    marker.chars().count(),
                );
                return Err(Error::MigrationFailed {
                    version: m.version,
                    shown: m.version_text.clone(),
                    name: m.name.clone(),
                    failure: Box::new(failure),
                    outcome: format!(
                        "this migration runs outside a transaction (-- no-transaction): {n} of its {} statement(s) before the failing one stay committed and it is not recorded as applied; make its statements idempotent (IF NOT EXISTS, DROP INDEX IF EXISTS for an INVALID index left by CONCURRENTLY) and run again.{}",
                        statements.len(),
                        earlier(done)
                    ),
                });
            }
        }
        let name = m.refinery_name();
        history::insert(c, m.version, &name, m.checksum())?;
        if self.fixtures
            && let Some(fixture) = &m.fixture
        {
            run_script(c, fixture).map_err(|f| Error::MigrationFailed {
                version: m.version,
                shown: m.version_text.clone(),
                name: m.name.clone(),
                failure: f,
                outcome: "the migration stays applied; its fixture was rolled back".into(),
            })?;
        }
        Ok(Applied {
            version: m.version,
            name: m.name.clone(),
            path: m.up.path.clone(),
            no_transaction: true,
            duration: start.elapsed(),
            batch: 1,
        })
    }

    fn failed(
        &self,
        m: &Migration,
        failure: SqlFailure,
        run: &[&Migration],
        done: &[Applied],
    ) -> Error {
        let outcome = if self.single_transaction {
            let in_tx = run
                .iter()
                .filter(|p| !p.up.no_transaction && !done.iter().any(|d| d.version == p.version))
                .count();
            format!(
                "the transaction was rolled back: none of the {in_tx} migration(s) it held are applied.{}",
                earlier(done)
            )
        } else {
            format!(
                "its transaction was rolled back; the database is at the migration before it.{}",
                earlier(done)
            )
        };
        Error::MigrationFailed {
            version: m.version,
            shown: m.version_text.clone(),
            name: m.name.clone(),
            failure: Box::new(failure),
            outcome,
        }
    }
}

fn earlier(done: &[Applied]) -> String {
    version_list(done.iter().map(|d| d.version)).map_or(String::new(), |v| {
        format!(" Applied and committed earlier in this run: {v}.")
    })
}

/// `1, 2, 3`: the versions a report of a failed run names as done before it (`None`: none).
pub(crate) fn version_list(versions: impl Iterator<Item = i64>) -> Option<String> {
    let versions: Vec<String> = versions.map(|v| v.to_string()).collect();
    (!versions.is_empty()).then(|| versions.join(", "))
}

/// Whether `e` is a lock wait that hit `lock_timeout` (SQLSTATE 55P03), the attempt rolled back.
fn is_lock_timeout(e: &Error) -> bool {
    matches!(e, Error::MigrationFailed { failure, .. } if failure.code == "55P03")
}

impl Migrator<'_> {
    /// Start an applying transaction: lease check, advisory transaction lock (see [`lock`]),
    /// and in the same message the transaction's id, the run-time guard's reference (see
    /// [`crate::guard`]; [`crate::batch`]'s messages need it before they are sent). Without a
    /// lease (nothing to check) nothing is sent, and the id is `None`: the guard then takes
    /// it from the first script's message.
    pub(crate) fn begin_guard(&self, tx: &mut postgres::Transaction<'_>) -> Result<Option<i64>> {
        let guard = self.guard_sql.borrow().clone();
        if guard.is_empty() {
            return Ok(None);
        }
        let messages = tx
            .simple_query(&format!("{guard}{}", crate::batch::GUARD_BEFORE))
            .map_err(|e| Error::db("cannot take the migration lock in the transaction", e))?;
        Ok(crate::batch::xids(&messages).first().copied())
    }
}

/// How an attempt at a transaction of migrations ended ([`Migrator::apply_in`]).
#[derive(Debug)]
pub(crate) enum Attempt {
    /// Applied: each migration's time and how many migrations shared its message.
    Done(Vec<(Duration, usize)>),
    /// A message of several migrations failed; the transaction must be rolled back and run
    /// again with these versions one per message, to locate the failure.
    Replay(Vec<i64>),
}

/// Whether `m`'s up may share a message: validation found it so (and `r`, refinery's view of
/// it, still has that checksum), or it is checked again now.
fn up_shareable(m: &Migration, r: &refinery::Migration) -> bool {
    m.up.shareable_checksum == Some(r.checksum())
        || crate::batch::shareable(r.sql().unwrap_or_default())
}

/// refinery applies `migrations` through `bridge`; the engine has already verified the history.
fn run_refinery(
    migrations: &[refinery::Migration],
    bridge: &mut impl refinery::Migrate,
) -> std::result::Result<refinery::Report, refinery::Error> {
    Runner::new(migrations)
        .set_grouped(true)
        .set_abort_divergent(false)
        .set_abort_missing(false)
        .set_target(Target::Latest)
        .run(bridge)
}

fn source_pg_error(err: &refinery::Error) -> Option<&postgres::Error> {
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        if let Some(pg) = s.downcast_ref::<postgres::Error>() {
            return Some(pg);
        }
        source = s.source();
    }
    None
}

fn plain_failure(script: &Script, message: String) -> SqlFailure {
    SqlFailure {
        path: script.path.clone(),
        line: None,
        column: None,
        source_line: None,
        code: String::new(),
        severity: "ERROR".into(),
        message,
        detail: None,
        hint: None,
        context: None,
        constraint: None,
    }
}

/// Run a whole script (fixture, down) as one simple query, locating any error in its file.
pub(crate) fn run_script(
    c: &mut impl GenericClient,
    script: &Script,
) -> Result<(), Box<SqlFailure>> {
    let sql = checksum::normalise(&script.sql);
    c.batch_execute(&sql)
        .map_err(|e| Box::new(pgerror::locate(&e, &script.path, &sql, 0)))
}

/// Applied migrations must be on disk, unchanged.
pub(crate) fn verify(set: &MigrationSet, applied: &[HistoryRow]) -> Result<()> {
    for row in applied {
        let Some(m) = set.get(row.version) else {
            return Err(Error::MissingFromDisk {
                version: row.version,
                name: row.name.clone(),
                dir: set.dir.clone(),
            });
        };
        if !checksum_ok(m, row) {
            return Err(Error::ChecksumMismatch {
                version: row.version,
                shown: m.version_text.clone(),
                path: m.up.path.clone(),
                recorded: row.checksum.to_string(),
                current: m.checksum().to_string(),
            });
        }
    }
    Ok(())
}

/// Whether the recorded checksum matches the file, under the file's name or the recorded one.
pub(crate) fn checksum_ok(m: &Migration, row: &HistoryRow) -> bool {
    checksum::matches(row.checksum, m.version, &m.refinery_name(), &m.up.sql)
        || checksum::matches(row.checksum, m.version, &row.name, &m.up.sql)
}

/// Unapplied migrations up to `target`; an unapplied one older than the newest applied is an error.
pub(crate) fn pending<'s>(
    set: &'s MigrationSet,
    applied: &[HistoryRow],
    target: i64,
) -> Result<Vec<&'s Migration>> {
    let newest = applied.iter().map(|r| r.version).max();
    let mut out = Vec::new();
    for m in &set.migrations {
        if applied.iter().any(|r| r.version == m.version) {
            continue;
        }
        if let Some(newest) = newest
            && m.version < newest
        {
            return Err(Error::OutOfOrder {
                path: m.up.path.clone(),
                version: m.version,
                newest,
                newest_shown: set.show_version(newest),
            });
        }
        if m.version <= target {
            out.push(m);
        }
    }
    Ok(out)
}
