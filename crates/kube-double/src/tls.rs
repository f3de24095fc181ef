//! HTTPS for the double. client-go reads a kubeconfig's credentials only
//! for an https server (clientcmd `client_config.go`: "only try to read the
//! auth information if we are secure"), so kubectl sends the bearer token
//! only over TLS: the double serves TLS with a certificate of its own CA,
//! made at start, which the kubeconfig carries as `certificate-authority-data`.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// The CA (PEM, for kubeconfigs) and the acceptor serving its certificate.
pub struct Tls {
    pub ca_pem: String,
    pub acceptor: TlsAcceptor,
}

fn other(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// A fresh CA and a serving certificate for 127.0.0.1 and localhost.
pub fn make() -> std::io::Result<Tls> {
    let ca_key = KeyPair::generate().map_err(other)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(other)?;
    ca.distinguished_name.push(DnType::CommonName, "kube-double-ca");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca.self_signed(&ca_key).map_err(other)?;
    let ca_pem = ca_cert.pem();
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate().map_err(other)?;
    let mut sp = CertificateParams::new(vec!["localhost".to_string()]).map_err(other)?;
    sp.distinguished_name.push(DnType::CommonName, "kube-apiserver");
    sp.subject_alt_names.push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    let cert = sp.signed_by(&key, &issuer).map_err(other)?;

    let chain = vec![cert.der().clone()];
    let key_der = pki_types::PrivateKeyDer::Pkcs8(pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(other)?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(other)?;
    // HTTP/1.1 only: exec and attach upgrade the connection to a WebSocket.
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls { ca_pem, acceptor: TlsAcceptor::from(Arc::new(cfg)) })
}

/// Serves `app` over TLS on `listener` until the task is dropped (its
/// connections with it).
pub async fn serve(listener: tokio::net::TcpListener, acceptor: TlsAcceptor, app: axum::Router) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        // Reap finished connections so the set stays small.
        while conns.try_join_next().is_some() {}
        let (acceptor, app) = (acceptor.clone(), app.clone());
        conns.spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let svc = hyper_util::service::TowerToHyperService::new(app);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                .with_upgrades()
                .await;
        });
    }
}
