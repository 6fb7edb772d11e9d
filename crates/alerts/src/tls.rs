//! TLS client configuration shared by syslog over TLS (RFC 5425) and https webhooks.
//!
//! rustls with the ring provider only, passed explicitly (no process-wide default
//! provider is installed, so the caller's own rustls use is not disturbed). Trust
//! anchors are the target's `ca_file`, else the system's store. No client
//! certificates: receivers that demand mutual TLS are not supported yet.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// The certificates of a PEM file; an error names the file and says what is wrong.
pub(crate) fn read_trust_anchors(path: &Path) -> Result<RootCertStore, String> {
    let pem = crate::config::read_small_file(path, "ca_file")?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("ca_file {}: not PEM: {e}", path.display()))?;
        roots.add(cert).map_err(|e| format!("ca_file {}: a certificate is unusable: {e}", path.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("ca_file {}: no CERTIFICATE in it", path.display()));
    }
    Ok(roots)
}

/// A client configuration trusting `ca_file`, or the system's trust anchors without one.
pub(crate) fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let roots = match ca_file {
        Some(path) => read_trust_anchors(path)?,
        None => {
            let found = rustls_native_certs::load_native_certs();
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err("no ca_file and no trust anchors in the system's store".to_owned());
            }
            roots
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
