//! Peer tools measured beside us on the same SQL: `sqlx migrate run` (sqlx-cli) and refinery's
//! own runner (refinery_cli), when installed. They are looked up in `target/peers/bin` (where
//! `cargo xtask bench --install-peers` puts them), then on `PATH`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A peer migration tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// `sqlx migrate run` (one transaction per migration).
    Sqlx,
    /// `refinery migrate` (one transaction per migration).
    Refinery,
    /// `refinery migrate -g` (all migrations grouped in one transaction).
    RefineryGrouped,
}

impl Peer {
    /// Its executable's name.
    pub fn program(self) -> &'static str {
        match self {
            Peer::Sqlx => "sqlx",
            Peer::Refinery | Peer::RefineryGrouped => "refinery",
        }
    }

    /// How to install it.
    pub fn install_args(self) -> &'static [&'static str] {
        match self {
            Peer::Sqlx => &[
                "install",
                "sqlx-cli",
                "--locked",
                "--no-default-features",
                "--features",
                "postgres,rustls",
            ],
            Peer::Refinery | Peer::RefineryGrouped => &["install", "refinery_cli", "--locked"],
        }
    }

    /// Label in the results table.
    pub fn label(self) -> &'static str {
        match self {
            Peer::Sqlx => "peer: sqlx migrate run (sqlx-cli)",
            Peer::Refinery => "peer: refinery migrate (refinery_cli)",
            Peer::RefineryGrouped => "peer: refinery migrate -g (grouped)",
        }
    }

    /// The command applying the migrations of `paired_dir` / `refinery_dir` to `tcp_url`.
    pub fn command(
        self,
        exe: &Path,
        paired_dir: &Path,
        refinery_dir: &Path,
        tcp_url: &str,
    ) -> Command {
        let mut c = Command::new(exe);
        match self {
            Peer::Sqlx => {
                c.args(["migrate", "run", "--database-url", tcp_url, "--source"])
                    .arg(paired_dir);
            }
            Peer::Refinery | Peer::RefineryGrouped => {
                c.env("BENCH_REFINERY_URL", tcp_url)
                    .args(["migrate", "-e", "BENCH_REFINERY_URL", "-p"])
                    .arg(refinery_dir);
                if self == Peer::RefineryGrouped {
                    c.arg("-g");
                }
            }
        }
        c
    }
}

/// Where peers are installed by `--install-peers`.
pub fn peers_root(workspace: &Path) -> PathBuf {
    workspace.join("target").join("peers")
}

/// The peer's executable, if installed.
pub fn find(peer: Peer, workspace: &Path) -> Option<PathBuf> {
    let local = peers_root(workspace).join("bin").join(peer.program());
    if local.is_file() {
        return Some(local);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(peer.program()))
            .find(|p| p.is_file())
    })
}

/// `cargo install` the peer into `target/peers` (slow: minutes).
pub fn install(peer: Peer, workspace: &Path) -> std::io::Result<bool> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(peer.install_args())
        .arg("--root")
        .arg(peers_root(workspace))
        .status()?;
    Ok(status.success())
}
