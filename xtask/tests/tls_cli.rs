//! `cargo xtask migrate` against a server that accepts TCP only with TLS (the harness of
//! `crates/pgconnect/tests/support/tls_server.rs`): the URL's `sslmode` / `sslrootcert` and
//! `PGSSLMODE` are honoured, and a refused certificate is a clear error.

#[path = "../../crates/pgconnect/tests/support/tls_server.rs"]
mod tls_server;

use std::path::Path;
use std::process::{Command, Output};

use tls_server::{PASSWORD, file, server};

fn xtask(args: &[&str], url: &str, dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(args)
        .arg("--database-url")
        .arg(url)
        .arg("--dir")
        .arg(dir)
        .env_remove("DATABASE_URL")
        .env("HOME", "/nonexistent");
    for var in ["PGSSLMODE", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY"] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A fresh database on the TLS server, and a URL for it with `query` appended.
fn database(name: &str, query: &str) -> String {
    let s = server();
    s.cluster.create_database(name).unwrap();
    format!(
        "postgresql://postgres:{PASSWORD}@localhost:{}/{name}?hostaddr=127.0.0.1{query}",
        s.port
    )
}

fn migrations() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("000001_users.up.sql"),
        "CREATE TABLE users (id int);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("000001_users.down.sql"),
        "DROP TABLE users;\n",
    )
    .unwrap();
    dir
}

#[test]
fn migrate_over_verified_tls() {
    let dir = migrations();
    let ca = file("ca.crt");
    let url = database(
        "tls_verified",
        &format!("&sslmode=verify-full&sslrootcert={ca}"),
    );
    let o = xtask(&["migrate"], &url, dir.path(), &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("1 migration(s) applied"), "{}", text(&o));
    assert!(
        !text(&o).contains(PASSWORD),
        "password printed: {}",
        text(&o)
    );

    // `diff` reads the live database over the same TLS settings (and pg_dump, libpq itself,
    // reads the same URL): no difference.
    let o = xtask(&["diff"], &url, dir.path(), &[]);
    assert!(o.status.success(), "{}", text(&o));

    // The same settings from the environment.
    let bare = database("tls_env", "");
    let o = xtask(
        &["migrate"],
        &bare,
        dir.path(),
        &[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", &ca)],
    );
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn refused_certificate_and_plain_connection_are_clear_errors() {
    let dir = migrations();
    let other = file("other-ca.crt");
    let url = database(
        "tls_wrong_ca",
        &format!("&sslmode=verify-full&sslrootcert={other}"),
    );
    let o = xtask(&["migrate", "status"], &url, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("the server's certificate is not signed by a trusted CA"),
        "{}",
        text(&o)
    );

    let plain = database("tls_plain", "");
    let o = xtask(
        &["migrate", "status"],
        &plain,
        dir.path(),
        &[("PGSSLMODE", "disable")],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("no encryption"), "{}", text(&o));
}
