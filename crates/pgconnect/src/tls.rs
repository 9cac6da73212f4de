//! Building the rustls client configuration for a [`TlsOptions`], and its certificate
//! verifiers: none (`prefer`, `require`), chain only (`verify-ca`), chain and host name
//! (`verify-full`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::TlsError;
use crate::{RootCert, SslMode, TlsOptions};

impl TlsOptions {
    /// The rustls configuration these options call for; `Ok(None)` for `disable`.
    ///
    /// # Errors
    /// [`TlsError`] when a file cannot be used, or the settings contradict each other
    /// (`verify-full` without a root certificate, `sslrootcert=system` with a weaker mode).
    pub fn client_config(&self) -> Result<Option<rustls::ClientConfig>, TlsError> {
        if self.mode == SslMode::Disable {
            return Ok(None);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match self.mode {
            SslMode::Disable => unreachable!("returned above"),
            SslMode::Prefer | SslMode::Require => {
                if self.root_cert == Some(RootCert::System) {
                    return Err(TlsError::WeakModeWithSystemRoots { mode: self.mode });
                }
                Arc::new(NoVerifier {
                    algorithms: provider.signature_verification_algorithms,
                })
            }
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let Some(root) = &self.root_cert else {
                    return Err(TlsError::NoRootCert {
                        mode: self.mode,
                        default: self.default_path("root.crt").display().to_string(),
                    });
                };
                if *root == RootCert::System && self.mode != SslMode::VerifyFull {
                    return Err(TlsError::WeakModeWithSystemRoots { mode: self.mode });
                }
                let roots = load_roots(root)?;
                let inner = WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    Arc::clone(&provider),
                )
                .build()
                .map_err(|e| TlsError::File {
                    what: "sslrootcert",
                    path: root_path(root),
                    reason: e.to_string(),
                })?;
                Arc::new(Verifier {
                    inner,
                    check_name: self.mode == SslMode::VerifyFull,
                    mode: self.mode,
                    roots: match root {
                        RootCert::File(path) => path.display().to_string(),
                        RootCert::System => "system".to_string(),
                    },
                })
            }
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match self.client_cert()? {
            Some((cert, key)) => {
                let chain = load_certs("sslcert", &cert)?;
                let key = PrivateKeyDer::from_pem_file(&key).map_err(|e| TlsError::File {
                    what: "sslkey",
                    path: key.clone(),
                    reason: e.to_string(),
                })?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(TlsError::Config)?
            }
            None => builder.with_no_client_auth(),
        };
        // What libpq 17 sends; PostgreSQL 17 requires it for `sslnegotiation=direct`, older
        // servers ignore it.
        let mut config = config;
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(Some(config))
    }

    /// libpq's default location of `name`: `~/.postgresql/<name>`.
    pub(crate) fn default_path(&self, name: &str) -> PathBuf {
        self.home
            .as_deref()
            .unwrap_or(Path::new("~"))
            .join(".postgresql")
            .join(name)
    }

    /// The client certificate and key: as given, else libpq's defaults when the
    /// certificate file exists.
    fn client_cert(&self) -> Result<Option<(PathBuf, PathBuf)>, TlsError> {
        let default_cert = self.default_path("postgresql.crt");
        let default_key = self.default_path("postgresql.key");
        match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => Ok(Some((cert.clone(), key.clone()))),
            (Some(cert), None) if default_key.is_file() => Ok(Some((cert.clone(), default_key))),
            (Some(_), None) => Err(TlsError::Incomplete {
                given: "sslcert",
                missing: "sslkey",
                default: default_key,
            }),
            (None, Some(key)) if default_cert.is_file() => Ok(Some((default_cert, key.clone()))),
            (None, Some(_)) => Err(TlsError::Incomplete {
                given: "sslkey",
                missing: "sslcert",
                default: default_cert,
            }),
            (None, None) if self.home.is_some() && default_cert.is_file() => {
                if default_key.is_file() {
                    Ok(Some((default_cert, default_key)))
                } else {
                    Err(TlsError::Incomplete {
                        given: "~/.postgresql/postgresql.crt",
                        missing: "sslkey",
                        default: default_key,
                    })
                }
            }
            (None, None) => Ok(None),
        }
    }
}

fn root_path(root: &RootCert) -> PathBuf {
    match root {
        RootCert::File(path) => path.clone(),
        RootCert::System => PathBuf::from("system"),
    }
}

fn load_certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let fail = |reason: String| TlsError::File {
        what,
        path: path.to_path_buf(),
        reason,
    };
    // Read first, for the I/O error's own words ("No such file or directory").
    let pem = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    if certs.is_empty() {
        return Err(fail("no PEM certificate in it".into()));
    }
    Ok(certs)
}

fn load_roots(root: &RootCert) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    match root {
        RootCert::File(path) => {
            for cert in load_certs("sslrootcert", path)? {
                store.add(cert).map_err(|e| TlsError::File {
                    what: "sslrootcert",
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            }
        }
        RootCert::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                // No OS store (a minimal container): Mozilla's roots, compiled in.
                store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            if store.is_empty() {
                return Err(TlsError::NoSystemRoots {
                    detail: format!("{:?}", found.errors),
                });
            }
        }
    }
    Ok(store)
}

/// `prefer` / `require` without a root certificate: encrypted, server not verified (what
/// libpq does). Handshake signatures are still checked.
#[derive(Debug)]
struct NoVerifier {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for NoVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `verify-ca` (chain only) and `verify-full` (chain and host name), with errors that say
/// what failed in words.
#[derive(Debug)]
struct Verifier {
    inner: Arc<WebPkiServerVerifier>,
    check_name: bool,
    mode: SslMode,
    roots: String,
}

fn is_name_error(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        )
    )
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let err = match verified {
            Ok(ok) => return Ok(ok),
            // webpki checks the chain first: a name error means the chain is trusted.
            Err(e) if !self.check_name && is_name_error(&e) => {
                return Ok(ServerCertVerified::assertion());
            }
            Err(e) => e,
        };
        let what = match &err {
            rustls::Error::InvalidCertificate(c) => match c {
                CertificateError::UnknownIssuer => {
                    "the server's certificate is not signed by a trusted CA".to_string()
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => format!(
                    "the server's certificate is not valid for the host name {:?} \
                     (verify-ca would not check the name)",
                    server_name.to_str()
                ),
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    "the server's certificate has expired".to_string()
                }
                _ => "the server's certificate was refused".to_string(),
            },
            _ => "the server's certificate could not be verified".to_string(),
        };
        let wrapped = TlsError::Verify {
            what,
            mode: self.mode,
            roots: self.roots.clone(),
            source: err,
        };
        // (`Error::Other` shows our text; `CertificateError::Other` would show its Debug.)
        Err(rustls::Error::Other(rustls::OtherError(Arc::new(wrapped))))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
