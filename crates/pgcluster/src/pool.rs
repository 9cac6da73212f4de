//! A small pool of superuser connections to the `postgres` database, shared by a cluster and
//! its [`TestDatabase`](crate::TestDatabase)s, so creating and dropping clones costs no
//! connection set-up.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, Result};

/// Idle connections kept at most.
const MAX_IDLE: usize = 8;

pub(crate) struct AdminPool {
    /// Connection settings with `dbname` unset; see [`AdminPool::config_for`].
    base: postgres::Config,
    idle: Mutex<Vec<postgres::Client>>,
    closed: AtomicBool,
    server_version_num: OnceLock<i32>,
}

impl std::fmt::Debug for AdminPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminPool")
            .field("base", &self.base)
            .field("idle", &self.idle.lock().map(|v| v.len()).unwrap_or(0))
            .field("closed", &self.closed)
            .finish()
    }
}

impl AdminPool {
    pub(crate) fn new(base: postgres::Config) -> AdminPool {
        AdminPool {
            base,
            idle: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            server_version_num: OnceLock::new(),
        }
    }

    /// Connection settings for `dbname`.
    pub(crate) fn config_for(&self, dbname: &str) -> postgres::Config {
        let mut config = self.base.clone();
        config.dbname(dbname);
        config
    }

    /// A fresh connection to `dbname`.
    pub(crate) fn connect(&self, dbname: &str) -> Result<postgres::Client> {
        self.config_for(dbname)
            .connect(postgres::NoTls)
            .map_err(|e| Error::pg(format!("connecting to database {dbname:?}"), e))
    }

    /// A connection to `postgres`, from the pool when one is idle.
    pub(crate) fn get(&self) -> Result<Pooled<'_>> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let client = match idle {
            Some(client) if !client.is_closed() => client,
            _ => self.connect("postgres")?,
        };
        Ok(Pooled {
            pool: self,
            client: Some(client),
        })
    }

    /// `server_version_num`, queried once.
    pub(crate) fn server_version_num(&self, client: &mut postgres::Client) -> Result<i32> {
        if let Some(v) = self.server_version_num.get() {
            return Ok(*v);
        }
        let row = client
            .query_one("SELECT current_setting('server_version_num')::int", &[])
            .map_err(|e| Error::pg("reading server_version_num", e))?;
        let v: i32 = row.get(0);
        Ok(*self.server_version_num.get_or_init(|| v))
    }

    /// Closes idle connections and stops pooling (the server is going away).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

/// A pooled connection, returned to the pool on drop unless discarded, the pool is closed,
/// or the thread is panicking (its session state, e.g. an advisory lock, is then unknown).
pub(crate) struct Pooled<'a> {
    pool: &'a AdminPool,
    client: Option<postgres::Client>,
}

impl Pooled<'_> {
    /// Closes the connection instead of pooling it.
    pub(crate) fn discard(mut self) {
        self.client = None;
    }
}

impl Deref for Pooled<'_> {
    type Target = postgres::Client;
    fn deref(&self) -> &postgres::Client {
        self.client
            .as_ref()
            .expect("pooled client present until drop")
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut postgres::Client {
        self.client
            .as_mut()
            .expect("pooled client present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        if std::thread::panicking() || self.pool.is_closed() || client.is_closed() {
            return;
        }
        let mut idle = self.pool.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(client);
        }
    }
}
