//! A second connection that watches the runner's statements while they run: it prints a
//! heartbeat line every [`HEARTBEAT`] for a long statement (migration, elapsed, wait event,
//! blocking pids), remembers who blocks a statement waiting for a lock (for the lock-timeout
//! report), and renews the lease while a long statement holds the runner's connection.
//!
//! The runner's backend is found by a marker comment that starts every query the runner sends
//! for a migration (`/* migrate:<owner> */`), so it works behind PgBouncer too, where the
//! server pid changes from one transaction to the next.

use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postgres::Client;
use postgres::types::Type;

use crate::lock::Lease;

/// Interval between heartbeat lines for one long statement.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// One session blocking the runner.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocker {
    /// Server pid.
    pub pid: i32,
    /// `pg_stat_activity.state`.
    pub state: String,
    /// Its current (or last) query, shortened.
    pub query: String,
    /// Seconds since its transaction began (or since its query began when not in one).
    pub since_secs: f64,
    /// When its transaction began (server time, text).
    pub since: String,
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} ({}, in its transaction since {}, {:.1} s): {}",
            self.pid, self.state, self.since, self.since_secs, self.query
        )
    }
}

#[derive(Debug, Default)]
struct Shared {
    /// Label of the migration now running.
    current: Option<String>,
    /// Blockers seen while the current statement waited.
    blockers: Vec<Blocker>,
}

/// The watcher thread; stops on drop, at once (it waits for the stop signal between polls,
/// so a run does not end a poll interval late).
#[derive(Debug)]
pub(crate) struct Watcher {
    stop: Option<Sender<()>>,
    shared: Arc<Mutex<Shared>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    pub(crate) fn start(
        mut side: Client,
        marker: String,
        lease: Lease,
        print: Arc<dyn Fn(&str) + Send + Sync>,
    ) -> Watcher {
        let (stop, stopped) = channel::<()>();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let shared2 = shared.clone();
        let thread = std::thread::spawn(move || {
            let mut last_renew = Instant::now();
            let mut last_beat: Option<(i32, String, Instant)> = None;
            // Poll every 200 ms until told to stop (a message, or the sender dropped).
            while let Err(RecvTimeoutError::Timeout) =
                stopped.recv_timeout(Duration::from_millis(200))
            {
                if last_renew.elapsed() >= lease.length / 3 {
                    last_renew = Instant::now();
                    lease.renew_nowait(&mut side);
                }
                let pattern = format!("{}%", like_escape(&marker));
                let Ok(Some(row)) = side.query_typed_opt(
                    "SELECT pid, coalesce(wait_event_type || '/' || wait_event, 'running'),
                            extract(epoch FROM now() - query_start)::float8,
                            pg_blocking_pids(pid), query_start::text
                     FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 LIMIT 1",
                    &[(&pattern, Type::TEXT)],
                ) else {
                    continue;
                };
                let pid: i32 = row.get(0);
                let wait: String = row.get(1);
                let elapsed: f64 = row.get(2);
                let blocking: Vec<i32> = row.get(3);
                let started: String = row.get(4);
                if !blocking.is_empty() {
                    let blockers = describe(&mut side, &blocking);
                    if !blockers.is_empty() {
                        shared2.lock().unwrap().blockers = blockers;
                    }
                }
                if elapsed >= HEARTBEAT.as_secs_f64() {
                    let due = match &last_beat {
                        Some((p, s, at)) if *p == pid && *s == started => at.elapsed() >= HEARTBEAT,
                        _ => true,
                    };
                    if due {
                        last_beat = Some((pid, started, Instant::now()));
                        let current = shared2.lock().unwrap().current.clone();
                        print(&format!(
                            "heartbeat: migration {} still running after {:.0} s (server pid {pid}, wait event {wait}{})",
                            current.as_deref().unwrap_or("?"),
                            elapsed,
                            if blocking.is_empty() {
                                String::new()
                            } else {
                                format!(", blocked by pid(s) {blocking:?}")
                            }
                        ));
                    }
                }
            }
        });
        Watcher {
            stop: Some(stop),
            shared,
            thread: Some(thread),
        }
    }

    /// A new statement (migration) starts: forget earlier blockers.
    pub(crate) fn running(&self, label: &str) {
        let mut s = self.shared.lock().unwrap();
        s.current = Some(label.to_string());
        s.blockers.clear();
    }

    /// The blockers seen since [`Watcher::running`].
    pub(crate) fn blockers(&self) -> Vec<Blocker> {
        self.shared.lock().unwrap().blockers.clone()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// What `pg_stat_activity` says about `pids`.
pub(crate) fn describe(c: &mut Client, pids: &[i32]) -> Vec<Blocker> {
    let Ok(rows) = c.query_typed(
        "SELECT pid, coalesce(state, ''), left(regexp_replace(coalesce(query, ''), '\\s+', ' ', 'g'), 200),
                extract(epoch FROM now() - coalesce(xact_start, query_start, backend_start))::float8,
                coalesce(xact_start, query_start, backend_start)::text
         FROM pg_stat_activity WHERE pid = ANY($1) ORDER BY pid",
        &[(&pids, Type::INT4_ARRAY)],
    ) else {
        return Vec::new();
    };
    rows.iter()
        .map(|r| Blocker {
            pid: r.get(0),
            state: r.get(1),
            query: r.get(2),
            since_secs: r.get(3),
            since: r.get(4),
        })
        .collect()
}

/// Without a watcher: the sessions that have been in a transaction longer than `at_least`
/// and hold a lock on a relation (the likely blockers), excluding the caller.
pub(crate) fn likely_blockers(c: &mut Client, at_least: Duration) -> Vec<Blocker> {
    let Ok(rows) = c.query_typed(
        "SELECT DISTINCT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND l.granted
         WHERE l.locktype = 'relation' AND a.pid <> pg_backend_pid() AND a.datname = current_database()
           AND a.xact_start < now() - make_interval(secs => $1)",
        &[(&at_least.as_secs_f64(), Type::FLOAT8)],
    ) else {
        return Vec::new();
    };
    let pids: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    if pids.is_empty() {
        return Vec::new();
    }
    describe(c, &pids)
}
