//! TLS against a real server: a throwaway cluster with `ssl = on`, a CA and certificates
//! made with the `openssl` CLI, listening on a loopback port, and `pg_hba.conf` accepting
//! TCP only with TLS (`hostssl`; SCRAM passwords, or a client certificate for `certuser`).

mod support {
    pub mod tls_server;
}

use std::collections::HashMap;

use pgconnect::{ConnectOptions, SslMode};
use support::tls_server::{PASSWORD, file, server};

/// Parses `conn` with only `env` as the environment (no ambient PGSSLMODE, no ~/.postgresql).
fn options(conn: &str, env: &[(&str, &str)]) -> ConnectOptions {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([("HOME".to_string(), "/nonexistent".to_string())])
        .collect();
    ConnectOptions::parse_with_env(conn, |k| env.get(k).cloned()).unwrap()
}

fn url(host: &str, query: &str) -> String {
    let s = server();
    format!(
        "postgresql://postgres:{PASSWORD}@{host}:{}/postgres?hostaddr=127.0.0.1&{query}",
        s.port
    )
}

/// The error with its sources, as `cargo xtask` prints it.
fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(&format!(": {s}"));
        source = s.source();
    }
    out
}

/// Connects and returns whether the session uses TLS, per the server.
fn connect_ssl(opts: &ConnectOptions) -> Result<bool, String> {
    let mut client = opts.connect().map_err(|e| chain(&e))?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .map_err(|e| chain(&e))?;
    Ok(row.get(0))
}

#[test]
fn require_and_prefer_encrypt() {
    for mode in ["require", "prefer"] {
        let opts = options(&url("127.0.0.1", &format!("sslmode={mode}")), &[]);
        assert_eq!(connect_ssl(&opts), Ok(true), "sslmode={mode}");
    }
    // The default is prefer.
    let opts = options(&url("127.0.0.1", ""), &[]);
    assert_eq!(opts.tls().mode, SslMode::Prefer);
    assert_eq!(connect_ssl(&opts), Ok(true));
}

#[test]
fn verify_full_with_the_right_ca_works() {
    let ca = file("ca.crt");
    let opts = options(
        &url(
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={ca}"),
        ),
        &[],
    );
    assert_eq!(connect_ssl(&opts), Ok(true));
    // The same from the environment.
    let opts = options(
        &url("localhost", ""),
        &[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", &ca)],
    );
    assert_eq!(opts.tls().mode, SslMode::VerifyFull);
    assert_eq!(connect_ssl(&opts), Ok(true));
    // And in libpq's key=value form.
    let conn = format!(
        "host=localhost hostaddr=127.0.0.1 port={} user=postgres password='{PASSWORD}' \
         dbname=postgres sslmode=verify-full sslrootcert='{ca}'",
        server().port
    );
    assert_eq!(connect_ssl(&options(&conn, &[])), Ok(true));
    // pgconnect::connect reads the real environment; the URL says everything here.
    let mut client = pgconnect::connect(&url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .unwrap();
    client.batch_execute("SELECT 1").unwrap();
}

#[test]
fn verify_ca_checks_the_chain_but_not_the_name() {
    // The certificate is for `localhost`, not `127.0.0.1`.
    let ca = file("ca.crt");
    let opts = options(
        &url("127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={ca}")),
        &[],
    );
    assert_eq!(connect_ssl(&opts), Ok(true));
}

#[test]
fn wrong_host_name_fails_clearly() {
    let ca = file("ca.crt");
    for host in ["wrong.example", "127.0.0.1"] {
        let opts = options(
            &url(host, &format!("sslmode=verify-full&sslrootcert={ca}")),
            &[],
        );
        let err = connect_ssl(&opts).unwrap_err();
        eprintln!("{host}: {err}");
        assert!(
            err.contains(&format!(
                "the server's certificate is not valid for the host name \"{host}\""
            )),
            "{err}"
        );
        assert!(err.contains("sslmode=verify-full"), "{err}");
    }
}

#[test]
fn wrong_ca_fails_clearly() {
    let other = file("other-ca.crt");
    for mode in ["verify-full", "verify-ca", "require"] {
        let opts = options(
            &url("localhost", &format!("sslmode={mode}&sslrootcert={other}")),
            &[],
        );
        let err = connect_ssl(&opts).unwrap_err();
        eprintln!("sslmode={mode}: {err}");
        assert!(
            err.contains("the server's certificate is not signed by a trusted CA"),
            "sslmode={mode}: {err}"
        );
        assert!(err.contains(&other), "{err}");
    }
    // No root certificate at all.
    let opts = options(&url("localhost", "sslmode=verify-full"), &[]);
    let err = connect_ssl(&opts).unwrap_err();
    eprintln!("{err}");
    assert!(err.contains("needs the certificate of the CA"), "{err}");
    // An unreadable one.
    let opts = options(
        &url(
            "localhost",
            "sslmode=verify-full&sslrootcert=/nonexistent/ca.crt",
        ),
        &[],
    );
    let err = connect_ssl(&opts).unwrap_err();
    assert!(
        err.contains("cannot use sslrootcert /nonexistent/ca.crt"),
        "{err}"
    );
}

#[test]
fn plain_connections_are_refused_by_the_server() {
    let opts = options(&url("127.0.0.1", "sslmode=disable"), &[]);
    let Err(err) = opts.connect() else {
        panic!("a plain connection was accepted")
    };
    let db = err
        .as_db_error()
        .unwrap_or_else(|| panic!("{}", chain(&err)));
    assert_eq!(db.code().code(), "28000", "{}", chain(&err));
    assert!(db.message().contains("no encryption"), "{}", db.message());
}

#[test]
fn client_certificate_authenticates() {
    let s = server();
    let ca = file("ca.crt");
    let base = format!(
        "postgresql://certuser@localhost:{}/postgres?hostaddr=127.0.0.1&sslmode=verify-full\
         &sslrootcert={ca}",
        s.port
    );
    let with_cert = format!(
        "{base}&sslcert={}&sslkey={}",
        file("client.crt"),
        file("client.key")
    );
    let mut client = options(&with_cert, &[]).connect().unwrap();
    let user: String = client
        .query_one("SELECT current_user::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(user, "certuser");
    // From the environment too.
    let opts = options(
        &base,
        &[
            ("PGSSLCERT", &file("client.crt")),
            ("PGSSLKEY", &file("client.key")),
        ],
    );
    opts.connect().unwrap();
    // Without a certificate, the `cert` method refuses.
    let Err(err) = options(&base, &[]).connect() else {
        panic!("connected without a client certificate")
    };
    assert!(chain(&err).contains("certificate"), "{}", chain(&err));
    drop(client);
    // (keep the cluster referenced: it is shared by every test of this binary)
    assert!(s.cluster.postmaster_pid().is_some());
}
