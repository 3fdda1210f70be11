//! The rustls crypto provider every cxkit HTTP client uses.
//!
//! reqwest's own `rustls` feature always builds aws-lc-rs, whose C build costs more than the rest
//! of a small app. cxkit enables reqwest's `rustls-no-provider` instead and installs a provider
//! as the process default the first time a client is configured: ring, or aws-lc-rs when the
//! `aws-lc-rs` feature is on. An application that installs its own provider first keeps it.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// Installs cxkit's rustls crypto provider as the process default, unless one is installed
/// already. Cheap and idempotent.
///
/// [`AuthBuilder::build`](crate::AuthBuilder::build) and the `cxkit` facade call it, so clients
/// built through them work as they are. Call it yourself before building a `reqwest::Client`
/// of your own (for example one passed to a generated client's `new_with_client`): without a
/// provider, reqwest panics when it builds the client.
pub fn ensure_crypto_provider() {
    if CryptoProvider::get_default().is_some() {
        return;
    }
    // Another thread may install one between the check and this call; either is fine, so the
    // "already installed" error is ignored.
    let _ = CryptoProvider::install_default(provider());
}

/// The provider cxkit would install: aws-lc-rs with the `aws-lc-rs` feature, ring otherwise.
pub fn provider() -> CryptoProvider {
    #[cfg(feature = "aws-lc-rs")]
    {
        rustls::crypto::aws_lc_rs::default_provider()
    }
    #[cfg(not(feature = "aws-lc-rs"))]
    {
        rustls::crypto::ring::default_provider()
    }
}

/// The provider in use once [`ensure_crypto_provider`] has run.
pub fn installed() -> Option<Arc<CryptoProvider>> {
    CryptoProvider::get_default().cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reqwest_client_builds_with_https_after_ensuring_a_provider() {
        ensure_crypto_provider();
        ensure_crypto_provider();
        assert!(installed().is_some());
        reqwest::Client::builder()
            .build()
            .expect("reqwest finds the installed provider");
    }

    #[cfg(not(feature = "aws-lc-rs"))]
    #[test]
    fn ring_is_the_provider_installed_by_default() {
        ensure_crypto_provider();
        // A provider has no name field; its random source's Debug is the backend's type name.
        let installed = installed().expect("installed");
        assert_eq!(format!("{:?}", installed.secure_random), "Ring");
        assert_eq!(format!("{:?}", provider().secure_random), "Ring");
    }

    #[cfg(feature = "aws-lc-rs")]
    #[test]
    fn aws_lc_rs_is_the_provider_with_its_feature() {
        ensure_crypto_provider();
        let installed = installed().expect("installed");
        assert_eq!(format!("{:?}", installed.secure_random), "AwsLcRs");
    }
}
