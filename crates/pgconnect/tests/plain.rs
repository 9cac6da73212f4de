//! Against a server without TLS (a throwaway cluster on a loopback port, `ssl = off`).

use pgcluster::{Cluster, ClusterOptions};
use pgconnect::ConnectOptions;

fn plain_server() -> (Cluster, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cluster = Cluster::temporary_with(&ClusterOptions {
        settings: vec![
            ("listen_addresses".into(), "127.0.0.1".into()),
            ("port".into(), port.to_string()),
        ],
        ..Default::default()
    })
    .unwrap();
    (cluster, port)
}

fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(&format!(": {s}"));
        source = s.source();
    }
    out
}

#[test]
fn prefer_falls_back_to_plain_and_require_refuses() {
    let (_cluster, port) = plain_server();
    let base = format!("postgresql://postgres@127.0.0.1:{port}/postgres");
    let env = |_: &str| None;
    // Certificate files are only read when TLS is negotiated (as in libpq).
    let prefer = format!("{base}?sslmode=prefer&sslcert=/nonexistent.crt&sslkey=/nonexistent.key");
    let mut client = ConnectOptions::parse_with_env(&prefer, env)
        .unwrap()
        .connect()
        .unwrap();
    client.batch_execute("SELECT 1").unwrap();

    let require = format!("{base}?sslmode=require");
    let Err(err) = ConnectOptions::parse_with_env(&require, env)
        .unwrap()
        .connect()
    else {
        panic!("sslmode=require connected without TLS")
    };
    assert!(
        chain(&err).contains("server does not support TLS"),
        "{}",
        chain(&err)
    );
}
