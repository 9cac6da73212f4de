//! A throwaway PostgreSQL server that takes TCP connections only with TLS, for tests: a CA
//! and certificates made with the `openssl` CLI, `ssl = on` on a free loopback port, and
//! `pg_hba.conf` with `hostssl` lines only (SCRAM passwords, or a client certificate for
//! the role `certuser`); the Unix socket stays trust, for the harness.
//!
//! Shared by `crates/pgconnect/tests/tls.rs` and `xtask/tests/tls_cli.rs` (`#[path]`).
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use pgcluster::{Cluster, ClusterOptions};

/// The password of the superuser `postgres` over TCP.
pub const PASSWORD: &str = "tls-test-secret";

/// The running server.
pub struct Server {
    /// The cluster (its Unix socket is trust, for set-up).
    pub cluster: Cluster,
    /// The loopback TCP port.
    pub port: u16,
    /// `ca.crt`, `other-ca.crt` (an unrelated CA), `server.*`, `client.*` (CN `certuser`).
    pub files: PathBuf,
    _dir: tempfile::TempDir,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("the openssl CLI is needed for this test (apt-get install openssl): {e}")
        });
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `name.key` + `name.crt` signed by `ca` (or self-signed, as a CA, when `ca` is `None`).
fn make_cert(dir: &Path, name: &str, cn: &str, ca: Option<&str>, ext: &str) {
    let key = format!("{name}.key");
    let crt = format!("{name}.crt");
    let subj = format!("/CN={cn}");
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    match ca {
        None => {
            let mut args = vec!["req", "-x509"];
            args.extend(ec);
            args.extend([
                "-keyout",
                &key,
                "-out",
                &crt,
                "-days",
                "3",
                "-subj",
                &subj,
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ]);
            openssl(dir, &args);
        }
        Some(ca) => {
            let csr = format!("{name}.csr");
            let ext_file = format!("{name}.ext");
            std::fs::write(dir.join(&ext_file), ext).unwrap();
            let mut args = vec!["req", "-new"];
            args.extend(ec);
            args.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
            openssl(dir, &args);
            let ca_crt = format!("{ca}.crt");
            let ca_key = format!("{ca}.key");
            openssl(
                dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    &ca_crt,
                    "-CAkey",
                    &ca_key,
                    "-CAcreateserial",
                    "-out",
                    &crt,
                    "-days",
                    "3",
                    "-extfile",
                    &ext_file,
                ],
            );
        }
    }
}

fn server_user() -> Option<(u32, u32)> {
    let is_root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    if !is_root {
        return None;
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    Some((id("-u"), id("-g")))
}

/// The server of this test process, started on first use.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        remove_stale_dirs();
        let dir = tempfile::Builder::new()
            .prefix(&format!("pgtls-{}-", std::process::id()))
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let files = dir.path().to_path_buf();
        make_cert(&files, "ca", "pgconnect test CA", None, "");
        make_cert(&files, "other-ca", "some other CA", None, "");
        make_cert(
            &files,
            "server",
            "localhost",
            Some("ca"),
            "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
        );
        make_cert(
            &files,
            "client",
            "certuser",
            Some("ca"),
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=clientAuth\n",
        );
        std::fs::write(
            files.join("pg_hba.conf"),
            "local all all trust\n\
             hostssl all certuser 127.0.0.1/32 cert\n\
             hostssl all all 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        // The server reads its key as its own OS user, and wants it private.
        let key = files.join("server.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        if let Some((uid, gid)) = server_user() {
            std::os::unix::fs::chown(&key, Some(uid), Some(gid)).unwrap();
        }
        for f in ["ca.crt", "server.crt", "pg_hba.conf"] {
            std::fs::set_permissions(files.join(f), std::fs::Permissions::from_mode(0o644))
                .unwrap();
        }

        let path = |name: &str| files.join(name).to_string_lossy().into_owned();
        let mut last_err = None;
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let settings = [
                ("listen_addresses", "127.0.0.1".to_string()),
                ("port", port.to_string()),
                ("ssl", "on".to_string()),
                ("ssl_cert_file", path("server.crt")),
                ("ssl_key_file", path("server.key")),
                ("ssl_ca_file", path("ca.crt")),
                ("hba_file", path("pg_hba.conf")),
            ];
            let opts = ClusterOptions {
                settings: settings
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                ..Default::default()
            };
            match Cluster::temporary_with(&opts) {
                Ok(cluster) => {
                    cluster
                        .connect("postgres")
                        .unwrap()
                        .batch_execute(&format!(
                            "ALTER ROLE postgres PASSWORD '{PASSWORD}'; \
                             CREATE ROLE certuser LOGIN"
                        ))
                        .unwrap();
                    return Server {
                        cluster,
                        port,
                        files,
                        _dir: dir,
                    };
                }
                // Most likely the port was taken meanwhile.
                Err(e) => last_err = Some(e),
            }
        }
        panic!("could not start the TLS server: {}", last_err.unwrap());
    })
}

/// Removes the certificate folders of earlier test processes that are gone: the server
/// lives in a static, which is never dropped (its cluster is removed by pgcluster's
/// watchdog, its folder here on the next run).
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir("/tmp") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("pgtls-")) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The path of one of the server's files (`ca.crt`, `other-ca.crt`, `client.key`, ...).
pub fn file(name: &str) -> String {
    server().files.join(name).to_string_lossy().into_owned()
}
