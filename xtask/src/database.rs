//! Which database a command talks to: `--database-url`, else `DATABASE_URL`, else the embedded
//! persistent dev cluster in `.pgdata/` at the workspace root (started or reused).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::report::redact;

/// Name of the database created in the embedded dev cluster.
pub const DEV_DATABASE: &str = "dev";

/// A resolved target.
#[derive(Debug)]
pub struct Target {
    /// Connection URL (may hold a password: print [`Target::display`] instead).
    pub url: String,
    /// Where it came from, for messages.
    pub origin: String,
}

impl Target {
    /// The URL without its password.
    pub fn display(&self) -> String {
        redact(&self.url)
    }

    /// Open a connection.
    pub fn connect(&self) -> Result<postgres::Client> {
        pgconnect::connect(&self.url).with_context(|| {
            format!(
                "cannot connect to {} ({}); check the URL, that the server runs and accepts you",
                self.display(),
                self.origin
            )
        })
    }
}

/// The workspace root (this binary is built from `xtask/` in it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A relative folder argument (`--dir`, `--out`, ...) is taken from the current directory when it exists there, else from the
/// workspace root (so `cargo xtask migrate` works from any subfolder).
pub fn resolve_dir(dir: &Path) -> PathBuf {
    if dir.is_absolute() || dir.exists() {
        return dir.to_path_buf();
    }
    let at_root = workspace_root().join(dir);
    if at_root.exists() {
        at_root
    } else {
        dir.to_path_buf()
    }
}

/// The embedded dev cluster's directory: `XTASK_DEV_CLUSTER_DIR` when set, else `.pgdata` at
/// the workspace root.
pub fn dev_cluster_dir() -> PathBuf {
    match std::env::var_os("XTASK_DEV_CLUSTER_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join(".pgdata"),
    }
}

/// Resolve the target: an explicit URL (flag or `DATABASE_URL`, clap fills both), else the
/// embedded dev cluster.
pub fn resolve(url: Option<String>) -> Result<Target> {
    if let Some(url) = url {
        return Ok(Target {
            url,
            origin: "--database-url / DATABASE_URL".into(),
        });
    }
    let dir = dev_cluster_dir();
    let cluster = pgcluster::Cluster::persistent(&dir, &pgcluster::ClusterOptions::default())
        .with_context(|| {
            format!(
                "cannot start the embedded dev cluster in {} (set DATABASE_URL to use another server)",
                dir.display()
            )
        })?;
    let origin = match cluster.relocated_to() {
        Some(home) => {
            eprintln!(
                "note: the dev cluster of {} lives in {} (the `postgres` OS user cannot reach \
                 the checkout; recorded in {})",
                dir.display(),
                home.display(),
                dir.join("RELOCATED").display()
            );
            format!("embedded dev cluster in {}", home.display())
        }
        None => format!("embedded dev cluster in {}", dir.display()),
    };
    let mut admin = cluster.connect("postgres")?;
    let exists = admin
        .query_opt(
            "SELECT 1 FROM pg_database WHERE datname = $1",
            &[&DEV_DATABASE],
        )?
        .is_some();
    if !exists {
        cluster.create_database(DEV_DATABASE)?;
    }
    Ok(Target {
        url: cluster.url(DEV_DATABASE),
        origin,
    })
}
